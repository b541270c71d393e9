"""`corpusfabriek quality`: JSONL in, one decision per record out, with reasons and statistics."""

import io
import json

from pipelines.cli import main
from tests.pipelines.jsonl import run_jsonl
from tests.texts import DUTCH_ARTICLE as ARTICLE

ENGLISH = "The city council decided that the new bridge over the canal will be built next year, the alderman said."


def run(monkeypatch, capsys, lines, *args):
    return run_jsonl(monkeypatch, capsys, "quality", lines, *args)


def test_one_decision_per_record_in_order(monkeypatch, capsys):
    records = [{"id": "nl", "text": ARTICLE}, {"id": "en", "text": ENGLISH}, {"id": 3, "text": "Koop nu! " * 30}]
    code, out, err = run(monkeypatch, capsys, records, "--batch-size", "2")
    assert code == 0
    assert [(o["id"], o["keep"], o["reason"], o["lang"]) for o in out] == [
        ("nl", True, None, "nl"),
        ("en", False, "unexpected_language", "en"),
        (3, False, out[2]["reason"], out[2]["lang"]),
    ]
    assert out[2]["reason"] is not None
    assert out[0]["lang_score"] > 0.9
    stats = out[0]["stats"]
    assert {"words", "dup_line_frac", "top_2_gram_char_frac", "dup_10_gram_char_frac", "line_punct_ratio"} <= set(stats)
    assert stats["line_punct_ratio"] == 1.0
    assert err.startswith("kept 1 of 3 record(s), dropped 2 (")
    assert "unexpected_language" in err and out[2]["reason"] in err


def test_expected_languages_are_an_option(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, [{"id": "en", "text": ENGLISH * 5}], "--languages", "nl,en")
    assert code == 0
    assert out[0]["lang"] == "en" and out[0]["reason"] != "unexpected_language"


def test_a_registered_source_brings_its_own_thresholds(monkeypatch, capsys, isolated_env):
    # the bundled sample source relaxes the length and word-shape rules for short reports
    text = (
        "Voor de deur van nummer 41 liggen al weken drie stoeptegels los. Mijn buurvrouw is er bijna over "
        "gestruikeld. Bel mij op 06-38172645."
    )
    _, default, _ = run(monkeypatch, capsys, [{"id": 1, "text": text}])
    _, sector, _ = run(monkeypatch, capsys, [{"id": 1, "text": text}], "--source", "sector-meldingen")
    assert default[0]["keep"] is False
    assert sector[0]["keep"] is True


def test_bad_input_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": 1, "text": "ok"}\nnot json\n'))
    assert main(["quality"]) == 1
    assert "line 2: not valid JSON" in capsys.readouterr().err


QUOTED = ARTICLE[: -len("op tijd rond is.")] + "op tijd rond is, noemde de wethouder 'opmerkelijk.'"


def test_a_profile_is_an_option_and_the_summary_names_it(monkeypatch, capsys):
    _, web, web_err = run(monkeypatch, capsys, [{"id": 1, "text": QUOTED}])
    _, news, news_err = run(monkeypatch, capsys, [{"id": 1, "text": QUOTED}], "--profile", "news")
    assert (web[0]["reason"], news[0]["reason"]) == ("line_punct_ratio", None)
    assert "; profile web" in web_err and "; profile news" in news_err


def test_a_profile_replaces_the_sources_and_keeps_its_overrides(monkeypatch, capsys, isolated_env):
    # the bundled sector sample lowers min_doc_words to 5 itself: that stays under --profile news (15)
    text = "Lantaarnpaal in de Eikenlaan is al een week kapot. Graag repareren."
    _, sector, _ = run(monkeypatch, capsys, [{"id": 1, "text": text}], "--source", "sector-meldingen")
    _, news, err = run(
        monkeypatch, capsys, [{"id": 1, "text": text}], "--source", "sector-meldingen", "--profile", "news"
    )
    assert sector[0]["keep"] is True
    assert news[0]["reason"] != "gopher_short_doc" and "; profile news" in err


def test_an_unknown_profile_is_refused(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    try:
        main(["quality", "--profile", "kranten"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "invalid choice: 'kranten'" in capsys.readouterr().err


def test_an_input_file_loses_its_furniture_lines_standard_input_says_it_cannot(monkeypatch, capsys, tmp_path):
    header = "Word abonnee en lees onbeperkt verder voor 1 euro"
    records = [{"id": i, "text": f"{header}\n{ARTICLE} Bericht {i}."} for i in range(8)]
    records.append({"id": "eenmalig", "text": f"Een regel die maar één keer voorkomt.\n{ARTICLE}"})
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    code = main(["quality", "--input", str(path), "--profile", "news", "--batch-size", "3"])
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert code == 0
    # the line on every record goes (counted over the whole file, across batches); the single line stays
    assert [o["stats"]["furniture_lines"] for o in out] == [1] * 8 + [0]
    assert "; 8 furniture line(s) removed" in captured.err

    code, out, err = run(monkeypatch, capsys, records, "--profile", "news")
    assert code == 0 and all(o["stats"]["furniture_lines"] == 0 for o in out)
    assert "furniture not removed (standard input is read once: give --input FILE)" in err
