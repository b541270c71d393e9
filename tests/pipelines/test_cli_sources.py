"""`corpusfabriek sources ...`: validate, register, list, show, suspend, approve, report."""

import json

import pytest

from catalog.sources import bundled_sources_dir
from pipelines.cli import main

DATA = bundled_sources_dir().parent / "data"


def spec_text(source_id="partner-drop", status="sandbox", extra=""):
    return (
        f"id: {source_id}\n"
        "name: Partner drop\n"
        "owner:\n  organisation: Partnerorganisatie\n  contact: data@partner.example\n"
        "kind: files\nformat: jsonl\n"
        f"location: {DATA}/sector-meldingen.jsonl\n"
        "licence: CC-BY-4.0\nlegal_basis: public-task\npersonal_data: expected\nsector: public-sector\n"
        f'schedule: "30 2 * * 1"\nstatus: {status}\n'
        "fields: {native_id: melding_id, text: omschrijving, title: onderwerp, url: null, published_at: datum}\n"
        # short reports full of numbers: the partner relaxes FineWeb-2's web-page thresholds
        "quality: {min_doc_words: 5, max_non_alpha_words_ratio: 0.5, line_punct_thr: 0, min_language_score: 0.3,"
        " top_n_grams: []}\n" + extra
    )


@pytest.fixture
def spec_file(isolated_env):
    path = isolated_env / "partner.yaml"
    path.write_text(spec_text())
    return path


def test_validate_accepts_a_good_spec(spec_file, capsys):
    assert main(["sources", "validate", str(spec_file)]) == 0
    assert "valid (partner-drop, kind files, status sandbox)" in capsys.readouterr().out


def test_validate_lists_every_problem_with_its_field_path(isolated_env, capsys):
    bad = isolated_env / "bad.yaml"
    bad.write_text(
        "id: Partner Drop!\nname: x\nowner: {organisation: P}\nkind: ftp\nlocation: x\n"
        "licence: CC0-1.0\nlegal_basis: not-applicable\npersonal_data: expected\nsector: news\n"
        "schedule: every day\npolitness: {}\ncredentials: {token_env: 'abc123-secret'}\n"
    )
    assert main(["sources", "validate", str(bad)]) == 1
    captured = capsys.readouterr()
    for path in ("id:", "owner.contact:", "kind:", "schedule:", "politness:", "credentials.token_env:", "legal_basis:"):
        assert f"  {path}" in captured.out, path
    assert captured.err.startswith("error: 1 of 1 spec(s) invalid")
    assert "abc123-secret" not in captured.out  # a value given where a variable name belongs is not echoed


def test_validate_refuses_a_location_inside_the_storage_root(isolated_env, capsys):
    root = isolated_env / "opslag"
    (root / "raw" / "andere-bron").mkdir(parents=True)
    (root / "raw" / "andere-bron" / "ingest.json").write_text("{}")
    spec = isolated_env / "nieuwsgierig.yaml"
    spec.write_text(spec_text().replace(f"{DATA}/sector-meldingen.jsonl", "opsla?/raw/*/ingest.json"))
    assert main(["sources", "validate", "--root", str(root), str(spec)]) == 1
    out = capsys.readouterr().out
    assert "  location: " in out and "storage root" in out
    assert main(["sources", "validate", "--root", str(isolated_env / "elders"), str(spec)]) == 0


def test_register_list_show_suspend_approve_and_report(spec_file, isolated_env, capsys):
    from dagster import DagsterInstance

    assert main(["sources", "register", str(spec_file), "--actor", "steward"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("created: partner-drop (files, status sandbox)")
    assert "enter no release until approved" in out
    assert "partner-drop" in DagsterInstance.get().get_dynamic_partitions("sources")
    assert main(["sources", "register", str(spec_file)]) == 0
    assert capsys.readouterr().out.startswith("unchanged: partner-drop")

    assert main(["sources", "list"]) == 0
    listing = capsys.readouterr().out
    assert "partner-drop" in listing and "sandbox" in listing and "nieuws-dagblad" in listing

    assert main(["sources", "show", "partner-drop"]) == 0
    shown = capsys.readouterr().out
    assert "id: partner-drop" in shown and "created by steward" in shown

    # Sandbox: ingested and processed, but not released.
    assert main(["run", "--source", "partner-drop", "--source", "nieuws-dagblad"]) == 0
    run_out = capsys.readouterr().out
    assert "partner-drop: ingest, clean, anonymise ... 20 new records -> 15 documents, 5 quarantined" in run_out
    assert main(["releases", "show", "latest", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert "partner-drop" not in [s["source_id"] for s in manifest["sources"]]

    assert main(["sources", "approve", "partner-drop", "--reason", "licence checked by legal"]) == 0
    assert "status approved" in capsys.readouterr().out
    assert main(["run", "--source", "partner-drop", "--source", "nieuws-dagblad"]) == 0
    capsys.readouterr()
    assert main(["releases", "show", "latest", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert "partner-drop" in [s["source_id"] for s in manifest["sources"]]

    assert main(["sources", "report", "partner-drop", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["runs"] == 2 and report["fetched"] == 20 and report["kept"] == 15
    assert report["languages"] == {"nl": 15} and report["dropped_by_filter"] == {}
    assert report["excluded_documents"] == "clean/partner-drop/excluded.parquet"
    (release,) = report["in_latest_releases"]
    left_out = release["exact_duplicates_dropped"] + release["near_duplicates_dropped"]
    assert release["documents"] + left_out == 15
    assert sum(release["near_duplicates_of_sources"].values()) == release["near_duplicates_dropped"]
    assert report["quarantined_by_reason"]["malformed_json"] == 1
    assert report["next_scheduled_run"].endswith("02:30:00+00:00")
    assert [e["action"] for e in report["registration"]] == ["created", "status:approved"]

    assert main(["sources", "suspend", "partner-drop", "--reason", "partner withdrew consent"]) == 0
    capsys.readouterr()
    assert main(["run", "--source", "partner-drop", "--no-release"]) == 0
    assert "skipped partner-drop: status suspended" in capsys.readouterr().out
    assert main(["sources", "report", "partner-drop"]) == 0
    text = capsys.readouterr().out
    assert "kind / status   files / suspended" in text
    assert "next run        not scheduled" in text
    assert "partner withdrew consent" in text


def test_status_change_needs_a_reason(spec_file, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sources", "suspend", "nieuws-dagblad"])
    assert exit_info.value.code == 2


def test_report_of_an_unknown_source_is_a_one_line_error(isolated_env, capsys):
    assert main(["sources", "report", "bestaat-niet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no registered source 'bestaat-niet'") and err.count("\n") == 1


def test_partner_report_has_no_personal_data(isolated_env, capsys):
    assert main(["run", "--source", "sector-meldingen", "--no-release"]) == 0
    capsys.readouterr()
    assert main(["sources", "report", "sector-meldingen", "--json"]) == 0
    report = capsys.readouterr().out
    sample = (DATA / "sector-meldingen.jsonl").read_bytes().decode("utf-8", errors="replace")
    import re

    emails = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", sample))
    assert emails and not [e for e in emails if e in report]


def test_one_broken_spec_does_not_stop_the_other_sources(isolated_env, monkeypatch, capsys):
    specs = isolated_env / "specs"
    specs.mkdir()
    (specs / "goed.yaml").write_text(spec_text("goede-bron", status="approved"))
    (specs / "kapot.yaml").write_text("id: kapotte-bron\nkind: ftp\n")
    monkeypatch.setenv("CORPUSFABRIEK_SOURCES", str(specs))
    assert main(["run", "--no-release"]) == 0
    captured = capsys.readouterr()
    assert "goede-bron: ingest, clean, anonymise ... 20 new records" in captured.out
    assert "warning: invalid source spec skipped" in captured.err and "kapot.yaml" in captured.err
    # An emergency suspend of the good source still works while the other spec is broken.
    assert main(["sources", "suspend", "goede-bron", "--reason", "incident: partner reported a leak"]) == 0
    assert "status suspended" in capsys.readouterr().out
    # Validation of the broken file itself stays strict.
    assert main(["sources", "validate", str(specs / "kapot.yaml")]) == 1


def test_register_ignores_the_status_written_in_the_file(isolated_env, capsys):
    path = isolated_env / "zelf-goedgekeurd.yaml"
    path.write_text(spec_text("zelf-goedgekeurd", status="approved"))
    assert main(["sources", "register", str(path)]) == 0
    out = capsys.readouterr().out
    assert "created: zelf-goedgekeurd (files, status sandbox)" in out
    assert "status 'approved' in the file is ignored" in out
    assert main(["sources", "suspend", "zelf-goedgekeurd", "--reason", "partner asked to pause"]) == 0
    assert main(["sources", "register", str(path)]) == 0  # re-registering cannot lift a suspension
    capsys.readouterr()
    assert main(["sources", "show", "zelf-goedgekeurd", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["spec"]["status"] == "suspended"
