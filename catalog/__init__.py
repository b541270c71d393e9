"""Source specs and registry, the document model, storage zones, ingest and releases (no Dagster)."""
