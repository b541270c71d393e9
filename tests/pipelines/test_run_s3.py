"""The whole pipeline against a real S3 server (SeaweedFS on 127.0.0.1), read back with polars and DuckDB."""

import json
import uuid

import polars as pl
import pytest
import s3fs

from catalog.documents import DOCUMENT_SCHEMA
from catalog.releases import list_versions, read_manifest, verify_release
from catalog.storage import Storage
from pipelines.cli import main
from tests.conftest import TEST_ANONYMISATION_KEY

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_env(s3_server, isolated_env, monkeypatch):
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


def test_pipeline_on_s3_and_read_back_with_polars_and_duckdb(s3_env, capsys):
    root = f"s3://{s3_env.bucket}/run-{uuid.uuid4().hex[:8]}"
    assert main(["run", "--root", root]) == 0
    out = capsys.readouterr().out
    assert f"storage {root}," in out

    storage = Storage.from_env(root)
    assert storage.is_remote
    manifest = read_manifest(storage, "latest")
    assert out.strip().splitlines()[-1].endswith(storage.url("releases", "nl-main", manifest["version"]))
    assert verify_release(storage, manifest) == []
    assert manifest["total_documents"] == 34  # 39 kept, 3 exact and 2 near duplicates

    part_urls = [storage.url("releases", "nl-main", manifest["version"], f["path"]) for f in manifest["files"]]
    frame = pl.concat(pl.read_parquet(url, storage_options=storage.polars_storage_options()) for url in part_urls)
    assert frame.height == manifest["total_documents"]
    assert frame.columns == DOCUMENT_SCHEMA.names
    assert sorted(frame["source_id"].unique().to_list()) == ["archief-courant", "nieuws-dagblad", "sector-meldingen"]

    con = storage.duckdb()
    url_list = ", ".join(f"'{url}'" for url in part_urls)
    ((count, sources, unique_ids),) = con.sql(
        f"SELECT count(*), count(DISTINCT source_id), count(DISTINCT doc_id) FROM read_parquet([{url_list}])"
    ).fetchall()
    assert (count, sources, unique_ids) == (34, 3, 34)

    # Every zone was written to the bucket and no temporary or half-written object is left behind.
    fs = storage.fs
    keys = fs.find(root.removeprefix("s3://"))
    for zone in ("raw", "clean", "excluded", "quarantine", "releases"):
        assert any(f"/{zone}/" in key for key in keys), zone
    assert not [key for key in keys if ".tmp-" in key]
    assert [v["version"] for v in list_versions(storage) if v["complete"]] == [manifest["version"]]

    # The root records the fingerprint of its key (never the key); each anonymised source names the key's id.
    record = storage.read_json("catalog/anonymisation-key.json")
    assert TEST_ANONYMISATION_KEY not in json.dumps(record)
    assert storage.read_json("anonymised/nieuws-dagblad/anonymised.json")["key_id"] == record["current"]["key_id"]
    assert not [key for key in keys if "/secrets/" in key]  # an S3 root never holds a key file


def test_releases_commands_work_against_s3(s3_env, monkeypatch, capsys, tmp_path):
    root = f"s3://{s3_env.bucket}/cmds-{uuid.uuid4().hex[:8]}"
    assert main(["run", "--root", root]) == 0
    capsys.readouterr()
    assert main(["releases", "list", "--root", root]) == 0
    assert "complete" in capsys.readouterr().out
    assert main(["releases", "verify", "latest", "--root", root]) == 0
    assert "verifies" in capsys.readouterr().out

    # a model team pulls the release to a local folder: copied, verified, and left alone when pulled again
    manifest = read_manifest(Storage.from_env(root), "latest")
    target = tmp_path / "pulled"
    assert main(["releases", "pull", "latest", "--to", str(target), "--root", root]) == 0
    assert "34 documents, verified in" in capsys.readouterr().out
    copy = target / "nl-main" / manifest["version"]
    listed = {entry["path"].split("/")[0] for entry in manifest["files"] + manifest["documentation"]}
    assert sorted(p.name for p in copy.iterdir()) == sorted(listed | {"manifest.json"})
    assert (copy / "datasheet.html").exists() and (copy / "plots" / "drops_per_stage.png").exists()
    assert pl.read_parquet(copy / "*.parquet").height == 34
    stamp = (copy / manifest["files"][0]["path"]).stat().st_mtime_ns
    assert main(["releases", "pull", manifest["version"], "--to", str(target), "--root", root]) == 0
    assert (copy / manifest["files"][0]["path"]).stat().st_mtime_ns == stamp
    # a damaged copy is found and pulled again
    (copy / manifest["files"][0]["path"]).write_bytes(b"damaged")
    assert main(["releases", "pull", "latest", "--to", str(target), "--root", root]) == 0
    assert pl.read_parquet(copy / "*.parquet").height == 34
    capsys.readouterr()

    # Another key is refused before anything runs.
    monkeypatch.setenv("CORPUSFABRIEK_ANONYMISATION_KEY", "another-key-that-is-long-enough-0123456789")
    assert main(["run", "--root", root]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert "differs from the one this storage root was anonymised with" in captured.err
    assert "another-key" not in captured.err + captured.out


def test_an_s3_root_without_the_key_variable_fails_with_one_line_and_writes_nothing(s3_env, monkeypatch, capsys):
    monkeypatch.delenv("CORPUSFABRIEK_ANONYMISATION_KEY")
    root = f"s3://{s3_env.bucket}/nokey-{uuid.uuid4().hex[:8]}"
    assert main(["run", "--root", root]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        "error: no anonymisation key: set CORPUSFABRIEK_ANONYMISATION_KEY (an S3 storage root keeps no key file)"
    )
    assert Storage.from_env(root).fs.find(root.removeprefix("s3://")) == []


def test_hidden_objects_and_incomplete_builds_on_s3(s3_env):
    import time

    from stages.release import clean_incomplete_releases

    storage = Storage.from_env(f"s3://{s3_env.bucket}/clean-{uuid.uuid4().hex[:8]}")
    storage.write_bytes("releases/nl-main/v20260101T000000Z/part-00000.parquet", b"half a build")
    storage.write_bytes("releases/nl-main/v20260101T000000Z/.x.parquet", b"hidden")
    storage.write_bytes("excluded/release/nl-main/v20260101T000000Z.parquet", b"its excluded documents")
    folder = "releases/nl-main/v20260101T000000Z"
    assert storage.ls(folder) == ["part-00000.parquet"]
    assert storage.ls(folder, hidden=True) == [".x.parquet", "part-00000.parquet"]
    assert storage.is_dir(folder) and not storage.is_dir(f"{folder}/part-00000.parquet")
    assert abs(storage.modified(folder) - time.time()) < 300
    assert clean_incomplete_releases(storage, min_age_s=600)["kept_too_young"] == ["nl-main/v20260101T000000Z"]
    report = clean_incomplete_releases(storage)
    assert report["incomplete_releases"] == ["nl-main/v20260101T000000Z"]
    assert report["orphaned_excluded"] == ["excluded/release/nl-main/v20260101T000000Z.parquet"]
    assert storage.ls("releases/nl-main", hidden=True) == [] and not storage.exists(folder)


def test_the_server_refuses_anonymous_and_wrong_credentials(s3_server):
    for fs in (
        s3fs.S3FileSystem(anon=True, endpoint_url=s3_server.endpoint_url),
        s3fs.S3FileSystem(key=s3_server.access_key_id, secret="wrong-secret", endpoint_url=s3_server.endpoint_url),
    ):
        with pytest.raises((PermissionError, OSError)):
            fs.pipe(f"{s3_server.bucket}/should-not-exist", b"x")


def test_missing_credentials_give_a_clear_one_line_error(s3_server, isolated_env, monkeypatch, capsys):
    monkeypatch.setenv("CORPUSFABRIEK_S3_ENDPOINT_URL", s3_server.endpoint_url)
    code = main(["releases", "list", "--root", f"s3://{s3_server.bucket}/nothing-here"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1
