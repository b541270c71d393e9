"""Every path of a storage root, by zone: the README's zone table in code.

All paths are relative to the root (``catalog.storage.Storage`` resolves them). Original personal data lives
only in the restricted zones (everything before the anonymisation stage); every other zone holds anonymised
documents, counts, ids and hashes, and can be shared with reviewers and consumers. ``secrets/`` is not a
zone: a local root keeps its owner-only anonymisation key file there, and nothing lists or publishes it.
"""

from __future__ import annotations

#: The zones of the design: what each holds and who may read it.
ZONES: dict[str, str] = {
    "raw": "documents as fetched (restricted: contains personal data)",
    "quarantine": "input that could not be parsed, with reasons and raw bytes (restricted: personal data)",
    "clean": "normalised documents per source and the ones the quality gate dropped (restricted: not yet anonymised)",
    "anonymised": "documents with personal data replaced; the only zone a release reads",
    "excluded": "anonymised documents a release left out (duplicates), with reasons (reviewable)",
    "validations": "Great Expectations outcomes and Data Docs (profiles: ids, codes, counts; never text)",
    "dedup": "persistent deduplication index (ids, hashes, band keys)",
    "releases": "immutable, versioned corpora (consumers)",
    "catalog": "registered source specs, their history and status changes, failing sources, the key fingerprint",
}

#: Zones that may hold original personal data: never shared, never read by a release.
RESTRICTED_ZONES = ("raw", "quarantine", "clean")

# -- raw: what the ingest stage fetched, per source ----------------------------------------------------------


def batch_path(source_id: str, ingest_id: str) -> str:
    """Path of one ingest run's documents."""
    return f"raw/{source_id}/batches/{ingest_id}.parquet"


def run_reports_folder(source_id: str) -> str:
    """Folder of a source's ingest run reports (one per committed run)."""
    return f"raw/{source_id}/ingests"


def run_report_path(source_id: str, ingest_id: str) -> str:
    """Path of one ingest run's report (the commit marker of its batch)."""
    return f"{run_reports_folder(source_id)}/{ingest_id}.json"


def ingest_report_path(source_id: str) -> str:
    """Path of the newest ingest report of a source."""
    return f"raw/{source_id}/ingest.json"


def cursor_path(source_id: str) -> str:
    """Path of a source's connector cursor."""
    return f"raw/{source_id}/cursor.json"


def committed_cursor_path(source_id: str, ingest_id: str) -> str:
    """Path of the cursor an ingest run committed with its report."""
    return f"raw/{source_id}/cursors/{ingest_id}.json"


# -- quarantine: input that could not be parsed -----------------------------------------------------------------


def quarantine_path(source_id: str, ingest_id: str) -> str:
    """Path of one ingest run's quarantined input."""
    return f"quarantine/{source_id}/{ingest_id}.parquet"


# -- clean: the quality gate's output -------------------------------------------------------------------------


def clean_path(source_id: str) -> str:
    """Path of a source's clean documents."""
    return f"clean/{source_id}/documents.parquet"


def clean_report_path(source_id: str) -> str:
    """Path of a source's clean report (commit marker of the clean partition)."""
    return f"clean/{source_id}/clean.json"


def clean_excluded_path(source_id: str) -> str:
    """Path of the documents the clean stage dropped for a source (restricted: not yet anonymised)."""
    return f"clean/{source_id}/excluded.parquet"


def clean_shards_folder(source_id: str) -> str:
    """Staging folder of the clean stage's quality-gate shards of a source (restricted: they hold normalised text).

    A run removes the folder when it ends (and the next run removes what a crashed one left).
    """
    return f"clean/{source_id}/shards"


def anonymise_shards_folder(source_id: str) -> str:
    """Staging folder of the anonymisation stage's shards of a source (restricted: input shards are clean text).

    Input shards hold documents not yet anonymised, so they stay in the clean zone; a run removes the
    folder when it ends (and the next run removes what a crashed one left).
    """
    return f"clean/{source_id}/anonymise-shards"


def clean_furniture_path(source_id: str) -> str:
    """Path of the furniture lines removed from a source, with their text, for review (restricted: may name people)."""
    return f"clean/{source_id}/furniture.parquet"


# incremental cleaning: what a clean run keeps for the next one


def clean_decisions_path(source_id: str) -> str:
    """Path of the quality gate's decisions of a source's last clean run, by digest of the gate's input.

    A cache the next run reuses for unchanged documents (restricted: the clean zone's, though it holds no text).
    """
    return f"clean/{source_id}/decisions.parquet"


def clean_batches_folder(source_id: str) -> str:
    """Folder of a source's cached clean batches: two files per committed raw batch (restricted: they hold text).

    Raw batches never change once committed, so what the clean stage derives from one is kept for the next run
    under a key in each file's footer (the code and settings it was made with); see :mod:`stages.clean`.
    """
    return f"clean/{source_id}/batches"


def clean_normalised_batch_path(source_id: str, ingest_id: str) -> str:
    """Path of one raw batch normalised: its documents, boilerplate lines removed and the keys of its short lines."""
    return f"{clean_batches_folder(source_id)}/{ingest_id}.normalised.parquet"


def clean_prepared_batch_path(source_id: str, ingest_id: str) -> str:
    """Path of one normalised batch without the source's furniture lines, with the digest of each gate input."""
    return f"{clean_batches_folder(source_id)}/{ingest_id}.prepared.parquet"


# -- anonymised: the only zone a release reads -----------------------------------------------------------------

#: Every source's anonymisation report (the key checks look for any).
ANONYMISED_REPORTS = "anonymised/*/anonymised.json"


def anonymised_path(source_id: str) -> str:
    """Path of a source's anonymised documents."""
    return f"anonymised/{source_id}/documents.parquet"


def anonymised_report_path(source_id: str) -> str:
    """Path of a source's anonymisation report (commit marker of the partition)."""
    return f"anonymised/{source_id}/anonymised.json"


def anonymised_inputs_path(source_id: str) -> str:
    """Path of the digests of what the anonymiser read per document (``doc_id``, ``input_digest``).

    Written with the documents, before the report: the next run re-anonymises only documents whose digest
    changed. Digests only, never text.
    """
    return f"anonymised/{source_id}/inputs.parquet"


# -- validations: Great Expectations outcomes ------------------------------------------------------------------


def validation_path(zone: str, source_id: str) -> str:
    """Where the latest validation summary of a zone partition is kept (read by the release)."""
    return f"validations/{zone}/{source_id}/validation.json"


#: The Data Docs of the whole root: the only folder ``corpusfabriek docs serve`` makes reachable. It holds the
#: index of every kept validation page, the static files all pages share, and one folder per zone and source.
DATA_DOCS = "validations/docs"

#: The plain-HTML index of the kept validation pages, newest first.
DATA_DOCS_INDEX = f"{DATA_DOCS}/index.html"

#: Stylesheet and icon, stored once per root and referenced by every page.
DATA_DOCS_STATIC = f"{DATA_DOCS}/static"


def docs_partition_folder(zone: str, source_id: str) -> str:
    """Folder of the kept validation pages of a zone partition (one subfolder per validation)."""
    return f"{DATA_DOCS}/{zone}/{source_id}"


def docs_folder(zone: str, source_id: str, validation_id: str) -> str:
    """Where the Data Docs HTML of one validation is written (its page is ``index.html`` in it)."""
    return f"{docs_partition_folder(zone, source_id)}/{validation_id}"


def docs_pages_path(zone: str, source_id: str) -> str:
    """Path of the list of a zone partition's kept validation pages, with what the index shows of each."""
    return f"{docs_partition_folder(zone, source_id)}/pages.json"


def legacy_docs_folder(zone: str, source_id: str) -> str:
    """Where Data Docs were written before they moved under :data:`DATA_DOCS` (a full GX site per validation)."""
    return f"validations/{zone}/{source_id}/docs"


# -- dedup, releases and what a release left out ---------------------------------------------------------------

#: Folder of every corpus's near-duplicate index (one subfolder per corpus, then one per signature scheme).
INDEX_FOLDER = "dedup/index"

#: Documents dropped while building releases (cross-source duplicates), for review.
EXCLUDED_RELEASES = "excluded/release"


def corpus_folder(corpus: str) -> str:
    """Folder of a corpus's release versions."""
    return f"releases/{corpus}"


def release_dir(corpus: str, version: str) -> str:
    """Folder of one release version."""
    return f"{corpus_folder(corpus)}/{version}"


def excluded_release_path(corpus: str, version: str) -> str:
    """Documents dropped while building a release (cross-source duplicates), for review."""
    return f"{EXCLUDED_RELEASES}/{corpus}/{version}.parquet"


# -- catalog: specs, failures, the key's fingerprint -----------------------------------------------------------

#: Registered source specs (one YAML file per source, with history).
CATALOG_SOURCES = "catalog/sources"

#: Failure records of sources whose last run failed.
FAILURES = "catalog/failures"

#: The anonymisation key's fingerprint record (never the key).
KEY_RECORD = "catalog/anonymisation-key.json"

#: A local root's owner-only key file (``secrets/`` is not a zone: nothing lists or publishes it).
KEY_FILE = "secrets/anonymisation.key"


def failure_path(source_id: str) -> str:
    """Path of a source's failure record."""
    return f"{FAILURES}/{source_id}.json"
