"""Dagster assets and asset checks with their resources and partitions: thin wrappers over the stages."""
