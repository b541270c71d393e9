"""Failure records: a failing source is remembered with one line of why, until it passes again."""

from catalog.failures import clear_failure, current_failures, error_line, held_back_reason, record_failure
from catalog.storage import Storage


def test_a_failure_is_recorded_listed_and_cleared(tmp_path):
    storage = Storage(str(tmp_path))
    assert current_failures(storage) == {}
    record_failure(storage, "bron-b", "clean_documents", RuntimeError("first line\nsecond line"), "run-1")
    record_failure(storage, "bron-a", "raw_documents", FileNotFoundError("no files match the location"))
    failures = current_failures(storage)
    assert list(failures) == ["bron-a", "bron-b"]
    assert failures["bron-b"]["error"] == "RuntimeError: second line"
    assert failures["bron-b"]["run_id"] == "run-1"
    assert (
        held_back_reason(failures["bron-a"]) == "raw_documents failed: FileNotFoundError: no files match the location"
    )
    clear_failure(storage, "bron-a")
    clear_failure(storage, "bron-a")  # clearing twice is harmless
    assert list(current_failures(storage)) == ["bron-b"]


def test_an_error_line_is_one_bounded_line():
    assert error_line(ValueError()) == "ValueError"
    assert error_line("checks failed\n") == "checks failed"
    long = error_line(ValueError("x" * 1000))
    assert len(long) == 300 and long.endswith("...") and "\n" not in long
