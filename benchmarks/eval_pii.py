"""Evaluate the Dutch PII analyzer against gold data: recall and precision per type, over-masking, speed.

Gold data is JSONL in one of two shapes (detected per record):

- ``tokens`` + IOB2 ``ner_tags`` (CoNLL-2002, KB OCR NER): the text is the tokens joined by single spaces.
  Records that share a ``doc`` value (CoNLL-2002 sentences of one article) are analysed together as one
  text, sentences on separate lines, as the pipeline sees an article; ``--per-sentence`` turns that off.
  Person names are measured per token, as ``../shared/data/README.md`` defines: a gold PER token is found
  when a detected span overlaps it. Printed: PER token recall (PERSON spans, and any span), the share of
  tokens inside detected PERSON spans that are gold PER, and over-masking (the share of ``O`` tokens that
  any detected span overlaps).
- ``text`` + ``annotations`` with ``tag``, ``start_char``, ``end_char`` (the nedap de-identification dummy
  corpus): span recall and precision per mapped type.

    python benchmarks/eval_pii.py ../shared/data/pii-dev/conll2002-ned-testa.jsonl
    python benchmarks/eval_pii.py ../shared/data/pii-dev/*.jsonl --limit 500
    python benchmarks/eval_pii.py ../shared/data/pii-dev/kb-ocr-ner-dev.jsonl --heldout   # unseen by the model
    python benchmarks/eval_pii.py ../shared/data/pii-dev/conll2002-ned-testa.jsonl --no-model  # rules alone
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

#: Gold tags of span-annotated corpora mapped to the analyzer's entity names.
SPAN_TAGS = {
    "Name": {"PERSON"},
    "Email": {"EMAIL_ADDRESS"},
    "Phone_fax": {"PHONE_NUMBER"},
    "URL_IP": {"URL", "IP_ADDRESS"},
    "Address": {"NL_ADDRESS", "NL_POSTCODE"},
    "SSN": {"NL_BSN"},
    "ID": {"NL_BSN", "NL_KVK", "NL_BTW", "IBAN_CODE"},
}


def records(paths: Iterable[str], limit: int | None, heldout: bool = False) -> Iterable[tuple[str, dict]]:
    """Yield ``(file name, record)`` from JSONL files, at most ``limit`` per file.

    With ``heldout``, only the records the name model's training leaves out of trainable files (index
    ``% 4 == 3``, see :func:`anonymisation.training.kb_split`).
    """
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for n, line in enumerate(handle):
                if limit is not None and n >= limit:
                    break
                if heldout and n % 4 != 3:
                    continue
                if line.strip():
                    yield Path(path).name, json.loads(line)


def token_offsets(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens with single spaces; return the text and each token's character span."""
    offsets, position = [], 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    return " ".join(tokens), offsets


def grouped(rows: Iterable[tuple[str, dict]], per_sentence: bool) -> Iterable[dict]:
    """Merge consecutive token records of one ``doc`` into one record, sentences on separate lines."""
    pending: dict | None = None
    for _name, record in rows:
        doc = None if per_sentence or "tokens" not in record else record.get("doc")
        if pending is not None and doc is not None and pending.get("doc") == doc:
            pending["sentences"].append(record)
            continue
        if pending is not None:
            yield pending
        pending = {"doc": doc, "sentences": [record]} if doc is not None else None
        if pending is None:
            yield record
    if pending is not None:
        yield pending


def document_tokens(group: dict) -> tuple[str, list[str], list[tuple[int, int]]]:
    """Text of a grouped document (sentences on lines), its tags and each token's character span."""
    lines, tags, offsets, position = [], [], [], 0
    for sentence in group["sentences"]:
        text, spans = token_offsets(sentence["tokens"])
        offsets.extend((start + position, end + position) for start, end in spans)
        tags.extend(sentence["ner_tags"])
        lines.append(text)
        position += len(text) + 1
    return "\n".join(lines), tags, offsets


def overlaps(span: tuple[int, int], others: Iterable[tuple[int, int]]) -> bool:
    """Tell whether a span overlaps any of the others."""
    return any(start < span[1] and span[0] < end for start, end in others)


class TokenScores:
    """Per-token PER measures of one corpus."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, tags: list[str], offsets: list[tuple[int, int]], findings: list) -> None:
        """Score one record's detections against its IOB2 tags."""
        person = [(f.start, f.end) for f in findings if f.entity == "PERSON"]
        every = [(f.start, f.end) for f in findings]
        for tag, span in zip(tags, offsets, strict=True):
            gold_per = tag.endswith("PER")
            in_person = overlaps(span, person)
            self.counts["tokens"] += 1
            self.counts["gold_per"] += gold_per
            self.counts["per_found_by_person"] += gold_per and in_person
            self.counts["per_found_by_any"] += gold_per and overlaps(span, every)
            self.counts["in_person_spans"] += in_person
            self.counts["in_person_spans_gold_per"] += in_person and gold_per
            self.counts["o_tokens"] += tag == "O"
            self.counts["o_masked"] += tag == "O" and overlaps(span, every)

    def report(self) -> list[str]:
        """Return the printed lines."""
        c = self.counts

        def ratio(a: str, b: str) -> str:
            return f"{c[a] / c[b]:.3f}" if c[b] else "n/a"

        return [
            f"  tokens {c['tokens']:,}, gold PER tokens {c['gold_per']:,}",
            f"  PER token recall (PERSON spans)   {ratio('per_found_by_person', 'gold_per')}   target >= 0.90",
            f"  PER token recall (any span)       {ratio('per_found_by_any', 'gold_per')}",
            f"  gold PER share in PERSON spans    {ratio('in_person_spans_gold_per', 'in_person_spans')}"
            "   target >= 0.80",
            f"  over-masking of O tokens          {ratio('o_masked', 'o_tokens')}   target <= 0.02",
        ]


class SpanScores:
    """Per-type span recall and precision of one corpus."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, annotations: list[dict], findings: list) -> None:
        """Score one record's detections against its gold spans."""
        for gold in annotations:
            tag = gold.get("tag") or gold.get("label")
            wanted = SPAN_TAGS.get(tag)
            if wanted is None:
                continue
            span = (gold["start_char"], gold["end_char"])
            self.counts[(tag, "gold")] += 1
            self.counts[(tag, "found")] += overlaps(span, [(f.start, f.end) for f in findings if f.entity in wanted])
        gold_spans = [(g["start_char"], g["end_char"]) for g in annotations]
        for finding in findings:
            self.counts[(finding.entity, "detected")] += 1
            self.counts[(finding.entity, "correct")] += overlaps((finding.start, finding.end), gold_spans)

    def report(self) -> list[str]:
        """Return the printed lines."""
        lines = []
        for tag in sorted({t for t, kind in self.counts if kind == "gold"}):
            gold, found = self.counts[(tag, "gold")], self.counts[(tag, "found")]
            lines.append(f"  {tag:<20} recall {found / gold:.3f} ({found}/{gold})")
        for entity in sorted({t for t, kind in self.counts if kind == "detected"}):
            detected, correct = self.counts[(entity, "detected")], self.counts[(entity, "correct")]
            lines.append(f"  {entity:<20} precision {correct / detected:.3f} ({correct}/{detected})")
        return lines


def main() -> None:
    """Evaluate the analyzer on each gold file and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="gold JSONL files")
    parser.add_argument("--limit", type=int, help="records per file")
    parser.add_argument("--per-sentence", action="store_true", help="analyse each record alone (no document)")
    parser.add_argument(
        "--heldout", action="store_true", help="only the records the name model never saw (index %% 4 == 3)"
    )
    parser.add_argument("--no-model", action="store_true", help="person names by the rules alone")
    args = parser.parse_args()

    from anonymisation.engine import analyse, build_analyzer
    from catalog.settings import Settings
    from pipelines.configuration import apply_settings

    apply_settings(Settings.read())  # CORPUSFABRIEK_NAME_MODEL chooses the model, as in a run
    from anonymisation.recognizers import NlPersonRecognizer, dutch_recognizers

    recognizers = dutch_recognizers()
    if args.no_model:
        recognizers = [r for r in recognizers if r.name != "NlPersonRecognizer"] + [NlPersonRecognizer(model=False)]
    analyzer = build_analyzer(recognizers)
    analyse("Opwarmen van de woordenlijsten.", analyzer)  # build the name lexicon outside the timing
    for path in args.files:
        token_scores, span_scores = TokenScores(), SpanScores()
        chars, started = 0, time.perf_counter()
        for record in grouped(records([path], args.limit, args.heldout), args.per_sentence):
            if "sentences" in record:
                text, tags, offsets = document_tokens(record)
                token_scores.add(tags, offsets, analyse(text, analyzer))
            elif "tokens" in record and "ner_tags" in record:
                text, offsets = token_offsets(record["tokens"])
                token_scores.add(record["ner_tags"], offsets, analyse(text, analyzer))
            else:
                text = record["text"]
                span_scores.add(record.get("annotations") or [], analyse(text, analyzer))
            chars += len(text)
        seconds = time.perf_counter() - started
        print(f"{Path(path).name}: {chars / 1e6:.2f} MB of text in {seconds:.1f} s ({chars / 1e6 / seconds:.2f} MB/s)")
        for line in (token_scores.report() if token_scores.counts else []) + span_scores.report():
            print(line)


if __name__ == "__main__":
    main()
