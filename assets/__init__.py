"""Dagster assets and asset checks: thin wrappers over the catalog and quality libraries."""
