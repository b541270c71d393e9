"""Plain library of text quality: normalisation, the FineWeb-2 filters and the gate, boilerplate, language,
exact and near deduplication with its persistent index (no Dagster; imports only ``catalog``)."""
