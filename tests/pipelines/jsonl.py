"""Run a JSONL-in, JSONL-out CLI command on records given as dicts (the anonymise, quality, dedup tests)."""

import io
import json

from pipelines.cli import main


def run_jsonl(monkeypatch, capsys, command, lines, *args):
    """Feed ``lines`` as JSONL on stdin to ``corpusfabriek COMMAND ARGS``; return (exit code, records out, stderr)."""
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(json.dumps(line) + "\n" for line in lines)))
    code = main([command, *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err
