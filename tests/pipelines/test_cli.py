import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta

import polars as pl
import pytest

from catalog.releases import list_versions, read_manifest, verify_release
from catalog.sources import bundled_sources_dir
from catalog.storage import Storage
from catalog.zones import release_dir
from pipelines.cli import build_parser, main
from tests.conftest import BIN, TEST_ANONYMISATION_KEY, write_csv_drop_spec

HELP_COMMANDS = [
    [],
    ["run"],
    ["releases"],
    ["releases", "list"],
    ["releases", "show"],
    ["releases", "verify"],
    ["releases", "diff"],
    ["takedown"],
    ["releases", "clean"],
    ["sources"],
    ["sources", "list"],
    ["key"],
    ["key", "show"],
    ["key", "rotate"],
]


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "corpusfabriek")
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: corpusfabriek" in capsys.readouterr().out


def test_console_script_is_installed():
    result = subprocess.run([str(BIN / "corpusfabriek"), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("run", "releases", "sources"):
        assert command in result.stdout


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["releases", "frobnicate"])
    assert exit_info.value.code == 2


def sample_pii() -> set[str]:
    """Structured identifiers written into the bundled samples (all fake), found by pattern."""
    text = "".join(p.read_text("utf-8", errors="replace") for p in (bundled_sources_dir().parent / "data").iterdir())
    found = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text))
    found |= set(re.findall(r"\b\d{9}\b", text))  # BSNs
    found |= {m.replace(" ", "") for m in re.findall(r"\bNL\d{2} ?[A-Z]{4}(?: ?\d){10}\b", text)}
    found |= set(re.findall(r"\b06-\d{8}\b", text))
    return found


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """One full `corpusfabriek run` on the bundled samples in a temporary working folder."""
    folder = tmp_path_factory.mktemp("cli-run")
    home = folder / "dagster_home"
    home.mkdir()
    (folder / "tmp").mkdir()
    env = {
        "PATH": str(BIN),
        "HOME": str(folder),
        "DAGSTER_HOME": str(home),
        "TMPDIR": str(folder / "tmp"),  # no other process's leftovers to report before the first line
        "CORPUSFABRIEK_ANONYMISATION_KEY": TEST_ANONYMISATION_KEY,
    }
    result = subprocess.run(
        [str(BIN / "corpusfabriek"), "run"], cwd=folder, capture_output=True, text=True, timeout=600, env=env
    )
    return folder, env, result


def copied_run(local_run, tmp_path, **env_vars):
    """A copy of the module's run folder for a test that changes it: its folder, environment and storage.

    The other tests of this module keep reading the original release (and its key).
    """
    original, env, _result = local_run
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    env = {**env, "HOME": str(folder), "DAGSTER_HOME": str(folder / "dagster_home"), **env_vars}
    return folder, env, Storage(str(folder / ".corpusfabriek"))


def test_run_materialises_everything_and_prints_the_release(local_run):
    folder, _env, result = local_run
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("corpusfabriek run: storage ")
    assert [line.split(":")[0] for line in lines if line.startswith("[")] == [
        "[1/4] archief-courant",
        "[2/4] nieuws-dagblad",
        "[3/4] sector-meldingen",
        "[4/4] release",
    ]
    storage = Storage(str(folder / ".corpusfabriek"))
    (entry,) = list_versions(storage)
    assert entry["complete"]
    release_path = storage.url("releases", entry["corpus"], entry["version"])
    assert lines[-1] == f"release {entry['corpus']}/{entry['version']}: {release_path}"
    manifest = entry["manifest"]
    assert verify_release(storage, manifest) == []
    # 10 archive + 14 news + 15 sector documents, minus 3 cross-source exact duplicates.
    assert manifest["total_documents"] == 34  # 39 kept, 3 exact and 2 near duplicates
    assert manifest["excluded"]["duplicate_content"] == 3
    frame = pl.read_parquet(f"{release_path}/part-*.parquet")
    assert frame.height == 34
    assert frame["doc_id"].is_unique().all()
    assert frame["content_sha256"].is_unique().all()


def test_bad_input_is_accounted_for_not_lost(local_run):
    folder, _env, result = local_run
    sector = next(line for line in result.stdout.splitlines() if "sector-meldingen" in line)
    assert "20 new records -> 15 documents, 5 quarantined" in sector
    assert "source total 15 kept, 0 dropped" in sector
    storage = Storage(str(folder / ".corpusfabriek"))
    report = storage.read_json("clean/sector-meldingen/clean.json")
    assert report["records_read"] == report["kept"] + report["dropped"] + report["quarantined"] == 20
    assert report["quarantined_by_reason"] == {
        "empty_text": 1,
        "invalid_utf8": 1,
        "malformed_json": 1,
        "missing_text": 1,
        "not_an_object": 1,
    }
    quarantine = pl.read_parquet(storage.url("quarantine/sector-meldingen/*.parquet"))
    assert sorted(quarantine["reason"].to_list()) == sorted(report["quarantined_by_reason"])
    assert quarantine["raw_bytes"].null_count() == 0  # kept for review in the restricted zone


def test_releases_list_show_and_verify(local_run):
    folder, env, _result = local_run

    def cli(*args):
        return subprocess.run(
            [str(BIN / "corpusfabriek"), *args], cwd=folder, capture_output=True, text=True, timeout=120, env=env
        )

    listing = cli("releases", "list")
    assert listing.returncode == 0
    assert re.search(r"nl-main\s+v\d{8}T\d{6}Z\s+\S+\s+34\s+1\s+.*complete", listing.stdout)
    version = re.search(r"v\d{8}T\d{6}Z\S*", listing.stdout).group(0)

    as_json = json.loads(cli("releases", "list", "--json").stdout)
    assert as_json[0]["version"] == version and as_json[0]["total_documents"] == 34

    show = cli("releases", "show", version)
    assert show.returncode == 0
    assert f"release        nl-main/{version}" in show.stdout
    assert "anonymised     yes" in show.stdout
    for source in ("archief-courant", "nieuws-dagblad", "sector-meldingen"):
        assert source in show.stdout
    manifest = json.loads(cli("releases", "show", "latest", "--json").stdout)
    assert manifest["version"] == version

    assert cli("releases", "verify", version).returncode == 0

    missing = cli("releases", "show", "v19990101T000000Z")
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and missing.stderr.startswith("error: ")


def test_a_second_run_with_nothing_new_cuts_no_version(local_run):
    folder, env, _result = local_run
    storage = Storage(str(folder / ".corpusfabriek"))
    first = read_manifest(storage, "latest")
    result = subprocess.run(
        [str(BIN / "corpusfabriek"), "run"], cwd=folder, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "0 new records" in result.stdout
    # nothing new was fetched: the release would be byte-identical, so no version is cut
    assert [v["version"] for v in list_versions(storage)] == [first["version"]]
    assert read_manifest(storage, "latest") == first
    release_path = storage.url(release_dir("nl-main", first["version"]))
    lines = result.stdout.splitlines()
    assert lines[-1] == f"release nl-main/{first['version']}: unchanged since {first['version']} ({release_path})"
    assert verify_release(storage, first) == []


def test_a_run_with_another_key_replaces_every_document_and_keeps_them_all(local_run, tmp_path):
    """After an explicit key rotation every document gets new surrogates: each a newer version of itself."""
    folder, env, storage = copied_run(local_run, tmp_path)
    first = read_manifest(storage, "latest")
    other_key = {**env, "CORPUSFABRIEK_ANONYMISATION_KEY": "5e" * 32}
    refused = subprocess.run(
        [str(BIN / "corpusfabriek"), "run"], cwd=folder, capture_output=True, text=True, timeout=600, env=other_key
    )
    assert refused.returncode == 1 and "corpusfabriek key rotate --yes" in refused.stderr  # never silently
    rotated = subprocess.run(
        [str(BIN / "corpusfabriek"), "key", "rotate", "--yes"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=other_key,
    )
    assert rotated.returncode == 0, rotated.stderr
    result = subprocess.run(
        [str(BIN / "corpusfabriek"), "run"], cwd=folder, capture_output=True, text=True, timeout=600, env=other_key
    )
    assert result.returncode == 0, result.stderr
    latest = read_manifest(storage, "latest")
    assert latest["version"] != first["version"]
    assert latest["total_documents"] == first["total_documents"] == 34
    assert latest["excluded"] == {**first["excluded"], "path": latest["excluded"]["path"]}
    assert verify_release(storage, latest) == []

    def released(manifest):
        frame = pl.read_parquet(storage.url(release_dir("nl-main", manifest["version"]), "part-*.parquet"))
        return dict(frame.select("doc_id", "content_sha256").iter_rows())

    before, after = released(first), released(latest)
    assert set(after) == set(before)  # the same documents
    changed = sum(before[doc] != after[doc] for doc in before)
    assert changed >= 17  # every document with personal data got new surrogates, so a new text
    near = latest["near_duplicates"]
    assert near["replaced_by_newer_version"] == changed  # each replaced its own published version

    def diff(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "corpusfabriek"), "releases", "diff", first["version"], latest["version"], *extra],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
            env=other_key,
        )

    as_json = json.loads(diff("--json").stdout)
    assert (as_json["old"], as_json["new"]) == (first["version"], latest["version"])
    assert as_json["added"] == [] and as_json["removed"] == []
    assert {entry["doc_id"] for entry in as_json["changed"]} == {doc for doc in before if before[doc] != after[doc]}
    assert as_json["totals"] == {"added": 0, "removed": 0, "changed": changed}
    assert f"0 added, 0 removed, {changed} changed" in diff().stdout


def test_a_takedown_leaves_the_next_release_without_the_document_and_marks_the_earlier_one(local_run, tmp_path):
    from catalog.takedowns import record_takedown

    folder, env, storage = copied_run(local_run, tmp_path)
    first = read_manifest(storage, "latest")
    frame = pl.read_parquet(storage.url(release_dir("nl-main", first["version"]), "part-*.parquet"))
    target, source = frame.row(0, named=True)["doc_id"], frame.row(0, named=True)["source_id"]

    def cli(*args):
        return subprocess.run(
            [str(BIN / "corpusfabriek"), *args], cwd=folder, capture_output=True, text=True, timeout=600, env=env
        )

    missing = cli("takedown", "--doc-id", target)
    assert missing.returncode == 1 and "--reason" in missing.stderr
    recorded = cli("takedown", "--doc-id", target, "--reason", "court order", "--requester", "ticket-1")
    assert recorded.returncode == 0, recorded.stderr
    assert "recorded" in recorded.stdout and target not in recorded.stdout  # what it names stays in storage
    assert "court order" in cli("takedown", "--list").stdout
    run = cli("run")
    assert run.returncode == 0, run.stderr
    second = read_manifest(storage, "latest")
    assert second["version"] != first["version"] and second["total_documents"] == first["total_documents"] - 1
    assert second["excluded"]["takedown"] == 1
    assert cli("releases", "verify", second["version"]).returncode == 0
    assert "SUPERSEDED     1 document(s) taken down since" in cli("releases", "show", first["version"]).stdout
    diff = json.loads(cli("releases", "diff", first["version"], second["version"], "--json").stdout)
    assert diff["removed"] == [{"doc_id": target, "source_id": source, "reason": "takedown", "stage": "release"}]
    assert diff["added"] == diff["changed"] == []

    # a request recorded before the first release was built (as a build that ignored the list would leave it)
    before = datetime.fromisoformat(first["created_at"]) - timedelta(seconds=1)
    record_takedown(storage, "doc_id", target, "an order the first build missed", now=before)
    refused = cli("releases", "verify", first["version"])
    assert refused.returncode == 1
    assert f"document {target} ({source}) is taken down by request" in refused.stderr


def test_corpus_views_are_release_lines_of_their_own_from_the_same_zone(local_run, tmp_path):
    views = tmp_path / "views.yaml"
    views.write_text(
        "views:\n"
        "  - {name: nl-nieuws, description: news only, sectors: [news]}\n"
        "  - {name: nl-open, description: open licences only, licences: [CC0-1.0, CC-BY-4.0]}\n"
    )
    folder, env, storage = copied_run(local_run, tmp_path, CORPUSFABRIEK_CORPUS_VIEWS=str(views))
    main_release = read_manifest(storage, "latest", "nl-main")
    result = subprocess.run(
        [str(BIN / "corpusfabriek"), "run"], cwd=folder, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr
    # nothing new: the main corpus cuts no version, the views get their first ones, without re-processing
    assert "0 new records" in result.stdout and f"unchanged since {main_release['version']}" in result.stdout
    news = read_manifest(storage, "latest", "nl-nieuws")
    assert f"  view nl-nieuws/{news['version']}: {news['total_documents']} documents from nieuws-dagblad" in (
        result.stdout
    )
    assert "  view nl-open: no released source matches it, no version cut" in result.stdout  # all EUPL-1.2
    assert [source["source_id"] for source in news["sources"]] == ["nieuws-dagblad"]

    def released(corpus, version):
        frame = pl.read_parquet(storage.url(release_dir(corpus, version), "part-*.parquet"))
        return set(frame.filter(pl.col("source_id") == "nieuws-dagblad")["doc_id"]), frame.height

    in_main, _ = released("nl-main", main_release["version"])
    in_view, rows = released("nl-nieuws", news["version"])
    # the view holds only the news source, and more of it: its copies that the main corpus dropped in favour of
    # another source's stay in when that source is not in the view
    assert rows == len(in_view) == news["total_documents"] and in_main < in_view
    assert verify_release(storage, news) == [] and {e["path"] for e in news["documentation"]} >= {
        "datasheet.md", "croissant.json"
    }  # fmt: skip
    datasheet = storage.read_bytes(f"{release_dir('nl-nieuws', news['version'])}/datasheet.md").decode()
    assert "| nieuws-dagblad |" in datasheet and "archief-courant" not in datasheet
    assert read_manifest(storage, "latest", "nl-main") == main_release
    listing = subprocess.run(
        [str(BIN / "corpusfabriek"), "releases", "list"], cwd=folder, capture_output=True, text=True, env=env
    )
    assert re.search(r"nl-nieuws\s+v\d{8}T\d{6}Z", listing.stdout)


def test_tampered_release_fails_verification_with_one_line(local_run):
    folder, env, _result = local_run
    storage = Storage(str(folder / ".corpusfabriek"))
    manifest = read_manifest(storage, "latest")
    part = folder / ".corpusfabriek" / "releases" / "nl-main" / manifest["version"] / manifest["files"][0]["path"]
    original = part.read_bytes()
    part.write_bytes(original[:-10] + b"0123456789")
    try:
        result = subprocess.run(
            [str(BIN / "corpusfabriek"), "releases", "verify", manifest["version"]],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    finally:
        part.write_bytes(original)  # the other tests of this module read the same release
    assert result.returncode == 1
    assert "sha256 does not match" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: release nl-main/")


def test_no_personal_data_in_dagster_logs_metadata_or_cli_output(local_run):
    folder, _env, result = local_run
    from dagster import DagsterInstance

    pii = sample_pii()
    assert len(pii) >= 8  # the samples really contain e-mail addresses, BSNs, IBANs and phone numbers
    from dagster._core.instance.ref import InstanceRef

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(folder / "dagster_home")))
    runs = instance.get_runs()
    assert len(runs) >= 4
    logged = "\n".join(str(entry) for run in runs for entry in instance.all_logs(run.run_id))
    assert "sector-meldingen" in logged  # the logs were really read
    leaked = sorted(value for value in pii if value in logged or value in result.stdout + result.stderr)
    assert leaked == []


def test_the_release_holds_no_original_identifiers_and_no_sample_person_names(local_run):
    folder, _env, _result = local_run
    storage = Storage(str(folder / ".corpusfabriek"))
    version = next(v["version"] for v in list_versions(storage) if v["complete"])
    manifest = read_manifest(storage, version)
    assert manifest["anonymised"] is True
    folder_url = storage.url(release_dir(manifest["corpus"], version))
    texts = pl.concat([pl.read_parquet(f"{folder_url}/{f['path']}") for f in manifest["files"]])
    published = "\n".join(texts["text"].to_list() + [t for t in texts["title"].to_list() if t])
    leaked = sorted(value for value in sample_pii() if value in published)
    assert leaked == []
    # the samples' fictional people are gone too (full names as written in the sample news source)
    assert [n for n in ("Roelie Smit", "Lotte Hoogeveen", "Dennis Wubbels") if n in published] == []
    counts = {s["source_id"]: s["anonymisation"]["replacements_by_entity"] for s in manifest["sources"]}
    assert any(c.get("PERSON") for c in counts.values())


def test_unknown_source_is_a_one_line_error(isolated_env, capsys):
    assert main(["run", "--source", "does-not-exist"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unknown source(s): does-not-exist")
    assert err.count("\n") == 1


def test_run_with_a_custom_file_drop_quarantines_bad_input(isolated_env, monkeypatch, capsys):
    drop = isolated_env / "drop"
    drop.mkdir()
    (drop / "a.csv").write_bytes(
        b"id,body,date\n"
        b"1,Dit is een gewone Nederlandse zin over het weer.,2026-01-02\n"
        b'2,"Een tekst met een \xff kapotte byte.",2026-01-03\n'
        b"3,,2026-01-04\n"
        b"4,Nog een tekst die wel goed is.,geen datum\n"
    )
    specs = isolated_env / "specs"
    write_csv_drop_spec(specs, drop)
    monkeypatch.setenv("CORPUSFABRIEK_SOURCES", str(specs))
    assert main(["run", "--root", str(isolated_env / "root")]) == 0
    out = capsys.readouterr().out
    assert "[1/2] test-drop: ingest, clean, anonymise ... 4 new records -> 1 documents, 3 quarantined" in out
    assert "(empty_text 1, invalid_published_at 1, invalid_utf8 1)" in out


def test_releases_clean_removes_incomplete_builds(isolated_env, capsys):
    root = isolated_env / "root"
    storage = Storage(str(root))
    storage.write_bytes("releases/nl-main/v20260101T000000Z/part-00000.parquet", b"half a build")
    storage.write_bytes("excluded/release/nl-main/v20260101T000000Z.parquet", b"its excluded documents")
    storage.write_bytes("excluded/release/nl-main/v20260102T000000Z.parquet", b"an orphan")

    # the command holds the root's lease, so no build is in progress: even what was just written goes
    assert main(["releases", "clean", "--root", str(root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove incomplete release nl-main/v20260101T000000Z" in out
    assert "would remove orphaned excluded file excluded/release/nl-main/v20260102T000000Z.parquet" in out
    assert storage.exists("releases/nl-main/v20260101T000000Z")

    assert main(["releases", "clean", "--root", str(root), "--corpus", "nl-main"]) == 0
    out = capsys.readouterr().out
    assert "removed incomplete release nl-main/v20260101T000000Z" in out
    assert out.splitlines()[-1] == (
        "removed 1 incomplete release(s), 2 orphaned excluded file(s), 0 orphaned index part(s), 0 temporary file(s)"
    )
    assert storage.ls("releases/nl-main") == [] and storage.ls("excluded/release/nl-main") == []
    assert main(["releases", "clean", "--root", str(root)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "nothing to clean up"
