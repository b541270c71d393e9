"""What changed between two releases of a corpus: documents added, removed and changed, per source.

A document is identified by its ``doc_id``; it *changed* when both releases hold it with another
``content_sha256``. Only ids, sources and content hashes are read (never texts), and the comparison is a
DuckDB join over the releases' Parquet parts under a memory limit (spilling to disk), so two releases of
any size compare in bounded memory; the entries stream out in ``source_id, doc_id`` order.

A removed document gets the reason the pipeline knows, first match wins:

- ``source_not_released``: its source is not in the newer release (suspended, held back or withdrawn);
- ``duplicate_content`` / ``near_duplicate``: the newer release dropped it as a cross-source duplicate
  (its excluded file says so, with ``duplicate_of``);
- the clean stage's reason from the source's current excluded file (a quality filter, an exact duplicate
  within the source, ...), with ``stage: clean``;
- ``unknown``: the document is no longer delivered, or the pipeline kept no reason for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from catalog.releases import Manifest, read_parts_sql
from catalog.storage import Storage, sql_quote
from catalog.zones import clean_excluded_path, excluded_release_path

#: What a removal is put down to when the pipeline has no record of why.
UNKNOWN = "unknown"
SOURCE_NOT_RELEASED = "source_not_released"
#: Rows fetched from DuckDB at a time while the entries stream out.
_FETCH_ROWS = 10_000


@dataclass
class ReleaseDiff:
    """The differences between two releases of one corpus, computed in DuckDB; read them, then :meth:`close`.

    :attr:`counts` holds per source ``added``, ``removed``, ``changed`` and ``removed_by_reason``;
    :meth:`entries` streams the documents of one kind.
    """

    old: Manifest
    new: Manifest
    con: Any
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entries(self, kind: str) -> Iterator[dict[str, Any]]:
        """Yield the ``added``, ``removed`` or ``changed`` documents, ordered by source and id.

        Every entry has ``doc_id`` and ``source_id``; a removal also ``reason`` (and ``stage``, and
        ``duplicate_of`` for a duplicate); a change ``old_sha256`` and ``new_sha256``.
        """
        if kind not in ("added", "removed", "changed"):
            raise ValueError(f"no such kind of difference: {kind!r}")
        # its own cursor (a connection to the same in-memory database): two streams may be read side by side
        cursor = self.con.cursor()
        try:
            result = cursor.execute(f"SELECT * FROM {kind} ORDER BY source_id, doc_id")
            names = [column[0] for column in result.description]
            while rows := result.fetchmany(_FETCH_ROWS):
                for row in rows:
                    yield {name: value for name, value in zip(names, row, strict=True) if value is not None}
        finally:
            cursor.close()

    def totals(self) -> dict[str, int]:
        """Return the documents added, removed and changed over all sources."""
        return {kind: sum(c[kind] for c in self.counts.values()) for kind in ("added", "removed", "changed")}

    def close(self) -> None:
        """Close the DuckDB connection (and drop what it spilled)."""
        self.con.close()

    def __enter__(self) -> ReleaseDiff:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def diff_releases(storage: Storage, old: Manifest, new: Manifest, *, memory_limit: str = "512MB") -> ReleaseDiff:
    """Compare two complete releases (their manifests) of one corpus; return the :class:`ReleaseDiff`.

    :raises ValueError: the two releases belong to different corpora.
    """
    if old["corpus"] != new["corpus"]:
        raise ValueError(f"releases of different corpora: {old['corpus']} and {new['corpus']}")
    con = storage.duckdb(memory_limit=memory_limit)
    try:
        _load(storage, con, old, new)
        diff = ReleaseDiff(old, new, con)
        diff.counts = _counts(con)
        return diff
    except BaseException:
        con.close()
        raise


def _load(storage: Storage, con: Any, old: Manifest, new: Manifest) -> None:
    columns = "doc_id, source_id, content_sha256"
    for name, manifest in (("old_docs", old), ("new_docs", new)):
        if manifest["files"]:
            con.execute(f"CREATE TABLE {name} AS SELECT {columns} FROM {read_parts_sql(storage, manifest)}")
        else:
            con.execute(f"CREATE TABLE {name} (doc_id VARCHAR, source_id VARCHAR, content_sha256 VARCHAR)")
    con.execute("CREATE TABLE added AS SELECT doc_id, source_id FROM new_docs ANTI JOIN old_docs USING (doc_id)")
    con.execute(
        "CREATE TABLE changed AS SELECT n.doc_id, n.source_id, o.content_sha256 AS old_sha256, "
        "n.content_sha256 AS new_sha256 FROM new_docs n JOIN old_docs o USING (doc_id) "
        "WHERE n.content_sha256 <> o.content_sha256"
    )
    con.execute("CREATE TABLE gone AS SELECT doc_id, source_id FROM old_docs ANTI JOIN new_docs USING (doc_id)")
    # what the pipeline recorded about the gone documents: the newer release's exclusions, the clean stage's
    released = [source["source_id"] for source in new["sources"]]
    con.execute("CREATE TABLE released (source_id VARCHAR)")
    if released:
        con.executemany("INSERT INTO released VALUES (?)", [(source,) for source in released])
    excluded = [("release", excluded_release_path(new["corpus"], new["version"]))]
    gone_sources = [row[0] for row in con.execute("SELECT DISTINCT source_id FROM gone ORDER BY 1").fetchall()]
    excluded += [("clean", clean_excluded_path(source)) for source in gone_sources]
    selects = [
        f"SELECT doc_id, excluded_reason, duplicate_of, {sql_quote(stage)} AS stage, {rank} AS rank "
        f"FROM read_parquet({sql_quote(storage.url(path))})"
        for rank, (stage, path) in enumerate(excluded)
        if storage.exists(path)
    ]
    reasons = " UNION ALL ".join(selects) or (
        "SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS excluded_reason, NULL::VARCHAR AS duplicate_of, "
        "NULL::VARCHAR AS stage, 0 AS rank WHERE false"
    )
    con.execute(
        f"""
        CREATE TABLE removed AS
        WITH why AS (
            SELECT * FROM ({reasons}) SEMI JOIN gone USING (doc_id)
            QUALIFY row_number() OVER (PARTITION BY doc_id ORDER BY rank) = 1
        )
        SELECT g.doc_id, g.source_id,
               CASE WHEN r.source_id IS NULL THEN {sql_quote(SOURCE_NOT_RELEASED)}
                    ELSE coalesce(w.excluded_reason, {sql_quote(UNKNOWN)}) END AS reason,
               CASE WHEN r.source_id IS NULL THEN 'release' ELSE w.stage END AS stage,
               CASE WHEN r.source_id IS NULL THEN NULL ELSE w.duplicate_of END AS duplicate_of
        FROM gone g
        LEFT JOIN released r ON r.source_id = g.source_id
        LEFT JOIN why w ON w.doc_id = g.doc_id
        """
    )


def _counts(con: Any) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}

    def entry(source: str) -> dict[str, Any]:
        return counts.setdefault(source, {"added": 0, "removed": 0, "changed": 0, "removed_by_reason": {}})

    for kind in ("added", "removed", "changed"):
        for source, n in con.execute(f"SELECT source_id, count(*) FROM {kind} GROUP BY 1").fetchall():
            entry(source)[kind] = n
    for source, reason, n in con.execute("SELECT source_id, reason, count(*) FROM removed GROUP BY 1, 2").fetchall():
        entry(source)["removed_by_reason"][reason] = n
    for values in counts.values():
        values["removed_by_reason"] = dict(sorted(values["removed_by_reason"].items()))
    return dict(sorted(counts.items()))
