"""Fault injection: a run killed at every failpoint, and two runs racing, on a source full of planted identifiers.

One files source delivers documents whose native id, URL, title, text and metadata carry personal data, next
to records that must be quarantined (a lone surrogate, 100,000-deep JSON, a broken line, an array). For each
failpoint of :mod:`catalog.failpoints` a ``corpusfabriek run`` is killed there with SIGKILL, then run again.
After every step the suite checks the promises of the README:

- nothing half-done is visible: every listed release is complete and verifies against its manifest;
- the next run recovers: it succeeds, leaves no Dagster run unfinished and no incomplete build behind, and
  every published release version is in the near-duplicate index;
- nothing is lost: every record read is kept, dropped or quarantined, and the recovered release holds exactly
  the documents of an uninterrupted run;
- nothing leaks: no planted identifier appears anywhere outside the restricted zones (``raw/``,
  ``quarantine/``, ``clean/``): not in releases, the excluded zone, reports, validations, the index, the
  catalog or ``secrets/``, not in Dagster's event log and log files, not in what the commands print;
- nothing gets in: specs that point at ``/proc/self/environ`` or glob into the storage root read nothing,
  and the source that owns them is held back while the others are released.

Run only this suite with ``python -m pytest -m faults``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pytest

from catalog.failpoints import FAILPOINTS
from tests.conftest import BIN

pytestmark = pytest.mark.faults

SOURCE = "geplant-nieuws"
CORPUS = "nl-main"

#: Every identifier planted in the source; none may appear outside the restricted zones.
PLANTED = (
    "jan.jansen@example.nl",  # native id
    "111222333",  # BSN in the URL's query
    "NL91ABNA0417164300",  # IBAN in the URL's query
    "Pieter de Vries",  # full name in the title and the text
    "pieter.devries@example.nl",  # e-mail in the text and in a metadata field
    "06-12345678",  # phone number
    "NL20INGB0001234567",  # IBAN in the text
    "123456782",  # BSN in the text
)
#: Zones that hold original text by design (the clean zone is the anonymiser's input); everything else is scanned.
RESTRICTED = ("raw", "quarantine", "clean")

FILLER = (
    "De gemeenteraad van Assen heeft gisteravond ingestemd met de bouw van tweehonderd huurwoningen aan de rand "
    "van de stad. De eerste palen gaan volgend voorjaar de grond in.",
    "Door de aanhoudende regen staat het water in de Drentsche Aa hoger dan in jaren. Het waterschap houdt de "
    "dijken nauwlettend in de gaten en vraagt wandelaars de uiterwaarden te mijden.",
    "Het Groninger Museum opent in maart een tentoonstelling over de Ploeg, de kunstenaarskring die honderd jaar "
    "geleden het noordelijke landschap in felle kleuren schilderde.",
    "Supermarkten in Friesland zien de verkoop van streekproducten stijgen. Vooral zuivel en brood van lokale "
    "bakkers vinden gretig aftrek, zeggen ondernemers in Leeuwarden.",
    "Een storing in de treinverbinding tussen Zwolle en Meppel zorgde vanochtend voor vertraging. Reizigers "
    "werden met bussen vervoerd; rond het middaguur reden de treinen weer volgens de dienstregeling.",
    "Basisscholen in Emmen krijgen extra geld voor leesonderwijs. Leerkrachten willen het gebruiken voor nieuwe "
    "boeken in de schoolbibliotheek en voor voorleesuren met ouders.",
    "De haven van Delfzijl verwerkte dit jaar meer zeezand en minder steenkool dan vorig jaar, blijkt uit de "
    "cijfers van het havenbedrijf. De omslag past bij de energietransitie.",
    "Op het Zernike-terrein werd een nieuw laboratorium voor waterstofonderzoek geopend. Studenten en bedrijven "
    "gaan er samen proeven doen met elektrolyse op grote schaal.",
    "Boeren in het Westerkwartier maken zich zorgen over de droogte. Het maïs staat er slecht bij en sommige "
    "percelen worden al beregend met water uit de sloten.",
    "Het schaatsseizoen op de natuurijsbaan van Haren kan beginnen zodra het drie nachten flink vriest. De "
    "ijsvereniging heeft de baan al onder water gezet.",
)

SPEC = """\
id: {source}
name: Geplante identifiers (fault suite)
owner:
  organisation: Testredactie (fictief)
  contact: redactie@krant.example
kind: files
format: jsonl
location: {location}
licence: EUPL-1.2
languages: [nl]
personal_data: expected
legal_basis: public-task
sector: news
schedule: "0 3 * * *"
status: approved
fields:
  native_id: id
  text: tekst
  title: kop
  url: url
  published_at: datum
quality:
  min_doc_words: 5
  max_non_alpha_words_ratio: 0.5
  line_punct_thr: 0
  min_language_score: 0.3
  top_n_grams: []
"""


def planted_lines() -> list[str]:
    """The delivery: one document full of identifiers, distinct filler articles, four records to quarantine."""
    documents = [
        {
            "id": "jan.jansen@example.nl",
            "kop": "Pieter de Vries opent de nieuwe bibliotheek in Groningen",
            "url": "https://krant.example/artikel/1?bsn=111222333&iban=NL91ABNA0417164300",
            "datum": "2026-10-01",
            "afzender": "Ingezonden door pieter.devries@example.nl",
            "tekst": "De nieuwe bibliotheek in het centrum van Groningen is gisteren geopend door Pieter de Vries. "
            "Bezoekers kunnen hem bereiken via pieter.devries@example.nl of 06-12345678. Donaties zijn welkom op "
            "rekening NL20INGB0001234567. Zijn burgerservicenummer 123456782 stond per ongeluk in het persbericht. "
            "De bibliotheek is elke dag open van negen tot vijf uur.",
        }
    ]
    for number, text in enumerate(FILLER, start=2):
        documents.append(
            {
                "id": f"art-{number}",
                "kop": text.split(".")[0][:60],
                "url": f"https://krant.example/artikel/{number}",
                "datum": "2026-10-02",
                "tekst": text,
            }
        )
    lines = [json.dumps(document, ensure_ascii=False) for document in documents]
    lines += [
        '{"id": "surrogaat", "kop": "Kapot", "tekst": "Een losse helft \\ud800 van een teken in een lange tekst."}',
        '{"id": "diep", "kop": "Diep", "tekst": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"id": "afgebroken", "kop": "Afgebroken", "tekst": "Deze regel houdt op',
        "[1, 2, 3]",
    ]
    return lines


DOCUMENTS = 1 + len(FILLER)
QUARANTINED = {"invalid_text": 1, "malformed_json": 2, "not_an_object": 1}


class Workdir:
    """A fresh working folder with the planted source, a Dagster home and a private temp folder."""

    def __init__(self, base: Path) -> None:
        self.base = base
        drop, specs = base / "drop", base / "specs"
        for folder in (drop, specs, base / "dagster_home", base / "tmp"):
            folder.mkdir(parents=True)
        (drop / "planted.jsonl").write_text("\n".join(planted_lines()) + "\n", encoding="utf-8")
        (specs / f"{SOURCE}.yaml").write_text(SPEC.format(source=SOURCE, location=drop / "planted.jsonl"))
        self.root = base / "work" / ".corpusfabriek"
        self.root.parent.mkdir()
        self.home = base / "dagster_home"
        # no anonymisation key in the environment: the local root generates its own key file
        self.env = {
            "PATH": str(BIN),
            "HOME": str(base),
            "DAGSTER_HOME": str(self.home),
            "TMPDIR": str(base / "tmp"),
            "CORPUSFABRIEK_SOURCES": str(specs),
            "CORPUSFABRIEK_DROP_FOLDERS": str(drop),
        }
        self.printed: list[str] = []

    def start(self, *args: str, failpoint: str | None = None) -> subprocess.Popen:
        """Start a ``corpusfabriek`` command in the working folder (armed at ``failpoint``)."""
        env = dict(self.env, CORPUSFABRIEK_FAILPOINT=failpoint) if failpoint else self.env
        return subprocess.Popen(
            [str(BIN / "corpusfabriek"), *args],
            cwd=self.root.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, process: subprocess.Popen) -> subprocess.CompletedProcess:
        """Wait for a command, keep what it printed for the leak scan."""
        out, err = process.communicate(timeout=300)
        self.printed += [out, err]
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def run(self, *args: str, failpoint: str | None = None) -> subprocess.CompletedProcess:
        """Run a ``corpusfabriek`` command to its end."""
        return self.finish(self.start(*args, failpoint=failpoint))


def _json_text(frame: pl.DataFrame) -> Iterable[str]:
    for row in frame.iter_rows(named=True):
        yield json.dumps(row, default=str, ensure_ascii=False)


def leaks(work: Workdir) -> list[str]:
    """Where planted identifiers appear outside the restricted zones: ``path: identifier`` lines."""
    found = []

    def scan(where: str, text: str) -> None:
        found.extend(f"{where}: {planted}" for planted in PLANTED if planted in text)

    for path in sorted(p for p in work.root.rglob("*") if p.is_file()):
        relative = path.relative_to(work.root)
        if relative.parts[0] in RESTRICTED:
            continue
        if path.suffix == ".parquet":
            scan(str(relative), "\n".join(_json_text(pl.read_parquet(path))))
        else:
            scan(str(relative), path.read_bytes().decode("utf-8", errors="replace"))
    for path in sorted(p for p in work.home.rglob("*") if p.is_file()):  # event log database, log files
        scan(f"$DAGSTER_HOME/{path.relative_to(work.home)}", path.read_bytes().decode("utf-8", errors="replace"))
    for number, printed in enumerate(work.printed):
        scan(f"output {number}", printed)
    return found


def complete_versions(work: Workdir) -> list[str]:
    """Release versions that have a manifest, after checking that each one verifies."""
    listed = work.run("releases", "list")
    assert listed.returncode == 0, listed.stderr
    folder = work.root / "releases" / CORPUS
    versions = sorted(p.name for p in folder.iterdir() if (p / "manifest.json").exists()) if folder.exists() else []
    for version in versions:
        verified = work.run("releases", "verify", version)
        assert verified.returncode == 0, (version, verified.stdout, verified.stderr)
    return versions


def unfinished_runs(work: Workdir) -> list[str]:
    """Dagster runs of the working folder's instance that are not finished (a crashed run left STARTED)."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(work.home)))
    try:
        return [run.run_id for run in instance.get_runs() if not run.is_finished]
    finally:
        instance.dispose()


def released_doc_ids(work: Workdir, version: str) -> list[str]:
    """``doc_id`` of every document in a release version."""
    parts = sorted((work.root / "releases" / CORPUS / version).glob("*.parquet"))
    return [doc for part in parts for doc in pl.read_parquet(part, columns=["doc_id"])["doc_id"]]


def assert_accounted(work: Workdir) -> None:
    """Every record read is a raw document or quarantined; every raw document is kept or dropped; no loss."""
    reports = [json.loads(p.read_text()) for p in (work.root / "raw" / SOURCE / "ingests").glob("*.json")]
    read = sum(report["records_read"] for report in reports)
    documents = sum(report["documents"] for report in reports)
    assert read == documents + sum(report["quarantined"] for report in reports)
    quarantined: dict[str, int] = {}
    for report in reports:
        for reason, count in report["quarantined_by_reason"].items():
            quarantined[reason] = quarantined.get(reason, 0) + count
    assert quarantined == QUARANTINED
    assert documents == DOCUMENTS  # the one delivery, ingested exactly once
    clean = json.loads((work.root / "clean" / SOURCE / "clean.json").read_text())
    assert clean["accounting_balanced"] and clean["kept"] + clean["dropped"] == documents
    anonymised = json.loads((work.root / "anonymised" / SOURCE / "anonymised.json").read_text())
    assert anonymised["documents_in"] == anonymised["documents_out"] == clean["kept"]


def assert_indexed(work: Workdir, versions: list[str]) -> None:
    """Every published version that hashed documents has its parts in the near-duplicate index."""
    for version in versions:
        manifest = json.loads((work.root / "releases" / CORPUS / version / "manifest.json").read_text())
        if manifest["near_duplicates"]["documents_hashed"]:
            index = work.root / manifest["near_duplicates"]["index"]
            assert (index / f"bands-{version}.parquet").exists(), f"{version} published but not indexed"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """An uninterrupted run: the release every recovered run must reproduce."""
    work = Workdir(tmp_path_factory.mktemp("baseline"))
    result = work.run("run")
    assert result.returncode == 0, result.stderr
    assert "generated the anonymisation key" in result.stderr
    (version,) = complete_versions(work)
    assert_accounted(work)
    assert_indexed(work, [version])
    assert leaks(work) == []
    # the scan is not vacuous: the identifiers did arrive (in the restricted raw zone), the event log was read
    (batch,) = (work.root / "raw" / SOURCE / "batches").glob("*.parquet")
    raw = "\n".join(_json_text(pl.read_parquet(batch)))
    assert [planted for planted in PLANTED if planted not in raw] == []
    assert list(work.home.rglob("*.db")), "no Dagster event log found to scan"
    doc_ids = released_doc_ids(work, version)
    assert len(doc_ids) == len(set(doc_ids)) == DOCUMENTS  # the filler articles are not near duplicates
    return {"doc_ids": sorted(doc_ids)}


@pytest.mark.parametrize("point", FAILPOINTS)
def test_a_run_killed_at_a_failpoint_leaves_a_correct_state_and_the_next_recovers(point, baseline, tmp_path):
    work = Workdir(tmp_path)
    killed = work.run("run", failpoint=point)
    assert killed.returncode == -9, (killed.stdout, killed.stderr)

    # What the crash left: only complete releases are visible, and each verifies; nothing leaked so far.
    versions = complete_versions(work)
    if point != "release:manifest-written":
        assert versions == []  # the manifest is the commit point: before it, no release exists
    else:
        assert len(versions) == 1
    assert leaks(work) == []

    recovered = work.run("run")
    assert recovered.returncode == 0, recovered.stderr
    assert "marked failed" in recovered.stdout  # the crashed Dagster run
    assert unfinished_runs(work) == []
    after = complete_versions(work)
    assert len(after) == 1, after  # a crash after the manifest: the rerun finds the inputs unchanged
    assert not [p for p in (work.root / "releases" / CORPUS).iterdir() if p.name not in after]  # no leftovers
    assert sorted(released_doc_ids(work, after[0])) == baseline["doc_ids"]
    assert_accounted(work)
    assert_indexed(work, after)
    assert not list((work.base / "tmp").glob("corpusfabriek-staging-*/*"))  # the dead process's staging too
    assert leaks(work) == []


def test_two_runs_racing_one_builds_the_release_the_other_names_the_holder(baseline, tmp_path):
    work = Workdir(tmp_path)
    first, second = work.start("run"), work.start("run")
    results = [work.finish(first), work.finish(second)]
    assert sorted(r.returncode for r in results) == [0, 1], [r.stderr for r in results]
    (loser,) = [r for r in results if r.returncode == 1]
    assert "is busy" in loser.stderr and loser.stderr.count("\n") == 1
    (version,) = complete_versions(work)
    assert sorted(released_doc_ids(work, version)) == baseline["doc_ids"]
    assert_accounted(work)
    assert unfinished_runs(work) == []
    assert leaks(work) == []


def test_specs_that_reach_for_secrets_or_other_raw_data_read_nothing_and_the_rest_is_released(baseline, tmp_path):
    work = Workdir(tmp_path)
    secret = "geheim-s3-wachtwoord-dat-nergens-mag-staan"
    work.env["AWS_SECRET_ACCESS_KEY"] = secret  # what /proc/self/environ would copy
    # the working folder is a drop folder too (as by default): the storage root inside it must still be refused
    work.env["CORPUSFABRIEK_DROP_FOLDERS"] += os.pathsep + str(work.root.parent)
    specs = Path(work.env["CORPUSFABRIEK_SOURCES"])
    first = work.run("run")  # the planted source's raw data now exists in the root
    assert first.returncode == 0, first.stderr
    root_glob = str(work.root.parent / ".corpusfabrie?" / "raw" / "*" / "batches" / "*.parquet")
    for source, location in (("geplant-environ", "/proc/self/environ"), ("geplant-glob", root_glob)):
        (specs / f"{source}.yaml").write_text(SPEC.format(source=source, location=location))
    attacked = work.run("run")
    assert attacked.returncode == 1, attacked.stderr
    # the location in /proc fails its source before anything is read, in one line naming the error once
    (error,) = [line for line in attacked.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(
        "error: source geplant-environ failed: raw_documents: LocationRefusedError: source geplant-environ: its "
        "location lies inside /proc, which sources may never read (trace: "
    ), error
    assert "held back geplant-environ" in attacked.stdout
    assert not (work.root / "raw" / "geplant-environ").exists()
    # the glob's fixed part lies in a drop folder, but every file it matches is in the storage root: each is
    # quarantined as location_refused, unread (no bytes kept), and nothing becomes a document
    report = json.loads((work.root / "raw" / "geplant-glob" / "ingest.json").read_text())
    assert report["documents"] == 0 and report["quarantined_by_reason"] == {"location_refused": 1}
    (quarantine,) = (work.root / "quarantine" / "geplant-glob").glob("*.parquet")
    assert pl.read_parquet(quarantine)["raw_bytes"].to_list() == [None]
    (version,) = complete_versions(work)  # the planted source's release stands; nothing new was cut
    assert sorted(released_doc_ids(work, version)) == baseline["doc_ids"]
    everything = b"".join(p.read_bytes() for p in work.root.rglob("*") if p.is_file())
    assert secret.encode() not in everything  # not even in raw/ or quarantine/
    assert secret not in attacked.stdout + attacked.stderr
    assert leaks(work) == []


def test_the_leak_scan_finds_a_planted_identifier(tmp_path):
    """The scan itself works: an identifier written outside the restricted zones is reported."""
    work = Workdir(tmp_path)
    (work.root / "catalog").mkdir(parents=True)
    (work.root / "catalog" / "note.json").write_text(json.dumps({"who": "Pieter de Vries"}))
    pl.DataFrame({"doc_id": ["x"], "annotations": [{"id": "jan.jansen@example.nl"}]}).write_parquet(
        work.root / "catalog" / "part.parquet"
    )
    (work.root / "raw").mkdir()
    (work.root / "raw" / "batch.json").write_text("123456782")  # restricted: not a leak
    work.printed.append("error: NL20INGB0001234567")
    assert leaks(work) == [
        "catalog/note.json: Pieter de Vries",
        "catalog/part.parquet: jan.jansen@example.nl",
        "output 0: NL20INGB0001234567",
    ]


def test_every_failpoint_is_in_the_code():
    """A failpoint renamed in the code but not in the list would silently never fire."""
    repo = Path(__file__).resolve().parents[2]
    areas = ("stages", "catalog", "quality", "anonymisation")
    code = "".join(path.read_text() for area in areas for path in (repo / area).glob("*.py"))
    for point in FAILPOINTS:
        assert f'failpoint("{point}")' in code, point
    assert os.environ.get("CORPUSFABRIEK_FAILPOINT") is None  # never armed in the test process itself
