"""Source specs: a partner source is data (a validated YAML file), never code.

A spec names the source, its owner, where its data lives, under which licence it may be used and how
its fields map to the document model. Validation reports every problem at once, each with its field
path and a hint. The registry finds specs in folders; adding a source means adding a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from catalog.quality_profiles import default_profile
from catalog.quality_settings import LANGUAGE_CODES, QualitySettings

SOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"


class SpecError(ValueError):
    """A source spec is invalid; ``problems`` lists ``(field path, message)`` pairs, all of them."""

    def __init__(self, origin: str, problems: list[tuple[str, str]]) -> None:
        self.origin = origin
        self.problems = problems
        lines = "; ".join(f"{path}: {message}" for path, message in problems)
        super().__init__(f"invalid source spec {origin}: {lines}")


class FieldMapping(BaseModel):
    """Which field of a dropped record holds which part of a document (``None``: the record has none)."""

    model_config = ConfigDict(extra="forbid")

    native_id: str | None = Field("id", description="the source's own id; the URL is used when absent")
    text: str = "text"
    title: str | None = "title"
    url: str | None = "url"
    published_at: str | None = "published_at"


class Owner(BaseModel):
    """The partner organisation that delivers the source, and whom to contact about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation: str = Field(min_length=1)
    contact: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="e-mail address of the contact")


class Politeness(BaseModel):
    """How gently a networked source is fetched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_limit_per_second: float = Field(1.0, gt=0, le=50, description="requests per second per host")
    connect_timeout_seconds: float = Field(10.0, gt=0, le=120)
    read_timeout_seconds: float = Field(30.0, gt=0, le=600)
    retries: int = Field(3, ge=0, le=10, description="retries after a timeout, connection error, 429 or 5xx")
    backoff_seconds: float = Field(1.0, ge=0, le=60, description="first retry delay; doubles per retry")
    max_response_bytes: int = Field(50_000_000, gt=0, description="largest response (after decompression)")
    respect_robots: bool = True
    robots_override_reason: str | None = Field(
        None, description="required when respect_robots is false: why, and who agreed (recorded in the catalog)"
    )


#: Credential variables must carry this prefix, so a spec can never name the pipeline's own secrets
#: (AWS_*, DAGSTER_*, CORPUSFABRIEK_*) and have them sent to a partner's host.
ENV_NAME = r"^SOURCE_[A-Z0-9_]+$"


class Credentials(BaseModel):
    """Credentials as *names* of environment variables; values never appear in a spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username_env: str | None = Field(None, pattern=ENV_NAME)
    password_env: str | None = Field(None, pattern=ENV_NAME)
    token_env: str | None = Field(None, pattern=ENV_NAME, description="sent as 'Authorization: Bearer <token>'")


class OaiPmhOptions(BaseModel):
    """OAI-PMH harvesting options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metadata_prefix: str = "oai_dc"
    set: str | None = None
    fulltext: Literal["record", "link"] = Field(
        "link", description="record: text from dc:description; link: fetch the first http(s) dc:identifier"
    )


class RssOptions(BaseModel):
    """RSS/Atom options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fetch_articles: bool = Field(True, description="fetch each article page and extract its main text")


#: The entity types a policy replaces by default: the anonymisation registry's (``anonymisation.entities``),
#: which this layer cannot import; a test keeps the two equal.
PII_ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IBAN_CODE",
    "IP_ADDRESS",
    "URL",
    "CREDIT_CARD",
    "NL_BSN",
    "NL_POSTCODE",
    "NL_ADDRESS",
    "NL_LICENSE_PLATE",
    "NL_KVK",
    "NL_BTW",
    "DATE_OF_BIRTH",
)

#: Replaced only where a policy lists them: places and organisations (found by the name model) are not
#: personal data in themselves, but a source (a court, a care sector) may want them gone.
OPTIONAL_PII_ENTITIES = ("LOCATION", "ORGANIZATION")
ANY_PII_ENTITY = Literal[PII_ENTITIES + OPTIONAL_PII_ENTITIES]  # type: ignore[valid-type]


class AnonymisationPolicy(BaseModel):
    """Which personal data of a source is replaced, and how (the anonymisation stage reads this)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operator: Literal["surrogate", "placeholder", "hash"] = Field(
        "surrogate", description="surrogate: realistic replacement; placeholder: <PERSOON>; hash: keyed HMAC"
    )
    entities: list[ANY_PII_ENTITY] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(PII_ENTITIES),
        min_length=1,
        description="entity types that are replaced; LOCATION and ORGANIZATION only when listed",
    )
    operators: dict[ANY_PII_ENTITY, Literal["surrogate", "placeholder", "hash"]] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="per-entity operator overriding `operator`"
    )
    keep_names: list[str] = Field(
        default_factory=list,
        description="names kept as they are (e.g. public office holders); every kept mention is counted",
    )
    native_id: Literal["pseudonymise", "keep-if-clean"] = Field(
        "pseudonymise",
        description="pseudonymise: every native id (and id in metadata) becomes a keyed pseudonym; keep-if-clean: "
        "public ids (ECLI, OAI identifiers) in which nothing identifying is found are kept",
    )


Kind = Literal["rss", "warc", "oai-pmh", "alto", "rechtspraak", "files"]
KINDS = frozenset(Kind.__args__)
LegalBasis = Literal[
    "consent",
    "contract",
    "legal-obligation",
    "vital-interests",
    "public-task",
    "legitimate-interests",
    "not-applicable",
]


class SourceSpec(BaseModel):
    """A registered partner source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SOURCE_ID_PATTERN, description="slug; the Dagster partition key")
    name: str = Field(min_length=1)
    owner: Owner
    kind: Kind
    location: str = Field(min_length=1, description="URL, local path or glob (relative to the spec), or s3:// URL")
    format: Literal["jsonl", "csv", "parquet"] | None = Field(None, description="files only")
    languages: list[str] = Field(default_factory=lambda: ["nl"], min_length=1)
    licence: str = Field(min_length=1, description="SPDX id or a contract reference")
    legal_basis: LegalBasis = Field(description="GDPR article 6 basis for processing personal data in it")
    legal_basis_note: str | None = None
    personal_data: Literal["none", "expected", "special-category"]
    sector: str = Field(min_length=1, description="e.g. news, archives, justice, health, public-sector")
    schedule: str | None = Field(None, description="cron expression for incremental ingest (UTC); none: manual")
    status: Literal["sandbox", "approved", "suspended"] = "sandbox"
    priority: int = Field(0, description="when copies of a text exist, higher priority sources are kept")
    timezone: str = Field("Europe/Amsterdam", description="for timestamps written without an offset")
    politeness: Politeness = Field(default_factory=Politeness)
    credentials: Credentials | None = None
    fields: FieldMapping = Field(default_factory=FieldMapping, description="files only")
    oai_pmh: OaiPmhOptions = Field(default_factory=OaiPmhOptions)
    anonymisation: AnonymisationPolicy = Field(default_factory=AnonymisationPolicy)
    rss: RssOptions = Field(default_factory=RssOptions)
    quality: QualitySettings = Field(
        default_factory=QualitySettings,
        description="quality profile (web, news, archive-ocr, legal, sector; default from kind and sector) and "
        "threshold overrides; enabled: false keeps all",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_quality_profile(cls, data: Any) -> Any:
        """Give a spec that names no quality profile the default of its kind and sector."""
        if not isinstance(data, Mapping):
            return data
        quality = data.get("quality")
        if quality is None:
            quality = {}
        if not isinstance(quality, Mapping) or "profile" in quality:
            return data  # a settings object, or a profile named: as given (a wrong type is reported by fields)
        quality = dict(quality)
        if _PRE_PROFILE_FIELDS <= quality.keys():
            # stored before profiles existed, with every threshold written out: those were web's, and only
            # the values that differ from web's were the partner's own
            web = QualitySettings()
            own = {name: value for name, value in quality.items() if _differs(getattr(web, name, None), value)}
            return {**data, "quality": {"profile": "web", **own}}
        kind, sector = data.get("kind"), data.get("sector")
        profile = default_profile(kind if isinstance(kind, str) else None, sector if isinstance(sector, str) else None)
        return {**data, "quality": {"profile": profile, **quality}}

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        known = LANGUAGE_CODES
        unknown = [code for code in value if code not in known]
        if unknown:
            raise ValueError(
                f"unknown language code(s) {', '.join(unknown)}: use ISO 639-1 codes the language model knows, "
                "such as nl, fy, en, de, fr"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Amsterdam") from exc
        return value

    @property
    def releasable(self) -> bool:
        """Only approved sources enter a release; sandbox sources are processed but held back."""
        return self.status == "approved"

    @property
    def fetchable(self) -> bool:
        """Suspended sources are not fetched."""
        return self.status != "suspended"

    def to_data(self) -> dict[str, Any]:
        """Return the spec as plain data, without the sections that do not apply to its kind.

        This is the form that is stored, shown and digested: it validates again as it is.
        """
        data = self.model_dump(mode="json")
        # the profile and the spec's own overrides, so that a stored spec follows its profile
        data["quality"] = self.quality.to_data()
        if self.kind != "files":
            data.pop("fields")
            data.pop("format")
        if self.kind != "rss":
            data.pop("rss")
        if self.kind != "oai-pmh":
            data.pop("oai_pmh")
        return data

    @property
    def is_remote(self) -> bool:
        """True when the location is an http(s) URL (fetched through the guarded fetcher)."""
        return self.location.startswith(("http://", "https://"))


_URL_KINDS = ("rss", "oai-pmh")

#: The ``quality:`` fields before profiles existed: a stored spec naming all of them (and no profile) was
#: written out in full by an earlier version.
_PRE_PROFILE_FIELDS = frozenset(
    """
    enabled strip_boilerplate min_language_score dup_line_frac top_n_grams dup_n_grams line_punct_thr
    char_duplicates_ratio new_line_ratio min_doc_words max_doc_words min_avg_word_length max_avg_word_length
    max_symbol_word_ratio max_bullet_lines_ratio max_ellipsis_lines_ratio max_non_alpha_words_ratio
    min_stop_words stop_words min_ocr_confidence max_ocr_noise_ratio
    """.split()
)


def _differs(default: Any, value: Any) -> bool:
    """Tell whether a stored value differs from a default (lists compare with tuples as YAML stores them)."""

    def plain(item: Any) -> Any:
        return [plain(i) for i in item] if isinstance(item, (list, tuple)) else item

    return plain(default) != plain(value)


def _scheme(location: str) -> str:
    """Return the URL scheme of a location, lower case ('' for a local path)."""
    head, sep, _ = location.partition("://")
    return head.lower() if sep and head.isascii() and head.replace("+", "").replace("-", "").isalnum() else ""


def _cross_field_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return problems that involve several fields (run on the raw mapping, so all are reported together)."""
    problems: list[tuple[str, str]] = []
    kind = data.get("kind")
    if kind not in KINDS:
        kind = None  # an unknown kind is reported by field validation; kind-specific advice would mislead
    location = data.get("location")
    if kind == "files" and not data.get("format"):
        problems.append(("format", "a files source needs a format (hint: jsonl, csv or parquet)"))
    if kind not in (None, "files") and data.get("format"):
        problems.append(("format", f"only files sources have a format, not {kind} (hint: remove it)"))
    if kind not in (None, "files") and "fields" in data:
        problems.append(("fields", f"field mapping is for files sources, not {kind} (hint: remove it)"))
    if isinstance(location, str) and ("::" in location or _scheme(location) not in ("", "file", "s3", "http", "https")):
        problems.append(
            ("location", "use a local path, an s3:// URL or an http(s) URL (hint: no other schemes or '::' chains)")
        )
    elif kind == "files" and isinstance(location, str) and _scheme(location) in ("http", "https"):
        # File drops are read with fsspec, which would bypass the fetcher's address guard and politeness.
        problems.append(("location", "a files source is read from a local path or s3:// (hint: use kind warc/alto)"))
    if kind in _URL_KINDS and isinstance(location, str) and not location.startswith(("http://", "https://")):
        problems.append(("location", f"a {kind} source is fetched from an http(s) URL (hint: https://...)"))
    if isinstance(location, str) and location.startswith(("http://", "https://")) and ("@" in location.split("/")[2]):
        problems.append(("location", "credentials in a URL are not allowed (hint: use credentials.*_env)"))
    schedule = data.get("schedule")
    if schedule is not None:
        from croniter import croniter

        if not isinstance(schedule, str) or not croniter.is_valid(schedule):
            problems.append(("schedule", "not a valid cron expression (hint: '0 4 * * *' is daily at 04:00 UTC)"))
    politeness = data.get("politeness")
    if isinstance(politeness, Mapping):
        try:
            # Validated first, so "no", "off" or 0 count as false just as they do for the spec itself.
            settings = Politeness.model_validate(dict(politeness))
        except ValidationError:
            settings = None  # reported by field validation
        reason = settings.robots_override_reason if settings else None
        if settings and not settings.respect_robots and (not reason or len(reason.strip()) < 10):
            problems.append(
                (
                    "politeness.robots_override_reason",
                    "ignoring robots.txt needs a recorded reason (hint: who agreed, and when)",
                )
            )
    if data.get("personal_data") in ("expected", "special-category") and data.get("legal_basis") == "not-applicable":
        problems.append(("legal_basis", "a source with personal data needs a GDPR legal basis (hint: public-task)"))
    return problems


_HINTS = {
    "missing": "add this field",
    "extra_forbidden": "unknown field; check its spelling",
    "literal_error": "use one of the allowed values",
}
#: Hints for pattern errors, by the first part of the field path.
_PATTERN_HINTS = {
    "id": "use lower-case letters, digits and hyphens (3-64 characters)",
    "owner": "an e-mail address, e.g. data@partner.example",
    "credentials": "the NAME of an environment variable starting with SOURCE_ (e.g. SOURCE_KRANT_TOKEN), "
    "never the secret itself",
}


def _hint(error: Mapping[str, Any]) -> str | None:
    if error["type"] == "string_pattern_mismatch":
        return _PATTERN_HINTS.get(str(error["loc"][0]) if error["loc"] else "")
    return _HINTS.get(error["type"])


def parse_spec(data: Mapping[str, object], origin: str = "<spec>", base_dir: Path | None = None) -> SourceSpec:
    """Validate a spec mapping; raise :class:`SpecError` listing every problem with its field path.

    Field checks and cross-field checks both run, so a partner sees all mistakes in one go. A relative
    local ``location`` is resolved against ``base_dir`` (the folder of the spec file).
    """
    if not isinstance(data, Mapping):
        raise SpecError(origin, [("(document)", "a source spec must be a YAML mapping of fields")])
    problems = []
    spec = None
    try:
        spec = SourceSpec.model_validate(dict(data))
    except ValidationError as exc:
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"]) or "(document)"
            hint = _hint(error)
            message = error["msg"] + (f" (hint: {hint})" if hint else "")
            problems.append((path, message))
    problems += _cross_field_problems(data)
    if problems or spec is None:
        raise SpecError(origin, problems)
    local = "://" not in spec.location
    if base_dir is not None and local and not os.path.isabs(spec.location):
        spec = spec.model_copy(update={"location": str((base_dir / spec.location).resolve())})
    return spec


def load_spec(path: str | Path) -> SourceSpec:
    """Read and validate one YAML spec file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), [("(file)", f"cannot read: {exc.__class__.__name__}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise SpecError(str(path), [(where, "not valid YAML")]) from None
    return parse_spec(data, str(path), path.parent)


def bundled_sources_dir() -> Path:
    """Return the folder of the sample sources shipped with the package."""
    return Path(str(resources.files("catalog") / "samples" / "sources"))
