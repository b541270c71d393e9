"""Every setting the pipeline takes from the environment: named, read and checked in this one place.

The command line and the Dagster code location (``pipelines/definitions.py``, which hands the secret ones
to Dagster as ``EnvVar``) both build their objects from :class:`Settings`. Functions below take an ``env``
mapping only so that tests and a run's own configuration can stand in for the process environment. The
one other reader is the fetcher, for the credential variables a source's spec names itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_ROOT = "CORPUSFABRIEK_ROOT"
ENV_ENDPOINT = "CORPUSFABRIEK_S3_ENDPOINT_URL"
ENV_SOURCES = "CORPUSFABRIEK_SOURCES"
ENV_DROP_FOLDERS = "CORPUSFABRIEK_DROP_FOLDERS"
KEY_ENV = "CORPUSFABRIEK_ANONYMISATION_KEY"
ENV_ALLOW_NETWORKS = "CORPUSFABRIEK_ALLOW_NETWORKS"
ENV_USER_AGENT = "CORPUSFABRIEK_USER_AGENT"
ENV_CONTACT = "CORPUSFABRIEK_CONTACT"
ENV_FAILPOINT = "CORPUSFABRIEK_FAILPOINT"
ENV_NAME_MODEL = "CORPUSFABRIEK_NAME_MODEL"
ENV_CACHE_DIR = "CORPUSFABRIEK_CACHE_DIR"
ENV_CORPUS = "CORPUSFABRIEK_CORPUS"
ENV_CORPUS_VIEWS = "CORPUSFABRIEK_CORPUS_VIEWS"
ENV_DATA_DOCS_KEEP = "CORPUSFABRIEK_DATA_DOCS_KEEP"
ENV_DATA_DOCS_URL = "CORPUSFABRIEK_DATA_DOCS_URL"
ENV_EXECUTOR = "CORPUSFABRIEK_EXECUTOR"
ENV_WORKERS = "CORPUSFABRIEK_WORKERS"
ENV_SHARD_RETRIES = "CORPUSFABRIEK_SHARD_RETRIES"
ENV_SHARD_DOCUMENTS = "CORPUSFABRIEK_SHARD_DOCUMENTS"
ENV_SHARD_MB = "CORPUSFABRIEK_SHARD_MB"
ENV_SLURM_WORK_DIR = "CORPUSFABRIEK_SLURM_WORK_DIR"
ENV_SLURM_PARTITION = "CORPUSFABRIEK_SLURM_PARTITION"
ENV_SLURM_TIME = "CORPUSFABRIEK_SLURM_TIME"
ENV_SLURM_MEMORY = "CORPUSFABRIEK_SLURM_MEMORY"
ENV_SLURM_ARGS = "CORPUSFABRIEK_SLURM_ARGS"
ENV_SLURM_PENDING_TIMEOUT = "CORPUSFABRIEK_SLURM_PENDING_TIMEOUT"
#: Where shards run: local processes of this machine, or Slurm jobs.
EXECUTORS = ("local", "slurm")

#: Validation pages kept per zone and source when ``CORPUSFABRIEK_DATA_DOCS_KEEP`` is unset.
DEFAULT_DATA_DOCS_KEEP = 10


def environment(env: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """Return the mapping settings are read from: ``env`` when given, else the process environment."""
    return os.environ if env is None else env


def _paths(value: str) -> tuple[str, ...]:
    """Split a path-separated list (``a:b``), dropping empty parts."""
    return tuple(part for part in value.split(os.pathsep) if part.strip())


def _at_least(name: str, value: str, default: int, minimum: int) -> int:
    """Read a whole number >= ``minimum`` (``default`` when empty); anything else is a configuration error."""
    if not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, not {value!r}")
    return number


def _at_least_one(name: str, value: str, default: int) -> int:
    """Read a whole number >= 1 (``default`` when empty); anything else is a configuration error."""
    return _at_least(name, value, default, 1)


@dataclass(frozen=True)
class S3Settings:
    """Where S3-compatible object storage is and how to log in: from the environment only, never logged.

    One reading of the environment serves the storage root and every source on ``s3://`` alike, so a
    partner drop on the factory's object storage is read from the same endpoint with the same keys.
    """

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        """Read ``CORPUSFABRIEK_S3_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL``), ``AWS_REGION``, ``AWS_*`` keys."""
        env = environment(env)
        return cls(
            endpoint_url=env.get(ENV_ENDPOINT) or env.get("AWS_ENDPOINT_URL") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        )

    def fsspec_options(self) -> dict[str, Any]:
        """Return the s3fs options (``fsspec.open(..., **options)``); unset values are left to botocore."""
        options: dict[str, Any] = {"anon": False}
        for name, value in (("key", self.access_key_id), ("secret", self.secret_access_key)):
            if value:
                options[name] = value
        if self.endpoint_url:
            options["endpoint_url"] = self.endpoint_url
        if self.region:
            options["client_kwargs"] = {"region_name": self.region}
        return options


@dataclass(frozen=True)
class ShardSettings:
    """Where a stage's shards run and how (``stages.executors.executor_for`` builds the executor).

    :ivar executor: ``local`` (processes of this machine) or ``slurm`` (``CORPUSFABRIEK_EXECUTOR``).
    :ivar workers: shards at a time on this machine (``CORPUSFABRIEK_WORKERS``, default 1).
    :ivar retries: attempts after a shard's first failure (``CORPUSFABRIEK_SHARD_RETRIES``, default 1).
    :ivar shard_documents: most documents in one shard (``CORPUSFABRIEK_SHARD_DOCUMENTS``, default 50,000);
        ``shard_mb``: most megabytes of text in one shard (``CORPUSFABRIEK_SHARD_MB``, default 200).
    :ivar slurm_work_dir: a folder every node sees, for the batch scripts and logs
        (``CORPUSFABRIEK_SLURM_WORK_DIR``; required for ``slurm``).
    :ivar slurm_partition: ``CORPUSFABRIEK_SLURM_PARTITION``; ``slurm_time``: ``CORPUSFABRIEK_SLURM_TIME``
        (e.g. ``02:00:00``); ``slurm_memory``: ``CORPUSFABRIEK_SLURM_MEMORY`` (e.g. ``4G``);
        ``slurm_args``: more ``sbatch`` options, space-separated (``CORPUSFABRIEK_SLURM_ARGS``).
    :ivar slurm_pending_timeout: seconds a shard's job may wait in the queue before the run fails
        (``CORPUSFABRIEK_SLURM_PENDING_TIMEOUT``; unset: as long as the queue takes).
    """

    executor: str = "local"
    workers: int = 1
    retries: int = 1
    shard_documents: int = 50_000
    shard_mb: int = 200
    slurm_work_dir: str | None = None
    slurm_partition: str | None = None
    slurm_time: str | None = None
    slurm_memory: str | None = None
    slurm_args: tuple[str, ...] = ()
    slurm_pending_timeout: int | None = None

    #: what is wrong with the variables as set (checked where shards run, not when settings are read:
    #: modules read the settings on import, and a malformed value must only fail what uses it)
    problem: str | None = None

    def check(self) -> ShardSettings:
        """Return these settings, or raise ``ValueError`` naming the variable that is set wrongly."""
        if self.problem:
            raise ValueError(self.problem)
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ShardSettings:
        """Read the shard settings; a malformed value is kept as :attr:`problem`, raised by :meth:`check`."""
        env = environment(env)
        executor = env.get(ENV_EXECUTOR, "").strip() or "local"
        work_dir = env.get(ENV_SLURM_WORK_DIR) or None
        problem = None
        try:
            workers = _at_least_one(ENV_WORKERS, env.get(ENV_WORKERS, ""), 1)
            retries = _at_least(ENV_SHARD_RETRIES, env.get(ENV_SHARD_RETRIES, ""), 1, 0)
            documents = _at_least_one(ENV_SHARD_DOCUMENTS, env.get(ENV_SHARD_DOCUMENTS, ""), cls.shard_documents)
            megabytes = _at_least_one(ENV_SHARD_MB, env.get(ENV_SHARD_MB, ""), cls.shard_mb)
            pending = env.get(ENV_SLURM_PENDING_TIMEOUT, "").strip()
            pending_timeout = _at_least_one(ENV_SLURM_PENDING_TIMEOUT, pending, 1) if pending else None
        except ValueError as exc:
            workers, retries, documents, megabytes, problem = 1, 1, cls.shard_documents, cls.shard_mb, str(exc)
            pending_timeout = None
        if executor not in EXECUTORS:
            problem = f"{ENV_EXECUTOR} must be one of {', '.join(EXECUTORS)}, not {executor!r}"
        elif executor == "slurm" and not work_dir:
            problem = f"the slurm executor needs {ENV_SLURM_WORK_DIR}: a folder every node sees"
        return cls(
            executor=executor,
            workers=workers,
            retries=retries,
            shard_documents=documents,
            shard_mb=megabytes,
            slurm_work_dir=work_dir,
            slurm_partition=env.get(ENV_SLURM_PARTITION) or None,
            slurm_time=env.get(ENV_SLURM_TIME) or None,
            slurm_memory=env.get(ENV_SLURM_MEMORY) or None,
            slurm_args=tuple(env.get(ENV_SLURM_ARGS, "").split()),
            slurm_pending_timeout=pending_timeout,
            problem=problem,
        )


@dataclass(frozen=True)
class Settings:
    """The operator's settings, read once from the environment (:meth:`read`).

    :ivar root: the storage root (``CORPUSFABRIEK_ROOT``; ``None``: the default local root).
    :ivar sources: spec folders (``CORPUSFABRIEK_SOURCES``, path-separated; empty: the bundled samples).
    :ivar drop_folders: folders a ``files`` source may read (``CORPUSFABRIEK_DROP_FOLDERS``; empty: the
        working folder and the bundled samples).
    :ivar anonymisation_key: the key (``CORPUSFABRIEK_ANONYMISATION_KEY``; never shown: not in ``repr``).
    :ivar allow_networks: private networks a source may fetch from (``CORPUSFABRIEK_ALLOW_NETWORKS``).
    :ivar user_agent: the fetcher's user agent (``CORPUSFABRIEK_USER_AGENT``; ``None``: the default).
    :ivar contact: a contact address in the default user agent (``CORPUSFABRIEK_CONTACT``).
    :ivar failpoint: the failpoint a fault test arms in a run (``CORPUSFABRIEK_FAILPOINT``).
    :ivar name_model: the person-name model (``CORPUSFABRIEK_NAME_MODEL``: a path, ``none``; empty: shipped).
    :ivar cache_dir: where the blank spaCy pipeline is cached (``CORPUSFABRIEK_CACHE_DIR``, else
        ``XDG_CACHE_HOME``/corpusfabriek; ``None``: the user cache folder).
    :ivar corpus: the corpus releases are cut for (``CORPUSFABRIEK_CORPUS``; ``None``: the default).
    :ivar corpus_views: the YAML file of corpus views (``CORPUSFABRIEK_CORPUS_VIEWS``; ``None``: no views).
    :ivar data_docs_keep_text: validation pages of Data Docs kept per zone and source, as set
        (``CORPUSFABRIEK_DATA_DOCS_KEEP``); read it as a number with :attr:`data_docs_keep`.
    :ivar data_docs_url: the address ``corpusfabriek docs serve`` is reached at (``CORPUSFABRIEK_DATA_DOCS_URL``,
        e.g. ``http://127.0.0.1:8765``; ``None``: validations name only the storage path of their page).
    :ivar s3: endpoint and keys of S3-compatible storage.
    :ivar shards: where a stage's shards run (:class:`ShardSettings`).
    """

    root: str | None = None
    sources: tuple[str, ...] = ()
    drop_folders: tuple[str, ...] = ()
    anonymisation_key: str | None = field(default=None, repr=False)
    allow_networks: str = ""
    user_agent: str | None = None
    contact: str = ""
    failpoint: str = ""
    name_model: str = ""
    cache_dir: str | None = None
    corpus: str | None = None
    corpus_views: str | None = None
    data_docs_keep_text: str = ""
    data_docs_url: str | None = None
    s3: S3Settings = field(default_factory=S3Settings)
    shards: ShardSettings = field(default_factory=lambda: ShardSettings())

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default: the process environment)."""
        env = environment(env)
        xdg = env.get("XDG_CACHE_HOME")
        return cls(
            root=env.get(ENV_ROOT) or None,
            sources=_paths(env.get(ENV_SOURCES, "")),
            drop_folders=_paths(env.get(ENV_DROP_FOLDERS, "")),
            anonymisation_key=env.get(KEY_ENV) or None,
            allow_networks=env.get(ENV_ALLOW_NETWORKS, ""),
            user_agent=env.get(ENV_USER_AGENT) or None,
            contact=env.get(ENV_CONTACT, ""),
            failpoint=env.get(ENV_FAILPOINT, ""),
            name_model=env.get(ENV_NAME_MODEL, "").strip(),
            cache_dir=env.get(ENV_CACHE_DIR) or (os.path.join(xdg, "corpusfabriek") if xdg else None),
            corpus=env.get(ENV_CORPUS) or None,
            corpus_views=env.get(ENV_CORPUS_VIEWS) or None,
            data_docs_keep_text=env.get(ENV_DATA_DOCS_KEEP, "").strip(),
            data_docs_url=env.get(ENV_DATA_DOCS_URL, "").strip().rstrip("/") or None,
            s3=S3Settings.from_env(env),
            shards=ShardSettings.from_env(env),
        )

    @property
    def data_docs_keep(self) -> int:
        """Validation pages kept per zone and source (default 10).

        Checked where it is used, not when the settings are read (modules read them on import), so a
        malformed value fails the validations that need it and nothing else.

        :raises ValueError: when ``CORPUSFABRIEK_DATA_DOCS_KEEP`` is not a whole number of at least 1.
        """
        return _at_least_one(ENV_DATA_DOCS_KEEP, self.data_docs_keep_text, DEFAULT_DATA_DOCS_KEEP)


def keep_libraries_offline() -> None:
    """Switch off what third-party libraries would send home (Great Expectations' usage statistics)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
