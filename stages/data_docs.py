"""Data Docs that open anywhere: offline pages, one shared copy of the static files, an index, retention.

Great Expectations renders its Data Docs with Bootstrap, jQuery, Font Awesome and Vega from public CDNs and
builds its index page in JavaScript, so offline (the factory) the index is empty and every page asks the
internet for its scripts, and its logo carries a tracking pixel. Its site also copies 4 MB of fonts and
images next to every validation. What is stored here instead, all under :data:`catalog.zones.DATA_DOCS`:

- ``index.html``: a plain-HTML table of every kept validation page, newest first (no script);
- ``static/``: one stylesheet and the icon, written once per storage root and shared by every page;
- ``<zone>/<source>/<validation id>/index.html``: the validation's own page, rendered from its summary
  (every expectation with its status, counts and what it expected; readable without JavaScript), with the
  GX pages of that validation (the result of each chunk, the suite) beside it, rewritten so they fetch
  nothing from another host and run no script;
- ``<zone>/<source>/pages.json``: what the index shows of each kept page of that zone partition. Only the
  partition's own validation writes it (partitions validate in parallel; one shared list would lose
  updates), and the index is rebuilt from all of them.

Older pages are removed by the retention setting (``CORPUSFABRIEK_DATA_DOCS_KEEP``), after the index
stopped linking them. Nothing here holds document text: the pages show the profile's counts, the suites'
parameters and GX's summaries of ids, codes and lengths.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from catalog.storage import Storage, StorageError
from catalog.zones import (
    DATA_DOCS,
    DATA_DOCS_INDEX,
    DATA_DOCS_STATIC,
    docs_folder,
    docs_pages_path,
    docs_partition_folder,
    legacy_docs_folder,
)

log = logging.getLogger(__name__)

STYLESHEET = "data-docs.css"
ICON = "favicon.ico"

#: The shared stylesheet: lays out our pages, and makes GX's pages readable without Bootstrap and Font
#: Awesome (status icons as characters; the "Failed only" filter with CSS instead of jQuery).
CSS = """\
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2328;
  background: #fff; margin: 0 auto; padding: 1rem 2rem 3rem; max-width: 1400px; }
a { color: #0b5cad; }
h1 { font-size: 1.5rem; margin: .8rem 0; } h2 { font-size: 1.2rem; margin: 1.6rem 0 .6rem; }
h4, h5 { margin: .3rem 0; }
table { border-collapse: collapse; margin: .4rem 0 1rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
code, .badge { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eff1f3;
  border-radius: 4px; padding: .05rem .3rem; }
.crumbs { margin: .2rem 0 1rem; color: #57606a; }
.muted, .lead { color: #57606a; }
.status { font-weight: 600; white-space: nowrap; }
.status.passed { color: #1a7f37; } .status.failed { color: #cf222e; }
tr.failed td { background: #fff5f5; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2rem 1.2rem; margin: .5rem 0 1rem; }
dl.facts dt { color: #57606a; } dl.facts dd { margin: 0; }
/* Great Expectations pages, without Bootstrap */
.navbar { display: flex; align-items: center; border-bottom: 1px solid #d0d7de; padding: .4rem 0; }
.navbar .logo { font-weight: 600; margin-right: 1rem; }
ol.breadcrumb { display: inline-flex; list-style: none; margin: 0; padding: 0; gap: .5rem; }
ol.breadcrumb li + li::before { content: "/ "; color: #57606a; }
body > .container-fluid > .row { display: flex; gap: 1.5rem; align-items: flex-start; }
body > .container-fluid > .row > .col-lg-2 { flex: 0 0 230px; position: sticky; top: 0; }
body > .container-fluid > .row > .col-lg-10 { flex: 1 1 auto; min-width: 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; margin-bottom: 1rem; }
.card-header { background: #f6f8fa; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; }
.card-body { padding: .5rem .6rem; }
.card ul, .nav { list-style: none; padding-left: .4rem; margin: 0; }
.alert-secondary { background: #eef1f4; border-radius: 4px; padding: .35rem .6rem; margin-top: 1rem; }
.btn-group label { display: block; cursor: pointer; }
.table { width: 100%; }
.fas { font-style: normal; font-weight: 700; }
.fa-check-circle::before { content: "\\2714"; color: #1a7f37; }
.fa-times::before { content: "\\2718"; color: #cf222e; }
.fa-exclamation-triangle::before { content: "\\26A0"; color: #9a6700; }
.fa-question-circle::before { content: "?"; }
body:has(#option2:checked) tr:has(> td.hide-succeeded-validation-target-child .fa-check-circle),
body:has(#option2:checked) .ge-section:has(.hide-succeeded-validations-column-section-target-child) {
  display: none; }
footer { position: static; margin-top: 2rem; border-top: 1px solid #d0d7de; color: #57606a; font-size: .9em; }
"""

# -- pages of Great Expectations, made to open offline ---------------------------------------------------------

#: A URL of another host (``https://x``, ``http://x``, ``//x``).
_EXTERNAL = r"""(?:[a-z][a-z0-9+.-]*:)?//"""
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_EXTERNAL_IMAGE = re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']?\s*""" + _EXTERNAL + r"[^>]*>", re.IGNORECASE)
_ALT = re.compile(r"""\balt\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_CSS_EXTERNAL_URL = re.compile(r"""url\(\s*["']?\s*""" + _EXTERNAL + r"""[^)]*\)""", re.IGNORECASE)
_CSS_EXTERNAL_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?\s*""" + _EXTERNAL + r"[^;]*;", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"""\s+on[a-z]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)

#: What a browser would fetch when it opens a page: attributes that load a resource, and CSS URLs.
_TAG = re.compile(r"<([a-z][a-z0-9]*)\b([^>]*)>", re.IGNORECASE)
_LOADING_ATTRIBUTE = re.compile(
    r"""\s(src|srcset|data|poster|background|href|action|formaction)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"""(?:url\(|@import\s+)\s*["']?(?P<url>[^"')\s;]+)""", re.IGNORECASE)


def _is_external(url: str) -> bool:
    return re.match(_EXTERNAL, url.strip(), re.IGNORECASE) is not None


def external_resources(page: str) -> list[str]:
    """Return every URL of another host that a browser would fetch on opening the HTML ``page``.

    Links a reader may follow (``<a href>``) are not fetched and are not counted; ``<link href>`` (stylesheets,
    icons, preloads) is, as are ``src``-like attributes, CSS ``url()`` and ``@import``.
    """
    found = []
    for tag in _TAG.finditer(page):
        name = tag.group(1).lower()
        for attribute in _LOADING_ATTRIBUTE.finditer(tag.group(2)):
            kind = attribute.group(1).lower()
            if (kind == "href" and name != "link") or kind in ("action", "formaction"):
                continue  # followed or submitted by the reader, not fetched on opening
            value = next(group for group in attribute.groups()[1:] if group is not None)
            parts = [part.split()[0] for part in value.split(",") if part.strip()] if kind == "srcset" else [value]
            found += [part for part in parts if _is_external(part)]
    found += [m["url"] for m in _CSS_URL.finditer(page) if _is_external(m["url"])]
    return found


def head_links(to_root: str) -> str:
    """Return the ``<link>`` tags of the shared stylesheet and icon for a page ``to_root`` below the docs root."""
    return (
        f'<link rel="stylesheet" href="{to_root}static/{STYLESHEET}">'
        f'<link rel="icon" href="{to_root}static/{ICON}" type="image/x-icon">'
    )


def offline_page(page: str, to_root: str) -> str:
    """Rewrite a Great Expectations page so it opens offline: no script, nothing fetched from another host.

    Scripts and event handlers go (the page is read without JavaScript), so do GX's stylesheet and icon
    links (CDN copies of Bootstrap and Font Awesome) in favour of the shared ones (``to_root``: the relative
    path from the page to the docs root, e.g. ``"../../"``), the remote logo (a tracking pixel) and remote
    images in its styles. Links to follow (``<a href>``) stay.
    """
    page = _SCRIPT.sub("", page)
    page = _LINK.sub("", page)
    page = _EXTERNAL_IMAGE.sub(_image_alt, page)
    page = _CSS_EXTERNAL_IMPORT.sub("", page)
    page = _CSS_EXTERNAL_URL.sub("none", page)
    page = _EVENT_HANDLER.sub("", page)
    page, found = _HEAD_END.subn(head_links(to_root) + "</head>", page, count=1)
    if not found:
        page = head_links(to_root) + page
    return page


def _image_alt(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(0))
    return f'<span class="logo">{alt.group(2)}</span>' if alt else ""


# -- our own pages --------------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _when(validated_at: str) -> str:
    """``2026-12-07T15:40:19.404118+00:00`` as a reader reads it: ``2026-12-07 15:40:19 UTC``."""
    return f"{validated_at[:19].replace('T', ' ')} UTC" if len(validated_at) >= 19 else validated_at


def _status(success: bool) -> str:
    return '<span class="status passed">✔ passed</span>' if success else '<span class="status failed">✘ failed</span>'


def _document(title: str, to_root: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n{head_links(to_root)}\n</head>\n<body>\n{body}\n"
        "<footer><p>Zone validations with Great Expectations. The pages show counts, ids, codes and lengths "
        "of the documents, never their text.</p></footer>\n</body>\n</html>\n"
    )


def expectation_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return one row per expectation of a validation summary, failed ones first.

    Each row: ``name``, ``expectation`` (type), ``column``, ``expected`` (its parameters as text),
    ``success``, ``element_count``, ``unexpected_count``. The check of ``doc_id`` uniqueness across the whole
    zone (counted outside GX) is one of them.
    """
    rows = []
    for name, result in summary.get("results", {}).items():
        kind, _, column = name.partition("(")
        rows.append(
            {
                "name": name,
                "expectation": result.get("expectation_type") or kind,
                "column": result.get("column") or column.rstrip(")"),
                "expected": describe_expected(result.get("expected") or {}),
                "success": bool(result.get("success")),
                "element_count": int(result.get("element_count") or 0),
                "unexpected_count": int(result.get("unexpected_count") or 0),
            }
        )
    if "duplicate_doc_ids_across_zone" in summary:
        duplicates = int(summary["duplicate_doc_ids_across_zone"] or 0)
        rows.append(
            {
                "name": "doc_id unique across the zone",
                "expectation": "doc_id unique across the zone",
                "column": "doc_id",
                "expected": "every doc_id once in the whole zone (all chunks)",
                "success": duplicates == 0,
                "element_count": int(summary.get("documents") or 0),
                "unexpected_count": duplicates,
            }
        )
    return sorted(rows, key=lambda row: (row["success"], row["column"], row["expectation"]))


def describe_expected(parameters: Mapping[str, Any]) -> str:
    """Return an expectation's parameters as short text: ``value_set: ['nl']; min_value: 1``."""
    parts = []
    for key, value in parameters.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)


def validation_page(summary: Mapping[str, Any], gx_pages: Sequence[tuple[str, str]]) -> str:
    """Render the page of one validation from its summary: facts, every expectation, links to GX's pages.

    :param gx_pages: ``(relative path, label)`` of the Great Expectations pages stored beside it.
    """
    to_root = "../../../"
    rows = expectation_rows(summary)
    passed = sum(row["success"] for row in rows)
    body_rows = []
    for row in rows:
        body_rows.append(
            f'<tr class="{"passed" if row["success"] else "failed"}"><td>{_status(row["success"])}</td>'
            f"<td><code>{_e(row['expectation'])}</code></td><td><code>{_e(row['column'])}</code></td>"
            f"<td>{_e(row['expected'])}</td>"
            f'<td class="number">{row["unexpected_count"]:,}</td><td class="number">{row["element_count"]:,}</td></tr>'
        )
    links = "".join(f'<li><a href="{_e(path)}">{_e(label)}</a></li>' for path, label in gx_pages)
    zone, source_id, suite = summary["zone"], summary["source_id"], summary["suite"]
    facts = [
        ("Zone", zone),
        ("Source", source_id),
        ("Suite", suite),
        ("Validated at", _when(summary["validated_at"])),
        ("Documents", f"{summary['documents']:,} in {summary['chunks']} chunk(s)"),
        ("Expectations", f"{passed} of {len(rows)} passed"),
        ("Snapshot", f"stage report sha256 {summary.get('report_sha256', '')[:16]}"),
    ]
    body = (
        f'<nav class="crumbs"><a href="{to_root}index.html">All validations</a> / {_e(zone)} / {_e(source_id)}'
        f" / {_e(summary['validation_id'])}</nav>\n"
        f"<h1>{_e(suite)} of {_e(source_id)}: {_status(bool(summary['success']))}</h1>\n"
        '<dl class="facts">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>\n"
        "<h2>Expectations</h2>\n<table>\n<thead><tr><th>Status</th><th>Expectation</th><th>Column</th>"
        '<th>Expected</th><th class="number">Unexpected</th><th class="number">Checked</th></tr></thead>\n'
        "<tbody>\n" + "\n".join(body_rows) + "\n</tbody>\n</table>\n"
        + (f"<h2>Great Expectations pages</h2>\n<ul>{links}</ul>\n" if links else "")
    )  # fmt: skip
    return _document(f"{suite} of {source_id}, {_when(summary['validated_at'])}", to_root, body)


def index_page(entries: Sequence[Mapping[str, Any]], keep: int) -> str:
    """Render the index of the kept validation pages (``pages.json`` entries), newest first."""
    ordered = sorted(entries, key=lambda entry: (entry["validated_at"], entry["validation_id"]), reverse=True)
    rows = []
    for entry in ordered:
        failed = entry.get("failed_expectations") or []
        names = ", ".join(f"<code>{_e(name)}</code>" for name in failed)
        rows.append(
            f'<tr class="{"passed" if entry["success"] else "failed"}">'
            f'<td><a href="{_e(entry["page"])}">{_e(_when(entry["validated_at"]))}</a></td>'
            f"<td>{_e(entry['zone'])}</td><td>{_e(entry['source_id'])}</td><td>{_e(entry['suite'])}</td>"
            f"<td>{_status(bool(entry['success']))}</td>"
            f'<td class="number">{int(entry["documents"]):,}</td>'
            f'<td class="number">{entry["successful_expectations"]} of {entry["evaluated_expectations"]}</td>'
            f"<td>{names}</td></tr>"
        )
    table = (
        "<table>\n<thead><tr><th>Validated at</th><th>Zone</th><th>Source</th><th>Suite</th><th>Status</th>"
        '<th class="number">Documents</th><th class="number">Expectations passed</th><th>Failed</th></tr></thead>\n'
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
        if rows
        else "<p>No validation pages yet: they appear after the first validation of a zone.</p>"
    )
    body = (
        "<h1>Data Docs: zone validations</h1>\n"
        f'<p class="muted">Newest first. The latest {keep} validation page(s) of every zone and source are kept '
        "(CORPUSFABRIEK_DATA_DOCS_KEEP); older ones are removed.</p>\n" + table
    )
    return _document("Data Docs: zone validations", "", body)


# -- storing, retention, the index ----------------------------------------------------------------------------


def static_files() -> dict[str, bytes]:
    """Return the files every page shares (name -> content): the stylesheet and GX's icon."""
    icon = resources.files("great_expectations").joinpath("render/view/static/images/favicon.ico").read_bytes()
    return {STYLESHEET: CSS.encode("utf-8"), ICON: icon}


def store_static(storage: Storage) -> int:
    """Write the shared static files where missing or different; return the bytes written (0: all current)."""
    written = 0
    for name, content in static_files().items():
        path = f"{DATA_DOCS_STATIC}/{name}"
        if storage.exists(path) and storage.read_bytes(path) == content:
            continue
        storage.write_bytes(path, content)
        written += len(content)
    return written


def _gx_pages(site: Path) -> list[tuple[str, Path]]:
    """Return the GX pages of a local site worth keeping: ``(path relative to the site, file)``.

    GX's own index (built by script from CDN code) is replaced by our page and its ``static/`` by the
    shared copy; the validation result pages (one per chunk) and the suite page are kept.
    """
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel.startswith(("validations/", "expectations/")):
            pages.append((rel, path))
    return pages


def _label(rel: str, chunk: int, chunks: int) -> str:
    if rel.startswith("expectations/"):
        return f"Expectation suite {Path(rel).stem} (Great Expectations)"
    return f"Validation result, chunk {chunk} of {chunks} (Great Expectations)"


def publish_validation(storage: Storage, site: Path | None, summary: Mapping[str, Any], *, keep: int) -> str:
    """Store the Data Docs of one validation, prune older pages of its partition, rebuild the index.

    :param site: the local GX Data Docs site of the validation (``None``: GX wrote none).
    :param keep: validation pages kept per zone and source (the newest; at least 1).
    :returns: the storage path of the validation's page.
    """
    zone, source_id, validation_id = summary["zone"], summary["source_id"], summary["validation_id"]
    folder = docs_folder(zone, source_id, validation_id)
    store_static(storage)
    found = _gx_pages(site) if site is not None and site.is_dir() else []
    results = [rel for rel, _ in found if rel.startswith("validations/")]
    links = []
    for rel, path in found:
        # relative links inside GX's site (its "Home" is the site's index.html: our page) keep working
        to_root = "../" * (rel.count("/") + 3)
        page = offline_page(path.read_text(encoding="utf-8"), to_root)
        left = external_resources(page)
        if left:  # a GX upgrade changed its templates: our page says it all, a page that reaches out is left out
            log.warning("Data Docs page %s left out: it would load %s", rel, ", ".join(sorted(set(left))[:3]))
            continue
        storage.write_bytes(f"{folder}/{rel}", page.encode("utf-8"))
        chunk = results.index(rel) + 1 if rel in results else 0
        links.append((rel, _label(rel, chunk, len(results))))
    links.sort(key=lambda link: (link[0].startswith("expectations/"), link[0]))
    page_path = f"{folder}/index.html"
    storage.write_bytes(page_path, validation_page(summary, links).encode("utf-8"))
    _retain(storage, summary, keep)
    return page_path


def _page_entry(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Return what the index shows of a validation page (and where it is, relative to the docs root)."""
    zone, source_id, validation_id = summary["zone"], summary["source_id"], summary["validation_id"]
    entry = {
        key: summary[key]
        for key in (
            "zone",
            "source_id",
            "suite",
            "validation_id",
            "validated_at",
            "success",
            "documents",
            "evaluated_expectations",
            "successful_expectations",
            "failed_expectations",
        )
    }
    entry["page"] = f"{zone}/{source_id}/{validation_id}/index.html"
    return entry


def _read_entries(storage: Storage, path: str) -> list[dict[str, Any]]:
    try:
        entries = storage.read_json(path) if storage.exists(path) else []
    except (StorageError, ValueError):  # a damaged list only costs the index its older entries
        return []
    return [entry for entry in entries if isinstance(entry, dict) and "validation_id" in entry]


def _retain(storage: Storage, summary: Mapping[str, Any], keep: int) -> None:
    """Keep the newest ``keep`` pages of the summary's partition: list them, re-index, then remove the rest.

    The index is rewritten before anything is removed, so at no moment does it link a page that is gone.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    zone, source_id = summary["zone"], summary["source_id"]
    pages_path = docs_pages_path(zone, source_id)
    entries = {entry["validation_id"]: entry for entry in _read_entries(storage, pages_path)}
    entries[summary["validation_id"]] = _page_entry(summary)
    # validation ids are UTC times written with fixed width: their order is the order in time
    folders = storage.ls(docs_partition_folder(zone, source_id), dirs_only=True)
    kept = sorted(set(folders) | {summary["validation_id"]})[-keep:]
    storage.write_json(pages_path, [entries[vid] for vid in kept if vid in entries])
    rebuild_index(storage, keep=keep)
    for validation_id in folders:
        if validation_id not in kept:
            storage.delete(docs_folder(zone, source_id, validation_id), recursive=True)
    # a full GX site per validation (4 MB each) from before the pages moved: never linked by the index
    with contextlib.suppress(FileNotFoundError):
        if storage.exists(legacy_docs_folder(zone, source_id)):
            storage.delete(legacy_docs_folder(zone, source_id), recursive=True)


def rebuild_index(storage: Storage, *, keep: int) -> list[dict[str, Any]]:
    """Rewrite the Data Docs index from every partition's list of kept pages; return its entries."""
    entries = []
    for path in storage.glob(f"{DATA_DOCS}/*/*/pages.json"):
        entries += _read_entries(storage, path)
    storage.write_bytes(DATA_DOCS_INDEX, index_page(entries, keep).encode("utf-8"))
    return entries
