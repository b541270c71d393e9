from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from catalog.registry import SourceRegistry, UnknownSourceError
from catalog.settings import ENV_SOURCES
from catalog.sources import (
    Credentials,
    OaiPmhOptions,
    Politeness,
    RssOptions,
    SourceSpec,
    SpecError,
    bundled_sources_dir,
    load_spec,
    parse_spec,
)

from .conftest import spec_data

SAMPLE_IDS = {"archief-courant", "nieuws-dagblad", "sector-meldingen"}


def write_spec(folder: Path, filename: str, **overrides: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(yaml.safe_dump(spec_data(**overrides), allow_unicode=True), encoding="utf-8")
    return path


def test_parse_valid_spec_with_defaults() -> None:
    data = spec_data("mijn-bron")
    del data["status"]
    spec = parse_spec(data)
    assert isinstance(spec, SourceSpec)
    assert spec.id == "mijn-bron"
    assert spec.kind == "files"
    assert spec.format == "jsonl"
    assert spec.status == "sandbox"
    assert spec.timezone == "Europe/Amsterdam"
    assert spec.languages == ["nl"]
    assert spec.fields.native_id == "id"
    assert spec.fields.text == "text"
    assert spec.location == "mijn-bron.jsonl"  # no base_dir: left as written
    assert spec.owner.organisation == "Testorganisatie"
    assert spec.owner.contact == "data@test.example"
    assert (spec.legal_basis, spec.legal_basis_note, spec.sector) == ("not-applicable", None, "test")
    assert spec.schedule is None  # manual
    assert spec.priority == 0
    assert spec.credentials is None
    assert spec.politeness == Politeness()
    assert spec.oai_pmh == OaiPmhOptions() and spec.rss == RssOptions()
    assert not spec.is_remote


def test_parse_spec_with_field_mapping() -> None:
    spec = parse_spec(
        spec_data(
            format="csv",
            timezone="UTC",
            languages=["nl", "fy"],
            fields={"native_id": None, "text": "tekst", "title": "kop", "url": "link", "published_at": None},
        )
    )
    assert spec.format == "csv"
    assert spec.languages == ["nl", "fy"]
    assert spec.fields.native_id is None
    assert spec.fields.text == "tekst"
    assert spec.fields.published_at is None


def test_spec_is_frozen() -> None:
    spec = parse_spec(spec_data())
    with pytest.raises(ValueError):
        spec.status = "suspended"  # type: ignore[misc]


def test_invalid_spec_reports_every_problem_with_paths() -> None:
    data = spec_data(id="Slechte_ID!", kind="ftp", timezone="Mars/Olympus_Mons", kleur="blauw")
    del data["licence"]
    del data["format"]  # see test_unknown_kind_gets_no_advice_that_depends_on_the_kind
    with pytest.raises(SpecError) as info:
        parse_spec(data, origin="bronnen/slecht.yaml")
    error = info.value
    problems = dict(error.problems)
    assert set(problems) == {"id", "kind", "licence", "timezone", "kleur"}
    assert "lower-case letters" in problems["id"]
    assert "allowed values" in problems["kind"]
    assert "add this field" in problems["licence"]
    assert "Mars/Olympus_Mons" in problems["timezone"] and "IANA" in problems["timezone"]
    assert "unknown field" in problems["kleur"]
    assert error.origin == "bronnen/slecht.yaml"
    message = str(error)
    assert message.startswith("invalid source spec bronnen/slecht.yaml")
    for path in problems:
        assert f"{path}: " in message


def test_nested_field_problems_have_dotted_paths() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(
            spec_data(
                fields={"text": "body", "txt": "x"},
                languages=[],
                format="xml",
                personal_data="ja",
                owner={"organisation": "", "contact": "data@test.example", "telefoon": "050-1234567"},
                politeness={"rate_limit_per_second": 0, "retries": 11},
                oai_pmh={"fulltext": "pdf"},
                rss={"fetch_articles": "misschien"},
            )
        )
    paths = {path for path, _ in info.value.problems}
    assert paths == {
        "fields.txt",
        "languages",
        "format",
        "personal_data",
        "owner.organisation",
        "owner.telefoon",
        "politeness.rate_limit_per_second",
        "politeness.retries",
        "oai_pmh.fulltext",
        "rss.fetch_articles",
    }


@pytest.mark.parametrize("bad_id", ["ab", "-begint-met-streep", "eindigt-", "HOOFD", "met spatie", "a" * 65])
def test_source_id_pattern(bad_id: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(id=bad_id))
    assert [path for path, _ in info.value.problems] == ["id"]


@pytest.mark.parametrize("value", [None, "just a string", ["a", "list"], 42])
def test_non_mapping_spec_is_rejected(value: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(value, origin="x.yaml")  # type: ignore[arg-type]
    assert info.value.problems[0][0] == "(document)"


def test_relative_location_is_resolved_against_the_spec_folder(tmp_path: Path) -> None:
    spec_dir = tmp_path / "bronnen" / "specs"
    spec = parse_spec(spec_data(location="../data/*.jsonl"), base_dir=spec_dir)
    assert spec.location == str((tmp_path / "bronnen" / "data" / "*.jsonl").resolve())
    assert os.path.isabs(spec.location)


def test_absolute_and_remote_locations_are_kept(tmp_path: Path) -> None:
    absolute = str(tmp_path / "elders" / "data.jsonl")
    assert parse_spec(spec_data(location=absolute), base_dir=tmp_path / "specs").location == absolute
    remote = "s3://emmer/drop/*.jsonl"
    assert parse_spec(spec_data(location=remote), base_dir=tmp_path / "specs").location == remote


def test_load_spec_resolves_location_against_its_file(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "specs", "bron.yaml", location="../data/bron.csv", format="csv")
    spec = load_spec(path)
    assert spec.location == str((tmp_path / "data" / "bron.csv").resolve())


def test_load_spec_invalid_yaml_gives_line_number(tmp_path: Path) -> None:
    path = tmp_path / "kapot.yaml"
    path.write_text("id: goed-id\nname: Test\nowner: x: y\nkind: files\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [("line 3", "not valid YAML")]
    assert str(path) in str(info.value)


def test_load_spec_invalid_content_names_the_file(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "bron.yaml", kind="rss")  # still has the format and local path of a file drop
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.origin == str(path)
    assert [p for p, _ in info.value.problems] == ["format", "location"]


def test_load_spec_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"id: caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems[0][0] == "(file)"
    with pytest.raises(SpecError):
        load_spec(tmp_path / "bestaat-niet.yaml")


def test_registry_over_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    write_spec(folder, "a.yaml", source_id="bron-a")
    write_spec(folder, "b.yml", source_id="bron-b", status="sandbox")
    (folder / "notities.txt").write_text("geen spec", encoding="utf-8")
    registry = SourceRegistry([folder])
    specs = registry.specs()
    assert sorted(specs) == ["bron-a", "bron-b"]
    assert registry.get("bron-b").status == "sandbox"
    assert registry.get("bron-a").location == str(folder / "bron-a.jsonl")
    with pytest.raises(UnknownSourceError, match="bron-a, bron-b"):
        registry.get("bron-c")


def test_registry_from_env_uses_path_separated_folders(tmp_path: Path) -> None:
    write_spec(tmp_path / "een", "a.yaml", source_id="bron-a")
    write_spec(tmp_path / "twee", "b.yaml", source_id="bron-b")
    value = os.pathsep.join([str(tmp_path / "een"), "", str(tmp_path / "twee")])
    registry = SourceRegistry.from_env({ENV_SOURCES: value})
    assert sorted(registry.specs()) == ["bron-a", "bron-b"]


def test_registry_duplicate_ids_across_files_raise(tmp_path: Path) -> None:
    write_spec(tmp_path / "een", "a.yaml", source_id="zelfde-bron")
    write_spec(tmp_path / "twee", "b.yaml", source_id="zelfde-bron")
    registry = SourceRegistry([tmp_path / "een", tmp_path / "twee"])
    with pytest.raises(SpecError) as info:
        registry.specs()
    assert info.value.origin == str(tmp_path / "twee" / "b.yaml")
    path, message = info.value.problems[0]
    assert path == "id"
    assert "zelfde-bron" in message and str(tmp_path / "een" / "a.yaml") in message


def test_registry_invalid_file_raises(tmp_path: Path) -> None:
    write_spec(tmp_path, "goed.yaml", source_id="goede-bron")
    write_spec(tmp_path, "slecht.yaml", source_id="slechte-bron", personal_data="misschien")
    with pytest.raises(SpecError, match="personal_data"):
        SourceRegistry([tmp_path]).specs()


def test_registry_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        SourceRegistry([tmp_path / "nergens"]).specs()


def test_empty_registry_get_says_none(tmp_path: Path) -> None:
    with pytest.raises(UnknownSourceError, match="none"):
        SourceRegistry([tmp_path]).get("iets")


def test_bundled_registry_has_the_three_approved_samples() -> None:
    registry = SourceRegistry.from_env({})
    assert registry.folders == [bundled_sources_dir()]
    specs = registry.specs()
    assert set(specs) == SAMPLE_IDS
    for spec in specs.values():
        assert spec.status == "approved"
        assert spec.releasable and spec.fetchable
        assert spec.kind == "files"
        assert Path(spec.location).is_file(), spec.location
        assert spec.owner.organisation and spec.owner.contact.endswith(".example")
        assert spec.personal_data == "expected"
        assert spec.legal_basis in ("public-task", "legitimate-interests")
        assert spec.schedule == "0 3 * * *"
    assert {spec.sector for spec in specs.values()} == {"archives", "news", "public-sector"}
    assert specs["archief-courant"].format == "csv"
    assert specs["sector-meldingen"].fields.url is None
    assert specs["nieuws-dagblad"].fields.text == "body"


@pytest.mark.parametrize(
    ("status", "releasable", "fetchable"),
    [("sandbox", False, True), ("approved", True, True), ("suspended", False, False)],
)
def test_releasable_and_fetchable_by_status(status: str, releasable: bool, fetchable: bool) -> None:
    spec = parse_spec(spec_data(status=status))
    assert spec.releasable is releasable
    assert spec.fetchable is fetchable


def test_unknown_status_is_rejected() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(status="published"))
    assert [p for p, _ in info.value.problems] == ["status"]


# -- the richer spec: owner, legal basis, schedule, politeness, credentials, kinds -----------------

#: A credential value a partner might paste where the name of an environment variable belongs.
PASTED_SECRET = "Zomer2026!geheim"


def test_a_spec_with_many_mistakes_reports_all_of_them_at_once() -> None:
    data = spec_data(
        id="Nieuws_Bron!",  # bad id
        kind="rss",
        format="jsonl",  # only files sources have a format
        location="https://nieuws.example/feed.xml",
        owner={"organisation": "Omroep Noord (fictief)"},  # no contact
        schedule="elke ochtend",  # not cron
        politeness={"respect_robots": False},  # no recorded reason
        credentials={"token_env": PASTED_SECRET},  # a value, not the name of an environment variable
        personal_data="expected",
        legal_basis="not-applicable",  # personal data needs a GDPR basis
    )
    with pytest.raises(SpecError) as info:
        parse_spec(data, origin="bronnen/nieuws.yaml")
    error = info.value
    problems = dict(error.problems)
    assert len(problems) == len(error.problems)  # one problem per path here
    assert set(problems) == {
        "id",
        "owner.contact",
        "format",
        "schedule",
        "politeness.robots_override_reason",
        "credentials.token_env",
        "legal_basis",
    }
    assert "add this field" in problems["owner.contact"]
    assert "only files sources have a format" in problems["format"]
    assert "cron" in problems["schedule"]
    assert "reason" in problems["politeness.robots_override_reason"]
    assert "legal basis" in problems["legal_basis"]
    message = str(error)
    assert message.startswith("invalid source spec bronnen/nieuws.yaml: ")
    for path in problems:
        assert f"{path}: " in message
    assert PASTED_SECRET not in message  # a pasted secret is never repeated in an error


def test_field_and_cross_field_problems_come_in_one_error(tmp_path: Path) -> None:
    """A partner fixing one mistake at a time would never see the second: both kinds come in one error."""
    path = write_spec(tmp_path, "bron.yaml", licence="", kind="files", format=None, schedule="* * *")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert [p for p, _ in info.value.problems] == ["licence", "format", "schedule"]


def test_unknown_kind_is_one_problem() -> None:
    data = spec_data(kind="ftp")
    del data["format"]
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    ((path, message),) = info.value.problems
    assert path == "kind"
    for kind in ("rss", "warc", "oai-pmh", "alto", "rechtspraak", "files"):
        assert f"'{kind}'" in message


def test_unknown_kind_gets_no_advice_that_depends_on_the_kind() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(kind="ftp"))  # a files spec whose kind was mistyped
    assert [path for path, _ in info.value.problems] == ["kind"]


@pytest.mark.parametrize(
    ("kind", "location"),
    [
        ("rss", "https://nieuws.example/feed.xml"),
        ("oai-pmh", "https://archief.example/oai"),
        ("warc", "s3://emmer/crawl/*.warc.gz"),
        ("alto", "scans/*.xml"),
        ("rechtspraak", "https://data.rechtspraak.example/uitspraken.txt"),
    ],
)
def test_every_non_files_kind_parses_without_format_or_field_mapping(kind: str, location: str) -> None:
    data = spec_data(kind=kind, location=location)
    del data["format"]
    spec = parse_spec(data)
    assert (spec.kind, spec.format, spec.location) == (kind, None, location)
    assert spec.is_remote is location.startswith("https://")


def test_files_source_needs_a_format() -> None:
    data = spec_data()
    del data["format"]
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    ((path, message),) = info.value.problems
    assert path == "format"
    assert "jsonl, csv or parquet" in message


@pytest.mark.parametrize("kind", ["rss", "oai-pmh", "warc", "alto", "rechtspraak"])
def test_format_and_field_mapping_are_refused_for_other_kinds(kind: str) -> None:
    data = spec_data(kind=kind, location="https://bron.example/data", fields={"text": "body"})
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    problems = dict(info.value.problems)
    assert set(problems) == {"format", "fields"}
    assert f"not {kind}" in problems["format"] and "remove it" in problems["format"]
    assert f"not {kind}" in problems["fields"]


@pytest.mark.parametrize("kind", ["rss", "oai-pmh"])
@pytest.mark.parametrize("location", ["feed.xml", "s3://emmer/feed.xml"])
def test_feeds_and_oai_pmh_need_an_http_url(kind: str, location: str) -> None:
    data = spec_data(kind=kind, location=location)
    del data["format"]
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    ((path, message),) = info.value.problems
    assert path == "location"
    assert "http(s) URL" in message


@pytest.mark.parametrize("kind", ["rss", "oai-pmh"])
def test_feeds_and_oai_pmh_refuse_other_schemes(kind: str) -> None:
    """An ftp:// feed is refused for its scheme (any location) and may also get the http(s) advice."""
    data = spec_data(kind=kind, location="ftp://bron.example/feed.xml")
    del data["format"]
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    assert {p for p, _ in info.value.problems} == {"location"}
    assert any("no other schemes" in message for _, message in info.value.problems)


@pytest.mark.parametrize(
    ("kind", "location"),
    [
        ("alto", "memory://emmer/scans/*.xml"),
        ("warc", "ftp://bron.example/crawl/*.warc.gz"),
        ("files", "gcs://emmer/drop/*.jsonl"),
        ("rss", "simplecache::http://bron.example/feed.xml"),
        ("alto", "simplecache::https://bron.example/scans/p1.xml"),
        ("files", "simplecache::s3://emmer/drop/*.jsonl"),
        ("files", "https://bron.example/drop/data.jsonl"),
        ("files", "http://bron.example/drop/data.jsonl"),
    ],
)
def test_unsafe_locations_are_refused(kind: str, location: str) -> None:
    """Only local paths, file://, s3:// and http(s):// (not for files) pass: fsspec would fetch anything else
    without the fetcher's address guard."""
    data = spec_data(kind=kind, location=location)
    if kind != "files":
        del data["format"]
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    assert {p for p, _ in info.value.problems} == {"location"}
    if kind == "files" and location.startswith("http"):
        ((_, message),) = info.value.problems
        assert "local path or s3://" in message
    else:
        assert any("no other schemes or '::' chains" in message for _, message in info.value.problems)


@pytest.mark.parametrize(
    ("kind", "location"),
    [
        ("files", "/data/drop/*.jsonl"),
        ("files", "file:///data/drop/*.jsonl"),
        ("files", "s3://emmer/drop/*.jsonl"),
        ("alto", "https://bron.example/scans/p1.xml"),
        ("warc", "http://bron.example/crawl.warc.gz"),
    ],
)
def test_safe_locations_are_accepted(kind: str, location: str) -> None:
    data = spec_data(kind=kind, location=location)
    if kind != "files":
        del data["format"]
    assert parse_spec(data).location == location


@pytest.mark.parametrize(
    "location", ["https://gebruiker:wachtwoord@bron.example/feed.xml", "http://token@bron.example/oai"]
)
def test_credentials_in_a_url_are_refused(location: str) -> None:
    data = spec_data(kind="rss", location=location)
    del data["format"]
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    ((path, message),) = info.value.problems
    assert path == "location"
    assert "credentials" in message and "_env" in message
    assert "wachtwoord" not in str(info.value)


@pytest.mark.parametrize("schedule", ["0 3 * * *", "*/15 * * * *", "30 2 * * 1-5", "0 4 1 * *"])
def test_valid_cron_schedules(schedule: str) -> None:
    assert parse_spec(spec_data(schedule=schedule)).schedule == schedule


@pytest.mark.parametrize("schedule", ["dagelijks", "61 * * * *", "0 25 * * *", "* * *", ""])
def test_invalid_cron_schedules(schedule: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(schedule=schedule))
    assert {p for p, _ in info.value.problems} == {"schedule"}
    assert any("cron" in message for _, message in info.value.problems)


def test_ignoring_robots_needs_a_recorded_reason() -> None:
    reason = "Partner gaf schriftelijk toestemming (mail 2026-03-02, J. de Vries)"
    spec = parse_spec(spec_data(politeness={"respect_robots": False, "robots_override_reason": reason}))
    assert spec.politeness.respect_robots is False
    assert spec.politeness.robots_override_reason == reason
    for too_short in (None, "", "   ", "mag wel"):
        with pytest.raises(SpecError) as info:
            parse_spec(spec_data(politeness={"respect_robots": False, "robots_override_reason": too_short}))
        assert [p for p, _ in info.value.problems] == ["politeness.robots_override_reason"]
    # respecting robots.txt needs no reason
    assert parse_spec(spec_data(politeness={"respect_robots": True})).politeness.robots_override_reason is None


@pytest.mark.parametrize("value", [0, "false", "no", "off"])
def test_ignoring_robots_needs_a_reason_however_false_is_written(value: object) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(politeness={"respect_robots": value}))
    assert [p for p, _ in info.value.problems] == ["politeness.robots_override_reason"]


def test_politeness_defaults_and_bounds() -> None:
    polite = Politeness()
    assert (polite.rate_limit_per_second, polite.retries, polite.respect_robots) == (1.0, 3, True)
    assert polite.max_response_bytes == 50_000_000
    custom = parse_spec(
        spec_data(politeness={"rate_limit_per_second": 0.2, "read_timeout_seconds": 120, "max_response_bytes": 1024})
    ).politeness
    assert (custom.rate_limit_per_second, custom.read_timeout_seconds, custom.max_response_bytes) == (0.2, 120, 1024)
    bad = {
        "rate_limit_per_second": 51,
        "connect_timeout_seconds": 0,
        "read_timeout_seconds": 601,
        "retries": -1,
        "backoff_seconds": 61,
        "max_response_bytes": 0,
    }
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(politeness=bad))
    assert {p for p, _ in info.value.problems} == {f"politeness.{name}" for name in bad}


def test_credentials_are_names_of_environment_variables() -> None:
    spec = parse_spec(
        spec_data(credentials={"username_env": "SOURCE_NOORD_USER", "password_env": "SOURCE_NOORD_WACHTWOORD"})
    )
    assert spec.credentials == Credentials(username_env="SOURCE_NOORD_USER", password_env="SOURCE_NOORD_WACHTWOORD")
    assert spec.credentials.token_env is None


@pytest.mark.parametrize(
    ("credentials", "path"),
    [
        ({"token_env": PASTED_SECRET}, "credentials.token_env"),
        ({"password_env": "noord_wachtwoord"}, "credentials.password_env"),  # lower case: not a variable name
        ({"username_env": "1USER"}, "credentials.username_env"),
        ({"password": PASTED_SECRET}, "credentials.password"),  # only *_env fields exist
    ],
)
def test_credential_values_are_refused(credentials: dict[str, str], path: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(credentials=credentials))
    assert [p for p, _ in info.value.problems] == [path]
    assert PASTED_SECRET not in str(info.value)


@pytest.mark.parametrize("field", ["username_env", "password_env", "token_env"])
@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "DAGSTER_PG_PASSWORD", "CORPUSFABRIEK_S3_KEY", "SOURCE_"])
def test_credentials_only_name_source_variables(field: str, name: str) -> None:
    """A spec may never name the pipeline's own secrets: they would be sent to the partner's host."""
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(credentials={field: name}))
    assert [p for p, _ in info.value.problems] == [f"credentials.{field}"]


def test_an_aws_secret_as_token_is_refused_with_a_hint() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(credentials={"token_env": "AWS_SECRET_ACCESS_KEY"}))
    ((path, message),) = info.value.problems
    assert path == "credentials.token_env"
    assert "SOURCE_" in message


def test_pattern_hints_fit_the_field() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(credentials={"token_env": "noord-token"}, owner={"organisation": "O", "contact": "x"}))
    problems = dict(info.value.problems)
    assert "lower-case" not in problems["credentials.token_env"]
    assert "lower-case" not in problems["owner.contact"]


@pytest.mark.parametrize("contact", ["geen-adres", "twee@@apen.example", "met spatie@bron.example", "a@b"])
def test_owner_contact_must_be_an_email_address(contact: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(owner={"organisation": "Bron", "contact": contact}))
    assert [p for p, _ in info.value.problems] == ["owner.contact"]


@pytest.mark.parametrize("field", ["owner", "legal_basis", "sector", "personal_data"])
def test_new_required_fields(field: str) -> None:
    data = spec_data()
    del data[field]
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    assert info.value.problems == [(field, "Field required (hint: add this field)")]


@pytest.mark.parametrize("personal_data", ["expected", "special-category"])
def test_personal_data_needs_a_gdpr_legal_basis(personal_data: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(personal_data=personal_data, legal_basis="not-applicable"))
    assert [p for p, _ in info.value.problems] == ["legal_basis"]
    spec = parse_spec(spec_data(personal_data=personal_data, legal_basis="public-task", legal_basis_note="Archiefwet"))
    assert (spec.legal_basis, spec.legal_basis_note) == ("public-task", "Archiefwet")


def test_legal_basis_is_one_of_the_gdpr_bases() -> None:
    for basis in ("consent", "contract", "legal-obligation", "vital-interests", "public-task", "legitimate-interests"):
        assert parse_spec(spec_data(legal_basis=basis, personal_data="expected")).legal_basis == basis
    assert parse_spec(spec_data(legal_basis="not-applicable", personal_data="none")).legal_basis == "not-applicable"
    with pytest.raises(SpecError) as info:
        parse_spec(spec_data(legal_basis="gerechtvaardigd-belang"))
    assert [p for p, _ in info.value.problems] == ["legal_basis"]


def test_a_full_networked_spec() -> None:
    spec = parse_spec(
        {
            "id": "omroep-noord",
            "name": "Omroep Noord — nieuws",
            "owner": {"organisation": "Omroep Noord (fictief)", "contact": "data@omroepnoord.example"},
            "kind": "rss",
            "location": "https://omroepnoord.example/rss/nieuws.xml",
            "licence": "contract ON-2026-04",
            "legal_basis": "legitimate-interests",
            "legal_basis_note": "afweging 2026-04, DPO akkoord",
            "personal_data": "expected",
            "sector": "news",
            "schedule": "*/30 * * * *",
            "status": "sandbox",
            "priority": 5,
            "politeness": {"rate_limit_per_second": 0.5, "retries": 2},
            "credentials": {"token_env": "SOURCE_OMROEP_NOORD_TOKEN"},
            "rss": {"fetch_articles": False},
        }
    )
    assert spec.is_remote and not spec.releasable and spec.fetchable
    assert (spec.priority, spec.schedule, spec.rss.fetch_articles) == (5, "*/30 * * * *", False)
    assert spec.credentials is not None and spec.credentials.token_env == "SOURCE_OMROEP_NOORD_TOKEN"
    assert spec.politeness.respect_robots is True
    assert spec.oai_pmh.fulltext == "link"  # defaults of options the kind does not use are harmless


def test_places_and_organisations_are_replaced_only_when_a_policy_lists_them():
    from catalog.sources import OPTIONAL_PII_ENTITIES, AnonymisationPolicy

    assert not set(OPTIONAL_PII_ENTITIES) & set(AnonymisationPolicy().entities)
    policy = AnonymisationPolicy(entities=["PERSON", "LOCATION"], operators={"ORGANIZATION": "placeholder"})
    assert policy.entities == ["PERSON", "LOCATION"]
    with pytest.raises(ValueError, match=r"PLACE|Input should be"):
        AnonymisationPolicy(entities=["PLACE"])


def test_the_language_codes_a_spec_may_name_are_those_the_language_model_knows():
    from catalog.quality_settings import LANGUAGE_CODES
    from quality.language import supported_languages

    assert supported_languages() == LANGUAGE_CODES
