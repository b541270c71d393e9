"""The anonymisation key of a storage root: generated once on a local root, fingerprinted, rotated explicitly.

Each `corpusfabriek run` here uses one or two small sample sources to stay fast.
"""

import json
import stat

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance

from catalog.releases import read_manifest
from catalog.storage import Storage
from catalog.zones import release_dir
from pipelines.cli import main

KEY_ENV = "CORPUSFABRIEK_ANONYMISATION_KEY"
NEWS = "nieuws-dagblad"
SECTOR = "sector-meldingen"
OTHER_KEY = "another-key-that-is-long-enough-0123456789"


@pytest.fixture
def no_key(isolated_env, monkeypatch):
    """A working folder (default root ./.corpusfabriek) with no key in the environment."""
    monkeypatch.delenv(KEY_ENV)
    return isolated_env


def run(capsys, *args):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = main(["run", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def key_file(folder):
    return folder / ".corpusfabriek" / "secrets" / "anonymisation.key"


def release_texts(storage: Storage) -> pl.DataFrame:
    manifest = read_manifest(storage, "latest")
    folder = storage.url(release_dir(manifest["corpus"], manifest["version"]))
    return pl.concat([pl.read_parquet(f"{folder}/{f['path']}") for f in manifest["files"]])


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_run_without_a_key_on_a_local_root_generates_an_owner_only_key_file_once(no_key, capsys):
    code, out, err = run(capsys, "--source", NEWS)
    assert code == 0, err
    path = key_file(no_key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(bytes.fromhex(path.read_text().strip())) == 32
    notices = [line for line in err.splitlines() if "anonymisation key" in line]
    assert len(notices) == 1 and str(path) in notices[0] and "back it up" in notices[0]
    assert "anonymisation key" not in out
    storage = Storage(str(no_key / ".corpusfabriek"))
    first = read_manifest(storage, "latest")
    first_texts = release_texts(storage).sort("doc_id")["text"].to_list()

    # A second run with no key in the environment uses the same key: no new notice, the same release.
    code, out, err = run(capsys, "--source", NEWS)
    assert code == 0, err
    assert "anonymisation key" not in err
    second = read_manifest(storage, "latest")
    assert second["version"] == first["version"] and f"unchanged since {first['version']}" in out  # same content
    assert release_texts(storage).sort("doc_id")["text"].to_list() == first_texts


def test_a_run_with_a_different_key_is_refused_with_one_line_before_any_ingest(no_key, monkeypatch, capsys):
    assert run(capsys, "--source", NEWS, "--no-release")[0] == 0
    root = no_key / ".corpusfabriek"
    raw_before = files_under(root / "raw")
    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    code, out, err = run(capsys, "--source", NEWS)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: the anonymisation key")
    assert "differs from the one this storage root was anonymised with" in err
    assert f"set {KEY_ENV} to that key" in err and "corpusfabriek key rotate" in err
    assert OTHER_KEY not in err + out
    assert "ingest" not in out  # refused before the first source started
    assert files_under(root / "raw") == raw_before


def test_rotation_keeps_the_old_key_and_makes_the_next_run_re_anonymise_every_source(no_key, capsys):
    assert run(capsys, "--source", NEWS, "--source", SECTOR)[0] == 0
    storage = Storage(str(no_key / ".corpusfabriek"))
    old_key = key_file(no_key).read_text().strip()
    old_id = storage.read_json(f"anonymised/{NEWS}/anonymised.json")["key_id"]

    assert main(["key", "rotate"]) == 1  # not without confirmation
    assert "--yes" in capsys.readouterr().err
    assert key_file(no_key).read_text().strip() == old_key

    assert main(["key", "rotate", "--yes"]) == 0
    out, err = capsys.readouterr()
    new_key = key_file(no_key).read_text().strip()
    assert new_key != old_key
    (kept,) = key_file(no_key).parent.glob("anonymisation.key.*.old")
    assert kept.read_text().strip() == old_key and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert old_key not in out + err and new_key not in out + err

    # Only the news source is re-anonymised: the release holds it back no longer, the sector source is held back.
    code, _out, err = run(capsys, "--source", NEWS)
    assert code == 0, err
    new_id = storage.read_json(f"anonymised/{NEWS}/anonymised.json")["key_id"]
    assert new_id and new_id != old_id
    assert storage.read_json(f"anonymised/{SECTOR}/anonymised.json")["key_id"] == old_id
    manifest = read_manifest(storage, "latest")
    assert [s["source_id"] for s in manifest["sources"]] == [NEWS]
    event = DagsterInstance.get().get_latest_materialization_event(AssetKey("corpus_release"))
    held_back = event.asset_materialization.metadata["sources_held_back"].value
    assert held_back["previous_key"] == {SECTOR: "anonymised with a previous key; re-run it"}


def test_after_a_rotation_the_next_release_still_holds_every_document(no_key, capsys):
    assert run(capsys, "--source", NEWS)[0] == 0
    storage = Storage(str(no_key / ".corpusfabriek"))
    before = read_manifest(storage, "latest")
    assert main(["key", "rotate", "--yes"]) == 0
    capsys.readouterr()
    assert run(capsys, "--source", NEWS)[0] == 0
    current = storage.read_json("catalog/anonymisation-key.json")["current"]["key_id"]
    assert storage.read_json(f"anonymised/{NEWS}/anonymised.json")["key_id"] == current
    after = read_manifest(storage, "latest")
    assert after["total_documents"] == before["total_documents"]
    assert after["release_digest"] != before["release_digest"]  # new surrogates


def test_the_key_never_appears_in_output_logs_or_files_other_than_the_key_file(no_key, monkeypatch, capsys):
    assert main(["key", "show"]) == 0
    assert "none yet" in capsys.readouterr().out
    code, out, err = run(capsys, "--source", SECTOR)
    assert code == 0, err
    path = key_file(no_key)
    key = path.read_text().strip()
    assert main(["key", "show"]) == 0
    shown = capsys.readouterr()
    assert str(path) in shown.out and "matches this root's record" in shown.out
    assert main(["key", "show", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["origin"] == "file" and status["key_file"] == str(path)
    assert status["matches_record"] is True and status["stale_sources"] == []
    assert key not in out + err + shown.out + shown.err + json.dumps(status)

    instance = DagsterInstance.get()
    runs = instance.get_runs()
    assert runs
    logged = "\n".join(str(entry) for r in runs for entry in instance.all_logs(r.run_id))
    assert SECTOR in logged  # the logs were really read
    assert key not in logged
    assert all(key not in json.dumps(r.run_config) for r in runs)

    # Every file of the working folder (storage root and Dagster home), binary or not, except the key file.
    for file in no_key.rglob("*"):
        if file.is_file() and file != path:
            assert key.encode() not in file.read_bytes(), file
            assert bytes.fromhex(key) not in file.read_bytes(), file

    monkeypatch.setenv(KEY_ENV, OTHER_KEY)
    assert main(["key", "show"]) == 0
    out = capsys.readouterr().out
    assert KEY_ENV in out and "differs" in out and OTHER_KEY not in out
