"""Site furniture: short lines that repeat across many documents of one source, found from the source's own data.

The pattern list of :mod:`quality.boilerplate` knows furniture every Dutch news site shares ("Lees ook",
"Deel dit artikel"); each site also has its own: a byline ("Door onze verslaggever"), a subscription prompt
("Word abonnee voor € 1"), a footer, a navigation line. Those are found by counting, per source, in how many
distinct documents each short line occurs, and removed when it occurs in at least ``min_documents``
documents *and* in at least ``min_share`` of the source's documents.

- Only lines of at most ``max_line_chars`` characters are counted: a long paragraph syndicated across many
  documents is text (near-duplicate detection decides about it), not furniture.
- A line counts once per distinct text: re-deliveries and exact copies of one article do not make its lines
  furniture (exact deduplication keeps one copy instead).
- ``min_documents`` is at least 2, so a line that occurs in one document is never removed.

Counting streams: :meth:`FurnitureCounter.add` takes one batch of texts at a time and appends
``(document, line)`` 64-bit hash pairs to a local Parquet file; :meth:`FurnitureCounter.finish` lets DuckDB
count document frequencies out of core (spilling to disk), so memory does not grow with the source. A line's
key is stable: the first 64 bits of the SHA-256 of its stripped text (:func:`line_key`, the integer of
:attr:`FurnitureLine.line_sha256`), so keys stored by one run (:func:`document_lines`, kept per raw batch by
the clean stage) can be counted with the keys of the next (:func:`count_stored_lines`). Polars' own string
hash would be faster, but it is not stable across versions or machines.

The line texts themselves can name people (a byline), so they belong in restricted zones only: reports
carry the hash, the document frequency and the length.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.quality_settings import QualitySettings
from quality.normalise import normalise_text

#: Defaults (see the README's "Furniture lines per source"): a line is furniture from 5 documents and 2%.
MIN_DOCUMENTS = 5
MIN_SHARE = 0.02
MAX_LINE_CHARS = 200

_PAIRS = pa.schema([pa.field("doc", pa.uint64()), pa.field("line", pa.uint64())])
#: Type of a document's line keys (:func:`document_lines`).
LINE_KEYS = pa.list_(pa.uint64())


def _lines(texts: Sequence[str] | pl.Series, max_line_chars: int) -> pl.DataFrame:
    """Return one row per line: ``doc`` (position), ``line`` (text), ``key`` (:func:`line_key` or null).

    Blank lines and lines longer than ``max_line_chars`` get no key: they can never be furniture.
    """
    frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).with_row_index("doc")
    stripped = pl.col("line").str.strip_chars()
    countable = (stripped.str.len_chars() > 0) & (stripped.str.len_chars() <= max_line_chars)
    lines = (
        frame.select("doc", pl.col("text").str.split("\n").alias("line"))
        .explode("line")
        .with_columns(countable=pl.when(countable).then(stripped))
    )
    # hashlib runs in Python: hash each distinct line once (furniture repeats, that is the point)
    distinct = lines["countable"].drop_nulls().unique().to_list()
    keys = pl.Series([line_key(line) for line in distinct], dtype=pl.UInt64)
    return lines.select(
        "doc",
        "line",
        key=pl.col("countable").replace_strict(distinct, keys, default=None, return_dtype=pl.UInt64),
    )


def line_sha256(line: str) -> str:
    """Return the stable identity of a furniture line: the first 16 hex digits of the SHA-256 of its stripped text."""
    return hashlib.sha256(line.strip().encode("utf-8")).hexdigest()[:16]


def line_key(line: str) -> int:
    """Return a line's key for counting: :func:`line_sha256` as an unsigned 64-bit integer."""
    return int.from_bytes(hashlib.sha256(line.strip().encode("utf-8")).digest()[:8], "big")


def document_lines(texts: Sequence[str] | pl.Series, max_line_chars: int) -> pa.Array:
    """Return, per text, the sorted distinct keys of the lines that could be furniture (``list<uint64>``).

    What a stored batch keeps for counting: with each document's ``content_sha256`` (its identity),
    :func:`count_stored_lines` counts the lines of many batches without their text.
    """
    per_doc = (
        _lines(texts, max_line_chars)
        .group_by("doc", maintain_order=True)
        .agg(pl.col("key").drop_nulls().unique().sort())
    )
    return per_doc["key"].to_arrow().cast(LINE_KEYS)


def threshold(documents: int, min_documents: int, min_share: float) -> int:
    """Return the fewest distinct documents a furniture line occurs in, in a source of ``documents`` documents."""
    return max(min_documents, math.ceil(min_share * documents))


def _frequent_lines(con: Any, pairs: str, parameters: list[Any], least: int) -> dict[int, int]:
    """Return the document frequency of each line in at least ``least`` distinct documents of ``pairs``.

    :param pairs: SQL of a relation of ``doc`` and ``line`` columns (with ``?`` for ``parameters``).
    """
    # few rows: at most (lines per document) / min_share lines can reach the threshold
    found = con.execute(
        f"SELECT line, count(*) FROM (SELECT DISTINCT doc, line FROM ({pairs})) GROUP BY line HAVING count(*) >= ?",
        [*parameters, least],
    ).fetchall()
    return {int(line): int(documents) for line, documents in found}


def count_stored_lines(
    con: Any, files: Sequence[str], documents: int, settings: QualitySettings
) -> tuple[Furniture, list[list[int]]]:
    """Find a source's furniture from stored batches: Parquet files with ``content_sha256`` and ``line_keys``.

    The same lines as a :class:`FurnitureCounter` fed the same texts: a line counts once per distinct text
    (``content_sha256`` is the text's identity), wherever the copies are. Counted by DuckDB out of core.

    :param files: paths or URLs DuckDB reads (the connection's file systems registered).
    :param documents: the documents in ``files`` (the share threshold's base).
    Returns the furniture and, per file in order, the sorted keys of the furniture lines that occur in it.
    """
    least = threshold(documents, settings.furniture_min_documents, settings.furniture_min_share)
    present: list[list[int]] = [[] for _ in files]
    if not files:
        return Furniture({}, settings.furniture_max_line_chars, threshold=least, documents=documents), present
    # each file by its position in the list, not by the name DuckDB reports (a remote file system may spell
    # it otherwise)
    stored = "SELECT file_index AS file, content_sha256 AS doc, unnest(line_keys) AS line FROM read_parquet(?)"
    frequencies = _frequent_lines(con, stored, [list(files)], least)
    if frequencies:
        rows = con.execute(
            f"SELECT DISTINCT file, line FROM ({stored}) WHERE list_contains(?, line) ORDER BY file, line",
            [list(files), sorted(frequencies)],
        ).fetchall()
        for number, line in rows:
            present[number].append(int(line))
    return Furniture(frequencies, settings.furniture_max_line_chars, threshold=least, documents=documents), present


@dataclass(frozen=True)
class FurnitureLine:
    """One furniture line of a source: its identity, in how many distinct documents it occurs, and its length."""

    line_sha256: str
    documents: int
    chars: int


class FurnitureCounter:
    """Count, streamed, in how many distinct documents of one source each short line occurs.

    :param workdir: a local folder for the pairs file and DuckDB's spill files (the caller removes it).
    :param min_documents: a line occurring in fewer documents is never furniture (at least 2).
    :param min_share: nor one occurring in a smaller share of the source's documents.
    :param max_line_chars: longer lines are never furniture.
    """

    def __init__(
        self,
        workdir: str,
        *,
        min_documents: int = MIN_DOCUMENTS,
        min_share: float = MIN_SHARE,
        max_line_chars: int = MAX_LINE_CHARS,
    ) -> None:
        if min_documents < 2:
            raise ValueError("min_documents must be at least 2: a line of one document is never furniture")
        if not 0 <= min_share <= 1:
            raise ValueError("min_share must lie between 0 and 1")
        self.workdir = workdir
        self.min_documents = min_documents
        self.min_share = min_share
        self.max_line_chars = max_line_chars
        self.documents = 0
        os.makedirs(workdir, exist_ok=True)
        self._path = os.path.join(workdir, "furniture-pairs.parquet")
        # fast compression: the file lives for one run and is read once
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._path, _PAIRS, compression="lz4")

    @classmethod
    def from_settings(cls, workdir: str, settings: QualitySettings) -> FurnitureCounter:
        """Return a counter with a source's furniture settings (``furniture_*`` of its quality section)."""
        return cls(
            workdir,
            min_documents=settings.furniture_min_documents,
            min_share=settings.furniture_min_share,
            max_line_chars=settings.furniture_max_line_chars,
        )

    def add(self, texts: Sequence[str] | pl.Series) -> None:
        """Count the lines of one batch of (normalised) texts of the source."""
        if self._writer is None:
            raise RuntimeError("add() after finish()")
        texts = pl.Series(texts, dtype=pl.String)
        self.documents += len(texts)
        lines = _lines(texts, self.max_line_chars)
        pairs = (
            lines.drop_nulls("key")
            # the document's identity is its text: exact copies count once, wherever they are in the source
            .join(pl.DataFrame({"doc_key": texts.hash()}).with_row_index("doc"), on="doc")
            .select(doc=pl.col("doc_key"), line=pl.col("key"))
            .unique()
        )
        if pairs.height:
            self._writer.write_table(pairs.to_arrow().cast(_PAIRS))

    def threshold(self) -> int:
        """Return the fewest distinct documents a furniture line occurs in, for the documents counted so far."""
        return threshold(self.documents, self.min_documents, self.min_share)

    def finish(self, connection: Any | None = None) -> Furniture:
        """Count the document frequencies out of core and return the source's furniture.

        :param connection: a DuckDB connection to use (memory limit and spill folder set by the caller);
            default: a new one limited to 256 MB, spilling into ``workdir``.
        """
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        least = self.threshold()
        con = connection
        if con is None:
            import duckdb

            con = duckdb.connect(config={"memory_limit": "256MB", "preserve_insertion_order": False})
            con.execute("SET temp_directory = ?", [os.path.join(self.workdir, "duckdb")])
        try:
            frequencies = _frequent_lines(con, "SELECT doc, line FROM read_parquet(?)", [self._path], least)
        finally:
            if connection is None:
                con.close()
        return Furniture(frequencies, self.max_line_chars, threshold=least, documents=self.documents)


class Furniture:
    """The furniture lines of one source, and their removal from texts batch by batch.

    :param frequencies: document frequency by line hash (as :class:`FurnitureCounter` hashes lines).
    :param max_line_chars: as counted.
    :param threshold: the document frequency from which a line was furniture (reported).
    :param documents: how many documents were counted (reported).
    """

    def __init__(self, frequencies: dict[int, int], max_line_chars: int, *, threshold: int = 0, documents: int = 0):
        self.frequencies = frequencies
        self.max_line_chars = max_line_chars
        self.threshold = threshold
        self.documents = documents
        self._keys = pl.Series("key", list(frequencies), dtype=pl.UInt64)
        #: the text of each line removed so far, by hash (bounded: a source has few furniture lines)
        self.texts: dict[int, str] = {}
        self.lines_removed = 0
        self.documents_affected = 0

    def __len__(self) -> int:
        return len(self.frequencies)

    def strip(self, texts: Sequence[str] | pl.Series) -> tuple[list[str], list[int]]:
        """Return the texts without furniture lines (normalised again where lines went) and the lines each lost."""
        texts = list(texts)
        if not self.frequencies or not texts:
            return texts, [0] * len(texts)
        lines = _lines(texts, self.max_line_chars).with_columns(
            furniture=pl.col("key").is_in(self._keys.implode()).fill_null(False)
        )
        removed_lines = lines.filter("furniture").unique("key", keep="first")
        for key, line in zip(removed_lines["key"].to_list(), removed_lines["line"].to_list(), strict=True):
            self.texts.setdefault(key, line.strip())
        per_doc = lines.group_by("doc", maintain_order=True).agg(
            text=pl.col("line").filter(~pl.col("furniture")).str.join("\n"),
            removed=pl.col("furniture").sum(),
        )
        removed = per_doc.sort("doc")["removed"].cast(pl.Int64).to_list()
        stripped = per_doc.sort("doc")["text"].fill_null("").to_list()
        self.lines_removed += sum(removed)
        self.documents_affected += sum(1 for n in removed if n)
        # a removed line can leave blank lines in a row or at the edges: normalise again what changed
        return [
            normalise_text(new) if n else old for old, new, n in zip(texts, stripped, removed, strict=True)
        ], removed

    def only(self, lines: Sequence[int]) -> Furniture:
        """Return the furniture restricted to some of its lines, with nothing counted as removed yet."""
        frequencies = {line: self.frequencies[line] for line in lines}
        return Furniture(frequencies, self.max_line_chars, threshold=self.threshold, documents=self.documents)

    def account(self, texts: dict[int, str], removed: Sequence[int] = ()) -> None:
        """Count what an earlier :meth:`strip` removed (a stored result): line texts by key, lines per document."""
        for line, text in texts.items():
            if line in self.frequencies:
                self.texts.setdefault(line, text)
        self.lines_removed += sum(removed)
        self.documents_affected += sum(1 for n in removed if n)

    def found(self) -> list[FurnitureLine]:
        """Return the furniture lines removed so far, most frequent first (identity, frequency, length: no text)."""
        lines = [FurnitureLine(line_sha256(text), self.frequencies[key], len(text)) for key, text in self.texts.items()]
        return sorted(lines, key=lambda line: (-line.documents, line.line_sha256))

    def review_table(self) -> pa.Table:
        """Return the removed furniture lines *with their text*, for the restricted zone's review file only."""
        rows = sorted(
            ((line_sha256(text), self.frequencies[key], len(text), text) for key, text in self.texts.items()),
            key=lambda row: (-row[1], row[0]),
        )
        return pa.table(
            {
                "line_sha256": pa.array([r[0] for r in rows], pa.string()),
                "documents": pa.array([r[1] for r in rows], pa.int64()),
                "chars": pa.array([r[2] for r in rows], pa.int64()),
                "text": pa.array([r[3] for r in rows], pa.string()),
            }
        )
