"""Freshness windows come from the sources' own cron schedules."""

from datetime import timedelta

from catalog.schedules import GRACE, FreshnessWindow, ingest_freshness, longest_gap, release_freshness
from catalog.sources import SourceSpec
from tests.catalog.conftest import spec_data


def spec(source_id: str, schedule: str | None, status: str = "approved") -> SourceSpec:
    return SourceSpec.model_validate(spec_data(source_id, schedule=schedule, status=status))


def test_the_longest_gap_of_daily_weekday_and_monthly_schedules():
    assert longest_gap("0 3 * * *") == timedelta(days=1)
    assert longest_gap("0 6 * * 1-5") == timedelta(days=3)  # Friday to Monday
    assert longest_gap("0 0 1 * *") == timedelta(days=31)


def test_the_raw_zone_follows_the_most_often_scheduled_source_that_is_fetched():
    specs = {
        "dagelijks": spec("dagelijks", "0 3 * * *"),
        "wekelijks": spec("wekelijks", "0 4 * * 1"),
        "gepauzeerd": spec("gepauzeerd", "*/10 * * * *", status="suspended"),
        "handmatig": spec("handmatig", None),
    }
    assert ingest_freshness(specs) == FreshnessWindow(warn=timedelta(days=1) + GRACE, fail=timedelta(days=2) + GRACE)


def test_releases_follow_the_slowest_approved_source_and_sandboxes_do_not_count():
    specs = {
        "dagelijks": spec("dagelijks", "0 3 * * *"),
        "wekelijks": spec("wekelijks", "0 4 * * 1"),
        "proef": spec("proef", "0 0 1 * *", status="sandbox"),
    }
    assert release_freshness(specs) == FreshnessWindow.for_gap(timedelta(days=7))


def test_without_schedules_there_is_no_window():
    assert ingest_freshness({"handmatig": spec("handmatig", None)}) is None
    assert release_freshness({}) is None
