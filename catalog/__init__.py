"""The bottom layer of the project, importing no other package of it (and no Dagster).

Document model, storage and zones, source specs and registry, connectors, fetcher, reading releases, the
root's key and lease.
"""
