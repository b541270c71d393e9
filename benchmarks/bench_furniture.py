"""Benchmark: furniture lines per source, on real data when present and on a generated news source.

1. **Real data**: every ``../shared/data/warc/*.warc.gz`` and ``text-nl/*.jsonl`` file ingested as one source
   and cleaned with the quality gate: lines removed, documents affected, distinct furniture lines found.
2. **Generated news source**: ~2 KB documents of real Dutch sentences, each with a few of a site's
   bylines, subscription prompts, "Lees ook" teasers and footers (and 5% exact copies): the clean stage's
   MB/s with ``strip_furniture`` off and on, and the furniture pass alone (count + strip) in MB/s.

    python benchmarks/bench_furniture.py                 # 5,000 generated documents
    python benchmarks/bench_furniture.py --documents 20000

Offline: every network connection fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_pipeline  # benchmarks/ is on sys.path when a script in it runs
import dutch_text
from bench_connectors import spec_for
from offline import block_network

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

#: A site's furniture: each generated document carries some of these, as real article pages do.
SITE_LINES = [
    "Door onze verslaggever",
    "Door onze correspondent",
    "Word abonnee voor € 1 per week en lees onbeperkt verder.",
    "Heb je een tip? Mail de redactie.",
    "Home | Nieuws | Regio | Sport | Cultuur | Economie",
    "© 2026 Dagblad van het Noorden. Alle rechten voorbehouden.",
    "Dit artikel is eerder verschenen in de papieren krant.",
]


def generate(path: Path, n: int, seed: int = 11) -> int:
    """Write the pipeline benchmark's JSONL drop of ``n`` documents, each framed by some of a site's furniture.

    Returns the drop's size in bytes.
    """
    rng = random.Random(seed)
    plain = path.with_suffix(".plain.jsonl")
    bench_pipeline.generate(plain, n, seed)
    framed: dict[str, str] = {}  # exact copies of a text keep their exact frame
    with plain.open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as out:
        for line in source:
            record = json.loads(line)
            if record["text"] not in framed:
                lines = [rng.choice(SITE_LINES[:2]), record["text"], *rng.sample(SITE_LINES[2:], rng.randint(1, 3))]
                framed[record["text"]] = "\n\n".join(lines)
            record["text"] = framed[record["text"]]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    plain.unlink()
    return path.stat().st_size


def clean_run(storage: Any, source_id: str, strip: bool) -> tuple[float, dict[str, Any]]:
    """Clean one ingested source with the default gate, furniture on or off; return seconds and the report."""
    from catalog.quality_settings import QualitySettings
    from catalog.zones import clean_batches_folder
    from quality.gate import QualityGate
    from stages.clean import clean_source

    gate = QualityGate(QualitySettings(strip_furniture=strip), languages=["nl"])
    # every run normalises and strips the whole source: the cache of an earlier run would spare the later ones
    storage.delete(clean_batches_folder(source_id), recursive=True)
    started = time.perf_counter()
    report = clean_source(storage, source_id, gate=gate)
    return time.perf_counter() - started, report


def real_data(tmp: Path) -> None:
    """Ingest and clean each real file as its own source; print what furniture removal found."""
    from catalog.storage import Storage
    from stages.ingest import ingest_source

    files = [("warc", p, {"status": "approved"}) for p in sorted((SHARED / "warc").glob("*.warc.gz"))]
    files += [
        ("files", p, {"format": "jsonl", "status": "approved"}) for p in sorted((SHARED / "text-nl").glob("*.jsonl"))
    ]
    if not files:
        print("real data: skipped (no shared data)")
        return
    os.environ["CORPUSFABRIEK_DROP_FOLDERS"] = os.pathsep.join(sorted({str(p.parent) for _, p, _ in files}))
    print("real data (one source per file, default gate)")
    for number, (kind, path, extra) in enumerate(files):
        storage = Storage(str(tmp / f"real-{number}"))
        spec = spec_for(f"bench-real-{number}", kind, str(path), **extra)
        ingest_source(storage, spec)
        _, report = clean_run(storage, spec.id, True)
        print(
            f"  {path.name:<58} {report['input_documents']:>5} docs  furniture: "
            f"{report['furniture_lines_removed']:>5} lines removed from {report['furniture_documents_affected']:>4} "
            f"docs, {report['furniture_lines_found']:>3} distinct lines (from {report['furniture_min_documents']} docs)"
        )


def generated(tmp: Path, documents: int) -> None:
    """Clean a generated news source with furniture removal off and on; time the furniture pass alone."""
    import polars as pl

    from catalog.storage import Storage
    from quality.furniture import FurnitureCounter
    from stages.ingest import ingest_source

    drop = tmp / "news.jsonl"
    size_mb = generate(drop, documents) / 1e6
    os.environ["CORPUSFABRIEK_DROP_FOLDERS"] = str(tmp)
    storage = Storage(str(tmp / "generated"))
    spec = spec_for("bench-news", "files", str(drop), format="jsonl", status="approved")
    ingest_source(storage, spec)
    print(f"generated news source: {documents:,} documents, {size_mb:.1f} MB ({dutch_text.source_name()})")
    # off twice around on: the first run also pays for loading the language model
    for strip in (False, True, False):
        seconds, report = clean_run(storage, spec.id, strip)
        print(
            f"  clean stage, strip_furniture {strip!s:<5}  {seconds:6.2f} s  {size_mb / seconds:5.2f} MB/s  "
            f"kept {report['kept']:,}  furniture lines removed {report['furniture_lines_removed']:,} "
            f"({report['furniture_documents_affected']:,} docs, {report['furniture_lines_found']} distinct)"
        )

    texts = [json.loads(line)["text"] for line in drop.read_text(encoding="utf-8").splitlines()]
    started = time.perf_counter()
    counter = FurnitureCounter(str(tmp / "alone"))
    for start in range(0, len(texts), 2_000):
        counter.add(pl.Series(texts[start : start + 2_000]))
    furniture = counter.finish()
    counted = time.perf_counter() - started
    for start in range(0, len(texts), 2_000):
        furniture.strip(texts[start : start + 2_000])
    total = time.perf_counter() - started
    print(
        f"  furniture pass alone: count {size_mb / counted:6.1f} MB/s, count + strip {size_mb / total:6.1f} MB/s "
        f"({len(furniture)} lines)"
    )


def main() -> None:
    """Run the real-data part and the generated part."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5_000)
    args = parser.parse_args()
    block_network("bench_furniture")
    with tempfile.TemporaryDirectory(prefix="cf-bench-furniture-") as tmp:
        real_data(Path(tmp))
        generated(Path(tmp), args.documents)


if __name__ == "__main__":
    main()
