"""The assets in Dagster: metadata per outcome, blocking checks, storage as the only data path."""

import time
from pathlib import Path

import pytest
from dagster import AssetKey, AssetSelection, Definitions, define_asset_job

from assets.assets import anonymised_documents, clean_documents, corpus_release, raw_documents
from assets.checks import ZONE_CHECKS, corpus_release_manifest_verifies
from assets.reports import partner_reports
from assets.resources import AnonymisationResource, ReleaseResource, ShardsResource, SourcesResource, StorageResource
from catalog.sources import bundled_sources_dir
from catalog.storage import Storage
from pipelines.jobs import build_release_job, ingest_source_job
from tests.conftest import TEST_ANONYMISATION_KEY
from tests.leases import hold_lease

SOURCES = ["archief-courant", "nieuws-dagblad", "sector-meldingen"]


def rows(value) -> list[dict]:
    """The rows of a table metadata value."""
    return [record.data for record in value.records]


def counts(value, key: str, count: str = "documents") -> dict:
    """A two-column counts table as a mapping."""
    return {row[key]: row[count] for row in rows(value)}


def make_defs(root: Path, folders: list[str], **storage_options: float) -> Definitions:
    verify_job = define_asset_job("verify_release", selection=AssetSelection.checks(corpus_release_manifest_verifies))
    return Definitions(
        assets=[raw_documents, clean_documents, anonymised_documents, corpus_release, partner_reports],
        asset_checks=[*ZONE_CHECKS, corpus_release_manifest_verifies],
        jobs=[ingest_source_job, build_release_job, verify_job],
        resources={
            "storage": StorageResource(root=str(root), **storage_options),
            "sources": SourcesResource(folders=folders),
            "release": ReleaseResource(corpus="test-corpus", rows_per_part=10),
            "anonymisation": AnonymisationResource(key=TEST_ANONYMISATION_KEY),
            "shards": ShardsResource(),
        },
    )


@pytest.fixture
def defs(tmp_path):
    return make_defs(tmp_path / "root", [str(bundled_sources_dir())])


def ingest(defs, instance, key):
    instance.add_dynamic_partitions("sources", [key])
    return defs.resolve_job_def("ingest_source").execute_in_process(
        instance=instance, partition_key=key, raise_on_error=False
    )


def test_ingest_reports_counts_per_outcome_as_metadata(defs, dagster_instance):
    result = ingest(defs, dagster_instance, "sector-meldingen")
    assert result.success
    (raw,) = result.asset_materializations_for_node("raw_documents")
    assert raw.partition == "sector-meldingen"
    assert raw.metadata["records_read"].value == 20
    assert raw.metadata["documents"].value == 15
    assert raw.metadata["quarantined"].value == 5
    assert counts(raw.metadata["quarantined_by_reason"].value, "reason", "records") == {
        "empty_text": 1,
        "invalid_utf8": 1,
        "malformed_json": 1,
        "missing_text": 1,
        "not_an_object": 1,
    }
    assert raw.metadata["duration_s"].value >= 0
    assert raw.metadata["raw_bytes"].value > 0
    (clean,) = result.asset_materializations_for_node("clean_documents")
    assert clean.metadata["dagster/row_count"].value == 15
    assert counts(clean.metadata["dropped_by_reason"].value, "reason") == {
        "superseded_record": 0,
        "duplicate_content": 0,
    }
    # the quality gate ran with the spec's own (relaxed) thresholds: every report is Dutch and kept
    assert counts(clean.metadata["languages"].value, "language") == {"nl": 15}
    assert counts(clean.metadata["dropped_by_filter"].value, "filter") == {}
    assert "records read **20** = kept **15**" in clean.metadata["accounting"].value
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == {
        "accounting_balanced", "clean_zone_expectations", "no_residual_identifiers", "anonymised_zone_expectations"
    }  # fmt: skip
    assert all(check.passed for check in checks.values())
    assert checks["accounting_balanced"].metadata["unaccounted"].value == 0
    gx_check = checks["anonymised_zone_expectations"]
    assert gx_check.metadata["documents"].value == 15
    assert gx_check.metadata["evaluated_expectations"].value == gx_check.metadata["successful_expectations"].value
    from dagster import MarkdownMetadataValue, TableMetadataValue

    assert isinstance(gx_check.metadata["results"], TableMetadataValue)  # one row per expectation
    results = {(row["expectation"], row["column"]): row for row in rows(gx_check.metadata["results"].value)}
    residuals = results[("expect_column_values_to_be_between", "residual_identifiers")]
    assert residuals["element_count"] == 15 and residuals["success"] and residuals["unexpected_count"] == 0
    assert isinstance(gx_check.metadata["failed"], MarkdownMetadataValue)
    evaluated = gx_check.metadata["evaluated_expectations"].value
    assert gx_check.metadata["failed"].value == f"All {evaluated} expectations passed."
    docs = Path(gx_check.metadata["data_docs"].value)
    assert docs.name == "index.html" and docs.is_file()


def test_anonymised_documents_reports_entity_counts_and_passes_the_residual_scan(defs, dagster_instance, tmp_path):
    result = ingest(defs, dagster_instance, "sector-meldingen")
    assert result.success
    (anonymised,) = result.asset_materializations_for_node("anonymised_documents")
    meta = {k: v.value for k, v in anonymised.metadata.items()}
    assert meta["documents_in"] == meta["documents_out"] == 15
    by_entity = counts(meta["replacements_by_entity"], "entity", "replacements")
    # the sample sector drop plants e-mails, phones, BSNs and IBANs (fictional, checksum-valid)
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "NL_BSN", "IBAN_CODE"} <= set(by_entity)
    assert meta["replacements"] == sum(by_entity.values()) > 0
    assert meta["operator"] == "surrogate"
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "no_residual_identifiers")
    assert check.passed and check.metadata["residuals"].value == 0
    assert check.metadata["documents_scanned"].value == 15
    # every released string field was scanned, and the native ids were pseudonymised
    by_field = counts(check.metadata["residuals_by_field"].value, "field", "residuals")
    assert set(by_field) >= {"text", "title", "native_id", "url", "source_metadata"}
    assert counts(meta["fields_pseudonymised"], "field")["native_id"] == 15


def test_release_is_built_from_all_partitions_and_its_check_passes(defs, dagster_instance, tmp_path):
    for key in SOURCES:
        assert ingest(defs, dagster_instance, key).success
    result = defs.resolve_job_def("build_release").execute_in_process(instance=dagster_instance)
    assert result.success
    (release,) = result.asset_materializations_for_node("corpus_release")
    assert release.metadata["total_documents"].value == 34
    assert release.metadata["files"].value == 4  # rows_per_part=10
    assert release.metadata["duplicates_dropped_across_sources"].value == 3
    # the samples' two edited copies of earlier texts (near duplicates) go too, and every document was hashed
    assert release.metadata["near_duplicates_dropped"].value == 2
    assert release.metadata["near_duplicates"].value["documents_hashed"] == 34 + 2
    assert [s["source_id"] for s in rows(release.metadata["sources"].value)] == SOURCES
    # each source entry names the passed validation of the exact anonymised snapshot that went in
    for entry in rows(release.metadata["sources"].value):
        assert entry["suite"] == "anonymised_zone"
        dropped = entry["duplicates_dropped"] + entry["near_duplicates_dropped"]
        assert entry["validated_documents"] == entry["documents"] + dropped
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "corpus_release_manifest_verifies" and check.passed
    # the partners' reports are refreshed after the release and name it
    (reports,) = result.asset_materializations_for_node("partner_reports")
    overview = rows(reports.metadata["sources"].value)
    assert [row["source_id"] for row in overview] == SOURCES
    release_name = f"test-corpus/{release.metadata['version'].value}"
    assert all(row["in_release"] == release_name and row["documents_in_release"] > 0 for row in overview)
    assert f"| **in release** | {release_name}" in reports.metadata["report: nieuws-dagblad"].value

    # Tamper with a published part: the check run on its own now fails.
    version = release.metadata["version"].value
    part = tmp_path / "root" / "releases" / "test-corpus" / version / "part-00001.parquet"
    part.write_bytes(b"not parquet")
    verify = defs.resolve_job_def("verify_release").execute_in_process(instance=dagster_instance, raise_on_error=False)
    (failed,) = verify.get_asset_check_evaluations()
    assert not failed.passed
    assert failed.metadata["problems"].value >= 1


def test_a_release_with_nothing_new_materialises_the_latest_version(defs, dagster_instance, tmp_path):
    for key in SOURCES:
        assert ingest(defs, dagster_instance, key).success
    first = defs.resolve_job_def("build_release").execute_in_process(instance=dagster_instance)
    (built,) = first.asset_materializations_for_node("corpus_release")
    assert "unchanged_since" not in built.metadata
    second = defs.resolve_job_def("build_release").execute_in_process(instance=dagster_instance)
    assert second.success
    (same,) = second.asset_materializations_for_node("corpus_release")
    version = built.metadata["version"].value
    assert same.metadata["unchanged_since"].value == version
    assert (same.metadata["corpus"].value, same.metadata["version"].value) == ("test-corpus", version)
    assert same.metadata["total_documents"].value == built.metadata["total_documents"].value
    (check,) = second.get_asset_check_evaluations()  # the check still verifies that version
    assert check.passed and check.metadata["version"].value == version
    assert Storage(str(tmp_path / "root")).ls("releases/test-corpus") == [version]


def test_sandbox_sources_are_processed_but_held_back_from_releases(tmp_path, dagster_instance):
    specs = tmp_path / "specs"
    specs.mkdir()
    for path in bundled_sources_dir().glob("*.yaml"):
        text = path.read_text().replace("../data/", f"{bundled_sources_dir().parent / 'data'}/")
        if path.stem == "archief-courant":
            text = text.replace("status: approved", "status: sandbox")
        (specs / path.name).write_text(text)
    defs = make_defs(tmp_path / "root", [str(specs)])
    for key in SOURCES:
        assert ingest(defs, dagster_instance, key).success
    result = defs.resolve_job_def("build_release").execute_in_process(instance=dagster_instance)
    (release,) = result.asset_materializations_for_node("corpus_release")
    assert [s["source_id"] for s in rows(release.metadata["sources"].value)] == ["nieuws-dagblad", "sector-meldingen"]
    assert release.metadata["sources_held_back"].value["not_approved"] == ["archief-courant"]
    assert Storage(str(tmp_path / "root")).exists("clean/archief-courant/documents.parquet")


def test_a_zone_that_fails_its_expectations_or_changed_since_is_held_back(defs, dagster_instance, tmp_path):
    from catalog.zones import anonymised_path, anonymised_report_path
    from stages.validate import validate_zone

    for key in SOURCES:
        assert ingest(defs, dagster_instance, key).success
    store = Storage(str(tmp_path / "root"))
    # the news zone is validated again as if the residual scan had found an identifier in one document
    import pyarrow.parquet as pq

    with store.open_input(anonymised_path("nieuws-dagblad")) as handle:
        first_doc = pq.read_table(handle, columns=["doc_id"])["doc_id"][0].as_py()
    failed = validate_zone(
        store, "anonymised", "nieuws-dagblad", anonymised_path("nieuws-dagblad"),
        anonymised_report_path("nieuws-dagblad"), ["nl"], residuals={first_doc: 1},
    )  # fmt: skip
    assert not failed["success"]
    assert failed["failed_expectations"] == ["expect_column_values_to_be_between(residual_identifiers)"]
    # the archive zone changes after its validation (a re-run without the check, a hand edit)
    report = store.read_json(anonymised_report_path("archief-courant"))
    store.write_json(anonymised_report_path("archief-courant"), {**report, "edited": True})

    result = defs.resolve_job_def("build_release").execute_in_process(instance=dagster_instance)
    (release,) = result.asset_materializations_for_node("corpus_release")
    assert [s["source_id"] for s in rows(release.metadata["sources"].value)] == ["sector-meldingen"]
    assert release.metadata["sources_held_back"].value["expectations"] == {
        "archief-courant": "validated_an_older_snapshot",
        "nieuws-dagblad": "expectations_failed",
    }


def test_a_suspended_source_is_not_fetched(tmp_path, dagster_instance):
    specs = tmp_path / "specs"
    specs.mkdir()
    text = (bundled_sources_dir() / "nieuws-dagblad.yaml").read_text()
    text = text.replace("../data/", f"{bundled_sources_dir().parent / 'data'}/").replace(
        "status: approved", "status: suspended"
    )
    (specs / "nieuws-dagblad.yaml").write_text(text)
    defs = make_defs(tmp_path / "root", [str(specs)])
    result = ingest(defs, dagster_instance, "nieuws-dagblad")
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert "suspended" in failure.step_failure_data.error.cause.message
    assert not Storage(str(tmp_path / "root")).exists("raw/nieuws-dagblad")
    assert dagster_instance.get_latest_materialization_event(AssetKey("raw_documents")) is None


def test_zone_checks_are_per_source_partition(tmp_path, dagster_instance):
    """One passing source must not turn the residual check green while another source still fails it."""
    from dagster import AssetCheckKey

    specs = tmp_path / "specs"
    specs.mkdir()
    for path in bundled_sources_dir().glob("*.yaml"):
        text = path.read_text().replace("../data/", f"{bundled_sources_dir().parent / 'data'}/")
        if path.stem == "sector-meldingen":  # this policy leaves e-mail addresses in: the residual scan finds them
            text += "anonymisation: {entities: [PERSON, NL_BSN, IBAN_CODE, PHONE_NUMBER]}\n"
        (specs / path.name).write_text(text)
    defs = make_defs(tmp_path / "root", [str(specs)])
    failing = ingest(defs, dagster_instance, "sector-meldingen")
    assert not failing.success
    assert ingest(defs, dagster_instance, "nieuws-dagblad").success  # passes, and runs last

    for name in ("no_residual_identifiers", "anonymised_zone_expectations"):
        key = AssetCheckKey(AssetKey("anonymised_documents"), name)
        evaluations = {e.partition: e for e in failing.get_asset_check_evaluations() if e.check_name == name}
        assert set(evaluations) == {"sector-meldingen"}, name  # the evaluation names its partition
        if name == "anonymised_zone_expectations":  # what failed, as a table in the check's result
            table = evaluations["sector-meldingen"].metadata["failed"].value
            assert table.startswith("| Expectation | Column | Unexpected | Expected |")
            assert "`residual_identifiers`" in table
        infos = {
            info.partition_key: info
            for info in dagster_instance.event_log_storage.get_asset_check_partition_info([key])
        }
        assert infos["sector-meldingen"].latest_execution_status.value == "FAILED", name
        assert infos["nieuws-dagblad"].latest_execution_status.value == "SUCCEEDED", name


def test_a_partition_without_a_spec_fails_naming_the_known_sources(defs, dagster_instance):
    result = ingest(defs, dagster_instance, "verdwenen-bron")
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    error = failure.step_failure_data.error
    message = (error.cause or error).message
    assert "KeyError" not in (error.cause or error).cls_name
    assert "verdwenen-bron" in message and "archief-courant" in message and "sector-meldingen" in message


def test_a_failing_source_is_held_back_until_it_passes_again(tmp_path, dagster_instance):
    specs = tmp_path / "specs"
    specs.mkdir()
    for path in bundled_sources_dir().glob("*.yaml"):
        (specs / path.name).write_text(
            path.read_text().replace("../data/", f"{bundled_sources_dir().parent / 'data'}/")
        )
    defs = make_defs(tmp_path / "root", [str(specs)])
    for key in SOURCES:
        assert ingest(defs, dagster_instance, key).success
    # the news drop disappears: its next ingest fails, and its earlier (valid) snapshot stays in the zone
    spec = specs / "nieuws-dagblad.yaml"
    good = spec.read_text()
    spec.write_text(good.replace("nieuws-dagblad.jsonl", "verdwenen.jsonl"))
    assert not ingest(defs, dagster_instance, "nieuws-dagblad").success
    result = defs.resolve_job_def("build_release").execute_in_process(instance=dagster_instance)
    (release,) = result.asset_materializations_for_node("corpus_release")
    assert [s["source_id"] for s in rows(release.metadata["sources"].value)] == ["archief-courant", "sector-meldingen"]
    failing = release.metadata["sources_held_back"].value["failing"]
    assert list(failing) == ["nieuws-dagblad"]
    assert failing["nieuws-dagblad"].startswith("raw_documents failed: FileNotFoundError")

    spec.write_text(good)
    assert ingest(defs, dagster_instance, "nieuws-dagblad").success
    result = defs.resolve_job_def("build_release").execute_in_process(instance=dagster_instance)
    (release,) = result.asset_materializations_for_node("corpus_release")
    assert [s["source_id"] for s in rows(release.metadata["sources"].value)] == SOURCES
    assert release.metadata["sources_held_back"].value["failing"] == {}


def test_an_asset_waits_for_the_root_lease_held_by_another_process(tmp_path, dagster_instance):
    root = tmp_path / "root"
    holder = hold_lease(str(root), hold=2)
    defs = make_defs(root, [str(bundled_sources_dir())], lease_wait_s=120)
    result = ingest(defs, dagster_instance, "nieuws-dagblad")
    out, _ = holder.communicate(timeout=30)
    released_at = float(out.split()[-1])
    assert result.success
    (batch,) = (root / "raw" / "nieuws-dagblad" / "batches").glob("*.parquet")
    assert batch.stat().st_mtime > released_at  # nothing was written while the other process held the root
    assert not (root / "locks" / "root.lease").exists()


def test_an_asset_gives_up_on_a_busy_root_with_one_line_naming_the_holder(tmp_path, dagster_instance):
    root = tmp_path / "root"
    holder = hold_lease(str(root))
    try:
        defs = make_defs(root, [str(bundled_sources_dir())], lease_wait_s=0.5)
        started = time.monotonic()
        result = ingest(defs, dagster_instance, "nieuws-dagblad")
        assert time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.cause.message.strip()
    assert "\n" not in message
    assert f"storage root {root} is busy: test holder (pid {holder.pid} on host " in message
    assert message.endswith("gave up after waiting 0.5 s (storage resource: lease_wait_s)")
    assert not (root / "raw").exists()


def test_every_asset_has_owners_tags_one_group_and_the_document_columns(defs):
    graph = defs.resolve_asset_graph()
    for key in [
        AssetKey(name) for name in ("raw_documents", "clean_documents", "anonymised_documents", "corpus_release")
    ]:
        node = graph.get(key)
        assert node.owners == ["team:data-engineering"], key
        assert node.group_name == "corpusfabriek", key
        assert {"zone", "privacy", "pii"} <= set(node.tags), key
        schema = node.metadata["dagster/column_schema"]
        schema = getattr(schema, "schema", schema)  # a TableSchema, or its metadata value once stored
        assert [c.name for c in schema.columns][:6] == ["doc_id", "source_id", "native_id", "url", "title", "text"]
        assert all(c.description for c in schema.columns), key
    assert graph.get(AssetKey("raw_documents")).tags["privacy"] == "restricted"
    assert graph.get(AssetKey("anonymised_documents")).tags["privacy"] == "shareable"


def test_zone_metadata_is_typed_tables_timestamps_and_column_lineage(defs, dagster_instance):
    from dagster import TableColumnLineage, TableMetadataValue, TimestampMetadataValue

    result = ingest(defs, dagster_instance, "sector-meldingen")
    (raw,) = result.asset_materializations_for_node("raw_documents")
    assert isinstance(raw.metadata["quarantined_by_reason"], TableMetadataValue)
    assert isinstance(raw.metadata["ingested_at"], TimestampMetadataValue)
    assert raw.metadata["raw size"].value.endswith((" B", " KB", " MB"))
    (anonymised,) = result.asset_materializations_for_node("anonymised_documents")
    lineage = anonymised.metadata["dagster/column_lineage"].value
    assert isinstance(lineage, TableColumnLineage)
    assert [dep.asset_key for dep in lineage.deps_by_column["text"]] == [AssetKey("clean_documents")]
    assert {"native_id", "url", "title", "text"} <= set(lineage.deps_by_column)
    # the source's status is a tag of its partition's materialisations
    for name in ("raw_documents", "clean_documents", "anonymised_documents"):
        (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey(name)]
        assert event.step_materialization_data.materialization.tags["corpusfabriek/source_status"] == "approved"


def test_the_partner_report_is_markdown_without_the_registrants(defs, dagster_instance):
    from dagster import MarkdownMetadataValue

    result = ingest(defs, dagster_instance, "sector-meldingen")
    (clean,) = result.asset_materializations_for_node("clean_documents")
    report = clean.metadata["partner_report"]
    assert isinstance(report, MarkdownMetadataValue)
    assert "| **source** | sector-meldingen" in report.value and "| **kept** | 15 |" in report.value
    assert "registry" not in report.value


def test_code_versions_per_asset_and_data_versions_that_change_only_with_content(defs, dagster_instance):
    from assets.versions import CODE_VERSIONS, source_digest

    graph = defs.resolve_asset_graph()
    for name, version in CODE_VERSIONS.items():
        assert graph.get(AssetKey(name)).code_version == version and len(version) == 16
    assert len(set(CODE_VERSIONS.values())) == len(CODE_VERSIONS)  # each stage its own version

    def versions(result):
        return {
            node: result.asset_materializations_for_node(node)[0].tags["dagster/data_version"]
            for node in ("raw_documents", "clean_documents", "anonymised_documents")
        }

    first = versions(ingest(defs, dagster_instance, "sector-meldingen"))
    again = versions(ingest(defs, dagster_instance, "sector-meldingen"))  # nothing new in the drop
    assert again == first
    assert source_digest(("stages/ingest.py",)) != source_digest(("stages/clean.py",))


def test_zone_checks_run_alone_on_the_stored_partition(defs, dagster_instance, tmp_path):
    """ "Execute" on a check re-reads the stored zone: no asset is materialised, a later change is seen."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from dagster import AssetCheckKey

    from catalog.zones import anonymised_path

    assert ingest(defs, dagster_instance, "nieuws-dagblad").success
    selection = {
        AssetCheckKey(AssetKey(asset), name)
        for asset, names in {
            "clean_documents": ("accounting_balanced", "clean_zone_expectations"),
            "anonymised_documents": ("no_residual_identifiers", "anonymised_zone_expectations"),
        }.items()
        for name in names
    }
    # what the UI's "Execute" on the checks launches: the asset job subset to the checks alone
    checks_only = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection=selection
    )

    def run_checks():
        return checks_only.execute_in_process(
            instance=dagster_instance, partition_key="nieuws-dagblad", raise_on_error=False
        )

    alone = run_checks()
    assert alone.success and not alone.get_asset_materialization_events()
    assert {e.check_name: e.passed for e in alone.get_asset_check_evaluations()} == {
        "accounting_balanced": True,
        "clean_zone_expectations": True,
        "no_residual_identifiers": True,
        "anonymised_zone_expectations": True,
    }
    # one check alone ("Execute" on it in the UI): only that check is evaluated
    accounting = AssetCheckKey(AssetKey("clean_documents"), "accounting_balanced")
    one = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={accounting}
    )
    single = one.execute_in_process(instance=dagster_instance, partition_key="nieuws-dagblad")
    assert [e.check_name for e in single.get_asset_check_evaluations()] == ["accounting_balanced"]
    # an e-mail address put into the stored anonymised zone by hand: the checks alone find it
    store = Storage(str(tmp_path / "root"))
    with store.open_input(anonymised_path("nieuws-dagblad")) as handle:
        table = pq.read_table(handle)
    texts = table["text"].to_pylist()
    texts[0] += " Mail j.jansen@example.nl voor meer."
    table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    store.write_bytes(anonymised_path("nieuws-dagblad"), sink.getvalue().to_pybytes())
    failed = run_checks()
    evaluations = {e.check_name: e for e in failed.get_asset_check_evaluations()}
    assert not evaluations["no_residual_identifiers"].passed
    assert evaluations["no_residual_identifiers"].metadata["residuals"].value == 1
    assert evaluations["accounting_balanced"].passed
    # recorded as the source's failure: it is held back from releases until it passes again
    from catalog.failures import current_failures

    assert "nieuws-dagblad" in current_failures(store)
