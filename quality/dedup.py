"""Exact deduplication by ``content_sha256``, as SQL that DuckDB runs out of core.

The decision is made in one window pass, so it scales past memory (DuckDB spills the partitions of the
window to disk) and works the same within one source and across all sources of a release.
"""

from __future__ import annotations


def exact_duplicate_sql(relation: str, order_by: str) -> str:
    """Return SQL adding ``duplicate_of`` to ``relation``: NULL for the document kept, else the kept doc_id.

    Within each group of equal ``content_sha256`` the first row by ``order_by`` is kept, so the rule of
    which copy survives is explicit and deterministic (the caller ends ``order_by`` with a unique key).
    """
    return f"""
        SELECT * EXCLUDE (first_doc),
               CASE WHEN doc_id = first_doc THEN NULL ELSE first_doc END AS duplicate_of
        FROM (
            SELECT *, first_value(doc_id) OVER (PARTITION BY content_sha256 ORDER BY {order_by}) AS first_doc
            FROM {relation}
        )
    """
