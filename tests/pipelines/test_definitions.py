import ast
import importlib
import json
import subprocess
import sys

import yaml
from dagster import (
    DynamicPartitionsDefinition,
    EnvVar,
    SensorResult,
    SkipReason,
    build_sensor_context,
)

from assets.resources import SourcesResource, StorageResource
from catalog.sources import bundled_sources_dir
from pipelines.definitions import build_definitions
from pipelines.sensors import source_registry_sensor
from tests.conftest import BIN, REPO

EXPECTED_ASSETS = {"raw_documents", "clean_documents", "anonymised_documents", "corpus_release", "partner_reports"}


def load_workspace_definitions():
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    target = workspace["load_from"][0]["python_module"]
    module = importlib.import_module(target["module_name"])
    return getattr(module, target["attribute"])


def test_workspace_yaml_loads_the_asset_graph_with_dynamic_source_partitions():
    defs = load_workspace_definitions()
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert keys == EXPECTED_ASSETS
    graph = defs.resolve_asset_graph()
    for name in ("raw_documents", "clean_documents", "anonymised_documents"):
        partitions = graph.get(defs.resolve_assets_def(name).key).partitions_def
        assert isinstance(partitions, DynamicPartitionsDefinition)
        assert partitions.name == "sources"
    assert defs.resolve_assets_def("corpus_release").partitions_def is None
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert checks == {
        ("clean_documents", "accounting_balanced"),
        ("clean_documents", "clean_zone_expectations"),
        ("anonymised_documents", "no_residual_identifiers"),
        ("anonymised_documents", "anonymised_zone_expectations"),
        ("corpus_release", "corpus_release_manifest_verifies"),
    }
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"ingest_source", "build_release"}
    assert defs.resolve_sensor_def("source_registry_sensor") is not None
    # The graph's edges: raw -> clean -> anonymised -> release.
    assert graph.get(defs.resolve_assets_def("clean_documents").key).parent_keys == {
        defs.resolve_assets_def("raw_documents").key
    }
    assert graph.get(defs.resolve_assets_def("anonymised_documents").key).parent_keys == {
        defs.resolve_assets_def("clean_documents").key
    }
    assert graph.get(defs.resolve_assets_def("corpus_release").key).parent_keys == {
        defs.resolve_assets_def("anonymised_documents").key
    }


def test_dagster_cli_validates_the_workspace(tmp_path):
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": str(BIN), "DAGSTER_HOME": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_secrets_are_environment_references_not_values(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "example-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret-not-real")
    storage = build_definitions().resources["storage"]
    assert isinstance(storage.access_key_id, EnvVar)
    assert isinstance(storage.secret_access_key, EnvVar)
    assert "example-secret-not-real" not in repr(storage.get())


def test_without_credentials_the_storage_is_local_by_default(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CORPUSFABRIEK_ROOT"):
        monkeypatch.delenv(name, raising=False)
    storage = build_definitions().resources["storage"]
    assert storage.access_key_id is None and storage.secret_access_key is None
    assert not storage.get().is_remote
    assert storage.get().url().endswith(".corpusfabriek")


def sensor_resources(folder, root):
    return {"sources": SourcesResource(folders=[str(folder)]), "storage": StorageResource(root=str(root))}


def test_registry_sensor_adds_new_sources_as_partitions_then_skips(dagster_instance, tmp_path):
    resources = sensor_resources(bundled_sources_dir(), tmp_path / "root")
    context = build_sensor_context(instance=dagster_instance, resources=resources)
    result = source_registry_sensor(context)
    assert isinstance(result, SensorResult)
    (request,) = result.dynamic_partitions_requests
    assert sorted(request.partition_keys) == ["archief-courant", "nieuws-dagblad", "sector-meldingen"]
    assert sorted(run.partition_key for run in result.run_requests) == sorted(request.partition_keys)

    dagster_instance.add_dynamic_partitions("sources", list(request.partition_keys))
    again = source_registry_sensor(
        build_sensor_context(instance=dagster_instance, resources=resources, cursor=result.cursor)
    )
    assert isinstance(again, SkipReason)


def test_registry_sensor_picks_up_a_registered_and_a_changed_spec_without_restart(dagster_instance, tmp_path):
    from catalog.registry import SourceRegistry
    from catalog.storage import Storage

    root = tmp_path / "root"
    resources = sensor_resources(bundled_sources_dir(), root)
    first = source_registry_sensor(build_sensor_context(instance=dagster_instance, resources=resources))
    dagster_instance.add_dynamic_partitions("sources", list(first.dynamic_partitions_requests[0].partition_keys))

    # A partner registers a new source: the next tick adds its partition and starts its first ingest.
    spec_file = tmp_path / "nieuw.yaml"
    spec_file.write_text(
        (bundled_sources_dir() / "nieuws-dagblad.yaml")
        .read_text()
        .replace("id: nieuws-dagblad", "id: nieuws-tweede")
        .replace("status: approved", "status: sandbox")
        .replace("../data/", f"{bundled_sources_dir().parent / 'data'}/")
    )
    registry = SourceRegistry([bundled_sources_dir()], Storage(str(root)))
    registry.register(spec_file)
    second = source_registry_sensor(
        build_sensor_context(instance=dagster_instance, resources=resources, cursor=first.cursor)
    )
    assert second.dynamic_partitions_requests[0].partition_keys == ["nieuws-tweede"]
    assert [run.partition_key for run in second.run_requests] == ["nieuws-tweede"]
    assert second.run_requests[0].tags["corpusfabriek/source_status"] == "sandbox"  # the partition's status
    dagster_instance.add_dynamic_partitions("sources", ["nieuws-tweede"])

    # Changing a registered spec triggers a new ingest of that source only; suspending triggers none.
    registry.set_status("nieuws-tweede", "approved", reason="reviewed by the data steward")
    third = source_registry_sensor(
        build_sensor_context(instance=dagster_instance, resources=resources, cursor=second.cursor)
    )
    assert third.dynamic_partitions_requests == []
    assert [run.partition_key for run in third.run_requests] == ["nieuws-tweede"]
    assert third.run_requests[0].tags["corpusfabriek/source_status"] == "approved"
    registry.set_status("nieuws-tweede", "suspended", reason="partner asked to pause")
    fourth = source_registry_sensor(
        build_sensor_context(instance=dagster_instance, resources=resources, cursor=third.cursor)
    )
    assert fourth.run_requests == []


def test_schedule_sensor_runs_sources_whose_cron_fell_due(dagster_instance, tmp_path):
    from datetime import UTC, datetime, timedelta

    from pipelines.sensors import source_schedule_sensor

    resources = sensor_resources(bundled_sources_dir(), tmp_path / "root")
    start = source_schedule_sensor(build_sensor_context(instance=dagster_instance, resources=resources))
    assert start.run_requests == []  # the first tick only starts the clock: no backfill
    dagster_instance.add_dynamic_partitions("sources", ["archief-courant", "nieuws-dagblad"])
    # The samples run daily at 03:00 UTC: from a cursor 25 hours back, each known source is due once.
    since = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    due = source_schedule_sensor(build_sensor_context(instance=dagster_instance, resources=resources, cursor=since))
    assert sorted(run.partition_key for run in due.run_requests) == ["archief-courant", "nieuws-dagblad"]
    assert all(run.run_key.startswith("schedule:") for run in due.run_requests)
    assert {run.tags["corpusfabriek/source_status"] for run in due.run_requests} == {"approved"}
    again = source_schedule_sensor(
        build_sensor_context(instance=dagster_instance, resources=resources, cursor=due.cursor)
    )
    assert again.run_requests == []
    # the samples are due daily at 03:00 UTC: the tick says which source comes next, and when
    assert again.skip_reason.skip_message.startswith("no source due; next: ")
    assert "03:00 UTC" in again.skip_reason.skip_message


def test_registry_sensor_reports_an_invalid_spec_instead_of_crashing(dagster_instance, tmp_path):
    (tmp_path / "broken.yaml").write_text("id: Not A Slug\nkind: ftp\n")
    resources = sensor_resources(tmp_path, tmp_path / "root")
    result = source_registry_sensor(build_sensor_context(instance=dagster_instance, resources=resources))
    assert isinstance(result, SkipReason)
    assert "invalid spec" in result.skip_message and "kind" in result.skip_message


LIBRARIES = ("stages", "anonymisation", "quality", "catalog")


def test_libraries_never_import_dagster():
    offenders = []
    for library in LIBRARIES:
        for path in (REPO / library).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0].startswith("dagster")]
                offenders += [
                    f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in ("assets", "pipelines")
                ]
    assert offenders == []
    # And at run time: importing every library module loads no dagster module.
    modules = [
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for library in LIBRARIES
        for path in (REPO / library).rglob("*.py")
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + ("bad = [m for m in sys.modules if m.startswith('dagster')]\nassert not bad, bad\n")
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)


def test_registry_sensor_skips_a_broken_spec_and_serves_the_others(dagster_instance, tmp_path):
    import shutil

    folder = tmp_path / "specs"
    folder.mkdir()
    spec = (bundled_sources_dir() / "nieuws-dagblad.yaml").read_text()
    (folder / "nieuws-dagblad.yaml").write_text(spec.replace("../data/", f"{bundled_sources_dir().parent / 'data'}/"))
    (folder / "kapot.yaml").write_text("id: kapot\nkind: ftp\n")
    shutil.copy(folder / "kapot.yaml", folder / "kapot2.yaml")
    resources = sensor_resources(folder, tmp_path / "root")
    result = source_registry_sensor(build_sensor_context(instance=dagster_instance, resources=resources))
    assert isinstance(result, SensorResult)
    assert result.dynamic_partitions_requests[0].partition_keys == ["nieuws-dagblad"]


def test_instance_config_limits_runs_to_one_per_source_partition(tmp_path):
    import shutil

    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    shutil.copy(REPO / "pipelines" / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    try:
        limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
        assert not instance.telemetry_enabled
    finally:
        instance.dispose()


def test_registry_sensor_runs_a_source_whose_partition_the_cli_already_added(dagster_instance, tmp_path):
    """`corpusfabriek sources register` adds the partition itself: the sensor must still start its first ingest."""
    from catalog.registry import SourceRegistry
    from catalog.storage import Storage

    root = tmp_path / "root"
    resources = sensor_resources(bundled_sources_dir(), root)
    first = source_registry_sensor(build_sensor_context(instance=dagster_instance, resources=resources))
    dagster_instance.add_dynamic_partitions("sources", list(first.dynamic_partitions_requests[0].partition_keys))

    spec_file = tmp_path / "nieuw.yaml"
    spec_file.write_text(
        (bundled_sources_dir() / "nieuws-dagblad.yaml")
        .read_text()
        .replace("id: nieuws-dagblad", "id: nieuws-tweede")
        .replace("../data/", f"{bundled_sources_dir().parent / 'data'}/")
    )
    SourceRegistry([bundled_sources_dir()], Storage(str(root))).register(spec_file)
    dagster_instance.add_dynamic_partitions("sources", ["nieuws-tweede"])  # what the CLI does on register

    second = source_registry_sensor(
        build_sensor_context(instance=dagster_instance, resources=resources, cursor=first.cursor)
    )
    assert isinstance(second, SensorResult)
    assert second.dynamic_partitions_requests == []  # the partition exists already
    assert [run.partition_key for run in second.run_requests] == ["nieuws-tweede"]
    third = source_registry_sensor(
        build_sensor_context(instance=dagster_instance, resources=resources, cursor=second.cursor)
    )
    assert isinstance(third, SkipReason)  # exactly one run per registered spec version


def test_without_a_key_variable_a_local_root_runs_with_its_key_file_read_at_run_time(isolated_env, monkeypatch):
    monkeypatch.delenv("CORPUSFABRIEK_ANONYMISATION_KEY")
    root = isolated_env / "root"
    defs = build_definitions(root=str(root))
    # the resource holds no secret: the key file is found through the storage root when a step runs
    assert defs.resources["anonymisation"].key is None
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    instance.add_dynamic_partitions("sources", ["sector-meldingen"])
    result = defs.resolve_job_def("ingest_source").execute_in_process(
        instance=instance, partition_key="sector-meldingen", raise_on_error=False
    )
    assert result.success
    key_file = root / "secrets" / "anonymisation.key"
    assert key_file.stat().st_mode & 0o077 == 0
    key = key_file.read_text().strip()
    logged = "\n".join(str(entry) for entry in instance.all_logs(result.run_id))
    assert str(key_file) in logged and key not in logged  # the generation notice names the file, never the key
    record = json.loads((root / "catalog" / "anonymisation-key.json").read_text())
    report = json.loads((root / "anonymised" / "sector-meldingen" / "anonymised.json").read_text())
    assert report["key_id"] == record["current"]["key_id"]
    assert key not in json.dumps(record)


def test_instance_config_enables_run_monitoring(tmp_path):
    import shutil

    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    shutil.copy(REPO / "pipelines" / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    try:
        assert instance.run_monitoring_enabled
        # the default run launcher cannot resume a run: a dead worker's run is failed, not resumed
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert 0 < instance.run_monitoring_start_timeout_seconds <= 300
    finally:
        instance.dispose()
