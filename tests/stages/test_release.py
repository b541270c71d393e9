from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest

from anonymisation.anonymiser import Anonymiser
from catalog.documents import DOCUMENT_SCHEMA, EXCLUDED_SCHEMA, make_doc_id
from catalog.registry import SourceRegistry
from catalog.releases import MANIFEST, MANIFEST_FORMAT, ReleaseError, list_versions, read_manifest, verify_release
from catalog.sources import SourceSpec
from catalog.storage import Storage, sql_quote
from catalog.zones import excluded_release_path, release_dir
from stages import release as releases  # the build: patched where it runs
from stages import release_format
from stages.anonymise import anonymise_source
from stages.clean import clean_source
from stages.ingest import ingest_source
from stages.release import build_release
from stages.release_format import PartWriter
from tests.catalog.conftest import TEST_KEY, numbered_records, write_drop

CleanPartition = Callable[..., dict[str, Any]]
CORPUS = "nl-test"
SHARED_TEXT = "Persbericht: de gemeente opent een nieuwe buurtkamer."


@pytest.fixture
def partitions(clean_partition: CleanPartition) -> list[dict[str, Any]]:
    """Two tiny sources, 10 documents in all, one text delivered by both (published earlier by bron-b)."""
    a = numbered_records("a", 5)
    a.append({"id": "a-dup", "text": SHARED_TEXT, "published_at": "2026-05-02"})
    b = numbered_records("b", 4)
    b.append(
        {"id": "b-dup", "text": "  " + SHARED_TEXT.replace(" ", "\u00a0", 1) + "\r\n", "published_at": "2026-05-01"}
    )
    return [clean_partition("bron-a", a), clean_partition("bron-b", b)]


def part_paths(storage: Storage, manifest: dict[str, Any]) -> list[Path]:
    folder = release_dir(manifest["corpus"], manifest["version"])
    return [Path(storage.url(f"{folder}/{entry['path']}")) for entry in manifest["files"]]


def test_manifest_fields(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions)
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["corpus"] == CORPUS
    assert manifest["version"].startswith("v")
    created = datetime.fromisoformat(manifest["created_at"])
    assert created.tzinfo is not None
    assert manifest["version"] == f"v{created.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    assert manifest["code_version"]
    assert manifest["anonymised"] is True
    assert "anonymise" in manifest["stages"]
    assert all(set(s["anonymisation"]) >= {"operator", "replacements_by_entity"} for s in manifest["sources"])
    # native ids are pseudonymised for every document, and the manifest says so (counts only)
    for source in manifest["sources"]:
        assert source["anonymisation"]["native_id_policy"] == "pseudonymise"
        assert source["anonymisation"]["fields_pseudonymised"]["native_id"] > 0
    assert manifest["total_documents"] == 10  # 11 delivered, one cross-source duplicate dropped
    assert [f["name"] for f in manifest["schema"]] == DOCUMENT_SCHEMA.names

    (entry,) = manifest["files"]
    (path,) = part_paths(storage, manifest)
    assert entry["path"] == "part-00000.parquet"
    assert entry["rows"] == 10
    assert entry["bytes"] == path.stat().st_size
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["total_bytes"] == entry["bytes"]

    sources = {s["source_id"]: s for s in manifest["sources"]}
    assert list(sources) == ["bron-a", "bron-b"]
    for partition in partitions:
        s = sources[partition["source_id"]]
        assert s["ingest_id"] == partition["ingest_id"]
        assert s["ingested_at"] == partition["ingested_at"]
        assert s["licence"] == "EUPL-1.2"
        assert s["clean_code_version"] == partition["code_version"]
    assert (sources["bron-a"]["documents"], sources["bron-a"]["duplicates_dropped"]) == (5, 1)
    assert (sources["bron-b"]["documents"], sources["bron-b"]["duplicates_dropped"]) == (5, 0)

    # the manifest on storage is the returned one, committed next to the parts
    folder = release_dir(CORPUS, manifest["version"])
    assert storage.read_json(f"{folder}/{MANIFEST}") == manifest
    assert storage.ls(folder) == [
        "croissant.json", "datasheet.html", "datasheet.md", "manifest.json", "part-00000.parquet", "plots",
    ]  # fmt: skip


def test_verify_release_passes_on_a_fresh_release(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions, rows_per_part=3)
    assert verify_release(storage, manifest) == []


def test_verify_release_detects_a_tampered_file(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions, rows_per_part=4)
    path = part_paths(storage, manifest)[1]
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # same size, in the first data page: the footer (metadata) stays readable
    path.write_bytes(bytes(data))
    problems = verify_release(storage, manifest)
    assert problems == ["part-00001.parquet: sha256 does not match the manifest"]


def test_verify_release_detects_a_replaced_file(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions, rows_per_part=4)
    first, second = part_paths(storage, manifest)[:2]
    second.write_bytes(first.read_bytes())
    problems = verify_release(storage, manifest)
    assert any(p.startswith("part-00001.parquet: sha256") for p in problems)


def test_verify_release_detects_missing_and_unlisted_files(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions, rows_per_part=4)
    folder = release_dir(CORPUS, manifest["version"])
    storage.delete(f"{folder}/part-00002.parquet")
    storage.write_bytes(f"{folder}/part-00099.parquet", b"sneaked in")
    problems = verify_release(storage, manifest)
    assert "part-00002.parquet: missing" in problems
    assert "part-00099.parquet: file not listed in the manifest" in problems
    assert len(problems) == 2


def test_verify_release_detects_edited_manifest(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions)
    edited = {**manifest, "total_documents": manifest["total_documents"] + 1}
    assert verify_release(storage, edited) == ["total_documents does not match the listed files"]
    files = [{**manifest["files"][0], "rows": 99}]
    problems = verify_release(storage, {**manifest, "files": files, "total_documents": 99})
    assert problems == ["part-00000.parquet: 10 rows != manifest 99"]
    files = [{**manifest["files"][0], "sha256": "0" * 64}]
    problems = verify_release(storage, {**manifest, "files": files})
    assert "part-00000.parquet: sha256 does not match the manifest" in problems
    assert "release_digest does not match the listed files" in problems


def test_verify_release_reports_a_truncated_file(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions)
    (path,) = part_paths(storage, manifest)
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size // 2)  # e.g. an interrupted copy to a mirror: no Parquet footer left
    problems = verify_release(storage, manifest)
    assert problems[0] == f"part-00000.parquet: size {size // 2} != manifest {size}"
    assert "part-00000.parquet: sha256 does not match the manifest" in problems
    assert any(p.startswith("part-00000.parquet: not a readable Parquet file") for p in problems)


def test_rows_per_part_splits_into_several_parts(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions, rows_per_part=4)
    assert [f["path"] for f in manifest["files"]] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [f["rows"] for f in manifest["files"]] == [4, 4, 2]
    assert sum(f["rows"] for f in manifest["files"]) == manifest["total_documents"] == 10
    assert manifest["total_bytes"] == sum(f["bytes"] for f in manifest["files"])
    counts = [pq.read_metadata(p).num_rows for p in part_paths(storage, manifest)]
    assert counts == [4, 4, 2]
    # the parts hold every kept document once, grouped by source
    ids = [row for p in part_paths(storage, manifest) for row in pq.read_table(p).column("doc_id").to_pylist()]
    sources = [row for p in part_paths(storage, manifest) for row in pq.read_table(p).column("source_id").to_pylist()]
    assert len(set(ids)) == 10
    assert sources == sorted(sources)


def test_rows_per_part_exact_multiple_has_no_empty_part(storage: Storage, clean_partition: CleanPartition) -> None:
    manifest = build_release(storage, CORPUS, [clean_partition("bron-a", numbered_records("a", 8))], rows_per_part=4)
    assert [f["rows"] for f in manifest["files"]] == [4, 4]


def test_release_of_only_empty_partitions_has_one_empty_part(storage: Storage, clean_partition: CleanPartition) -> None:
    partition = clean_partition("bron-leeg", [b"{kapot"])
    assert partition["documents_out"] == 0
    manifest = build_release(storage, CORPUS, [partition])
    assert manifest["total_documents"] == 0
    assert [(f["path"], f["rows"]) for f in manifest["files"]] == [("part-00000.parquet", 0)]
    (path,) = part_paths(storage, manifest)
    assert pq.read_schema(path).names == DOCUMENT_SCHEMA.names
    assert verify_release(storage, manifest) == []


def test_building_twice_with_other_settings_creates_two_versions(
    storage: Storage, partitions: list[dict[str, Any]]
) -> None:
    first = build_release(storage, CORPUS, partitions, rows_per_part=4)
    first_folder = Path(storage.url(release_dir(CORPUS, first["version"])))
    before = {p.relative_to(first_folder): p.read_bytes() for p in first_folder.rglob("*") if p.is_file()}
    second = build_release(storage, CORPUS, partitions, rows_per_part=3)
    assert first["version"] != second["version"]
    assert first.unchanged_since is None and second.unchanged_since is None
    assert {p.relative_to(first_folder): p.read_bytes() for p in first_folder.rglob("*") if p.is_file()} == before
    assert verify_release(storage, first) == []
    assert verify_release(storage, second) == []
    assert [v["version"] for v in list_versions(storage, CORPUS)] == [first["version"], second["version"]]
    assert read_manifest(storage, first["version"]) == first
    assert read_manifest(storage, "latest") == second
    assert first["release_digest"] != second["release_digest"]
    assert first["inputs_digest"] != second["inputs_digest"]


@pytest.mark.parametrize("code", ["1.0.0+gabcdef123456", "1.0.0+gabcdef123456.dirty"])
def test_a_rebuild_with_nothing_new_cuts_no_version(
    storage: Storage, partitions: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    monkeypatch.setattr(releases, "code_version", lambda: code)
    first = build_release(storage, CORPUS, partitions, rows_per_part=4)
    assert first.unchanged_since is None
    assert len(first["inputs_digest"]) == 64
    built: list[str] = []

    class RecordingPartWriter(PartWriter):
        def __init__(self, storage: Storage, folder: str, rows_per_part: int) -> None:
            built.append(folder)
            super().__init__(storage, folder, rows_per_part)

    monkeypatch.setattr(release_format, "PartWriter", RecordingPartWriter)
    second = build_release(storage, CORPUS, partitions, rows_per_part=4)
    assert second.unchanged_since == first["version"]
    assert second == first  # the latest release's manifest: nothing was written
    assert [v["version"] for v in list_versions(storage, CORPUS)] == [first["version"]]
    assert storage.ls(f"excluded/release/{CORPUS}") == [f"{first['version']}.parquet"]
    # the same inputs digest is trusted for a committed code version only; a dirty tree builds and compares
    assert len(built) == (1 if code.endswith(".dirty") else 0)


def test_the_same_content_from_other_inputs_cuts_no_version(
    storage: Storage, partitions: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _near_index(storage)
    first = build_release(storage, CORPUS, partitions, near_duplicates=index)
    index_parts = storage.ls(index.folder)
    # another code version: the inputs digest differs, the parts come out byte for byte the same
    monkeypatch.setattr(releases, "code_version", lambda: "0.0.0+other")
    second = build_release(storage, CORPUS, partitions, near_duplicates=index)
    assert second.unchanged_since == first["version"]
    assert second["version"] == first["version"]
    assert [v["version"] for v in list_versions(storage, CORPUS)] == [first["version"]]  # no incomplete folder
    assert storage.ls(f"excluded/release/{CORPUS}") == [f"{first['version']}.parquet"]
    assert storage.ls(index.folder) == index_parts  # the index is not committed for a release not cut


def test_incomplete_version_is_listed_but_never_read(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions)
    broken = "v99991231T235959Z"  # sorts after every real version
    storage.write_bytes(f"{release_dir(CORPUS, broken)}/part-00000.parquet", b"half a build")
    versions = {v["version"]: v for v in list_versions(storage)}
    assert versions[broken] == {"corpus": CORPUS, "version": broken, "complete": False, "manifest": None}
    assert versions[manifest["version"]]["complete"] is True
    assert versions[manifest["version"]]["manifest"] == manifest
    with pytest.raises(ReleaseError, match=broken):
        read_manifest(storage, broken)
    assert read_manifest(storage, "latest") == manifest
    assert read_manifest(storage, "latest", corpus=CORPUS) == manifest


def test_read_manifest_errors(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    with pytest.raises(ReleaseError, match="no complete release"):
        read_manifest(storage, "latest")
    assert list_versions(storage) == []
    manifest = build_release(storage, CORPUS, partitions)
    with pytest.raises(ReleaseError, match="no complete release version 'v0'"):
        read_manifest(storage, "v0")
    with pytest.raises(ReleaseError, match="in corpus 'ander-corpus'"):
        read_manifest(storage, manifest["version"], corpus="ander-corpus")


def test_same_version_in_two_corpora_needs_a_corpus(
    storage: Storage, partitions: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(releases, "utc_now", lambda: fixed)
    one = build_release(storage, "corpus-een", partitions)
    two = build_release(storage, "corpus-twee", partitions)
    assert one["version"] == two["version"] == "v20261123T120000Z"
    with pytest.raises(ReleaseError, match="several corpora"):
        read_manifest(storage, one["version"])
    assert read_manifest(storage, one["version"], corpus="corpus-twee") == two


def test_versions_in_the_same_second_get_a_suffix(
    storage: Storage, partitions: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(releases, "utc_now", lambda: fixed)
    versions = [build_release(storage, CORPUS, partitions, rows_per_part=n)["version"] for n in (3, 4, 5)]
    assert versions == ["v20261123T120000Z", "v20261123T120000Z-2", "v20261123T120000Z-3"]
    assert read_manifest(storage, "latest")["version"] == "v20261123T120000Z-3"


def test_latest_after_ten_builds_in_the_same_second(
    storage: Storage, partitions: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(releases, "utc_now", lambda: fixed)
    base = "v20261123T120000Z"
    # earlier builds of this second that left (incomplete) folders behind: only the folder matters for the id
    for name in [base] + [f"{base}-{n}" for n in range(2, 9)]:
        storage.write_bytes(f"{release_dir(CORPUS, name)}/part-00000.parquet", b"x")
    ninth = build_release(storage, CORPUS, partitions, rows_per_part=3)
    tenth = build_release(storage, CORPUS, partitions, rows_per_part=4)
    assert (ninth["version"], tenth["version"]) == (f"{base}-9", f"{base}-10")
    assert read_manifest(storage, "latest")["version"] == tenth["version"]


def test_released_and_excluded_documents_carry_no_identifier_from_any_field(
    storage: Storage, clean_partition: CleanPartition
) -> None:
    # Releases and excluded/release copy rows from the anonymised zone, so what the stage replaced in ids and
    # URLs stays replaced there: both copies of a text, the kept and the excluded one, are checked.
    email, bsn, iban = "jan.jansen@example.nl", "111222333", "NL91ABNA0417164300"
    url = f"https://krant.example/artikel/123?bsn={bsn}&iban={iban}"
    a = [{"id": email, "url": url, "text": SHARED_TEXT, "published_at": "2026-05-02"}]
    b = [{"id": f"b-{email}", "url": url + "&kopie=1", "text": SHARED_TEXT, "published_at": "2026-05-01"}]
    manifest = build_release(storage, CORPUS, [clean_partition("bron-a", a), clean_partition("bron-b", b)])
    assert manifest["total_documents"] == 1 and manifest["excluded"]["duplicate_content"] == 1
    tables = [pq.read_table(path) for path in part_paths(storage, manifest)]
    with storage.open_input(excluded_release_path(CORPUS, manifest["version"])) as handle:
        tables.append(pq.read_table(handle))
    published = repr([table.to_pylist() for table in tables])
    for original in (email, bsn, iban, "jan.jansen"):
        assert original not in published


def test_cross_source_duplicates_are_dropped_and_excluded(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions)
    version = manifest["version"]
    assert manifest["excluded"] == {
        "duplicate_content": 1, "near_duplicate": 0, "takedown": 0, "path": excluded_release_path(CORPUS, version)
    }  # fmt: skip
    assert manifest["near_duplicates"] is None  # no index given: exact duplicates only
    assert excluded_release_path(CORPUS, version) == f"excluded/release/{CORPUS}/{version}.parquet"
    with storage.open_input(excluded_release_path(CORPUS, version)) as handle:
        excluded = pq.read_table(handle)
    assert excluded.schema.equals(EXCLUDED_SCHEMA, check_metadata=False)
    (row,) = excluded.to_pylist()
    # native ids are pseudonymised; doc_id (computed at ingest from the native id) is the identity
    assert row["doc_id"] == make_doc_id("bron-a", "a-dup")  # published later than bron-b's copy
    assert row["excluded_stage"] == "release"
    assert row["excluded_reason"] == "duplicate_content"
    (kept,) = [
        r for p in part_paths(storage, manifest) for r in pq.read_table(p).to_pylist() if r["text"] == SHARED_TEXT
    ]
    assert kept["doc_id"] == make_doc_id("bron-b", "b-dup")
    assert row["duplicate_of"] == kept["doc_id"]
    assert row["content_sha256"] == kept["content_sha256"]


def test_empty_partitions_list_raises(storage: Storage) -> None:
    with pytest.raises(ReleaseError, match="nothing to release"):
        build_release(storage, CORPUS, [])
    assert not storage.exists("releases")


def test_release_reads_back_with_polars_and_duckdb(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions, rows_per_part=4)
    pattern = storage.url(release_dir(CORPUS, manifest["version"]), "*.parquet")

    frame = pl.read_parquet(pattern)
    assert frame.columns == DOCUMENT_SCHEMA.names
    assert frame.height == manifest["total_documents"]
    assert frame["doc_id"].n_unique() == frame.height
    assert frame["content_sha256"].n_unique() == frame.height  # no exact duplicates left
    assert frame["published_at"].dtype == pl.Datetime("us", "UTC")

    con = storage.duckdb(memory_limit="256MB")
    try:
        relation = f"read_parquet({sql_quote(pattern)})"
        names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        assert names == DOCUMENT_SCHEMA.names
        assert con.execute(f"SELECT count(*) FROM {relation}").fetchall() == [(manifest["total_documents"],)]
        raw_sources = con.execute(f"SELECT DISTINCT annotations.raw.ingest_id FROM {relation} ORDER BY 1").fetchall()
        assert [r[0] for r in raw_sources] == sorted(p["ingest_id"] for p in partitions)
    finally:
        con.close()

    for path in part_paths(storage, manifest):
        assert pq.read_schema(path).equals(DOCUMENT_SCHEMA, check_metadata=False)


def test_release_from_the_bundled_samples(storage: Storage) -> None:
    registry = SourceRegistry.from_env({})
    reports = []
    for source_id, spec in sorted(registry.specs().items()):
        ingest_source(storage, spec)
        clean = clean_source(storage, source_id)
        anonymiser = Anonymiser.from_policy(spec.anonymisation, TEST_KEY)
        reports.append(
            anonymise_source(storage, source_id, anonymiser, operator=spec.anonymisation.operator, clean_report=clean)
        )
    manifest = build_release(storage, CORPUS, reports, rows_per_part=10)
    assert manifest["anonymised"] is True
    kept = sum(s["documents"] for s in manifest["sources"])
    dropped = sum(s["duplicates_dropped"] for s in manifest["sources"])
    assert kept == manifest["total_documents"]
    assert kept + dropped == sum(r["documents_out"] for r in reports)
    assert manifest["excluded"]["duplicate_content"] == dropped
    assert all(f["rows"] <= 10 for f in manifest["files"])
    assert verify_release(storage, manifest) == []


def test_release_after_a_redelivery_holds_only_the_newest_version(
    storage: Storage, make_spec: Callable[..., SourceSpec], data_dir: Path
) -> None:
    spec = make_spec(numbered_records("a", 3), source_id="bron-a")
    ingest_source(storage, spec)
    # the partner corrects one document and delivers the file again
    write_drop(data_dir / "bron-a.jsonl", [{"id": "a-1", "text": "Gecorrigeerde tekst.", "published_at": "2026-01-02"}])
    second = ingest_source(storage, spec)
    assert second["records_read"] == 1
    clean = clean_source(storage, "bron-a")
    anonymiser = Anonymiser.from_policy(spec.anonymisation, TEST_KEY)
    partition = anonymise_source(storage, "bron-a", anonymiser, operator="surrogate", clean_report=clean)
    manifest = build_release(storage, CORPUS, [partition])
    assert manifest["total_documents"] == 3
    (source,) = manifest["sources"]
    assert source["ingest_id"] == partition["ingest_id"] == second["ingest_id"]
    native_ids = {make_doc_id("bron-a", f"a-{n}"): f"a-{n}" for n in range(3)}
    rows = {native_ids[r["doc_id"]]: r for p in part_paths(storage, manifest) for r in pq.read_table(p).to_pylist()}
    assert sorted(rows) == ["a-0", "a-1", "a-2"]
    assert rows["a-1"]["text"] == "Gecorrigeerde tekst."
    assert rows["a-1"]["annotations"]["raw"]["ingest_id"] == second["ingest_id"]
    assert rows["a-0"]["annotations"]["raw"]["ingest_id"] != second["ingest_id"]
    assert verify_release(storage, manifest) == []


def _edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def test_near_duplicates_incremental_index_never_replaces_a_published_document(
    storage: Storage, clean_partition: CleanPartition
) -> None:
    from quality.dedup_index import NearDuplicateIndex
    from quality.neardup import MinHashSettings
    from tests.texts import DUTCH_ARTICLE

    other = (
        "Het KNMI verwacht voor het weekend zware windstoten langs de kust van Zeeland en Noord-Holland. "
        "Veerdiensten naar de Waddeneilanden kunnen uitvallen en de NS raadt reizigers aan de reisplanner te "
        "raadplegen voordat zij vertrekken. Zondag wordt het rustiger, met opklaringen in het oosten."
    )
    index = NearDuplicateIndex(storage, CORPUS, MinHashSettings(), priority={"krant": 10, "aggregator": 1})

    # release 1: the aggregator and the paper carry the same wire story; the paper (priority 10) wins
    aggregator = [{"id": "wire", "text": _edit(DUTCH_ARTICLE, "dinsdag", "gisteren"), "published_at": "2026-03-01"}]
    krant = [{"id": "brug", "text": DUTCH_ARTICLE, "published_at": "2026-03-02"}]
    first = build_release(
        storage, CORPUS, [clean_partition("aggregator", aggregator), clean_partition("krant", krant)],
        near_duplicates=index,
    )  # fmt: skip
    assert first["total_documents"] == 1
    assert first["excluded"]["near_duplicate"] == 1
    assert first["near_duplicates"]["documents_hashed"] == 2
    assert first["near_duplicates"]["dropped_by_source_pair"] == [
        {"source_id": "aggregator", "kept_copy_source_id": "krant", "documents": 1}
    ]
    by_source = {s["source_id"]: s for s in first["sources"]}
    assert by_source["aggregator"]["near_duplicates_dropped"] == 1 and by_source["krant"]["documents"] == 1

    # release 2: a re-publisher with a higher priority than anyone brings a later copy, plus a new story.
    # The paper's copy is published: it stays, and only the two new documents are hashed.
    herdruk = [
        {"id": "herdruk-brug", "text": _edit(DUTCH_ARTICLE, "Meerstad", "de Meerstad"), "published_at": "2026-01-01"},
        {"id": "weer", "text": other, "published_at": "2026-03-05"},
    ]
    index.priority["herdruk"] = 100
    sources = {"aggregator": aggregator, "herdruk": herdruk, "krant": krant}

    def release_all() -> dict[str, Any]:
        partitions = [clean_partition(source_id, records) for source_id, records in sources.items()]
        return build_release(storage, CORPUS, partitions, near_duplicates=index)

    second = release_all()
    assert second["near_duplicates"]["documents_hashed"] == 2
    assert second["near_duplicates"]["decisions_reused"] == 1  # the aggregator's copy: not hashed again
    assert second["near_duplicates"]["dropped_for_an_earlier_release"] == 1
    assert second["total_documents"] == 2  # the paper's story and the weather
    released = pl.concat(pl.read_parquet(path) for path in part_paths(storage, second))
    assert sorted(released["doc_id"].to_list()) == sorted(
        [make_doc_id("krant", "brug"), make_doc_id("herdruk", "weer")]
    )
    excluded = pl.read_parquet(storage.url(excluded_release_path(CORPUS, second["version"])))
    near = excluded.filter(pl.col("excluded_reason") == "near_duplicate")
    assert sorted(near["doc_id"].to_list()) == sorted(
        [make_doc_id("herdruk", "herdruk-brug"), make_doc_id("aggregator", "wire")]
    )

    # release 3: nothing new, nothing hashed, the same documents
    third = release_all()
    assert third["near_duplicates"]["documents_hashed"] == 0
    assert third["total_documents"] == 2


# -- a newer version of a published document replaces it (issue 11, item 2) ------------------------

OTHER_ARTICLE = (
    "Het KNMI verwacht voor het weekend zware windstoten langs de kust van Zeeland en Noord-Holland. "
    "Veerdiensten naar de Waddeneilanden kunnen uitvallen en de NS raadt reizigers aan de reisplanner te "
    "raadplegen voordat zij vertrekken. Zondag wordt het rustiger, met opklaringen in het oosten."
)
THIRD_ARTICLE = (
    "Het ziekenhuis in Zwolle opent in het voorjaar een nieuwe afdeling voor kinderen met longziekten. "
    "Artsen en verpleegkundigen werken er samen met fysiotherapeuten, zodat ouders minder vaak heen en weer "
    "hoeven te reizen. De bouw kostte vier jaar en werd deels betaald door giften van inwoners uit de regio."
)


#: The source's own ids used below: released native ids are keyed pseudonyms, so rows are named by their doc_id.
_TEST_IDS = ("art-1", "art-2", "brug", "wire", "x", "zorg")


def _native(row: dict[str, Any]) -> str:
    """Return the source's own id of a released row (its native_id is a pseudonym)."""
    return next(n for n in _TEST_IDS if make_doc_id(row["source_id"], n) == row["doc_id"])


def _released(storage: Storage, manifest: dict[str, Any]) -> dict[str, str]:
    """The source's own id -> text of every released document."""
    rows = [r for p in part_paths(storage, manifest) for r in pq.read_table(p).to_pylist()]
    return {_native(r): r["text"] for r in rows}


def _near_index(storage: Storage, **priority: int) -> Any:
    from quality.dedup_index import NearDuplicateIndex
    from quality.neardup import MinHashSettings

    return NearDuplicateIndex(storage, CORPUS, MinHashSettings(), priority=dict(priority))


def test_a_corrected_redelivery_replaces_the_published_version(
    storage: Storage, clean_partition: CleanPartition
) -> None:
    from tests.texts import DUTCH_ARTICLE

    index = _near_index(storage)
    first = build_release(
        storage, CORPUS,
        [clean_partition("krant", [{"id": "art-1", "text": DUTCH_ARTICLE}, {"id": "art-2", "text": OTHER_ARTICLE}])],
        near_duplicates=index,
    )  # fmt: skip
    assert sorted(_released(storage, first)) == ["art-1", "art-2"]

    # the partner corrects one sentence of art-1 and delivers it again
    corrected = _edit(DUTCH_ARTICLE, "ruim een jaar", "ruim anderhalf jaar")
    second = build_release(
        storage, CORPUS, [clean_partition("krant", [{"id": "art-1", "text": corrected}])], near_duplicates=index
    )
    released = _released(storage, second)
    assert sorted(released) == ["art-1", "art-2"]  # art-1 is not a near duplicate of its own earlier version
    assert released["art-1"] == corrected
    assert second["excluded"]["near_duplicate"] == 0
    assert second["near_duplicates"]["replaced_by_newer_version"] == 1
    assert second["near_duplicates"]["documents_hashed"] == 1
    assert verify_release(storage, second) == []


def test_a_newer_version_is_still_judged_against_other_published_documents(
    storage: Storage, clean_partition: CleanPartition
) -> None:
    from tests.texts import DUTCH_ARTICLE

    index = _near_index(storage, krant=10, aggregator=1)
    partitions = [
        clean_partition("aggregator", [{"id": "x", "text": OTHER_ARTICLE, "published_at": "2026-03-01"}]),
        clean_partition("krant", [{"id": "brug", "text": DUTCH_ARTICLE, "published_at": "2026-03-02"}]),
    ]
    first = build_release(storage, CORPUS, partitions, near_duplicates=index)
    assert sorted(_released(storage, first)) == ["brug", "x"]
    # the aggregator's x becomes a copy of the paper's published story: the new version is a near duplicate
    copy = _edit(DUTCH_ARTICLE, "dinsdag", "gisteren")
    partitions = [
        clean_partition("aggregator", [{"id": "x", "text": copy, "published_at": "2026-03-01"}]),
        clean_partition("krant", [{"id": "brug", "text": DUTCH_ARTICLE, "published_at": "2026-03-02"}]),
    ]
    second = build_release(storage, CORPUS, partitions, near_duplicates=index)
    assert sorted(_released(storage, second)) == ["brug"]
    assert second["near_duplicates"]["replaced_by_newer_version"] == 1
    assert second["near_duplicates"]["dropped_for_an_earlier_release"] == 1
    excluded = pl.read_parquet(storage.url(excluded_release_path(CORPUS, second["version"])))
    (row,) = excluded.filter(pl.col("excluded_reason") == "near_duplicate").to_dicts()
    assert _native(row) == "x"
    assert row["duplicate_of"] == next(
        r["doc_id"] for p in part_paths(storage, second) for r in pq.read_table(p).to_pylist()
    )


def test_decisions_against_a_superseded_version_are_reconsidered(
    storage: Storage, clean_partition: CleanPartition
) -> None:
    from tests.texts import DUTCH_ARTICLE

    index = _near_index(storage, krant=10, aggregator=1)
    wire = [{"id": "wire", "text": _edit(DUTCH_ARTICLE, "dinsdag", "gisteren"), "published_at": "2026-03-01"}]
    partitions = [
        clean_partition("aggregator", wire),
        clean_partition("krant", [{"id": "brug", "text": DUTCH_ARTICLE, "published_at": "2026-03-02"}]),
    ]
    first = build_release(storage, CORPUS, partitions, near_duplicates=index)
    assert sorted(_released(storage, first)) == ["brug"]  # the wire copy gave way to the paper's story
    # the paper replaces its story by a wholly different text: the wire copy no longer duplicates anything
    partitions = [
        clean_partition("aggregator", wire),
        clean_partition("krant", [{"id": "brug", "text": OTHER_ARTICLE, "published_at": "2026-03-02"}]),
    ]
    second = build_release(storage, CORPUS, partitions, near_duplicates=index)
    assert sorted(_released(storage, second)) == ["brug", "wire"]
    assert second["near_duplicates"]["decisions_reused"] == 0
    assert second["near_duplicates"]["documents_hashed"] == 2
    assert second["excluded"]["near_duplicate"] == 0


def test_the_index_stays_consistent_across_three_versions_of_a_document(
    storage: Storage, clean_partition: CleanPartition
) -> None:
    from tests.texts import DUTCH_ARTICLE

    index = _near_index(storage, krant=10, aggregator=1)
    story = DUTCH_ARTICLE + " " + OTHER_ARTICLE  # long enough for two corrections to stay near the wire copy
    wire = [{"id": "wire", "text": _edit(story, "dinsdag", "gisteren"), "published_at": "2026-03-01"}]
    versions = [
        story,
        _edit(story, "ruim een jaar", "ruim anderhalf jaar"),
        _edit(story, "acht miljoen", "negen miljoen"),
    ]
    manifests = []
    for text in versions:
        partitions = [
            clean_partition("aggregator", wire),
            clean_partition("krant", [{"id": "art-1", "text": text, "published_at": "2026-03-02"}]),
        ]
        manifests.append(build_release(storage, CORPUS, partitions, near_duplicates=index))
        released = _released(storage, manifests[-1])
        assert released == {"art-1": text}  # every version in turn, the wire copy always gives way to it
        assert manifests[-1]["excluded"]["near_duplicate"] == 1
    assert [m["near_duplicates"]["replaced_by_newer_version"] for m in manifests] == [0, 1, 1]
    # the wire copy's decision is taken again against each new version, never reused against an old one
    assert [m["near_duplicates"]["decisions_reused"] for m in manifests] == [0, 0, 0]
    assert [m["near_duplicates"]["documents_hashed"] for m in manifests] == [2, 2, 2]

    # the index holds one current entry per document: the third version published, the wire copy dropped
    published = index.published()
    assert published["doc_id"].n_unique() == 1
    assert published.select("content_sha256", "release").unique().rows() == [
        (_sha_of(storage, manifests[-1], "art-1"), manifests[-1]["version"])
    ]
    decided = index.decided()
    assert decided.height == 1 and decided["duplicate_of"].to_list() == published["doc_id"].unique().to_list()

    # a fourth release with one new story: only that one is hashed, the wire decision is reused
    partitions = [
        clean_partition("aggregator", wire),
        clean_partition(
            "krant",
            [
                {"id": "art-1", "text": versions[-1], "published_at": "2026-03-02"},
                {"id": "zorg", "text": THIRD_ARTICLE},
            ],
        ),
    ]
    fourth = build_release(storage, CORPUS, partitions, near_duplicates=index)
    assert sorted(_released(storage, fourth)) == ["art-1", "zorg"]
    assert fourth["near_duplicates"]["documents_hashed"] == 1
    assert fourth["near_duplicates"]["decisions_reused"] == 1
    assert fourth["near_duplicates"]["replaced_by_newer_version"] == 0


def _sha_of(storage: Storage, manifest: dict[str, Any], native_id: str) -> str:
    rows = [r for p in part_paths(storage, manifest) for r in pq.read_table(p).to_pylist()]
    return next(r["content_sha256"] for r in rows if _native(r) == native_id)


# -- verification sees every entry of a release folder (issue 11, item 8b) -------------------------


def test_verify_release_flags_hidden_files_and_folders(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    manifest = build_release(storage, CORPUS, partitions)
    folder = release_dir(CORPUS, manifest["version"])
    (part,) = part_paths(storage, manifest)
    copy = part.with_name(".x.parquet")
    copy.write_bytes(part.read_bytes())
    # a reader's glob takes the hidden copy as a part: every document would be counted twice
    con = storage.duckdb(memory_limit="256MB")
    try:
        pattern = sql_quote(storage.url(folder, "*.parquet"))
        assert con.execute(f"SELECT count(*) FROM read_parquet({pattern})").fetchall() == [(20,)]
    finally:
        con.close()
    assert verify_release(storage, manifest) == [".x.parquet: file not listed in the manifest"]
    copy.unlink()
    storage.write_bytes(f"{folder}/extra/part-00000.parquet", b"a folder in a release")
    storage.write_bytes(f"{folder}/.part-00001.parquet.tmp-{'0' * 32}", b"a leftover temporary file")
    assert sorted(verify_release(storage, manifest)) == [
        f".part-00001.parquet.tmp-{'0' * 32}: file not listed in the manifest",
        "extra: folder not listed in the manifest",
    ]


# -- incomplete builds are cleaned up (issue 11, item 8c) ------------------------------------------


def _age(storage: Storage, rel: str, seconds: float) -> None:
    """Make every file under ``rel`` (or the file itself) look ``seconds`` old."""
    import os
    import time

    root = Path(storage.url(rel))
    stamp = time.time() - seconds
    for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
        os.utime(path, (stamp, stamp))


def test_clean_incomplete_releases(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    from stages.release import clean_incomplete_releases

    manifest = build_release(storage, CORPUS, partitions)
    complete = release_dir(CORPUS, manifest["version"])
    ours = f"{complete}/.part-00000.parquet.tmp-{'ab' * 16}"
    storage.write_bytes(ours, b"left behind by a killed copy")
    storage.write_bytes(f"{complete}/.notes.txt", b"not ours: reported by verify, never deleted")
    storage.write_bytes(f"{release_dir(CORPUS, 'v20260101T000000Z')}/part-00000.parquet", b"half a build")
    storage.write_bytes(excluded_release_path(CORPUS, "v20260101T000000Z"), b"its excluded documents")
    storage.write_bytes(excluded_release_path(CORPUS, "v20260102T000000Z"), b"an orphan without a folder")
    storage.write_bytes(f"{release_dir('ander-corpus', 'v20260103T000000Z')}/part-00000.parquet", b"other corpus")
    expected = {
        "incomplete_releases": [f"{CORPUS}/v20260101T000000Z"],
        "orphaned_excluded": [
            excluded_release_path(CORPUS, "v20260101T000000Z"), excluded_release_path(CORPUS, "v20260102T000000Z")
        ],
        "orphaned_index_parts": [],
        "temp_files": [ours],
        "kept_too_young": [],
    }  # fmt: skip

    dry = clean_incomplete_releases(storage, CORPUS, dry_run=True)
    assert dry == expected
    assert storage.exists(ours) and storage.exists(release_dir(CORPUS, "v20260101T000000Z"))

    # the automatic path (at the start of a build) leaves anything younger than its minimum age alone
    young = clean_incomplete_releases(storage, CORPUS, min_age_s=600)
    assert young == {
        "incomplete_releases": [], "orphaned_excluded": [], "orphaned_index_parts": [], "temp_files": [],
        "kept_too_young": sorted(
            [f"{CORPUS}/v20260101T000000Z", f"{CORPUS}/v20260102T000000Z", ours]
        ),
    }  # fmt: skip

    assert clean_incomplete_releases(storage, CORPUS) == expected
    assert [v["version"] for v in list_versions(storage, CORPUS)] == [manifest["version"]]
    assert storage.ls("excluded/release/" + CORPUS) == [f"{manifest['version']}.parquet"]
    assert not storage.exists(ours)
    assert storage.exists(f"{complete}/.notes.txt")
    assert storage.exists(release_dir("ander-corpus", "v20260103T000000Z"))  # another corpus: not asked for
    storage.delete(f"{complete}/.notes.txt")
    assert verify_release(storage, manifest) == []
    assert read_manifest(storage, "latest") == manifest
    assert clean_incomplete_releases(storage)["incomplete_releases"] == ["ander-corpus/v20260103T000000Z"]


def test_a_build_cleans_up_old_incomplete_builds_first(storage: Storage, partitions: list[dict[str, Any]]) -> None:
    old, recent = "v20260101T000000Z", "v20260102T000000Z"
    for version in (old, recent):
        storage.write_bytes(f"{release_dir(CORPUS, version)}/part-00000.parquet", b"half a build")
        storage.write_bytes(excluded_release_path(CORPUS, version), b"its excluded documents")
    _age(storage, release_dir(CORPUS, old), 3600)
    _age(storage, excluded_release_path(CORPUS, old), 3600)
    manifest = build_release(storage, CORPUS, partitions)
    # the recent one may be a build in progress in another process: it stays
    assert [v["version"] for v in list_versions(storage, CORPUS)] == [recent, manifest["version"]]
    assert not storage.exists(excluded_release_path(CORPUS, old))
    assert storage.exists(excluded_release_path(CORPUS, recent))
    assert manifest.cleaned_up["incomplete_releases"] == [f"{CORPUS}/{old}"]


def test_a_failed_build_removes_what_it_wrote(
    storage: Storage, partitions: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("disk full")

    real_write_json = storage.write_json
    monkeypatch.setattr(storage, "write_json", fail)  # the manifest cannot be written
    with pytest.raises(OSError, match="disk full"):
        build_release(storage, CORPUS, partitions, rows_per_part=4)
    monkeypatch.setattr(storage, "write_json", real_write_json)
    assert list_versions(storage, CORPUS) == []
    assert storage.ls(f"excluded/release/{CORPUS}") == []


class Crash(BaseException):
    """Stands in for a SIGKILL at a failpoint (the process would stop right there)."""


def crash() -> None:
    """Stop like a SIGKILL would."""
    raise Crash("killed")


def _crash_at(monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    def failpoint(name: str) -> None:
        if name == point:
            raise Crash(name)

    monkeypatch.setattr(releases, "failpoint", failpoint)


def test_a_crash_right_after_the_manifest_leaves_the_release_in_the_index(
    storage: Storage, clean_partition: CleanPartition, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.texts import DUTCH_ARTICLE

    index = _near_index(storage, krant=1, aggregator=10)
    partition = clean_partition("krant", [{"id": "brug", "text": DUTCH_ARTICLE, "published_at": "2026-03-02"}])
    with monkeypatch.context() as patch:
        _crash_at(patch, "release:manifest-written")
        with pytest.raises(Crash):
            build_release(storage, CORPUS, [partition], near_duplicates=index)
    (published,) = list_versions(storage, CORPUS)
    assert published["complete"]
    assert index.published()["release"].unique().to_list() == [published["version"]]

    # the next build finds the inputs unchanged; a later copy from the aggregator gives way to the published
    # brug, though the aggregator has the higher priority (published documents are never replaced)
    assert build_release(storage, CORPUS, [partition], near_duplicates=index).unchanged_since == published["version"]
    copy = [{"id": "wire", "text": _edit(DUTCH_ARTICLE, "dinsdag", "gisteren"), "published_at": "2026-03-01"}]
    aggregator = clean_partition("aggregator", [*copy, {"id": "x", "text": OTHER_ARTICLE}])
    later = build_release(storage, CORPUS, [aggregator, partition], near_duplicates=index)
    assert sorted(_released(storage, later)) == ["brug", "x"]
    assert later["near_duplicates"]["dropped_for_an_earlier_release"] == 1


def test_index_parts_of_a_build_killed_before_its_manifest_never_count_and_are_cleaned(
    storage: Storage, clean_partition: CleanPartition, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.texts import DUTCH_ARTICLE

    index = _near_index(storage, krant=10, aggregator=1)
    copy = [{"id": "wire", "text": _edit(DUTCH_ARTICLE, "dinsdag", "gisteren"), "published_at": "2026-03-01"}]
    with monkeypatch.context() as patch:
        # a kill after the index parts, before the manifest: no exception handler runs, the parts stay
        patch.setattr(releases, "_remove_build", lambda *args, **kwargs: None)
        patch.setattr(index, "commit", lambda plan, version, commit=index.commit: (commit(plan, version), crash()))
        with pytest.raises(Crash):
            build_release(storage, CORPUS, [clean_partition("aggregator", copy)], near_duplicates=index)
    assert [v["complete"] for v in list_versions(storage, CORPUS)] == [False]
    (orphan,) = index.parts()
    assert index.published(releases=[]).height == 0  # nobody reads them as published

    # the aggregator's copy was never released: the paper's story is judged as new, and wins on priority
    krant = clean_partition("krant", [{"id": "brug", "text": DUTCH_ARTICLE, "published_at": "2026-03-02"}])
    manifest = build_release(
        storage, CORPUS, [clean_partition("aggregator", copy), krant], near_duplicates=index, clean_min_age_s=0
    )
    assert sorted(_released(storage, manifest)) == ["brug"]
    assert manifest["near_duplicates"]["dropped_for_an_earlier_release"] == 0
    assert [p.rsplit("/", 1)[-1] for p in manifest.cleaned_up["orphaned_index_parts"]] == [f"bands-{orphan}.parquet"]
    assert sorted(index.parts()) == [manifest["version"]]


def test_a_failed_build_removes_its_index_parts(
    storage: Storage, clean_partition: CleanPartition, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.texts import DUTCH_ARTICLE

    index = _near_index(storage)
    real_write_json = storage.write_json

    def no_manifest(rel: str, obj: Any) -> None:
        if rel.endswith("/manifest.json"):
            raise OSError("disk full")
        real_write_json(rel, obj)

    monkeypatch.setattr(storage, "write_json", no_manifest)
    with pytest.raises(OSError, match="disk full"):
        build_release(
            storage, CORPUS, [clean_partition("krant", [{"id": "a", "text": DUTCH_ARTICLE}])], near_duplicates=index
        )
    assert list_versions(storage, CORPUS) == [] and index.parts() == {}


def test_a_release_format_writes_the_parts_and_commits_the_manifest(storage: Storage, partitions: list[dict[str, Any]]):
    from stages.release_format import RELEASE_FORMATS, ParquetRelease

    written: list[str] = []

    class RecordingFormat(ParquetRelease):
        name = "recording"

        def write_manifest(self, storage: Storage, path: str, manifest: dict[str, Any]) -> None:
            written.append(path)
            super().write_manifest(storage, path, manifest)

    manifest = build_release(storage, "nl-test", partitions, release_format=RecordingFormat())
    assert written == [f"releases/nl-test/{manifest['version']}/manifest.json"]
    assert verify_release(storage, read_manifest(storage, manifest["version"])) == []
    assert set(RELEASE_FORMATS) == {"parquet"}


def _released_ids(storage: Storage, manifest: dict[str, Any]) -> set[str]:
    return {doc for path in part_paths(storage, manifest) for doc in pq.read_table(path)["doc_id"].to_pylist()}


def test_takedowns_leave_documents_out_of_every_later_release_even_after_a_redelivery(
    storage: Storage, make_spec: Callable[..., SourceSpec], data_dir: Path, clean_partition: CleanPartition
) -> None:
    from catalog.takedowns import list_takedowns, record_takedown, taken_down_in

    records = numbered_records("a", 5)
    for record in records:
        record["url"] = f"https://krant.example/{'dossier/' if record['id'] == 'a-3' else ''}{record['id']}"
    spec = make_spec(records, source_id="bron-a")
    partitions = [clean_partition("bron-a", records), clean_partition("bron-b", numbered_records("b", 3))]
    doc = {n: make_doc_id("bron-a", f"a-{n}") for n in range(5)}
    first = build_release(storage, CORPUS, partitions)
    assert first["total_documents"] == 8

    by_id = record_takedown(storage, "doc_id", doc[1], "court order", "ticket-1")
    by_url = record_takedown(storage, "url", "https://krant.example/a-2", "rectification request")
    by_prefix = record_takedown(storage, "url_prefix", "https://krant.example/dossier/", "opt-out of a dossier")
    by_source = record_takedown(storage, "source", "bron-b", "the partner withdrew the source")
    second = build_release(storage, CORPUS, partitions)  # the same inputs: only the list changed

    assert second["version"] != first["version"]
    assert _released_ids(storage, second) == {doc[0], doc[4]}
    assert second["excluded"]["takedown"] == 6 and second["total_documents"] == 2
    assert second["takedowns"] == {
        "requests_recorded": 4,
        "requests_applied": sorted(r.id for r in (by_id, by_url, by_prefix, by_source)),
        "documents_taken_down": 6,
    }
    assert {s["source_id"]: s["taken_down"] for s in second["sources"]} == {"bron-a": 3, "bron-b": 3}
    excluded = pl.read_parquet(storage.url(excluded_release_path(CORPUS, second["version"])))
    taken = excluded.filter(pl.col("excluded_reason") == "takedown")
    assert set(taken["doc_id"]) == {doc[1], doc[2], doc[3]} | set(make_doc_id("bron-b", f"b-{n}") for n in range(3))
    assert verify_release(storage, second) == []
    # the immutable earlier release is superseded for exactly those documents
    later = list_takedowns(storage, after=first["created_at"])
    with storage.duckdb() as con:
        assert {e["doc_id"] for e in taken_down_in(storage, con, first, later)} == set(taken["doc_id"])
        assert taken_down_in(storage, con, second, list_takedowns(storage, before=second["created_at"])) == []

    # the partner delivers a-2 again, corrected: it stays out
    corrected = {"id": "a-2", "text": "Gecorrigeerde tekst.", "url": "https://krant.example/a-2"}
    write_drop(data_dir / spec.location, [corrected])
    ingest_source(storage, spec)
    clean = clean_source(storage, "bron-a")
    anonymiser = Anonymiser.from_policy(spec.anonymisation, TEST_KEY)
    partitions[0] = anonymise_source(storage, "bron-a", anonymiser, operator="surrogate", clean_report=clean)
    assert clean["records_read"] == 6 and partitions[0]["documents_out"] == 5  # the new version is in the zones
    third = build_release(storage, CORPUS, partitions)
    # the same documents as the second release: no version is cut, and the latest still leaves a-2 out
    assert third.unchanged_since == second["version"]
    assert _released_ids(storage, read_manifest(storage, "latest", CORPUS)) == {doc[0], doc[4]}


def test_a_release_that_holds_a_document_taken_down_before_it_was_built_is_caught(
    storage: Storage, partitions: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.takedowns import list_takedowns, record_takedown, taken_down_in

    target = make_doc_id("bron-a", "a-1")
    request = record_takedown(storage, "doc_id", target, "court order")
    monkeypatch.setattr(releases, "list_takedowns", lambda storage, before=None: [])  # a build that ignored it
    manifest = build_release(storage, CORPUS, partitions)
    with storage.duckdb() as con:
        found = taken_down_in(storage, con, manifest, list_takedowns(storage, before=manifest["created_at"]))
    assert found == [{"doc_id": target, "source_id": "bron-a", "takedown": request.id}]


def test_the_datasheet_names_every_source_with_its_numbers_and_links_plots_that_exist(
    storage: Storage, partitions: list[dict[str, Any]], make_spec: Callable[..., SourceSpec]
) -> None:
    from catalog.takedowns import record_takedown

    record_takedown(storage, "doc_id", make_doc_id("bron-a", "a-1"), "court order")
    spec = make_spec(source_id="bron-a")  # bron-b has no spec here: the datasheet says so
    manifest = build_release(storage, CORPUS, partitions, specs={"bron-a": spec})
    folder = release_dir(CORPUS, manifest["version"])
    documentation = {entry["path"]: entry for entry in manifest["documentation"]}
    assert set(documentation) == {
        "croissant.json", "datasheet.md", "datasheet.html", "plots/documents_per_source.png",
        "plots/length_histogram.png", "plots/publication_dates.png", "plots/drops_per_stage.png",
    }  # fmt: skip
    text = storage.read_bytes(f"{folder}/datasheet.md").decode()
    assert f"# Datasheet: {CORPUS} {manifest['version']}" in text
    owner = f"{spec.owner.organisation} | EUPL-1.2 | {spec.legal_basis} | {spec.sector} | {spec.status}"
    assert f"| bron-a | {owner} | 4 |" in text  # 6 delivered: one cross-source copy, one taken down
    assert "| bron-b | not recorded | EUPL-1.2 | not recorded | not recorded | not recorded | 5 |" in text
    assert "| bron-a | 0 | 0 | 0 | 1 | 0 | 1 | - |" in text  # one cross-source copy, one taken down
    assert "1 document(s) taken down for 1 of 1 takedown request(s)" in text
    assert "person names, whole articles" in text and "Known limitations" in text
    for image in re.findall(r"\]\((plots/[^)]+)\)", text):
        assert image in documentation and storage.read_bytes(f"{folder}/{image}")[:8] == b"\x89PNG\r\n\x1a\n"
    page = storage.read_bytes(f"{folder}/datasheet.html").decode()
    assert "<script" not in page and "http" not in page and '<img src="plots/drops_per_stage.png"' in page
    assert verify_release(storage, manifest) == []
    # the datasheet is verified like the parts
    storage.write_bytes(f"{folder}/datasheet.md", text.replace("bron-a", "bron-x").encode())
    storage.write_bytes(f"{folder}/plots/extra.png", b"not listed")
    assert verify_release(storage, manifest) == [
        "plots/extra.png: file not listed in the manifest",
        "datasheet.md: sha256 does not match the manifest",
    ]


def test_mlcroissant_validates_the_croissant_file_and_loads_the_release_rows(
    storage: Storage, partitions: list[dict[str, Any]], make_spec: Callable[..., SourceSpec]
) -> None:
    mlcroissant = pytest.importorskip("mlcroissant")  # a development dependency: the release never needs it

    specs = {"bron-a": make_spec(source_id="bron-a")}
    manifest = build_release(storage, CORPUS, partitions, rows_per_part=4, specs=specs)
    folder = Path(storage.url(release_dir(CORPUS, manifest["version"])))
    description = json.loads((folder / "croissant.json").read_text())
    assert {entry["sha256"] for entry in description["distribution"] if "sha256" in entry} == {
        entry["sha256"] for entry in manifest["files"]
    }
    assert description["license"] == ["EUPL-1.2"] and "rai:personalSensitiveInformation" in description
    dataset = mlcroissant.Dataset(jsonld=str(folder / "croissant.json"))  # raises on an invalid description
    assert not dataset.metadata.issues.errors and not dataset.metadata.issues.warnings
    records = list(dataset.records("documents"))
    assert len(records) == manifest["total_documents"] == 10 and len(manifest["files"]) == 3
    assert {record["documents/doc_id"].decode() for record in records} == {
        doc for path in part_paths(storage, manifest) for doc in pq.read_table(path)["doc_id"].to_pylist()
    }
