"""Corpus views: declared in YAML, validated, and selecting sources by licence, sector and id."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.corpora import CorpusViewError, load_views, selected_sources
from catalog.sources import parse_spec
from tests.catalog.conftest import spec_data


def _spec(source_id: str, licence: str, sector: str):
    return parse_spec({**spec_data(source_id), "licence": licence, "sector": sector}, origin=f"<{source_id}>")


SPECS = [
    _spec("krant", "CC-BY-4.0", "news"),
    _spec("archief", "CC0-1.0", "archives"),
    _spec("omroep", "contract-2026-17", "news"),
]


def test_views_select_by_licence_sector_and_id_and_every_criterion_must_match(tmp_path: Path) -> None:
    path = tmp_path / "views.yaml"
    path.write_text(
        "views:\n"
        "  - {name: nl-open, description: open licences, licences: [CC0-1.0, CC-BY-4.0]}\n"
        "  - {name: nl-news, sectors: [news], exclude_sources: [omroep]}\n"
        "  - {name: nl-two, sources: [krant, omroep], licences: [CC-BY-4.0]}\n"
        "  - {name: nl-all}\n"
    )
    views = {view.name: view for view in load_views(str(path), "nl-main")}
    assert selected_sources(views["nl-open"], SPECS) == ["archief", "krant"]
    assert selected_sources(views["nl-news"], SPECS) == ["krant"]
    assert selected_sources(views["nl-two"], SPECS) == ["krant"]
    assert selected_sources(views["nl-all"], SPECS) == ["archief", "krant", "omroep"]
    assert load_views(None, "nl-main") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("views:\n  - {name: nl-open}\n  - {name: nl-open}\n", "names used twice"),
        ("views:\n  - {name: nl-main}\n", "names used twice"),
        ("views:\n  - {name: Open Views}\n", "views.0.name"),
        ("views:\n  - {name: nl-open, licenses: [CC0-1.0]}\n", "licenses: Extra inputs are not permitted"),
        ("views: [unclosed\n", "not YAML"),
    ],
)
def test_a_bad_views_file_is_one_clear_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "views.yaml"
    path.write_text(text)
    with pytest.raises(CorpusViewError, match=message) as raised:
        load_views(str(path), "nl-main")
    assert str(path) in str(raised.value)


def test_a_missing_views_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusViewError, match=r"views\.yaml"):
        load_views(str(tmp_path / "views.yaml"), "nl-main")
