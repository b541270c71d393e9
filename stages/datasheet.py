"""The datasheet of a release: what is in it, where it came from, what was removed and why, how well it is anonymised.

Generated at build time from the manifest, the stages' reports, the source specs and one pass of SQL over
the release's own parts (lengths, dates, languages: no text leaves DuckDB), never written by hand. The
release folder gets ``datasheet.md``, the same as ``datasheet.html``, and ``plots/*.png`` referenced from
both; the manifest lists them under ``documentation`` with their sizes and SHA-256, so ``releases verify``
checks them like the parts. Counts, names of organisations and reasons only: no document text, no
contact address, no personal data.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from catalog.releases import read_parts_sql
from catalog.sources import SourceSpec
from catalog.storage import Storage
from catalog.zones import clean_report_path

#: The anonymiser's measured quality, shipped with the code (refreshed from the evaluation scripts). Not
#: under ``anonymisation/``: the anonymiser's code digest covers that folder, and new figures must not
#: re-anonymise an archive.
QUALITY_FILE = ("stages", "anonymiser_quality.json")
#: Text lengths (characters) at which the length histogram's bins start.
LENGTH_BINS = (0, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)

REMOVED_COLUMNS = [
    "source",
    "quarantined",
    "quality",
    "duplicates in source",
    "exact duplicates",
    "near duplicates",
    "taken down",
    "quality reasons",
]

LIMITATIONS = (
    "Pseudonymised, not anonymous: identifiers the recognisers miss stay in the text, and surrogates keep "
    "the text's shape. Person names are found less reliably than structured identifiers (see the measured "
    "figures above), least of all in historical OCR.",
    "Near duplicates are found by MinHash over word 5-grams: rewrites that change most sentences are kept "
    "as distinct documents.",
    "Quality filters follow FineWeb-2's Dutch settings and the source's profile; they judge form (repetition, "
    "word shapes, language), not truth or bias.",
    "The counts of removed documents cover this build's sources as their reports stand at build time.",
)


@dataclass
class Section:
    """One section of the datasheet: paragraphs, then an optional table, then optional plot files."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: tuple[list[str], list[list[Any]]] | None = None
    plots: list[tuple[str, str]] = field(default_factory=list)  # (file under plots/, caption)


def measured_quality() -> dict[str, Any]:
    """Return the anonymiser's measured quality as shipped with the code (empty if the file is missing)."""
    try:
        text = resources.files(QUALITY_FILE[0]).joinpath(QUALITY_FILE[1]).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    return dict(json.loads(text))


def _profile(storage: Storage, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the datasheet says about the released documents, from SQL over the parts (no text kept)."""
    empty: dict[str, Any] = {"lengths": [], "months": [], "languages": [], "dates": (None, None), "chars": 0}
    if not manifest["files"] or not manifest["total_documents"]:
        return empty
    docs = read_parts_sql(storage, manifest)
    bins = (
        "CASE "
        + " ".join(f"WHEN chars < {upper} THEN {lower}" for lower, upper in itertools.pairwise(LENGTH_BINS))
        + f" ELSE {LENGTH_BINS[-1]} END"
    )
    con = storage.duckdb(memory_limit="256MB")
    try:
        # one pass over the parts (the texts are read once, for their lengths); the figures come from that
        con.execute(f"CREATE TEMP TABLE docs AS SELECT length(text) AS chars, published_at, lang FROM {docs}")
        lengths = con.execute(f"SELECT {bins} AS bin, count(*) FROM docs GROUP BY 1 ORDER BY 1").fetchall()
        months = con.execute(
            "SELECT strftime(published_at, '%Y-%m') AS month, count(*) FROM docs "
            "WHERE published_at IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        languages = con.execute(
            "SELECT coalesce(lang, 'unknown'), count(*) FROM docs GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        first, last, chars = con.execute(
            "SELECT min(published_at)::VARCHAR, max(published_at)::VARCHAR, sum(chars) FROM docs"
        ).fetchall()[0]
    finally:
        con.close()
    return {"lengths": lengths, "months": months, "languages": languages, "dates": (first, last), "chars": chars}


def _clean_reports(storage: Storage, sources: Sequence[str]) -> dict[str, dict[str, Any]]:
    reports = {}
    for source in sources:
        if storage.exists(clean_report_path(source)):
            reports[source] = storage.read_json(clean_report_path(source))
    return reports


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _source_duplicates(report: Mapping[str, Any]) -> int:
    """Documents the clean stage dropped as exact copies within the source (or superseded versions)."""
    return sum(n for reason, n in report.get("dropped_by_reason", {}).items() if reason.startswith("duplicate"))


def _quality_drops(report: Mapping[str, Any]) -> int:
    """Documents the clean stage dropped for quality (not as duplicates or superseded versions)."""
    return sum(n for reason, n in report.get("dropped_by_reason", {}).items() if not reason.startswith("duplicate"))


def sections(
    storage: Storage, manifest: Mapping[str, Any], specs: Mapping[str, SourceSpec] | None = None
) -> tuple[list[Section], dict[str, Any]]:
    """Return the datasheet's sections and the figures its plots show."""
    specs = specs or {}
    sources = [s["source_id"] for s in manifest["sources"]]
    clean = _clean_reports(storage, sources)
    profile = _profile(storage, manifest)
    excluded = manifest["excluded"]
    takedowns = manifest.get("takedowns") or {}
    out: list[Section] = []

    out.append(
        Section(
            "Release",
            table=(
                ["field", "value"],
                [
                    ["corpus", manifest["corpus"]],
                    ["version", manifest["version"]],
                    ["built", manifest.get("created_at", "")],
                    ["code version", manifest["code_version"]],
                    ["documents", f"{manifest['total_documents']:,}"],
                    ["characters", f"{profile['chars'] or 0:,}"],
                    ["parts", f"{len(manifest['files'])} Parquet file(s), {manifest['total_bytes']:,} bytes"],
                    ["publication dates", " to ".join(d[:10] for d in profile["dates"] if d) or "not recorded"],
                ],
            ),
        )
    )

    rows = []
    for entry in manifest["sources"]:
        spec = specs.get(entry["source_id"])
        rows.append(
            [
                entry["source_id"],
                spec.owner.organisation if spec else "not recorded",
                entry["licence"],
                spec.legal_basis if spec else "not recorded",
                spec.sector if spec else "not recorded",
                spec.status if spec else "not recorded",
                f"{entry['documents']:,}",
            ]
        )
    out.append(
        Section(
            "Sources",
            ["Every source in this release: its owner, licence and legal basis, and the documents it contributed."],
            table=(["source", "owner", "licence", "legal basis", "sector", "status", "documents"], rows),
            plots=[("documents_per_source.png", "Documents per source")],
        )
    )

    out.append(
        Section(
            "Languages and lengths",
            [
                "Documents by language (the clean stage's language identification): "
                + ", ".join(f"{lang} {n:,}" for lang, n in profile["languages"])
                + "."
            ]
            if profile["languages"]
            else ["No documents."],
            table=(
                ["text length (characters) from", "documents"],
                [[f"{lower:,}", f"{n:,}"] for lower, n in profile["lengths"]],
            ),
            plots=[("length_histogram.png", "Text length"), ("publication_dates.png", "Documents per month")],
        )
    )

    removed = []
    for entry in manifest["sources"]:
        report = clean.get(entry["source_id"], {})
        quality = _quality_drops(report)
        in_source = report.get("dropped_by_reason", {})
        duplicates_in_source = _source_duplicates(report)
        reasons = ", ".join(
            f"{reason} {n:,}" for reason, n in sorted(in_source.items()) if n and not reason.startswith("duplicate")
        )
        removed.append(
            [
                entry["source_id"],
                f"{report.get('quarantined', 0):,}",
                f"{quality:,}",
                f"{duplicates_in_source:,}",
                f"{entry['duplicates_dropped']:,}",
                f"{entry['near_duplicates_dropped']:,}",
                f"{entry.get('taken_down', 0):,}",
                reasons or "-",
            ]
        )
    out.append(
        Section(
            "What was removed, and why",
            [
                "Per source: records quarantined at ingest (unreadable or invalid), documents the quality gate "
                "dropped, exact copies within the source, and at release exact and near duplicates across "
                "sources and documents taken down on request. Every removed document is kept for review in the "
                "excluded zone with its reason.",
                f"Release-wide: {excluded['duplicate_content']:,} exact and {excluded.get('near_duplicate', 0):,} "
                f"near duplicate(s), {excluded.get('takedown', 0):,} document(s) taken down for "
                f"{len(takedowns.get('requests_applied', []))} of {takedowns.get('requests_recorded', 0)} "
                "takedown request(s) recorded before this build.",
            ],
            table=(REMOVED_COLUMNS, removed),
            plots=[("drops_per_stage.png", "Documents removed per stage")],
        )
    )

    entities: dict[str, int] = {}
    for entry in manifest["sources"]:
        for entity, n in (entry.get("anonymisation") or {}).get("replacements_by_entity", {}).items():
            entities[entity] = entities.get(entity, 0) + n
    quality = measured_quality()
    paragraphs = [
        "Personal data is replaced in context before release (surrogates or placeholders, per source policy); "
        "document ids, native ids and URLs carry keyed pseudonyms. Replacements by type over all sources: "
        + (", ".join(f"{entity} {n:,}" for entity, n in sorted(entities.items())) or "none")
        + "."
    ]
    quality_table = None
    if quality:
        paragraphs.append(
            f"Measured quality of the anonymiser shipped with this code ({quality.get('measured', 'date unknown')}; "
            f"{quality.get('how', '')}):"
        )
        quality_table = (
            ["what", "evaluation data", "recall", "precision"],
            [[row["what"], row["data"], _figure(row.get("recall")), _figure(row.get("precision"))]
             for row in quality.get("figures", [])],
        )  # fmt: skip
    out.append(Section("Personal data", paragraphs, table=quality_table))
    out.append(Section("Known limitations", list(LIMITATIONS)))

    figures = {
        "documents": [(entry["source_id"], entry["documents"]) for entry in manifest["sources"]],
        "lengths": profile["lengths"],
        "months": profile["months"],
        "removed": [
            (
                entry["source_id"],
                {
                    "quarantined": clean.get(entry["source_id"], {}).get("quarantined", 0),
                    "quality": _quality_drops(clean.get(entry["source_id"], {})),
                    "duplicates in source": _source_duplicates(clean.get(entry["source_id"], {})),
                    "exact duplicates": entry["duplicates_dropped"],
                    "near duplicates": entry["near_duplicates_dropped"],
                    "taken down": entry.get("taken_down", 0),
                },
            )
            for entry in manifest["sources"]
        ],
    }
    return out, figures


def _plot(figures: Mapping[str, Any], folder: str) -> list[str]:
    """Draw the plots into ``folder``; return their file names."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    def save(fig: Any, name: str) -> str:
        fig.tight_layout()
        # no timestamp in the file: the same figures give the same bytes
        fig.savefig(os.path.join(folder, name), dpi=100, metadata={"Software": None})
        plt.close(fig)
        return name

    names = []
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(figures["documents"]) + 1.2))
    labels = [source for source, _ in figures["documents"]]
    ax.barh(labels, [n for _, n in figures["documents"]], color="#3b6ea8")
    ax.invert_yaxis()
    ax.set_xlabel("documents")
    names.append(save(fig, "documents_per_source.png"))

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar([f"{lower:,}+" for lower, _ in figures["lengths"]], [n for _, n in figures["lengths"]], color="#3b6ea8")
    ax.set_xlabel("text length (characters)")
    ax.set_ylabel("documents")
    ax.tick_params(axis="x", labelrotation=45)
    names.append(save(fig, "length_histogram.png"))

    fig, ax = plt.subplots(figsize=(7, 3))
    months = figures["months"]
    ax.bar([month for month, _ in months], [n for _, n in months], color="#3b6ea8")
    ax.set_ylabel("documents")
    ax.set_xlabel("publication month" if months else "no publication dates recorded")
    if len(months) > 12:
        step = max(1, len(months) // 12)
        ax.set_xticks(range(0, len(months), step), [months[i][0] for i in range(0, len(months), step)])
    ax.tick_params(axis="x", labelrotation=45)
    names.append(save(fig, "publication_dates.png"))

    fig, ax = plt.subplots(figsize=(7, 0.4 * len(figures["removed"]) + 2.2))
    sources = [source for source, _ in figures["removed"]]
    left = [0] * len(sources)
    for kind, colour in zip(
        ("quarantined", "quality", "duplicates in source", "exact duplicates", "near duplicates", "taken down"),
        ("#6b4c9a", "#d08c2c", "#4d4d4d", "#7a7a7a", "#b0b0b0", "#b03a2e"),
        strict=True,
    ):
        values = [counts[kind] for _, counts in figures["removed"]]
        ax.barh(sources, values, left=left, label=kind, color=colour)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("documents removed")
    # below the axes: a legend inside would hide the bars
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, fontsize="small", frameon=False)
    names.append(save(fig, "drops_per_stage.png"))
    return names


def render_markdown(manifest: Mapping[str, Any], parts: Sequence[Section]) -> str:
    """Return the datasheet as Markdown (plots as images under ``plots/``)."""
    lines = [f"# Datasheet: {manifest['corpus']} {manifest['version']}", ""]
    for section in parts:
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        if section.table is not None:
            header, rows = section.table
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "|".join("---" for _ in header) + "|")
            lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
            lines.append("")
        for name, caption in section.plots:
            lines += [f"![{caption}](plots/{name})", ""]
    return "\n".join(lines)


def render_html(manifest: Mapping[str, Any], parts: Sequence[Section]) -> str:
    """Return the datasheet as one self-contained HTML page (no script, no remote resource)."""
    title = html.escape(f"Datasheet: {manifest['corpus']} {manifest['version']}")
    body = [f"<h1>{title}</h1>"]
    for section in parts:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        body += [f"<p>{html.escape(paragraph)}</p>" for paragraph in section.paragraphs]
        if section.table is not None:
            header, rows = section.table
            body.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
            body += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows]
            body.append("</table>")
        body += [
            f'<figure><img src="plots/{html.escape(name)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            for name, caption in section.plots
        ]
    style = (
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}"
        "img{max-width:100%}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_datasheet(
    storage: Storage, manifest: Mapping[str, Any], specs: Mapping[str, SourceSpec] | None, local_folder: str
) -> tuple[str, list[dict[str, Any]]]:
    """Write the datasheet and its plots into ``local_folder`` (laid out as in the release folder).

    Returns the Markdown text and one ``{path, bytes, sha256}`` entry per file written, for the manifest.
    """
    parts, figures = sections(storage, manifest, specs)
    os.makedirs(os.path.join(local_folder, "plots"), exist_ok=True)
    plots = _plot(figures, os.path.join(local_folder, "plots"))
    markdown = render_markdown(manifest, parts)
    written = {"datasheet.md": markdown, "datasheet.html": render_html(manifest, parts)}
    for name, text in written.items():
        with open(os.path.join(local_folder, name), "w", encoding="utf-8") as out:
            out.write(text)
    return markdown, [file_entry(local_folder, rel) for rel in [*written, *(f"plots/{name}" for name in plots)]]


def file_entry(local_folder: str, rel: str) -> dict[str, Any]:
    """Return the manifest's ``{path, bytes, sha256}`` entry of a documentation file written in ``local_folder``."""
    with open(os.path.join(local_folder, rel), "rb") as handle:
        data = handle.read()
    return {"path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
