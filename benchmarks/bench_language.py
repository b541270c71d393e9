"""Benchmark: language identification, one py3langid call per text against the batch path, and the whole gate.

Documents of ~2 KB are cut at word boundaries from the real Dutch text in ``../shared/data/text-nl`` (the
built-in sentences when absent). Prints, as MB/s per core (process time, best of ``--repeat``):

- language ID before (``reference``: the old loop, py3langid's ``classify`` once per text) and after
  (``LanguageDetector.detect_many`` on the whole batch), and the ratio;
- how often the two agree, on the 2 KB documents and on every real text at hand: the Dutch news and
  Wikipedia documents, the government RSS feed (title and description of each item), the KB OCR newspaper
  text and the CoNLL and dummy de-identification texts in ``pii-dev``, and the main text of the HTML pages
  in the WARC files (extracted with trafilatura, as the ``warc`` connector does). Agreement means the same
  label and the same score (4 decimals); the batch path is meant to agree on every text;
- the whole gate (``QualityGate().assess`` over batches of ``--batch`` documents) with the old and the new
  language ID, and where the gate's time goes now, function by function.

    python benchmarks/bench_language.py                 # 4 MB, 3 repeats
    python benchmarks/bench_language.py --mb 8 --repeat 5

polars and OpenBLAS run on one thread so that the figures are one core's. Never touches the network.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import pstats
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import dutch_text  # benchmarks/ is on sys.path when a script in it runs
from offline import block_network

SHARED = dutch_text.REPO.parent / "shared" / "data"
DOC_BYTES = 2_000


# --- the old path ------------------------------------------------------------------------------------------


def reference(texts: Iterable[str], max_chars: int = 5_000) -> tuple[list[str], list[float]]:
    """Identify languages as the gate did before batching: py3langid's ``classify`` once per text."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    global _REFERENCE
    if _REFERENCE is None:
        _REFERENCE = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    langs: list[str] = []
    scores: list[float] = []
    for text in texts:
        sample = text[:max_chars]
        if not any(char.isalpha() for char in sample):
            langs.append("zxx")
            scores.append(0.0)
            continue
        lang, score = _REFERENCE.classify(sample)
        langs.append(str(lang))
        scores.append(round(float(score), 4))
    return langs, scores


_REFERENCE: Any = None


class ReferenceDetector:
    """A stand-in for ``LanguageDetector`` in the gate that runs :func:`reference`."""

    def detect_many(self, texts: Iterable[str]) -> tuple[list[str], list[float]]:
        """Return the languages and scores of many texts as the old path did."""
        return reference(texts)


# --- texts -------------------------------------------------------------------------------------------------


def two_kb_documents(megabytes: float, seed: int = 5) -> list[str]:
    """Cut ~2 KB documents at word boundaries from random places in the real Dutch text."""
    paths = sorted(dutch_text.SHARED_TEXT.glob("*.jsonl")) if dutch_text.SHARED_TEXT.is_dir() else []
    texts = [json.loads(line)["text"] for path in paths for line in path.read_text(encoding="utf-8").splitlines()]
    stream = "\n\n".join(texts) if texts else " ".join(dutch_text.sentences())
    stream = stream + "\n\n" + stream[: DOC_BYTES * 2]  # so a cut near the end does not run short
    rng = random.Random(seed)
    documents: list[str] = []
    size = 0
    while size < megabytes * 1e6:
        start = stream.find(" ", rng.randrange(len(stream) - DOC_BYTES * 2)) + 1
        piece = stream[start : start + DOC_BYTES]
        while len(piece.encode("utf-8")) > DOC_BYTES:
            piece = piece[:-50]
        piece = piece[: piece.rfind(" ")].strip()
        documents.append(piece)
        size += len(piece.encode("utf-8"))
    return documents


def _jsonl_texts(path: Path) -> list[str]:
    return [json.loads(line).get("text", "") for line in path.read_text(encoding="utf-8").splitlines() if line]


def _feed_texts(path: Path) -> list[str]:
    from catalog.xmlsafe import parse_xml

    items = parse_xml(path.read_bytes()).iter("item")
    return [f"{item.findtext('title', '')}\n{item.findtext('description', '')}".strip() for item in items]


def _warc_texts(path: Path) -> list[str]:
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    texts = []
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as handle:
        try:
            for record in ArchiveIterator(handle, arc2warc=True):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                if record.http_headers.get_statuscode() != "200":
                    continue
                if "html" not in (record.http_headers.get_header("Content-Type") or ""):
                    continue
                text = trafilatura.extract(record.content_stream().read(), include_comments=False)
                if text:
                    texts.append(text)
        except Exception as error:  # a truncated archive: keep the pages read before the cut
            print(f"  note: {path.name}: stopped reading at {type(error).__name__}")
    return texts


def real_texts() -> dict[str, list[str]]:
    """Return every real text at hand, by where it comes from (empty without the shared data)."""
    found: dict[str, list[str]] = {}
    for path in sorted((SHARED / "text-nl").glob("*.jsonl")):
        found[f"text-nl/{path.stem}"] = _jsonl_texts(path)
    for path in sorted((SHARED / "feeds").glob("*.xml")):
        found[f"feeds/{path.stem}"] = _feed_texts(path)
    for path in sorted((SHARED / "pii-dev").glob("*.jsonl")):
        found[f"pii-dev/{path.stem}"] = _jsonl_texts(path)
    warc = [text for path in sorted((SHARED / "warc").glob("*.warc*")) for text in _warc_texts(path)]
    if warc:
        found["warc (trafilatura text)"] = warc
    return found


# --- measuring ---------------------------------------------------------------------------------------------


def best_cpu(run: Callable[[], object], repeat: int) -> float:
    """Return the least process time of ``repeat`` runs (the machine is shared: the best is the truest)."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


def in_batches(texts: Sequence[str], batch: int) -> list[Sequence[str]]:
    """Split ``texts`` into runs of ``batch``."""
    return [texts[i : i + batch] for i in range(0, len(texts), batch)]


def agreement(texts: Sequence[str]) -> tuple[int, int, int]:
    """Return how many texts get the same label, and the same label and score, from both paths."""
    from quality.language import LanguageDetector

    old = list(zip(*reference(texts), strict=True))
    new = list(zip(*LanguageDetector().detect_many(texts), strict=True))
    same_label = sum(a[0] == b[0] for a, b in zip(old, new, strict=True))
    return len(texts), same_label, sum(a == b for a, b in zip(old, new, strict=True))


def gate_profile(documents: Sequence[str], batch: int) -> None:
    """Print where one pass of the gate spends its process time, for the project's own functions."""
    from quality.gate import QualityGate

    gate = QualityGate()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for part in in_batches(documents, batch):
        gate.assess(part)
    profile.disable()
    stats = pstats.Stats(profile)
    total = max(value[3] for value in stats.stats.values())  # type: ignore[attr-defined]
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        match = re.search(r"quality/(\w+)\.py$", path)
        if match:
            rows.append((cumulative, own, calls, f"{match.group(1)}.py:{line} {name}"))
    print(f"\nwhere the gate's time goes (one pass, {total:.2f} s CPU under the profiler; cumulative includes callees)")
    print(f"  {'cumulative':>10} {'share':>6} {'own':>7} {'calls':>6}  function")
    for cumulative, own, calls, where in sorted(rows, reverse=True)[:16]:
        print(f"  {cumulative:9.3f}s {cumulative / total:6.1%} {own:6.3f}s {calls:6d}  {where}")


def main() -> None:
    """Build the documents, time both paths and the gate, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="MB of 2 KB documents (UTF-8)")
    parser.add_argument("--batch", type=int, default=1000, help="documents per gate or language-ID call")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    args = parser.parse_args()
    # before numpy and polars are imported: every figure is one core's
    os.environ["POLARS_MAX_THREADS"] = "1"
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    block_network("bench_language")
    from catalog.quality_profiles import PROFILE_NAMES
    from catalog.quality_settings import QualitySettings
    from quality.gate import QualityGate
    from quality.language import LanguageDetector

    documents = two_kb_documents(args.mb)
    megabytes = sum(len(d.encode("utf-8")) for d in documents) / 1e6
    batches = in_batches(documents, args.batch)
    print(f"text: {dutch_text.source_name()}, cut into ~2 KB documents")
    print(
        f"data: {megabytes:.2f} MB, {len(documents):,} documents (mean {megabytes * 1e6 / len(documents):,.0f} bytes)"
    )

    detector = LanguageDetector()
    reference(documents[:1]), detector.detect_many(documents[:1])  # load both models outside the timing
    before = best_cpu(lambda: [reference(part) for part in batches], args.repeat)
    after = best_cpu(lambda: [detector.detect_many(part) for part in batches], args.repeat)
    print(f"\nlanguage ID (process time = one core; best of {args.repeat})")
    print(f"  before  {megabytes / before:7.2f} MB/s per core  (py3langid classify, one call per text)")
    print(f"  after   {megabytes / after:7.2f} MB/s per core  (batches of {args.batch:,})")
    print(f"  ratio   {before / after:7.2f}x")

    print("\nagreement, before vs after: same label / same label and score")
    corpora = {"2 KB documents": documents, **real_texts()}
    for name, texts in corpora.items():
        count, same_label, same = agreement(texts)
        print(f"  {name:<46} {count:6,} texts  {same_label / count:8.3%}  {same / count:8.3%}")

    old_gate, new_gate = QualityGate(detector=ReferenceDetector()), QualityGate()  # type: ignore[arg-type]
    old_gate.assess(documents[:10]), new_gate.assess(documents[:10])  # warm up the vocabularies
    gate_before = best_cpu(lambda: [old_gate.assess(part) for part in batches], args.repeat)
    gate_after = best_cpu(lambda: [new_gate.assess(part) for part in batches], args.repeat)
    print(f"\nwhole gate, QualityGate().assess on batches of {args.batch:,} (target >= 3 MB/s per core)")
    print(f"  before  {megabytes / gate_before:7.2f} MB/s per core")
    print(f"  after   {megabytes / gate_after:7.2f} MB/s per core")
    print(f"  ratio   {gate_before / gate_after:7.2f}x; language ID is now {after / gate_after:.0%} of the gate")
    # the other profiles add rules (the vocabulary noise rule on every text, stop-word and consent lines)
    for profile in PROFILE_NAMES:
        gate = QualityGate(QualitySettings(profile=profile))
        gate.assess(documents[:10])
        seconds = best_cpu(lambda gate=gate: [gate.assess(part) for part in batches], args.repeat)
        print(f"  profile {profile:<12} {megabytes / seconds:7.2f} MB/s per core")
    gate_profile(documents, args.batch)


if __name__ == "__main__":
    main()
