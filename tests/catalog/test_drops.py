"""Which files a source may read: partner drop folders only, never the storage root or system folders.

The ingest-level tests plant personal data (another source's raw batch) and secrets (the environment) and
check that a source whose location reaches them neither turns them into documents nor keeps their bytes
in quarantine.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from catalog.sources import parse_spec
from catalog.storage import Storage
from catalog.zones import cursor_path, quarantine_path
from stages.ingest import ingest_source

from .conftest import read_table, spec_data, write_drop

ENV_DROP_FOLDERS = "CORPUSFABRIEK_DROP_FOLDERS"

#: Personal data in another source's raw zone: it must never reach a second source's batch or quarantine.
SECRET_NAME = "Jozefien Geheimhouder"


def victim_and_storage(drops: Path, root: Path) -> Storage:
    """Ingest a source holding personal data into ``root``; return the storage."""
    storage = Storage(str(root))
    (drops / "slachtoffer").mkdir(parents=True, exist_ok=True)
    write_drop(drops / "slachtoffer" / "meldingen.jsonl", [{"id": "1", "text": f"Melding over {SECRET_NAME}."}])
    victim = parse_spec(
        spec_data("slachtoffer", location=str(drops / "slachtoffer" / "meldingen.jsonl")), origin="<slachtoffer>"
    )
    assert ingest_source(storage, victim)["documents"] == 1
    return storage


def quarantine_rows(storage: Storage, report: dict[str, Any]) -> list[dict[str, Any]]:
    return read_table(storage, quarantine_path(report["source_id"], report["ingest_id"])).to_pylist()


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def assert_nowhere_under(root: Path, secrets: list[str]) -> None:
    """No file under the root holds a secret, neither as bytes nor inside a (compressed) Parquet file."""
    for path in files_under(root):
        data = path.read_bytes()
        texts = [data.decode("utf-8", "replace")]
        if path.suffix == ".parquet":
            texts.append(repr(pq.read_table(path).to_pylist()))
        for secret in secrets:
            assert not any(secret in text for text in texts), f"{secret!r} found in {path}"


# -- ingest ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder_pattern", ["roo?", "roo*", "[r]oot"])
def test_a_glob_cannot_read_another_sources_raw_batch(
    folder_pattern: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The operator's drop folder holds the storage root: allowed, but the root itself is never readable.
    drops = tmp_path / "drops"
    monkeypatch.setenv(ENV_DROP_FOLDERS, str(drops))
    storage = victim_and_storage(drops, drops / "root")
    thief = parse_spec(
        spec_data(
            "nieuwsgierig",
            format="parquet",
            location=f"{drops}/{folder_pattern}/raw/*/batches/*.parquet",
            fields={"native_id": "native_id", "text": "text"},
        ),
        origin="<nieuwsgierig>",
    )
    report = ingest_source(storage, thief)
    assert report["documents"] == 0
    assert report["quarantined_by_reason"] == {"location_refused": 1}
    rows = quarantine_rows(storage, report)
    assert [row["raw_bytes"] for row in rows] == [None]
    assert "storage root" in rows[0]["detail"]
    assert SECRET_NAME not in repr(rows)
    assert read_table(storage, f"raw/nieuwsgierig/batches/{report['ingest_id']}.parquet").num_rows == 0


def test_links_out_of_the_drop_folder_are_quarantined_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drops = tmp_path / "drops"
    monkeypatch.setenv(ENV_DROP_FOLDERS, str(drops))
    storage = victim_and_storage(drops, tmp_path / "store")
    folder = drops / "dief"
    folder.mkdir()
    write_drop(folder / "a-goed.jsonl", [{"id": "g", "text": "Een gewoon bericht."}])
    (folder / "b-root.jsonl").symlink_to(Path(storage.url("raw/slachtoffer/ingest.json")))
    (folder / "c-etc.jsonl").symlink_to("/etc/passwd")
    spec = parse_spec(spec_data("dief", location=f"{folder}/*.jsonl"), origin="<dief>")

    report = ingest_source(storage, spec)
    assert (report["records_read"], report["documents"]) == (3, 1)
    assert report["quarantined_by_reason"] == {"location_refused": 2}
    rows = quarantine_rows(storage, report)
    assert all(row["raw_bytes"] is None for row in rows)
    details = {Path(row["location"]).name: row["detail"] for row in rows}
    assert "storage root" in details["b-root.jsonl"]
    assert "/etc" in details["c-etc.jsonl"]
    # A refused file is not remembered as read: it is refused again on every run until it is fixed.
    assert list(storage.read_json(cursor_path("dief"))["files"]) == [str(folder / "a-goed.jsonl")]


def test_a_linked_folder_into_the_root_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drops = tmp_path / "drops"
    monkeypatch.setenv(ENV_DROP_FOLDERS, str(drops))
    storage = victim_and_storage(drops, tmp_path / "store")
    (drops / "dief").mkdir()
    (drops / "dief" / "map").symlink_to(Path(storage.url("raw/slachtoffer")), target_is_directory=True)
    through = parse_spec(spec_data("dief", location=f"{drops}/dief/map/*.json"), origin="<dief>")
    with pytest.raises(ValueError, match=r"source dief: .*storage root"):
        ingest_source(storage, through)
    # A glob does not descend through a linked folder, as it matches no folder as an input either.
    matched = parse_spec(spec_data("dief", location=f"{drops}/dief/**/*.json"), origin="<dief>")
    with pytest.raises(FileNotFoundError):
        ingest_source(storage, matched)
    write_drop(drops / "dief" / "echt.json", [{"id": "e", "text": "Echt bericht."}])
    report = ingest_source(storage, matched)
    assert (report["records_read"], report["documents"]) == (1, 1)


def test_proc_self_environ_is_refused_and_the_environment_is_stored_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = [f"sleutel-{uuid.uuid4().hex}", f"geheim-{uuid.uuid4().hex}"]
    monkeypatch.setenv("CORPUSFABRIEK_ANONYMISATION_KEY", secrets[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets[1])
    monkeypatch.setenv(ENV_DROP_FOLDERS, str(tmp_path))
    storage = Storage(str(tmp_path / "store"))
    spec = parse_spec(spec_data("omgeving", location="/proc/self/environ"), origin="<omgeving>")
    with pytest.raises(ValueError, match=r"^source omgeving: .*/proc") as raised:
        ingest_source(storage, spec)
    assert "\n" not in str(raised.value) and not any(secret in str(raised.value) for secret in secrets)
    assert not storage.exists("raw/omgeving") and not storage.exists("quarantine/omgeving")
    assert_nowhere_under(tmp_path / "store", secrets)


@pytest.mark.parametrize("location", ["/etc/passwd", "/sys/kernel/*", "/dev/null", "/proc/self/environ"])
def test_system_folders_are_never_readable_even_when_allowed(
    location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DROP_FOLDERS, "/")  # an operator allowing everything still cannot open these
    storage = Storage(str(tmp_path / "store"))
    spec = parse_spec(spec_data("systeem", location=location), origin="<systeem>")
    with pytest.raises(ValueError, match=r"source systeem: .*never"):
        ingest_source(storage, spec)
    assert not storage.exists("quarantine/systeem")


def test_a_location_outside_the_drop_folders_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elders"
    elsewhere.mkdir()
    write_drop(elsewhere / "x.jsonl", [{"id": "x", "text": "Tekst."}])
    monkeypatch.setenv(ENV_DROP_FOLDERS, str(tmp_path / "drops"))
    storage = Storage(str(tmp_path / "store"))
    spec = parse_spec(spec_data("elders", location=str(elsewhere / "*.jsonl")), origin="<elders>")
    with pytest.raises(ValueError, match=r"source elders: .*outside the allowed drop folders"):
        ingest_source(storage, spec)


def test_without_the_setting_the_working_directory_and_the_samples_are_drop_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.registry import SourceRegistry

    monkeypatch.delenv(ENV_DROP_FOLDERS, raising=False)
    monkeypatch.chdir(tmp_path)
    storage = Storage(str(tmp_path / ".corpusfabriek"))
    write_drop(tmp_path / "hier.jsonl", [{"id": "h", "text": "Tekst hier."}])
    here = parse_spec(spec_data("hier", location="hier.jsonl"), origin="<hier>", base_dir=tmp_path)
    assert ingest_source(storage, here)["documents"] == 1
    sample = SourceRegistry.from_env({}).get("sector-meldingen")  # bundled data outside the working directory
    assert ingest_source(storage, sample)["documents"] == 15
    outside = parse_spec(spec_data("buiten", location=str(Path(os.sep, "var", "*.jsonl"))), origin="<buiten>")
    with pytest.raises(ValueError, match="outside the allowed drop folders"):
        ingest_source(storage, outside)


# -- validation ------------------------------------------------------------------------------------


def problems_of(location: str, root: str | Path) -> list[str]:
    from catalog.drops import location_problems

    return location_problems(location, storage_root=str(root))


@pytest.mark.parametrize("folder_pattern", ["roo?", "roo*", "[r]oot"])
def test_validation_refuses_a_glob_that_reaches_into_the_root(
    folder_pattern: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drops = tmp_path / "drops"
    monkeypatch.setenv(ENV_DROP_FOLDERS, str(drops))
    victim_and_storage(drops, drops / "root")
    problems = problems_of(f"{drops}/{folder_pattern}/raw/*/batches/*.parquet", drops / "root")
    assert problems and all("storage root" in problem for problem in problems)
    # Also before the root holds anything: the pattern itself can name files inside it.
    assert problems_of(f"{drops}/{folder_pattern}/raw/*/batches/*.parquet", drops / "nog-leeg" / "root") == []
    assert problems_of(f"{drops}/{folder_pattern[:-1]}*/nog/*.parquet", drops / "rook") != []


def test_validation_refuses_links_out_of_the_drop_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drops = tmp_path / "drops"
    monkeypatch.setenv(ENV_DROP_FOLDERS, str(drops))
    storage = victim_and_storage(drops, tmp_path / "store")
    (drops / "dief").mkdir()
    write_drop(drops / "dief" / "goed.jsonl", [{"id": "g", "text": "Tekst."}])
    assert problems_of(f"{drops}/dief/*.jsonl", storage.root) == []
    (drops / "dief" / "root.jsonl").symlink_to(Path(storage.url("raw/slachtoffer/ingest.json")))
    (drops / "dief" / "etc.jsonl").symlink_to("/etc/passwd")
    problems = problems_of(f"{drops}/dief/*.jsonl", storage.root)
    assert len(problems) == 2
    assert any("root.jsonl" in p and "storage root" in p for p in problems)
    assert any("etc.jsonl" in p and "/etc" in p for p in problems)
    assert problems_of(str(drops / "dief" / "etc.jsonl"), storage.root) != []


@pytest.mark.parametrize(
    "location", ["/proc/self/environ", "/pro?/self/environ", "/etc/*", "/dev/zero", "/sys", "file:///etc/passwd"]
)
def test_validation_refuses_system_folders(location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DROP_FOLDERS, "/")
    assert problems_of(location, tmp_path / "store") != []


def test_validation_of_urls_and_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DROP_FOLDERS, str(tmp_path))
    root = "s3://corpora/nl"
    assert problems_of("https://krant.example/feed.xml", root) == []
    assert problems_of("s3://partner-drop/meldingen/*.jsonl", root) == []
    assert problems_of("s3://corpora/drops/*.jsonl", root) == []
    for inside in (
        "s3://corpora/nl/raw/bron/batches/*.parquet",
        "s3://corpora/n?/raw/*/batches/*.parquet",
        "s3://corpora/*/raw/*/batches/*.parquet",
        "s3://corpora/**/*.parquet",
        "s3://corpora/nl",
        "s3://corpora/drops/../nl/raw/x.parquet",
    ):
        assert any("storage root" in p for p in problems_of(inside, root)), inside
    # A local root does not make S3 locations suspect, nor the other way round.
    assert problems_of("s3://corpora/nl/raw/*.parquet", tmp_path / "store") == []


def test_the_check_while_reading_judges_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.drops import DropPolicy

    drops = tmp_path / "drops"
    (drops / "sub").mkdir(parents=True)
    (drops / "sub" / "a.jsonl").write_bytes(b"{}\n")
    (drops / "sub" / "uit").symlink_to("/etc/passwd")
    os.mkfifo(drops / "sub" / "pijp")
    monkeypatch.setenv(ENV_DROP_FOLDERS, f"{drops}{os.pathsep}{tmp_path / 'tweede'}")
    policy = DropPolicy.from_env(storage_root=str(drops / "root"))
    assert policy.file_problem(str(drops / "sub" / "a.jsonl")) is None
    assert "/etc" in (policy.file_problem(str(drops / "sub" / "uit")) or "")
    assert "regular file" in (policy.file_problem(str(drops / "sub" / "pijp")) or "")
    assert "storage root" in (policy.file_problem(str(drops / "root" / "raw" / "x.parquet")) or "")
    assert "outside" in (policy.file_problem(str(tmp_path / "x.jsonl")) or "")
    assert policy.file_problem(str(tmp_path / "tweede" / "x.jsonl")) is None
    with policy.open_file(str(drops / "sub" / "a.jsonl")) as handle:
        assert handle.read() == b"{}\n"
    with pytest.raises(PermissionError, match="/etc"):
        policy.open_file(str(drops / "sub" / "uit"))
    assert policy.file_problem("s3://corpora/nl/raw/x.parquet") is None
    s3_policy = DropPolicy.from_env(storage_root="s3://corpora/nl")
    assert "storage root" in (s3_policy.file_problem("s3://corpora/nl/raw/x.parquet") or "")
    assert s3_policy.file_problem("s3://corpora/nl-andere/x.parquet") is None
