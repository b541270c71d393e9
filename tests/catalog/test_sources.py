from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from catalog.sources import (
    ENV_SOURCES,
    SourceRegistry,
    SourceSpec,
    SpecError,
    bundled_sources_dir,
    load_spec,
    parse_spec,
)

from .conftest import spec_data

SAMPLE_IDS = {"archief-courant", "nieuws-dagblad", "sector-meldingen"}


def write_spec(folder: Path, filename: str, **overrides: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(yaml.safe_dump(spec_data(**overrides), allow_unicode=True), encoding="utf-8")
    return path


def test_parse_valid_spec_with_defaults() -> None:
    data = spec_data("mijn-bron")
    del data["status"]
    spec = parse_spec(data)
    assert isinstance(spec, SourceSpec)
    assert spec.id == "mijn-bron"
    assert spec.kind == "files"
    assert spec.format == "jsonl"
    assert spec.status == "sandbox"
    assert spec.timezone == "Europe/Amsterdam"
    assert spec.languages == ["nl"]
    assert spec.fields.native_id == "id"
    assert spec.fields.text == "text"
    assert spec.location == "mijn-bron.jsonl"  # no base_dir: left as written


def test_parse_spec_with_field_mapping() -> None:
    spec = parse_spec(
        spec_data(
            format="csv",
            timezone="UTC",
            languages=["nl", "fy"],
            fields={"native_id": None, "text": "tekst", "title": "kop", "url": "link", "published_at": None},
        )
    )
    assert spec.format == "csv"
    assert spec.languages == ["nl", "fy"]
    assert spec.fields.native_id is None
    assert spec.fields.text == "tekst"
    assert spec.fields.published_at is None


def test_spec_is_frozen() -> None:
    spec = parse_spec(spec_data())
    with pytest.raises(ValueError):
        spec.status = "suspended"  # type: ignore[misc]


def test_invalid_spec_reports_every_problem_with_paths() -> None:
    data = spec_data(id="Slechte_ID!", kind="ftp", timezone="Mars/Olympus_Mons", kleur="blauw")
    del data["licence"]
    with pytest.raises(SpecError) as info:
        parse_spec(data, origin="bronnen/slecht.yaml")
    error = info.value
    problems = dict(error.problems)
    assert set(problems) == {"id", "kind", "licence", "timezone", "kleur"}
    assert "lower-case letters" in problems["id"]
    assert "allowed values" in problems["kind"]
    assert "add this field" in problems["licence"]
    assert "Mars/Olympus_Mons" in problems["timezone"] and "IANA" in problems["timezone"]
    assert "unknown field" in problems["kleur"]
    assert error.origin == "bronnen/slecht.yaml"
    message = str(error)
    assert message.startswith("invalid source spec bronnen/slecht.yaml")
    for path in problems:
        assert f"{path}: " in message


def test_nested_field_problems_have_dotted_paths() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(fields={"text": "body", "txt": "x"}, languages=[], format="xml", personal_data="ja"))
    paths = {path for path, _ in info.value.problems}
    assert paths == {"fields.txt", "languages", "format", "personal_data"}


@pytest.mark.parametrize("bad_id", ["ab", "-begint-met-streep", "eindigt-", "HOOFD", "met spatie", "a" * 65])
def test_source_id_pattern(bad_id: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(id=bad_id))
    assert [path for path, _ in info.value.problems] == ["id"]


@pytest.mark.parametrize("value", [None, "just a string", ["a", "list"], 42])
def test_non_mapping_spec_is_rejected(value: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(value, origin="x.yaml")  # type: ignore[arg-type]
    assert info.value.problems[0][0] == "(document)"


def test_relative_location_is_resolved_against_the_spec_folder(tmp_path: Path) -> None:
    spec_dir = tmp_path / "bronnen" / "specs"
    spec = parse_spec(spec_data(location="../data/*.jsonl"), base_dir=spec_dir)
    assert spec.location == str((tmp_path / "bronnen" / "data" / "*.jsonl").resolve())
    assert os.path.isabs(spec.location)


def test_absolute_and_remote_locations_are_kept(tmp_path: Path) -> None:
    absolute = str(tmp_path / "elders" / "data.jsonl")
    assert parse_spec(spec_data(location=absolute), base_dir=tmp_path / "specs").location == absolute
    remote = "s3://emmer/drop/*.jsonl"
    assert parse_spec(spec_data(location=remote), base_dir=tmp_path / "specs").location == remote


def test_load_spec_resolves_location_against_its_file(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "specs", "bron.yaml", location="../data/bron.csv", format="csv")
    spec = load_spec(path)
    assert spec.location == str((tmp_path / "data" / "bron.csv").resolve())


def test_load_spec_invalid_yaml_gives_line_number(tmp_path: Path) -> None:
    path = tmp_path / "kapot.yaml"
    path.write_text("id: goed-id\nname: Test\nowner: x: y\nkind: files\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [("line 3", "not valid YAML")]
    assert str(path) in str(info.value)


def test_load_spec_invalid_content_names_the_file(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "bron.yaml", kind="rss")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.origin == str(path)
    assert [p for p, _ in info.value.problems] == ["kind"]


def test_load_spec_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"id: caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems[0][0] == "(file)"
    with pytest.raises(SpecError):
        load_spec(tmp_path / "bestaat-niet.yaml")


def test_registry_over_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    write_spec(folder, "a.yaml", source_id="bron-a")
    write_spec(folder, "b.yml", source_id="bron-b", status="sandbox")
    (folder / "notities.txt").write_text("geen spec", encoding="utf-8")
    registry = SourceRegistry([folder])
    specs = registry.specs()
    assert sorted(specs) == ["bron-a", "bron-b"]
    assert registry.get("bron-b").status == "sandbox"
    assert registry.get("bron-a").location == str(folder / "bron-a.jsonl")
    with pytest.raises(KeyError, match="bron-a, bron-b"):
        registry.get("bron-c")


def test_registry_from_env_uses_path_separated_folders(tmp_path: Path) -> None:
    write_spec(tmp_path / "een", "a.yaml", source_id="bron-a")
    write_spec(tmp_path / "twee", "b.yaml", source_id="bron-b")
    value = os.pathsep.join([str(tmp_path / "een"), "", str(tmp_path / "twee")])
    registry = SourceRegistry.from_env({ENV_SOURCES: value})
    assert sorted(registry.specs()) == ["bron-a", "bron-b"]


def test_registry_duplicate_ids_across_files_raise(tmp_path: Path) -> None:
    write_spec(tmp_path / "een", "a.yaml", source_id="zelfde-bron")
    write_spec(tmp_path / "twee", "b.yaml", source_id="zelfde-bron")
    registry = SourceRegistry([tmp_path / "een", tmp_path / "twee"])
    with pytest.raises(SpecError) as info:
        registry.specs()
    assert info.value.origin == str(tmp_path / "twee" / "b.yaml")
    path, message = info.value.problems[0]
    assert path == "id"
    assert "zelfde-bron" in message and str(tmp_path / "een" / "a.yaml") in message


def test_registry_invalid_file_raises(tmp_path: Path) -> None:
    write_spec(tmp_path, "goed.yaml", source_id="goede-bron")
    write_spec(tmp_path, "slecht.yaml", source_id="slechte-bron", personal_data="misschien")
    with pytest.raises(SpecError, match="personal_data"):
        SourceRegistry([tmp_path]).specs()


def test_registry_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        SourceRegistry([tmp_path / "nergens"]).specs()


def test_empty_registry_get_says_none(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="none"):
        SourceRegistry([tmp_path]).get("iets")


def test_bundled_registry_has_the_three_approved_samples() -> None:
    registry = SourceRegistry.from_env({})
    assert registry.folders == [bundled_sources_dir()]
    specs = registry.specs()
    assert set(specs) == SAMPLE_IDS
    for spec in specs.values():
        assert spec.status == "approved"
        assert spec.releasable and spec.fetchable
        assert spec.kind == "files"
        assert Path(spec.location).is_file(), spec.location
    assert specs["archief-courant"].format == "csv"
    assert specs["sector-meldingen"].fields.url is None
    assert specs["nieuws-dagblad"].fields.text == "body"


@pytest.mark.parametrize(
    ("status", "releasable", "fetchable"),
    [("sandbox", False, True), ("approved", True, True), ("suspended", False, False)],
)
def test_releasable_and_fetchable_by_status(status: str, releasable: bool, fetchable: bool) -> None:
    spec = parse_spec(spec_data(status=status))
    assert spec.releasable is releasable
    assert spec.fetchable is fetchable


def test_unknown_status_is_rejected() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(status="published"))
    assert [p for p, _ in info.value.problems] == ["status"]
