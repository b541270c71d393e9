"""The Croissant description of a release (``croissant.json``): Croissant 1.0 JSON-LD with its Responsible-AI fields.

It describes the release's Parquet parts (each a ``FileObject`` with its SHA-256, and a ``FileSet`` of all
of them) and one record set, ``documents``, with the scalar columns of the document schema; the nested
``annotations`` column (what each stage did, as types, counts and offsets) is described in the manifest's
schema. Loaders that read Croissant (``mlcroissant``) read the release from the folder the file sits in.
Plain JSON, written without a Croissant library: the format is small, and the tests validate and load
the result with ``mlcroissant``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from catalog.sources import SourceSpec

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
#: The JSON-LD context of Croissant 1.0 (the standard one: loaders warn about any other).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
#: The document columns the record set describes, with their Croissant data types and descriptions.
FIELDS = (
    ("doc_id", "sc:Text", "stable id of the document (a hash of its source and native id)"),
    ("source_id", "sc:Text", "the source it came from (see the manifest and the datasheet)"),
    ("native_id", "sc:Text", "the source's own id, pseudonymised with a keyed hash"),
    ("url", "sc:Text", "where it was published, with identifying parts pseudonymised"),
    ("title", "sc:Text", "title, anonymised"),
    ("text", "sc:Text", "the text, normalised, quality-filtered and anonymised"),
    ("lang", "sc:Text", "language found by the clean stage (ISO 639-1)"),
    ("published_at", "sc:Date", "publication time (UTC)"),
    ("fetched_at", "sc:Date", "when the pipeline fetched it (UTC)"),
    ("licence", "sc:Text", "the source's licence or contract reference"),
    ("content_sha256", "sc:Text", "SHA-256 of the text"),
)
PARQUET = "application/x-parquet"


def semantic_version(version: str) -> str:
    """Return a release version as the MAJOR.MINOR.PATCH Croissant asks for.

    ``v20261207T221527Z-2`` is ``2026.1207.221527+2``: the same order, the same-second suffix as build metadata.
    """
    match = re.fullmatch(r"v(\d{4})(\d{4})T(\d{6})Z(?:-(\d+))?", version)
    if match is None:
        return "0.0.0+" + re.sub(r"[^0-9A-Za-z-]", "-", version)
    year, day, time, suffix = match.groups()
    return f"{int(year)}.{int(day)}.{int(time)}" + (f"+{suffix}" if suffix else "")


def croissant(manifest: Mapping[str, Any], specs: Mapping[str, SourceSpec] | None = None) -> dict[str, Any]:
    """Return the Croissant JSON-LD of a release (its manifest; the specs name owners and legal bases)."""
    specs = specs or {}
    sources = manifest["sources"]
    licences = sorted({source["licence"] for source in sources})
    excluded = manifest["excluded"]
    owners = sorted({specs[s["source_id"]].owner.organisation for s in sources if s["source_id"] in specs})
    described = "; ".join(
        f"{s['source_id']} ({s['licence']}, {s['documents']} documents"
        + (f", {specs[s['source_id']].sector}, legal basis {specs[s['source_id']].legal_basis}" if s["source_id"]
           in specs else "")
        + ")"
        for s in sources
    )  # fmt: skip
    distribution: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": entry["path"],
            "name": entry["path"],
            "contentUrl": entry["path"],
            "contentSize": f"{entry['bytes']} B",
            "encodingFormat": PARQUET,
            "sha256": entry["sha256"],
        }
        for entry in manifest["files"]
    ]
    distribution.append(
        {
            "@type": "cr:FileSet",
            "@id": "parts",
            "name": "parts",
            "description": "every Parquet part of the release",
            "encodingFormat": PARQUET,
            "includes": "part-*.parquet",
        }
    )
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"documents/{name}",
            "name": name,
            "description": description,
            "dataType": data_type,
            "source": {"fileSet": {"@id": "parts"}, "extract": {"column": name}},
        }
        for name, data_type, description in FIELDS
    ]
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": f"{manifest['corpus']}-{manifest['version']}",
        "description": (
            f"Release {manifest['version']} of the Dutch training corpus {manifest['corpus']}: "
            f"{manifest['total_documents']} documents from {len(sources)} source(s), curated, anonymised, "
            "validated and deduplicated by corpusfabriek. Sources: " + described + "."
        ),
        "conformsTo": CONFORMS_TO,
        "url": f"releases/{manifest['corpus']}/{manifest['version']}/",
        "version": semantic_version(manifest["version"]),
        "datePublished": manifest.get("created_at", ""),
        "license": licences,
        "creator": [{"@type": "sc:Organization", "name": owner} for owner in owners]
        or [{"@type": "sc:Organization", "name": "corpusfabriek"}],
        "citeAs": f"corpusfabriek release {manifest['corpus']}/{manifest['version']}",
        "inLanguage": ["nl", "fy"],
        "distribution": distribution,
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "documents",
                "name": "documents",
                "description": "one record per document",
                "key": {"@id": "documents/doc_id"},
                "field": fields,
            }
        ],
        "rai:dataCollection": (
            "Delivered by partner organisations (publishers, archives, sector data spaces) through declarative "
            "source specs: files, RSS feeds, OAI-PMH, WARC and web pages, fetched politely (robots.txt honoured) "
            "and incrementally; every document keeps its source, licence and provenance."
        ),
        "rai:dataCollectionType": ["Web Scraping", "Secondary Data Analysis"],
        "rai:personalSensitiveInformation": (
            "The sources may contain personal data. Before release, personal data is replaced in context: "
            "structured identifiers (BSN, IBAN, e-mail, phone, postcodes, licence plates, ...) and person names "
            "by surrogates or placeholders, ids and URLs by keyed pseudonyms; a residual scan checks every "
            "released field. The release is pseudonymised, not anonymous: person-name detection misses some "
            "names (measured figures in the datasheet)."
        ),
        "rai:dataPreprocessingProtocol": [
            "Unicode and whitespace normalisation, boilerplate and per-source furniture lines removed",
            "quality filters (FineWeb-2 Dutch settings with per-source profiles) and language identification",
            "exact duplicates removed within and across sources, near duplicates by MinHash LSH "
            f"({excluded['duplicate_content']} exact and {excluded.get('near_duplicate', 0)} near duplicates "
            "removed at this release)",
            "personal data replaced in context (see rai:personalSensitiveInformation)",
            f"takedown and opt-out requests honoured ({excluded.get('takedown', 0)} documents left out)",
        ],
        "rai:dataLimitations": (
            "Pseudonymised, not anonymous. Quality filters judge form, not truth or bias. See the datasheet's "
            "known limitations."
        ),
        "rai:dataUseCases": "Training and evaluating Dutch language models within the licences of the sources.",
    }
