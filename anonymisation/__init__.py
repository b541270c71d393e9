"""Dutch anonymisation (Presidio recognizers and operators); no Dagster.

Nothing lives here yet: the anonymisation stage is its own issue. Until it lands, releases carry
``"anonymised": false`` in their manifest and must be treated as containing personal data.
"""
