"""Dagster resources: the storage root, the source registry and release settings.

Resources hold configuration only and hand out the plain library objects; secrets arrive as Dagster
``EnvVar`` values (see :mod:`pipelines.definitions`), so the UI and run storage never show them. The
anonymisation key of a local root may instead live in the root's key file: the resource then holds
nothing, and the key is read from the storage root when a step runs.
"""

import _thread
import contextlib
from collections.abc import Iterator
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from anonymisation.anonymiser import Anonymiser
from anonymisation.operators import check_key
from catalog.corpora import CorpusView, load_views
from catalog.keys import RootKey, root_key
from catalog.lease import RootLease, tidy_root
from catalog.registry import SourceRegistry
from catalog.releases import DEFAULT_CORPUS
from catalog.settings import KEY_ENV, ShardSettings
from catalog.sources import bundled_sources_dir
from catalog.storage import DEFAULT_ROOT, Storage
from quality.dedup_index import NearDuplicateIndex
from quality.neardup import MinHashSettings
from stages.executors import Executor, ShardSize, executor_for
from stages.release import DEFAULT_ROWS_PER_PART


class StorageResource(ConfigurableResource):
    """The storage root (local folder or ``s3://bucket/prefix``) and its object-storage settings."""

    root: str = Field(default=DEFAULT_ROOT, description="local folder or s3://bucket/prefix")
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint, e.g. the factory's")
    region: str | None = None
    access_key_id: str | None = Field(default=None, description="set from the environment only")
    secret_access_key: str | None = Field(default=None, description="set from the environment only")
    lease_wait_s: float = Field(
        default=300.0, ge=0, description="how long an asset waits for the root's lease while another run holds it"
    )

    def get(self) -> Storage:
        """Return the storage library object for this configuration."""
        return Storage(
            self.root,
            endpoint_url=self.s3_endpoint_url,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
        )

    @contextlib.contextmanager
    def exclusive(self, context: Any) -> Iterator[Storage]:
        """Hold the storage root's lease while an asset writes, waiting up to ``lease_wait_s``; yield the storage.

        A scheduled or sensor run thus waits for a ``corpusfabriek run`` (or another run) on the same root
        instead of racing it, and fails with a one-line message naming the holder if it waits in vain.
        Inside ``corpusfabriek run`` (in-process runs) the CLI's lease is re-entered. The first holder in
        a process cleans up after crashed processes (staging folders, temporary files) and logs it.
        """
        store = self.get()
        # a check's op has an assets definition but no asset output: name it by its op
        keys = list(context.assets_def.keys_by_output_name.values()) if context.has_assets_def else []
        step = keys[0].to_user_string() if len(keys) == 1 else context.op_def.name
        if context.has_partition_key:
            step += f"[{context.partition_key}]"
        lease = RootLease(
            store,
            {"command": f"dagster run {context.run.run_id[:8]} ({step})"},
            hint=f"gave up after waiting {self.lease_wait_s:g} s (storage resource: lease_wait_s)",
            on_lost=_thread.interrupt_main,  # stop writing: another process holds the root now
        )
        lease.acquire(wait=self.lease_wait_s)
        try:
            if lease.outermost:
                for line in tidy_root(lease):
                    context.log.info(line)
            yield store
        finally:
            lease.release()


class SourcesResource(ConfigurableResource):
    """Where source specs come from.

    Folders of YAML specs (default: the bundled samples), overlaid with the specs registered in the
    storage catalog (``corpusfabriek sources register``).
    """

    folders: list[str] = Field(default_factory=list, description="spec folders; empty means the bundled samples")

    def registry(self, storage: Storage | None = None) -> SourceRegistry:
        """Return the registry: the configured folders, overlaid with the specs registered in storage."""
        return SourceRegistry(self.folders or [bundled_sources_dir()], storage)


class ReleaseResource(ConfigurableResource):
    """How releases are cut: the corpus name, the size of Parquet parts and near-deduplication."""

    corpus: str = Field(default=DEFAULT_CORPUS, pattern=r"^[a-z0-9][a-z0-9-]*$")
    rows_per_part: int = Field(default=DEFAULT_ROWS_PER_PART, gt=0)
    near_duplicates: bool = Field(default=True, description="drop near duplicates (MinHash LSH, FineWeb's 14x8)")
    near_duplicate_threshold: float | None = Field(
        default=None, gt=0, le=1, description="also require this estimated Jaccard similarity (default: bands only)"
    )

    views_file: str | None = Field(
        default=None, description="YAML file of corpus views: more release lines selecting sources (catalog.corpora)"
    )

    def near_duplicate_index(
        self, storage: Storage, priority: dict[str, int], corpus: str | None = None
    ) -> NearDuplicateIndex | None:
        """Return a corpus's persistent near-duplicate index (default: the main corpus's), or ``None`` when off."""
        if not self.near_duplicates:
            return None
        settings = MinHashSettings(threshold=self.near_duplicate_threshold)
        return NearDuplicateIndex(storage, corpus or self.corpus, settings, priority=priority)

    def views(self) -> list[CorpusView]:
        """Return the corpus views to release beside the main corpus (raises CorpusViewError on a bad file)."""
        return load_views(self.views_file, self.corpus)


class ShardsResource(ConfigurableResource):
    """Where the shards of the clean stage's quality gate and of anonymisation run, and how big they are.

    Set from the operator's shard settings (``CORPUSFABRIEK_EXECUTOR``, ``_WORKERS``, ``_SHARD_DOCUMENTS``, ...;
    :class:`catalog.settings.ShardSettings`) in ``pipelines/definitions.py``.
    """

    workers: int = Field(
        default=1,
        ge=1,
        description="shards processed at a time in worker processes; 1: in the step's own process (no start-up)",
    )
    shard_executor: str = Field(default="local", description="where shards run: local processes or slurm jobs")
    retries: int = Field(default=1, ge=0, description="attempts after a shard's first failure")
    shard_documents: int = Field(default=50_000, ge=1, description="most documents in one shard")
    shard_mb: int = Field(default=200, ge=1, description="most megabytes of text in one shard")
    slurm_work_dir: str | None = Field(default=None, description="a folder every Slurm node sees (slurm only)")
    slurm_partition: str | None = None
    slurm_time: str | None = None
    slurm_memory: str | None = None
    slurm_args: list[str] = Field(default_factory=list, description="more sbatch options")
    slurm_pending_timeout: int | None = Field(
        default=None, ge=1, description="seconds a shard's job may wait in the queue (unset: as long as it takes)"
    )
    shard_problem: str | None = Field(default=None, description="a malformed shard setting: fails the step")

    @classmethod
    def from_settings(cls, shards: ShardSettings) -> "ShardsResource":
        """Return the resource for the operator's shard settings."""
        return cls(
            workers=shards.workers,
            shard_executor=shards.executor,
            retries=shards.retries,
            shard_documents=shards.shard_documents,
            shard_mb=shards.shard_mb,
            slurm_work_dir=shards.slurm_work_dir,
            slurm_partition=shards.slurm_partition,
            slurm_time=shards.slurm_time,
            slurm_memory=shards.slurm_memory,
            slurm_args=list(shards.slurm_args),
            slurm_pending_timeout=shards.slurm_pending_timeout,
            shard_problem=shards.problem,
        )

    def shard_size(self) -> ShardSize:
        """Return the bounds of one shard."""
        return ShardSize(documents=self.shard_documents, bytes=self.shard_mb * 1_000_000)

    def executor(self) -> Executor | None:
        """Return the executor of the stages' shards: ``None`` (in the step's own process) for one local worker.

        Worker processes and Slurm jobs inherit this process's environment, where the anonymisation key
        comes from (an ``EnvVar``), or find the root's key file: never the key on a command line. A worker
        with another key refuses to run.
        """
        shards = ShardSettings(
            executor=self.shard_executor,
            workers=self.workers,
            retries=self.retries,
            slurm_work_dir=self.slurm_work_dir,
            slurm_partition=self.slurm_partition,
            slurm_time=self.slurm_time,
            slurm_memory=self.slurm_memory,
            slurm_args=tuple(self.slurm_args),
            slurm_pending_timeout=self.slurm_pending_timeout,
            problem=self.shard_problem,
        ).check()
        if shards.executor == "local" and shards.workers <= 1:
            return None
        return executor_for(shards)


class AnonymisationResource(ConfigurableResource):
    """The secret key of surrogates and keyed hashes: ``CORPUSFABRIEK_ANONYMISATION_KEY`` or the root's key file.

    The same key gives the same surrogates, so a release can be rebuilt exactly; a new key gives new ones,
    so the key is checked against the storage root's record before anything is anonymised
    (``catalog.keys``). With ``key`` unset, a local root's key file is read (generated on first use) at run
    time: the secret never enters resource or run configuration.
    """

    key: str | None = Field(
        default=None, description="set from the environment only (EnvVar); unset: the local storage root's key file"
    )

    def root_key(self, storage: Storage) -> RootKey:
        """Resolve the key for ``storage`` and check it against the root's record (recorded on first use).

        :raises catalog.keys.RootKeyError: no key (an S3 root without the variable), an unsafe key file, or
            another key than the one the root was anonymised with.
        """
        return root_key(storage, check=check_key, env={KEY_ENV: self.key} if self.key else {})

    def anonymiser(self, policy: Any, key: RootKey | None) -> Anonymiser:
        """Return an anonymiser for a source's policy (``catalog.sources.AnonymisationPolicy``).

        :param key: from :meth:`root_key`; ``None`` only for a policy that needs no key (placeholders).
        """
        return Anonymiser.from_policy(policy, key.secret if key is not None else None)
