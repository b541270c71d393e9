"""Plain library of text quality (no Dagster; imports only ``catalog``).

Normalisation, the FineWeb-2 filters and the gate, boilerplate, language, exact and near deduplication
with its persistent index.
"""
