"""A partner's whole path, for every source kind: write a spec, validate, register, run, read the report.

Networked kinds are served by a real HTTP server on 127.0.0.1 (allow-listed for the address guard); a
second run must fetch nothing new.
"""

import json
from pathlib import Path

import pytest

from pipelines.cli import main
from tests.catalog.connectors.test_alto import alto, line
from tests.catalog.connectors.test_rechtspraak import UITSPRAAK_BODY, ruling
from tests.catalog.connectors.test_rechtspraak import feed as rechtspraak_feed
from tests.catalog.connectors.test_rss import ARTIKELEN, article_page, rss_feed, rss_item
from tests.catalog.connectors.test_warc import Archive, article
from tests.conftest import FixtureServer, Route

ALTO_V4 = "http://www.loc.gov/standards/alto/ns-v4#"
OAI_PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
  <responseDate>2026-11-23T10:00:00Z</responseDate>
  <request verb="ListRecords" metadataPrefix="oai_dc">{base}/oai</request>
  <ListRecords>{records}</ListRecords>
</OAI-PMH>"""
OAI_RECORD = """<record><header><identifier>oai:archief.example:{n}</identifier>
  <datestamp>2026-11-0{n}</datestamp></header><metadata>
  <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:title>Notulen van de gemeenteraad, deel {n}</dc:title>
    <dc:description>In de vergadering van deel {n} besprak de raad de begroting, de woningbouw aan de
    rand van de stad en de plannen voor een nieuwe brug over het kanaal. De wethouder zegde toe de
    raad voor de zomer opnieuw te informeren over de kosten en de planning van het project.</dc:description>
    <dc:date>2026-11-0{n}</dc:date><dc:language>nl</dc:language>
  </oai_dc:dc></metadata></record>"""
NO_RECORDS = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-11-23T10:00:00Z</responseDate>
<request verb="ListRecords">{base}/oai</request><error code="noRecordsMatch">Geen nieuwe records</error></OAI-PMH>"""


def owner_block(kind: str, location: str, extra: str = "") -> str:
    return (
        f"id: partner-{kind}\nname: Partner {kind}\n"
        "owner:\n  organisation: Partnerorganisatie\n  contact: data@partner.example\n"
        f"kind: {kind}\nlocation: {location}\nlicence: CC0-1.0\nlegal_basis: public-task\n"
        "personal_data: expected\nsector: test\nstatus: approved\n"
        "politeness: {rate_limit_per_second: 50, retries: 0, backoff_seconds: 0, read_timeout_seconds: 2}\n"
        # the fixtures are a sentence or two; the quality gate measures them but keeps them (it has its own tests)
        "quality: {enabled: false}\n" + extra
    )


def serve_rss(server: FixtureServer, tmp: Path) -> tuple[str, int, int]:
    paths = list(ARTIKELEN)[:2]
    for path in paths:
        title, body = ARTIKELEN[path]
        server.routes[path] = Route(article_page(title, body), headers={"Content-Type": "text/html; charset=utf-8"})
    server.routes["/feed.xml"] = Route(rss_feed([rss_item(server, path, guid=path) for path in paths]))
    return owner_block("rss", server.url("/feed.xml")), 2, 0


def serve_oai(server: FixtureServer, tmp: Path) -> tuple[str, int, int]:
    def oai(path: str, headers: dict) -> Route:
        if "from=" in path:
            return Route(NO_RECORDS.format(base=server.base_url).encode(), headers={"Content-Type": "text/xml"})
        records = "".join(OAI_RECORD.format(n=n) for n in (1, 2))
        page = OAI_PAGE.format(base=server.base_url, records=records)
        return Route(page.encode(), headers={"Content-Type": "text/xml"})

    server.routes["/oai"] = oai
    return owner_block("oai-pmh", server.url("/oai"), "oai_pmh: {fulltext: record}\n"), 2, 0


def serve_alto(server: FixtureServer, tmp: Path) -> tuple[str, int, int]:
    for n in (1, 2):
        block = f'<TextBlock ID="B{n}">{line("De:0.9", "gemeenteraad:0.8", "vergaderde:0.95", f"{n}e:0.7")}</TextBlock>'
        server.routes[f"/alto/pagina-{n}.xml"] = Route(alto(ALTO_V4, block), headers={"Content-Type": "text/xml"})
    listing = "\n".join(server.url(f"/alto/pagina-{n}.xml") for n in (1, 2))
    server.routes["/alto/lijst.txt"] = Route(listing.encode(), headers={"Content-Type": "text/plain"})
    return owner_block("alto", server.url("/alto/lijst.txt")), 2, 0


def serve_rechtspraak(server: FixtureServer, tmp: Path) -> tuple[str, int, int]:
    eclis = ["ECLI:NL:RBGEL:2024:1001", "ECLI:NL:RBGEL:2024:1002"]
    server.routes["/uitspraken/zoeken"] = Route(
        rechtspraak_feed([(ecli, "2024-03-07T11:02:13+01:00") for ecli in eclis]),
        headers={"Content-Type": "application/atom+xml"},
    )
    for ecli in eclis:
        body = UITSPRAAK_BODY + f"<para>Deze uitspraak betreft zaak {ecli}.</para>"  # distinct texts
        server.routes[f"/uitspraken/content?id={ecli}"] = Route(
            ruling(ecli, body=body), headers={"Content-Type": "text/xml"}
        )
    return owner_block("rechtspraak", server.url("/uitspraken/zoeken?type=Uitspraak")), 2, 0


def serve_warc(server: FixtureServer, tmp: Path) -> tuple[str, int, int]:
    archive = Archive()
    for n in (1, 2, 3):
        archive.response(f"https://krant.example/artikel/{n}", article(n))
    archive.response("https://krant.example/logo.png", b"\x89PNG....", content_type="image/png")
    server.routes["/crawl.warc.gz"] = Route(archive.bytes(), headers={"Content-Type": "application/warc"})
    return owner_block("warc", server.url("/crawl.warc.gz")), 3, 1


def local_files(server: FixtureServer, tmp: Path) -> tuple[str, int, int]:
    drop = tmp / "drop.jsonl"
    drop.write_text(
        '{"id": "1", "text": "Eerste verslag van de dataruimte over de wachttijden in de zorg."}\n'
        '{"id": "2", "text": "Tweede verslag over de bezetting van de regionale ziekenhuizen."}\n'
        "{kapot\n"
    )
    return owner_block("files", str(drop), "format: jsonl\n"), 2, 1


KINDS = {
    "rss": serve_rss,
    "oai-pmh": serve_oai,
    "alto": serve_alto,
    "rechtspraak": serve_rechtspraak,
    "warc": serve_warc,
    "files": local_files,
}


@pytest.mark.integration
@pytest.mark.parametrize("kind", list(KINDS))
def test_partner_registers_a_source_and_sees_documents_and_report(kind, isolated_env, allow_loopback, capsys):
    server = FixtureServer()
    try:
        spec_text, documents, quarantined = KINDS[kind](server, isolated_env)
        spec_file = isolated_env / f"{kind}.yaml"
        spec_file.write_text(spec_text)
        source_id = f"partner-{kind}"

        assert main(["sources", "validate", str(spec_file)]) == 0
        assert main(["sources", "register", str(spec_file)]) == 0
        registered = capsys.readouterr().out
        assert f"created: {source_id} ({kind}, status sandbox)" in registered
        assert "status 'approved' in the file is ignored" in registered
        assert main(["sources", "approve", source_id, "--reason", "licence and legal basis checked"]) == 0

        assert main(["run", "--source", source_id]) == 0
        out = capsys.readouterr().out
        progress = f"{source_id}: ingest, clean, anonymise ... {documents + quarantined} new records"
        assert f"{progress} -> {documents} documents" in out

        assert main(["sources", "report", source_id, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["kind"] == kind
        assert report["runs"] == 1
        assert report["kept"] == documents
        assert report["quarantined"] == quarantined
        assert report["last_successful_run"] is not None

        assert main(["releases", "show", "latest", "--json"]) == 0
        manifest = json.loads(capsys.readouterr().out)
        (entry,) = [s for s in manifest["sources"] if s["source_id"] == source_id]
        # every kept document is in the release, unless it is a near copy of another one (the OAI and
        # Rechtspraak fixtures are one template with a different number: one of each pair is left out)
        assert entry["documents"] + entry["near_duplicates_dropped"] == documents
        assert entry["documents"] >= 1

        # The next run fetches nothing new, and the documents keep their ids.
        assert main(["run", "--source", source_id, "--no-release"]) == 0
        assert f"{source_id}: ingest, clean, anonymise ... 0 new records -> 0 documents" in capsys.readouterr().out
        assert main(["sources", "report", source_id, "--json"]) == 0
        again = json.loads(capsys.readouterr().out)
        assert (again["runs"], again["kept"]) == (2, documents)
    finally:
        server.close()
    # The network was only ever 127.0.0.1: every request of the source reached our own server.
    if kind != "files":
        assert server.requests
