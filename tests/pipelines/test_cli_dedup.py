"""`corpusfabriek dedup`: JSONL in, one cluster decision per record out."""

from tests.pipelines.jsonl import run_jsonl
from tests.texts import DUTCH_ARTICLE


def run(monkeypatch, capsys, lines, *args):
    return run_jsonl(monkeypatch, capsys, "dedup", lines, *args)


def test_clusters_keep_the_priority_source_and_count_duplicates(monkeypatch, capsys):
    records = [
        {"id": "aggr", "text": DUTCH_ARTICLE, "source_id": "aggregator", "published_at": "2026-01-01"},
        {"id": "orig", "text": DUTCH_ARTICLE.replace("dinsdag", "maandag"), "source_id": "krant"},
        {"id": "same", "text": DUTCH_ARTICLE + "\r\n", "source_id": "aggregator"},
        {"id": "alone", "text": "Iets heel anders over het weer in Friesland vandaag en morgen."},
    ]
    code, out, err = run(monkeypatch, capsys, records, "--priority", "krant=10", "--batch-size", "3")
    assert code == 0
    assert [(o["id"], o["cluster_id"], o["cluster_size"], o["keep"], o["duplicate_of"]) for o in out] == [
        ("aggr", "orig", 3, False, "orig"),
        ("orig", "orig", 3, True, None),
        ("same", "orig", 3, False, "orig"),
        ("alone", "alone", 1, True, None),
    ]
    assert "kept 2 of 4 record(s), duplicates 2 (near 2)" in err


def test_bad_options_and_input_are_clear_errors(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, [{"id": 1, "text": "x"}], "--priority", "krant")
    assert code == 1 and "SOURCE=NUMBER" in err
    code, _, err = run(monkeypatch, capsys, [{"id": 1, "text": "x"}], "--threshold", "2")
    assert code == 1 and "threshold" in err
    code, _, err = run(monkeypatch, capsys, [{"id": 1}])
    assert code == 1 and "string field 'text'" in err
