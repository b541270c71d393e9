"""``corpusfabriek run --workers N --executor E``: where the anonymisation shards run; the key setting is kept."""

import pytest
from dagster import EnvVar

from assets.resources import ShardsResource
from catalog.settings import KEY_ENV
from pipelines.cli.common import CommandError
from pipelines.cli.parser import build_parser
from pipelines.cli.run import _anonymised_note, _shard_settings
from pipelines.definitions import build_definitions
from stages.executors import ProcessExecutor
from stages.slurm import SlurmExecutor


def test_the_workers_flag_takes_a_whole_number_of_at_least_one(capsys):
    parser = build_parser()
    assert parser.parse_args(["run"]).workers is None  # the settings decide (default 1)
    assert parser.parse_args(["run", "--workers", "2"]).workers == 2
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["run", "--workers", bad])
    assert "--workers" in capsys.readouterr().err


def test_more_than_one_worker_gives_a_process_pool_that_inherits_the_environment():
    assert ShardsResource().executor() is None  # one worker: in the step's own process
    executor = ShardsResource(workers=3).executor()
    assert isinstance(executor, ProcessExecutor) and executor.workers == 3
    assert executor.env is None  # the key variable is inherited, never put on a command line


def test_the_cli_sets_the_workers_and_keeps_the_key_setting(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "a-key-for-this-test-only-0123456789")
    shards = _shard_settings(build_parser().parse_args(["run", "--workers", "2"]))
    defs = build_definitions(root=str(tmp_path / "root"), shards=shards)
    assert defs.resources["shards"].workers == 2
    key = defs.resources["anonymisation"].key
    assert isinstance(key, EnvVar) and key == KEY_ENV
    assert {"storage", "sources", "release"} <= set(defs.resources)
    defs.get_repository_def()  # the definitions still load


def test_the_run_line_says_how_much_was_anonymised_and_reused():
    report = {"documents_anonymised": 2, "documents_reused": 98, "shards": 1}
    assert _anonymised_note(report) == " (2 anonymised, 98 reused)"
    assert _anonymised_note({**report, "shards": 3}) == " (2 anonymised in 3 shard(s), 98 reused)"
    assert _anonymised_note({}) == ""  # a report of an older run


def test_the_executor_comes_from_the_settings_and_the_flag_overrides_them(monkeypatch, tmp_path):
    parser = build_parser()
    monkeypatch.setenv("CORPUSFABRIEK_WORKERS", "3")
    assert _shard_settings(parser.parse_args(["run"])).workers == 3
    with pytest.raises(CommandError, match="CORPUSFABRIEK_SLURM_WORK_DIR"):
        _shard_settings(parser.parse_args(["run", "--executor", "slurm"]))
    monkeypatch.setenv("CORPUSFABRIEK_SLURM_WORK_DIR", str(tmp_path / "slurm"))
    shards = _shard_settings(parser.parse_args(["run", "--executor", "slurm"]))
    executor = ShardsResource.from_settings(shards).executor()
    assert isinstance(executor, SlurmExecutor) and str(executor.work_dir) == str(tmp_path / "slurm")
    monkeypatch.setenv("CORPUSFABRIEK_WORKERS", "nul")
    with pytest.raises(CommandError, match="CORPUSFABRIEK_WORKERS"):
        _shard_settings(parser.parse_args(["run"]))
