"""The files connector on S3, against a real S3 server (SeaweedFS on 127.0.0.1).

The endpoint and keys come from the same environment as the storage root's; without them a files source
would go to the public AWS endpoint. (Local drops are tested in ``tests/catalog/test_connectors.py``.)
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import s3fs

from catalog.sources import parse_spec
from catalog.storage import Storage
from catalog.zones import cursor_path, quarantine_path
from stages.ingest import ingest_source
from tests.catalog.conftest import jsonl_bytes, read_table, spec_data
from tests.conftest import S3Server

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Server:
    """The server's settings in the environment, as an operator sets them; a wrong request fails at once."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CORPUSFABRIEK_DROP_FOLDERS", str(tmp_path))
    return s3_server


def bucket_fs(server: S3Server) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(
        key=server.access_key_id, secret=server.secret_access_key, endpoint_url=server.endpoint_url
    )


def test_a_files_source_on_s3_is_read_from_the_configured_endpoint(s3_env: S3Server, tmp_path: Path) -> None:
    prefix = f"{s3_env.bucket}/drop-{uuid.uuid4().hex[:8]}"
    fs = bucket_fs(s3_env)
    fs.pipe(f"{prefix}/a.jsonl", jsonl_bytes([{"id": "a1", "text": "Eerste."}, {"id": "a2", "text": "Tweede."}]))
    fs.pipe(f"{prefix}/b.jsonl", jsonl_bytes([{"id": "b1", "text": "Derde."}, b"{kapot"]))
    storage = Storage(str(tmp_path / "store"))
    spec = parse_spec(spec_data("s3-drop", location=f"s3://{prefix}/*.jsonl"), origin="<s3-drop>")

    report = ingest_source(storage, spec)
    assert (report["documents"], report["quarantined_by_reason"]) == (3, {"malformed_json": 1})
    assert sorted(storage.read_json(cursor_path("s3-drop"))["files"]) == [
        f"s3://{prefix}/a.jsonl",
        f"s3://{prefix}/b.jsonl",
    ]
    assert ingest_source(storage, spec)["records_read"] == 0  # unchanged objects are not read again

    fs.pipe(f"{prefix}/b.jsonl", jsonl_bytes([{"id": "b1", "text": "Derde, verbeterd."}]))
    again = ingest_source(storage, spec)
    assert (again["records_read"], again["documents"]) == (1, 1)


def test_objects_under_an_s3_storage_root_are_never_read(s3_env: S3Server, tmp_path: Path) -> None:
    run = f"run-{uuid.uuid4().hex[:8]}"
    storage = Storage.from_env(f"s3://{s3_env.bucket}/{run}/root")
    (tmp_path / "slachtoffer.jsonl").write_bytes(jsonl_bytes([{"id": "1", "text": "Melding over Jozefien."}]))
    victim = parse_spec(spec_data("slachtoffer", location=str(tmp_path / "slachtoffer.jsonl")), origin="<v>")
    assert ingest_source(storage, victim)["documents"] == 1

    thief = parse_spec(
        spec_data(
            "nieuwsgierig",
            format="parquet",
            location=f"s3://{s3_env.bucket}/{run}/*/raw/*/batches/*.parquet",
            fields={"native_id": "native_id", "text": "text"},
        ),
        origin="<nieuwsgierig>",
    )
    report = ingest_source(storage, thief)
    assert (report["documents"], report["quarantined_by_reason"]) == (0, {"location_refused": 1})
    (row,) = read_table(storage, quarantine_path("nieuwsgierig", report["ingest_id"])).to_pylist()
    assert row["raw_bytes"] is None and "storage root" in row["detail"]

    inside = thief.model_copy(update={"location": storage.url("raw/slachtoffer/batches/*.parquet")})
    with pytest.raises(ValueError, match=r"source nieuwsgierig: .*storage root"):
        ingest_source(storage, inside)
