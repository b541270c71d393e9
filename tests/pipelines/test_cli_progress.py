"""The run's progress lines: a step per source, its shards as plain lines in a log and as a bar on a terminal."""

import io
import logging

from pipelines.cli import main
from pipelines.cli.progress import StepProgress, bar
from stages.executors import PROGRESS_LOGGER, ShardProgress, emit_progress
from tests.conftest import write_csv_drop_spec


def test_the_bar_fills_with_the_shards_done():
    assert bar(0, 4, width=8) == "[--------] 0/4"
    assert bar(1, 4, width=8) == "[##------] 1/4"
    assert bar(4, 4, width=8) == "[########] 4/4"


def test_shards_get_plain_lines_when_the_output_is_no_terminal():
    out = io.StringIO()
    with StepProgress(out, terminal=False) as line:
        line.start("[1/2] nieuws: ingest, clean, anonymise")
        emit_progress(ShardProgress("anonymise", "nieuws", 1, 2, detail="[s0, 1.0 s]"))
        emit_progress(ShardProgress("anonymise", "nieuws", 2, 2, ok=False, detail="[s1, exit code 1, 0.5 s]"))
        line.finish("3 new records")
    assert out.getvalue().splitlines() == [
        "[1/2] nieuws: ingest, clean, anonymise ...",
        "    nieuws: anonymise shard 1/2 done [s0, 1.0 s]",
        "    nieuws: anonymise shard 2/2 FAILED [s1, exit code 1, 0.5 s]",
        "    -> 3 new records",
    ]
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_a_terminal_redraws_one_line_with_a_bar_and_ends_it_with_the_summary():
    out = io.StringIO()
    with StepProgress(out, terminal=True) as line:
        line.start("[1/2] nieuws: ingest, clean, anonymise")
        for done in (1, 2, 3):
            emit_progress(ShardProgress("anonymise", "nieuws", done, 3))
        line.finish("3 new records")
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\r\x1b[K[1/2] nieuws: ingest, clean, anonymise ... 3 new records\n")
    assert f"nieuws anonymise {bar(2, 3)}" in text


def test_a_step_in_one_shard_reads_as_before_and_nothing_is_heard_outside_a_step(caplog):
    out = io.StringIO()
    with StepProgress(out, terminal=False) as line:
        line.start("[1/1] nieuws: ingest, clean, anonymise")
        emit_progress(ShardProgress("anonymise", "nieuws", 1, 1))
        line.finish("3 new records")
    assert out.getvalue() == "[1/1] nieuws: ingest, clean, anonymise ... 3 new records\n"
    assert not logging.getLogger(PROGRESS_LOGGER).handlers
    with caplog.at_level(logging.INFO, logger=PROGRESS_LOGGER):
        emit_progress(ShardProgress("anonymise", "nieuws", 1, 2))  # no display: an ordinary log record
    assert caplog.records[-1].getMessage() == "nieuws: anonymise shard 1/2 done"


def test_a_step_that_raises_ends_its_line():
    out = io.StringIO()
    try:
        with StepProgress(out, terminal=True) as line:
            line.start("[1/1] nieuws: ingest, clean, anonymise")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert out.getvalue().endswith(" ...\n")


def test_the_run_shows_each_shard_of_a_source_cleaned_and_anonymised_by_two_workers(isolated_env, monkeypatch, capsys):
    drop = isolated_env / "drop"
    drop.mkdir()
    rows = [
        f"{n},Bericht {n}: de gemeenteraad vergaderde dinsdag over de begroting van volgend jaar.,2026-01-0{n}"
        for n in range(1, 6)
    ]
    (drop / "a.csv").write_text("id,body,date\n" + "\n".join(rows) + "\n", encoding="utf-8")
    specs = isolated_env / "specs"
    write_csv_drop_spec(specs, drop, extra="quality: {enabled: false}\n")
    monkeypatch.setenv("CORPUSFABRIEK_SOURCES", str(specs))
    monkeypatch.setenv("CORPUSFABRIEK_SHARD_DOCUMENTS", "2")
    assert main(["run", "--root", str(isolated_env / "root"), "--workers", "2", "--no-release"]) == 0
    out = capsys.readouterr().out.splitlines()
    heading = out.index("[1/1] test-drop: ingest, clean, anonymise ...")
    shards = [line.split(" [")[0] for line in out[heading + 1 : heading + 7]]
    assert shards == [f"    test-drop: {stage} shard {n}/3 done" for stage in ("clean", "anonymise") for n in (1, 2, 3)]
    assert out[heading + 7].startswith("    -> 5 new records -> 5 documents") and "in 3 shard(s)" in out[heading + 7]
