"""Fixtures of the anonymisation tests."""

# The stage tests ingest and clean tiny sources into a real storage zone, like the catalog tests.
from tests.catalog.conftest import data_dir, make_spec, storage  # noqa: F401 - shared fixtures
