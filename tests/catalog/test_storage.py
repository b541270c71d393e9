from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from catalog.settings import ENV_ROOT
from catalog.storage import DEFAULT_ROOT, Storage, StorageError, sql_quote
from catalog.zones import ZONES

SECRET = "zeer-geheim-Wachtwoord/9+x"


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_local_root_is_resolved_absolute(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path / "a" / ".." / "store"))
    assert storage.root == str((tmp_path / "store").resolve())
    assert storage.protocol == "file"
    assert not storage.is_remote
    assert storage.polars_storage_options() is None


def test_file_url_root_is_local(tmp_path: Path) -> None:
    storage = Storage(f"file://{tmp_path}")
    assert storage.root == str(tmp_path.resolve())
    assert not storage.is_remote


def test_write_and_read_bytes_and_json(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    storage.write_bytes("raw/bron/data.bin", b"\x00\xffbytes")
    assert storage.read_bytes("raw/bron/data.bin") == b"\x00\xffbytes"
    assert storage.size("raw/bron/data.bin") == 7
    assert storage.exists("raw/bron/data.bin")
    assert storage.exists("raw/bron")

    obj = {"b": 1, "a": ["café", None], "when": Path("x")}
    storage.write_json("clean/bron/report.json", obj)
    assert storage.read_json("clean/bron/report.json") == {"a": ["café", None], "b": 1, "when": "x"}
    raw = (tmp_path / "clean/bron/report.json").read_bytes()
    assert raw.endswith(b"\n")
    assert "café".encode() in raw  # UTF-8, not \u escapes
    assert raw.index(b'"a"') < raw.index(b'"b"')  # sorted keys


def test_write_replaces_existing_file_and_leaves_no_temp_files(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    storage.write_bytes("zone/file.txt", b"old")
    storage.write_bytes("zone/file.txt", b"new contents")
    assert storage.read_bytes("zone/file.txt") == b"new contents"
    # nothing hidden or temporary is left next to the file
    assert os.listdir(tmp_path / "zone") == ["file.txt"]


def test_staged_file_publishes_on_success(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    with storage.staged_file("releases/c/v1/part.parquet") as local:
        assert not local.startswith(str(tmp_path))  # written outside the storage root
        Path(local).write_bytes(b"payload")
        assert not storage.exists("releases/c/v1/part.parquet")  # not visible before the block ends
    assert storage.read_bytes("releases/c/v1/part.parquet") == b"payload"
    assert not Path(local).exists()  # the local staging copy is cleaned up


def test_failing_staged_file_publishes_nothing_and_keeps_old_file(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    storage.write_bytes("raw/bron/documents.parquet", b"old snapshot")  # any earlier file of the same path
    with pytest.raises(RuntimeError, match="boom"):
        with storage.staged_file("raw/bron/documents.parquet") as local:
            Path(local).write_bytes(b"half a new snap")
            raise RuntimeError("boom")
    assert storage.read_bytes("raw/bron/documents.parquet") == b"old snapshot"
    with pytest.raises(RuntimeError, match="boom"):
        with storage.staged_file("raw/nieuw/documents.parquet") as local:
            Path(local).write_bytes(b"partial")
            raise RuntimeError("boom")
    assert not storage.exists("raw/nieuw/documents.parquet")
    assert all_files(tmp_path) == ["raw/bron/documents.parquet"]


def test_staged_file_without_output_raises(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    with pytest.raises(StorageError, match="nothing was written"):
        with storage.staged_file("x/empty.bin"):
            pass
    assert not storage.exists("x/empty.bin")


def test_put_file_copies_atomically(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path / "store"))
    local = tmp_path / "local.bin"
    local.write_bytes(b"abc")
    storage.put_file(local, "a/b/c.bin")
    assert storage.read_bytes("a/b/c.bin") == b"abc"
    assert local.exists()
    assert os.listdir(tmp_path / "store" / "a" / "b") == ["c.bin"]


def test_ls_and_glob_skip_hidden_names(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    storage.write_bytes("zone/b.parquet", b"b")
    storage.write_bytes("zone/a.parquet", b"a")
    storage.write_bytes("zone/sub/c.parquet", b"c")
    (tmp_path / "zone" / ".a.parquet.tmp-123").write_bytes(b"partial")
    (tmp_path / "zone" / ".hidden").mkdir()
    (tmp_path / "zone" / ".hidden" / "d.parquet").write_bytes(b"d")

    assert storage.ls("zone") == ["a.parquet", "b.parquet", "sub"]
    assert storage.ls("zone", dirs_only=True) == ["sub"]
    assert storage.ls("does/not/exist") == []
    assert storage.glob("zone/*.parquet") == ["zone/a.parquet", "zone/b.parquet"]
    assert storage.glob("zone/**/*.parquet") == ["zone/a.parquet", "zone/b.parquet", "zone/sub/c.parquet"]
    assert storage.glob("zone/.*") == []


def test_ls_shows_hidden_names_on_request_and_modified_times(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    storage.write_bytes("zone/a.parquet", b"a")
    storage.write_bytes("zone/sub/c.parquet", b"c")
    (tmp_path / "zone" / ".a.parquet.tmp-123").write_bytes(b"partial")
    assert storage.ls("zone", hidden=True) == [".a.parquet.tmp-123", "a.parquet", "sub"]
    assert storage.is_dir("zone/sub") and not storage.is_dir("zone/a.parquet")
    os.utime(tmp_path / "zone" / "a.parquet", (1_000, 1_000))
    os.utime(tmp_path / "zone" / "sub" / "c.parquet", (2_000, 2_000))
    assert storage.modified("zone/a.parquet") == 1_000
    assert storage.modified("zone/sub") == 2_000  # the newest file under a folder
    (tmp_path / "empty").mkdir()
    assert storage.modified("empty") == (tmp_path / "empty").stat().st_mtime
    assert storage.modified("nothing/here") is None


def test_delete(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    storage.write_bytes("z/a.txt", b"a")
    storage.write_bytes("z/sub/b.txt", b"b")
    storage.delete("z/a.txt")
    storage.delete("z/not-there.txt")  # no error
    assert not storage.exists("z/a.txt")
    storage.delete("z/sub", recursive=True)
    assert not storage.exists("z/sub")


def test_url_joins_relative_paths(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    assert storage.url() == storage.root
    assert storage.url("raw/bron", "x.parquet") == f"{storage.root}/raw/bron/x.parquet"
    assert storage.url("a..b/c") == f"{storage.root}/a..b/c"  # dots inside a name are fine


@pytest.mark.parametrize(
    "parts",
    [("/etc/passwd",), ("raw", "/abs"), ("..",), ("../buiten",), ("raw/../../buiten",), ("raw", "..", "x")],
)
def test_url_rejects_absolute_and_parent_paths(tmp_path: Path, parts: tuple[str, ...]) -> None:
    storage = Storage(str(tmp_path))
    with pytest.raises(StorageError, match="relative to the storage root"):
        storage.url(*parts)


def test_reading_outside_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_bytes(b"secret")
    storage = Storage(str(tmp_path / "store"))
    with pytest.raises(StorageError):
        storage.read_bytes("../outside.txt")
    with pytest.raises(StorageError):
        storage.write_bytes("../outside.txt", b"overwritten")
    assert (tmp_path / "outside.txt").read_bytes() == b"secret"


def test_open_missing_file_raises_storage_error_naming_path(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    with pytest.raises(StorageError, match=r"no such file.*raw/nope\.parquet"):
        storage.read_bytes("raw/nope.parquet")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("plain", "'plain'"), ("o'brien", "'o''brien'"), ("''", "''''''"), ("/tmp/a b/x.parquet", "'/tmp/a b/x.parquet'")],
)
def test_sql_quote_doubles_single_quotes(value: str, expected: str) -> None:
    assert sql_quote(value) == expected
    con = duckdb.connect()
    assert con.execute(f"SELECT {sql_quote(value)}").fetchall() == [(value,)]


def test_sql_quote_makes_a_usable_path_literal(tmp_path: Path) -> None:
    folder = tmp_path / "map van d'Artagnan"
    folder.mkdir()
    path = folder / "t.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 42 AS n) TO {sql_quote(str(path))} (FORMAT parquet)")
    assert con.execute(f"SELECT n FROM read_parquet({sql_quote(str(path))})").fetchall() == [(42,)]


def test_from_env_reads_the_given_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_ROOT, str(tmp_path / "from-os-environ"))
    env = {
        ENV_ROOT: str(tmp_path / "from-mapping"),
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": "eu-central-1",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
    }
    storage = Storage.from_env(env=env)
    assert storage.root == str(tmp_path / "from-mapping")
    assert storage._key == "AKIDTEST"
    assert storage._secret == SECRET
    assert storage._region == "eu-central-1"  # AWS_REGION wins over AWS_DEFAULT_REGION
    assert storage._endpoint_url == "http://127.0.0.1:1"


def test_from_env_fallbacks_and_root_override(tmp_path: Path) -> None:
    env = {
        ENV_ROOT: str(tmp_path / "ignored"),
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ENDPOINT_URL": "http://generic.example",
        "CORPUSFABRIEK_S3_ENDPOINT_URL": "http://specific.example",
    }
    storage = Storage.from_env(root=str(tmp_path / "explicit"), env=env)
    assert storage.root == str(tmp_path / "explicit")
    assert storage._region == "us-west-2"
    assert storage._endpoint_url == "http://specific.example"  # the project's own variable wins


def test_from_env_defaults_to_local_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    storage = Storage.from_env(env={})
    assert storage.root == str(tmp_path / DEFAULT_ROOT)
    assert storage._key is None and storage._secret is None


def test_default_hidden_root_still_lists_its_contents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    storage = Storage.from_env(env={})  # ./.corpusfabriek: the root itself is a hidden folder
    storage.write_bytes("releases/c/v1/part-00000.parquet", b"x")
    storage.write_json("releases/c/v1/manifest.json", {})
    assert storage.ls("releases", dirs_only=True) == ["c"]
    assert storage.ls("releases/c/v1") == ["manifest.json", "part-00000.parquet"]
    assert storage.glob("releases/*/*/*.parquet") == ["releases/c/v1/part-00000.parquet"]


def test_repr_and_errors_never_contain_the_secret(tmp_path: Path) -> None:
    storage = Storage.from_env(
        env={
            ENV_ROOT: str(tmp_path),
            "AWS_ACCESS_KEY_ID": "AKIDTEST",
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "CORPUSFABRIEK_S3_ENDPOINT_URL": "http://127.0.0.1:1",
        }
    )
    text = repr(storage)
    assert SECRET not in text
    assert "http://127.0.0.1:1" in text
    assert str(tmp_path) in text
    assert SECRET not in str(storage)
    with pytest.raises(StorageError) as info:
        storage.read_bytes("missing.txt")
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("root", ["gs://bucket/prefix", "http://example.org/data", "azure://c/p", "hdfs://nn/x"])
def test_unsupported_scheme_raises(root: str) -> None:
    with pytest.raises(StorageError, match="unsupported storage root"):
        Storage(root, secret_access_key=SECRET)


def test_empty_root_raises() -> None:
    with pytest.raises(StorageError, match="empty"):
        Storage("")


def test_duckdb_connection_reads_local_root(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path))
    with storage.staged_file("clean/x/documents.parquet") as local:
        duckdb.connect().execute(f"COPY (SELECT range AS n FROM range(5)) TO {sql_quote(local)} (FORMAT parquet)")
    con = storage.duckdb(memory_limit="256MB", threads=1)
    try:
        path = sql_quote(storage.url("clean/x/documents.parquet"))
        assert con.execute(f"SELECT sum(n) FROM read_parquet({path})").fetchall() == [(10,)]
    finally:
        con.close()


def test_zones_cover_the_design() -> None:
    assert set(ZONES) == {
        "raw", "clean", "excluded", "quarantine", "anonymised", "validations", "dedup", "releases", "catalog"
    }  # fmt: skip
    assert all(ZONES.values())  # every zone says what it holds
