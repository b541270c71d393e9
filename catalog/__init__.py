"""The bottom layer: document model, storage and zones, source specs and registry, connectors, fetcher,
reading releases, the root's key and lease (no Dagster; imports no other package of the project)."""
