"""The stages: each reads one zone of a storage root and writes the next, with its accounting.

``ingest`` (partner sources -> ``raw``), ``clean`` (quality gate -> ``clean``), ``anonymise``
(-> ``anonymised``), ``validate`` (Great Expectations suites over a zone), ``release`` (exact and near
dedup, immutable versions under ``releases``) and ``report`` (what happened to a partner's data). Plain
Python over the libraries below them (``catalog``, ``quality``, ``anonymisation``); Dagster assets and the
command line call them, never the other way round.
"""
