"""Fixtures of the quality library tests."""

from pathlib import Path

import pytest

from catalog.storage import Storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return Storage(str(tmp_path / "store"))
