"""The JSONL text tools: ``corpusfabriek anonymise``, ``quality`` and ``dedup`` (no storage root needed, streaming)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from pipelines.cli.common import CommandError, _reasons, _registry


def _read_records(source: Any, batch_size: int) -> Any:
    """Yield lists of JSONL records (each with string ``text``), ``batch_size`` at a time."""
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise CommandError(f"line {number}: a record needs a string field 'text'")
        batch.append(record)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _entities(value: str | None) -> list[str] | None:
    """Parse ``--entities`` (comma-separated, ``+`` first to add to the defaults); ``None``: the defaults.

    :raises SystemExit: an entity type no recognizer knows.
    """
    if not value:
        return None
    from anonymisation.engine import default_analyzer, default_entities
    from anonymisation.entities import OPTIONAL_ENTITIES

    analyzer = default_analyzer()
    known = set(default_entities(analyzer)) | set(OPTIONAL_ENTITIES)
    asked = [e.strip().upper() for e in value.lstrip("+").split(",") if e.strip()]
    unknown = sorted(set(asked) - known)
    if unknown or not asked:
        raise SystemExit(
            f"--entities: unknown entity type(s) {', '.join(unknown) or '(none)'}; known: {', '.join(sorted(known))}"
        )
    return default_entities(analyzer) + asked if value.startswith("+") else asked


def cmd_anonymise(args: argparse.Namespace) -> int:
    """Anonymise JSONL records (``id``, ``text``) from a file or stdin to a file or stdout, streaming."""
    from anonymisation.anonymiser import Anonymiser
    from anonymisation.operators import check_key
    from catalog.keys import key_from_env

    # JSONL in and out, no storage root: the key comes from the environment only
    key = None if args.operator == "placeholder" else key_from_env(check=check_key)
    entities = _entities(args.entities)
    anonymiser = Anonymiser(operator=args.operator, key=key, entities=entities)
    source = open(args.input, encoding="utf-8") if args.input else sys.stdin
    sink = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    counts: dict[str, int] = {}
    records = 0
    try:
        for (record,) in _read_records(source, batch_size=1):
            result = anonymiser.anonymise(record["text"])
            record["text"] = result.text
            record["pii"] = [
                {"entity": f.entity, "start": f.start, "end": f.end, "score": round(f.score, 4)}
                for f in result.findings
            ]
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            records += 1
            for entity, n in result.replaced.items():
                counts[entity] = counts.get(entity, 0) + n
    finally:
        if args.input:
            source.close()
        if args.output:
            sink.close()
    summary = ", ".join(f"{entity} {n}" for entity, n in sorted(counts.items())) or "nothing"
    print(f"anonymised {records} record(s): replaced {summary}", file=sys.stderr)
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    """Decide keep or drop for JSONL records (``id``, ``text``) with the quality gate, in batches."""
    import polars as pl

    from catalog.quality_settings import QualitySettings
    from catalog.staging import temporary_directory
    from quality.gate import QualityGate

    if args.source:
        spec = _registry(args).get(args.source)
        settings, languages = spec.quality, list(spec.languages)
        if args.profile:
            # the source's own threshold overrides stay: they describe its data, whatever the profile
            settings = settings.with_profile(args.profile)
    else:
        settings = QualitySettings(profile=args.profile or "web")
        languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    gate = QualityGate(settings, languages)
    with contextlib.ExitStack() as stack:
        # furniture needs the whole input counted first: a file is read twice, standard input cannot be
        furniture = None
        if args.input and settings.strip_furniture:
            furniture = _count_furniture(
                args.input, args.batch_size, gate, stack.enter_context(temporary_directory("quality-"))
            )
        source = stack.enter_context(open(args.input, encoding="utf-8")) if args.input else sys.stdin
        sink = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output else sys.stdout
        reasons: dict[str, int] = {}
        records = kept = furniture_removed = 0
        for batch in _read_records(source, args.batch_size):
            texts, removed = _cleaned_texts(batch, gate)
            furniture_lines = [0] * len(texts)
            if furniture is not None:
                texts, furniture_lines = furniture.strip(texts)
                furniture_removed += sum(furniture_lines)
            assessment = gate.assess(texts).with_columns(
                boilerplate_lines=pl.Series(removed, dtype=pl.Int64),
                furniture_lines=pl.Series(furniture_lines, dtype=pl.Int64),
            )
            for record, row in zip(batch, assessment.iter_rows(named=True), strict=True):
                keep, reason = row.pop("keep"), row.pop("reason")
                lang, score = row.pop("lang"), row.pop("lang_score")
                stats = {name: (round(value, 6) if isinstance(value, float) else value) for name, value in row.items()}
                out = {"id": record.get("id"), "keep": keep, "reason": reason, "lang": lang, "lang_score": score}
                sink.write(json.dumps({**out, "stats": stats}, ensure_ascii=False) + "\n")
                records += 1
                kept += keep
                if reason is not None:
                    reasons[reason] = reasons.get(reason, 0) + 1
    lines = f"; {furniture_removed} furniture line(s) removed" if furniture is not None else ""
    if furniture is None and settings.strip_furniture:
        lines = "; furniture not removed (standard input is read once: give --input FILE)"
    print(
        f"kept {kept} of {records} record(s), dropped {records - kept}{_reasons(reasons)}; "
        f"profile {settings.profile}{lines}",
        file=sys.stderr,
    )
    return 0


def _cleaned_texts(batch: list[dict[str, Any]], gate: Any) -> tuple[list[str], list[int]]:
    """Normalise a batch's texts and strip the pattern boilerplate lines, as the clean stage does first."""
    from quality.normalise import normalise_text

    texts = [normalise_text(record["text"]) for record in batch]
    if gate.cleaner is None:
        return texts, [0] * len(texts)
    return gate.cleaner.clean_normalised(texts)


def _count_furniture(path: str, batch_size: int, gate: Any, workdir: str) -> Any:
    """Pass one over an input file: the lines repeated across its records (furniture), as the clean stage counts."""
    from quality.furniture import FurnitureCounter

    counter = FurnitureCounter.from_settings(workdir, gate.settings)
    with open(path, encoding="utf-8") as source:
        for batch in _read_records(source, batch_size):
            counter.add(_cleaned_texts(batch, gate)[0])
    return counter.finish()


def cmd_dedup(args: argparse.Namespace) -> int:
    """Cluster JSONL records (``id``, ``text``, optional ``source_id``, ``published_at``, ``url``) into duplicates."""
    from quality.neardup import Deduplicator, MinHashSettings
    from quality.normalise import normalise_text

    priority: dict[str, int] = {}
    for item in args.priority or []:
        source, _, value = item.partition("=")
        try:
            priority[source] = int(value)
        except ValueError:
            raise CommandError(f"--priority wants SOURCE=NUMBER, got {item!r}") from None
    try:
        settings = MinHashSettings(threshold=args.threshold)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    deduplicator = Deduplicator(settings, priority)
    source = open(args.input, encoding="utf-8") if args.input else sys.stdin
    try:
        for batch in _read_records(source, args.batch_size):
            deduplicator.add(
                [record.get("id") for record in batch],
                [normalise_text(record["text"]) for record in batch],
                [record.get("source_id") for record in batch],
                [record.get("published_at") for record in batch],
                [record.get("url") for record in batch],
            )
    finally:
        if args.input:
            source.close()
    decided = deduplicator.decide()
    sink = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for row in decided.iter_rows(named=True):
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            sink.close()
    dropped = decided.filter(~decided["keep"])
    kinds = dropped["duplicate"].value_counts().rows() if dropped.height else []
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds))
    print(
        f"kept {decided.height - dropped.height} of {decided.height} record(s)"
        + (f", duplicates {dropped.height} ({summary})" if dropped.height else ", no duplicates"),
        file=sys.stderr,
    )
    return 0
