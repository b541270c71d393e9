"""The Croissant description's pure parts (the file itself is validated and loaded in test_release.py)."""

import pytest

from stages.croissant import semantic_version


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v20261207T221527Z", "2026.1207.221527"),
        ("v20260105T000900Z", "2026.105.900"),  # no leading zeros: semantic versions forbid them
        ("v20261207T221527Z-2", "2026.1207.221527+2"),
        ("not-a-release", "0.0.0+not-a-release"),
    ],
)
def test_release_versions_become_semantic_versions_in_the_same_order(version: str, expected: str) -> None:
    assert semantic_version(version) == expected
