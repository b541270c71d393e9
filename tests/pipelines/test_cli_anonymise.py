"""`corpusfabriek anonymise`: JSONL in, JSONL out, offsets into the original, no originals in messages."""

import io
import json

import pytest

from pipelines.cli import main
from tests.pipelines.jsonl import run_jsonl

KEY = "a-test-key-of-enough-length"


def run(monkeypatch, capsys, lines, *args):
    return run_jsonl(monkeypatch, capsys, "anonymise", lines, *args)


def test_records_keep_their_fields_and_get_pii_offsets(monkeypatch, capsys):
    monkeypatch.setenv("CORPUSFABRIEK_ANONYMISATION_KEY", KEY)
    original = "Bel 06-12345678 over BSN 264183757."
    code, out, err = run(
        monkeypatch, capsys, [{"id": "a", "text": original, "bron": "x"}, {"id": "b", "text": "Niets."}]
    )
    assert code == 0
    first, second = out
    assert first["id"] == "a" and first["bron"] == "x"
    assert "06-12345678" not in first["text"] and "264183757" not in first["text"]
    assert [(p["entity"], original[p["start"] : p["end"]]) for p in first["pii"]] == [
        ("PHONE_NUMBER", "06-12345678"),
        ("NL_BSN", "264183757"),
    ]
    assert second == {"id": "b", "text": "Niets.", "pii": []}
    assert "replaced NL_BSN 1, PHONE_NUMBER 1" in err
    assert "264183757" not in err


@pytest.mark.parametrize("operator,expected", [("placeholder", "Bel <TELEFOONNUMMER>."), ("hash", "Bel <")])
def test_operators(monkeypatch, capsys, operator, expected):
    monkeypatch.setenv("CORPUSFABRIEK_ANONYMISATION_KEY", KEY)
    code, out, _err = run(monkeypatch, capsys, [{"id": 1, "text": "Bel 06-12345678."}], "--operator", operator)
    assert code == 0 and out[0]["text"].startswith(expected)


def test_files_in_and_out(tmp_path, monkeypatch, capsys):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"id": 1, "text": "Mail naar NL08ABNA0417263958."}) + "\n")
    assert main(["anonymise", "--input", str(source), "--output", str(target), "--operator", "placeholder"]) == 0
    assert json.loads(target.read_text())["text"] == "Mail naar <IBAN>."


def test_missing_key_and_bad_input_are_one_line_errors(monkeypatch, capsys):
    monkeypatch.delenv("CORPUSFABRIEK_ANONYMISATION_KEY", raising=False)
    code, _out, err = run(monkeypatch, capsys, [{"id": 1, "text": "x"}])
    assert code == 1 and "CORPUSFABRIEK_ANONYMISATION_KEY" in err and err.count("\n") == 1
    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": 1, "text": "BSN 264183757"}\n{kapot\n'))
    assert main(["anonymise", "--operator", "placeholder"]) == 1
    err = capsys.readouterr().err
    assert "line 2: not valid JSON" in err and "264183757" not in err


def test_places_and_organisations_only_with_entities(monkeypatch, capsys):
    record = {"id": 1, "text": "Jan Jansen werkt bij Philips in Eindhoven."}
    _code, out, _err = run(monkeypatch, capsys, [record], "--operator", "placeholder")
    assert out[0]["text"] == "<PERSOON> werkt bij Philips in Eindhoven."
    code, out, err = run(
        monkeypatch, capsys, [record], "--operator", "placeholder", "--entities", "+LOCATION,ORGANIZATION"
    )
    assert code == 0 and out[0]["text"] == "<PERSOON> werkt bij <ORGANISATIE> in <LOCATIE>."
    assert "LOCATION 1, ORGANIZATION 1, PERSON 1" in err
    _code, out, _err = run(monkeypatch, capsys, [record], "--operator", "placeholder", "--entities", "LOCATION")
    assert out[0]["text"] == "Jan Jansen werkt bij Philips in <LOCATIE>."


def test_an_unknown_entity_type_is_a_clear_error(monkeypatch, capsys):
    with pytest.raises(SystemExit, match=r"unknown entity type.*PLACE.*known:.*LOCATION"):
        run(monkeypatch, capsys, [{"id": 1, "text": "x"}], "--operator", "placeholder", "--entities", "PLACE")
