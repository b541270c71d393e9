"""Text normalisation, exact deduplication and the clean stage (no Dagster)."""
