"""What the registered sources decide in the code location: freshness, the release's inputs, re-anonymising."""

import json
import shutil
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, evaluate_automation_conditions

from catalog.sources import bundled_sources_dir
from pipelines.definitions import build_definitions

SAMPLES = bundled_sources_dir().parent


@pytest.fixture
def specs(isolated_env: Path) -> Path:
    """The sample sources with their own copy of the data; the news source is a sandbox source."""
    folder, data = isolated_env / "specs", isolated_env / "data"
    folder.mkdir()
    shutil.copytree(SAMPLES / "data", data)
    for path in bundled_sources_dir().glob("*.yaml"):
        text = path.read_text().replace("../data/", f"{data}/")
        if path.stem == "nieuws-dagblad":
            text = text.replace("status: approved", "status: sandbox")
        (folder / path.name).write_text(text)
    return folder


def definitions(specs: Path, root: Path):
    return build_definitions({"CORPUSFABRIEK_SOURCES": str(specs)}, root=str(root))


def stale_causes(defs, instance, key: str) -> list:
    """What the UI shows as "Unsynced" for an asset: Dagster's stale causes."""
    from dagster._utils.test.data_versions import get_stale_status_resolver

    assets = [defs.resolve_assets_def(AssetKey(name)) for name in ("anonymised_documents", "corpus_release")]
    return list(get_stale_status_resolver(instance, assets).get_stale_causes(AssetKey(key)))


def versions(instance, partition: str) -> str:
    """The data version of a source's anonymised partition."""
    from dagster import AssetRecordsFilter

    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("anonymised_documents"), asset_partitions=[partition]), limit=1
    ).records
    return records[0].asset_materialization.tags["dagster/data_version"]


def add_record(path: Path, record_id: str) -> None:
    record = {
        "melding_id": record_id,
        "onderwerp": "Nieuwe melding",
        "datum": "2026-12-01",
        "omschrijving": "Bij de speeltuin aan de Vlierstraat is een bank kapotgegaan; de planken steken uit "
        "en kinderen kunnen zich eraan bezeren. Graag herstellen voor het weekend.",
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def test_freshness_windows_come_from_the_schedules_and_the_release_reads_approved_sources(specs, isolated_env):
    graph = definitions(specs, isolated_env / "root").resolve_asset_graph()
    raw = graph.get(AssetKey("raw_documents")).freshness_policy
    # the samples are fetched daily: warn after a day (plus an hour's grace), fail after two
    assert raw.fail_window.to_timedelta().total_seconds() == 2 * 86400 + 3600
    assert raw.warn_window.to_timedelta().total_seconds() == 86400 + 3600
    assert graph.get(AssetKey("corpus_release")).freshness_policy is not None
    mapping = graph.get_partition_mapping(AssetKey("corpus_release"), AssetKey("anonymised_documents"))
    assert mapping.partition_keys == ["archief-courant", "sector-meldingen"]  # not the sandbox source


def test_a_sandbox_source_does_not_make_the_release_unsynced_an_approved_one_does(specs, isolated_env):
    root = isolated_env / "root"
    defs = definitions(specs, root)
    instance = DagsterInstance.get()
    sources = ["nieuws-dagblad", "sector-meldingen"]
    instance.add_dynamic_partitions("sources", sources)
    ingest = defs.resolve_job_def("ingest_source")
    for source_id in sources:
        assert ingest.execute_in_process(instance=instance, partition_key=source_id).success
    assert defs.resolve_job_def("build_release").execute_in_process(instance=instance).success
    assert stale_causes(defs, instance, "corpus_release") == []

    # new data in the sandbox source: anonymised again, but the release would never take it
    sandbox = json.loads((isolated_env / "data" / "nieuws-dagblad.jsonl").read_text().splitlines()[0])
    with (isolated_env / "data" / "nieuws-dagblad.jsonl").open("a", encoding="utf-8") as handle:
        article = {**sandbox, "article_id": "ND-2026-9999", "url": "https://krant.example/nieuw-1"}
        handle.write(json.dumps({**article, "body": sandbox["body"] + " Het debat wordt volgende week vervolgd."}))
        handle.write("\n")
    before = versions(instance, "nieuws-dagblad")
    assert ingest.execute_in_process(instance=instance, partition_key="nieuws-dagblad").success
    assert versions(instance, "nieuws-dagblad") != before  # the sandbox zone did change
    assert stale_causes(defs, instance, "corpus_release") == []

    # new data in an approved source: the release is behind
    add_record(isolated_env / "data" / "sector-meldingen.jsonl", "MOR-2026-09999")
    assert ingest.execute_in_process(instance=instance, partition_key="sector-meldingen").success
    (cause,) = stale_causes(defs, instance, "corpus_release")
    assert cause.dependency.partition_key == "sector-meldingen"


def test_a_re_cleaned_partition_that_passed_its_checks_is_re_anonymised(specs, isolated_env):
    defs = definitions(specs, isolated_env / "root")
    instance = DagsterInstance.get()
    instance.add_dynamic_partitions("sources", ["sector-meldingen"])
    assert defs.resolve_job_def("ingest_source").execute_in_process(instance=instance, partition_key="sector-meldingen")
    first = evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0  # everything anonymised already

    # an engineer re-cleans the source from the UI (the asset with its checks, not anonymised_documents)
    clean_only = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={AssetKey("clean_documents")},
        asset_check_selection={
            AssetCheckKey(AssetKey("clean_documents"), name)
            for name in ("accounting_balanced", "clean_zone_expectations")
        },
    )
    assert clean_only.execute_in_process(instance=instance, partition_key="sector-meldingen").success
    second = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert second.get_requested_partitions(AssetKey("anonymised_documents")) == {"sector-meldingen"}
