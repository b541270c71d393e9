"""Benchmark: the anonymisation stage (``anonymise_source``) on real Dutch text with realistic short fields.

Documents are the texts of ``../shared/data/text-nl/*.jsonl`` and ``../shared/data/pii-dev/kb-ocr-ner-dev.jsonl``
(when present, else the built-in sentences), each with what a news feed or an archive delivers beside the
text: a title (its first sentence), an article URL with a slug and query parameters, the feed as location, an
item record and source metadata (guid and feed URL; for every third document an OAI identifier and a
``creator``). They are written straight into a clean zone, then the stage runs ``--repeat`` times after one
warm-up run; the best run is reported (MB/s of text, documents/s).

    python benchmarks/bench_anonymise_stage.py [--repeat 3] [--copies 1]

Run it against an older checkout with ``PYTHONPATH=<old tree>`` to compare code versions on the same input.
Never touches the network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import tempfile
import time
from pathlib import Path

import dutch_text  # benchmarks/ is on sys.path when a script in it runs
import pyarrow as pa
import pyarrow.parquet as pq
from offline import block_network

from anonymisation.anonymiser import Anonymiser
from catalog.documents import DOCUMENT_SCHEMA, make_doc_id
from catalog.storage import Storage
from catalog.zones import clean_path
from stages.anonymise import anonymise_source

SHARED = dutch_text.REPO.parent / "shared" / "data"
KEY = b"benchmark-key-not-secret-0123456789"
CLEAN_REPORT = {
    "ingest_id": "bench",
    "ingested_at": "2026-01-01T00:00:00+00:00",
    "licence": "test",
    "code_version": "b",
}


def texts() -> list[str]:
    """Return the benchmark texts: real Dutch documents when the shared data is there."""
    found = []
    for path in [*sorted((SHARED / "text-nl").glob("*.jsonl")), SHARED / "pii-dev" / "kb-ocr-ner-dev.jsonl"]:
        if path.is_file():
            found += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line]
    return found or [" ".join(dutch_text.FALLBACK)] * 50


def row(number: int, text: str) -> dict:
    """One clean document with the short fields a source delivers."""
    title = re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0][:120]
    words = re.findall(r"\w+", title.lower())[:8]
    url = f"https://www.krant.example/nieuws/{'-'.join(words)}?utm_source=rss&artikel={number}"
    native_id = f"oai:archief.example:krant:{number}" if number % 3 == 0 else url
    metadata = {"feed_url": "https://www.krant.example/rss/binnenland.xml", "guid": url}
    if number % 3 == 0:
        metadata = {"oai_identifier": native_id, "creator": "Jansen, J.", "datestamp": "2026-01-01"}
    return {
        "doc_id": make_doc_id("bench", native_id),
        "source_id": "bench",
        "native_id": native_id,
        "url": url,
        "title": title,
        "text": text,
        "lang": "nl",
        "published_at": None,
        "fetched_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "licence": "test",
        "content_sha256": "0" * 64,
        "annotations": {
            "raw": {
                "ingest_id": "bench",
                "location": "https://www.krant.example/rss/binnenland.xml",
                "record": f"item {number}",
                "source_metadata": json.dumps(metadata, sort_keys=True),
            }
        },
    }


def main() -> None:
    """Build the clean zone, run the stage, print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, default=1, help="repeat the corpus this many times")
    args = parser.parse_args()
    block_network("bench_anonymise_stage")
    rows = [row(n, text) for n, text in enumerate(texts() * args.copies)]
    chars = sum(len(r["text"]) for r in rows)
    with tempfile.TemporaryDirectory() as folder:
        storage = Storage(str(Path(folder) / "root"))
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), sink)
        storage.write_bytes(clean_path("bench"), sink.getvalue().to_pybytes())
        anonymiser = Anonymiser(key=KEY)
        runs, cpu = [], []
        for attempt in range(args.repeat + 1):
            started, started_cpu = time.perf_counter(), time.process_time()
            anonymise_source(storage, "bench", anonymiser, operator="surrogate", clean_report=CLEAN_REPORT)
            if attempt:  # the first run builds the word lists and the analyzer
                runs.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
    best, best_cpu = min(runs), min(cpu)
    print(f"{len(rows)} documents, {chars / 1e6:.2f} MB of text (short fields included per document)")
    print(
        f"best of {args.repeat}: {best:.2f} s = {chars / 1e6 / best:.3f} MB/s, {len(rows) / best:.0f} documents/s; "
        f"CPU {best_cpu:.2f} s"
    )


if __name__ == "__main__":
    main()
