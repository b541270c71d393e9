"""The alto connector: reading order, hyphenation, word confidence, namespaces, broken files, HTTP, cursors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog.connectors.alto import AltoConnector
from catalog.connectors.records import QUARANTINE_REASONS, Quarantined, RawRecord
from catalog.fetch import Fetcher
from tests.catalog.connectors.test_locations import (
    BILLION_LAUGHS,
    FAKE_NAME,
    conditional,
    conditional_paths,
    content_paths,
    make_spec,
)
from tests.conftest import FixtureServer, Route

V2 = "http://www.loc.gov/standards/alto/ns-v2#"
V3 = "http://www.loc.gov/standards/alto/ns-v3#"
V4 = "http://www.loc.gov/standards/alto/ns-v4#"


def alto(namespace: str | None, blocks: str, *, extra: str = "", attributes: str = "") -> bytes:
    """Wrap TextBlocks in an ALTO page (namespace ``None``: no namespace)."""
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alto{xmlns}{attributes}>
  <Description>
    <MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation><fileName>krant-1921-01-05-p3.jp2</fileName></sourceImageInformation>
  </Description>
  {extra}
  <Layout>
    <Page ID="P3" PHYSICAL_IMG_NR="3" HEIGHT="6000" WIDTH="4000">
      <PrintSpace>{blocks}</PrintSpace>
    </Page>
  </Layout>
</alto>""".encode()


def line(*words: str) -> str:
    """A TextLine of ``CONTENT[:WC]`` words; ``-`` is a HYP element."""
    parts = []
    for word in words:
        if word == "-":
            parts.append('<HYP CONTENT="-"/>')
            continue
        content, _, wc = word.partition(":")
        parts.append(f'<String CONTENT="{content}"' + (f' WC="{wc}"' if wc else "") + "/>")
    return "<TextLine>" + "<SP/>".join(parts) + "</TextLine>"


# A page whose ReadingOrder puts the second block (the article) before the first (a caption), with
# hyphenation in both styles: HYP only, and SUBS_TYPE/SUBS_CONTENT.
V4_PAGE = alto(
    V4,
    f"""
      <TextBlock ID="TB1">{line("Onderschrift:0.50", "bij:0.70", "de:0.90", "foto:0.90")}</TextBlock>
      <TextBlock ID="TB2">
        {line("De:1.00", "Staten:0.80", "besloten:0.80", "gis:0.60", "-")}
        {line("teren:0.80", "over")}
        <TextLine>
          <String CONTENT="de" WC="0.90"/><SP/>
          <String CONTENT="water" SUBS_TYPE="HypPart1" SUBS_CONTENT="waterstaat" WC="0.40"/>
          <HYP CONTENT="-"/>
        </TextLine>
        <TextLine>
          <String CONTENT="staat" SUBS_TYPE="HypPart2" SUBS_CONTENT="waterstaat" WC="0.60"/><SP/>
          <String CONTENT="van" WC="1.00"/><SP/><String CONTENT="Zeeland." WC="0.70"/>
        </TextLine>
      </TextBlock>""",
    extra="""<ReadingOrder><OrderedGroup ID="RO1">
      <ElementRef ID="RO1_1" REF="TB2"/><ElementRef ID="RO1_2" REF="TB1"/>
    </OrderedGroup></ReadingOrder>""",
    attributes=' SCHEMAVERSION="4.2"',
)

V2_PAGE = alto(
    V2,
    f"""
      <TextBlock ID="B1">{line("Eerste", "regel")}{line("tweede", "regel")}</TextBlock>
      <ComposedBlock ID="C1"><TextBlock ID="B2">{line("Advertentie")}</TextBlock></ComposedBlock>
      <TextBlock ID="B3">{line("Slot")}</TextBlock>""",
)


def read(spec_location: str, cursor: dict | None = None) -> tuple[list[RawRecord | Quarantined], dict]:
    spec = make_spec("alto", spec_location)
    connector = AltoConnector(spec, Fetcher.for_spec(spec), cursor or {})
    items = list(connector.read())
    cursor = connector.next_cursor()
    json.dumps(cursor)  # the cursor must be JSON-serialisable
    return items, cursor


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "alto"
    folder.mkdir()
    return folder


def test_v4_page_in_reading_order_with_hyphenation_joined(drop: Path) -> None:
    (drop / "p3.xml").write_bytes(V4_PAGE)
    (doc,), _ = read(str(drop / "*.xml"))
    assert isinstance(doc, RawRecord)
    assert doc.text == ("De Staten besloten gisteren\nover\nde waterstaat\nvan Zeeland.\n\nOnderschrift bij de foto")
    # 13 words (gisteren and waterstaat count once, with the mean WC of their parts); "over" has no WC.
    wcs = [1.0, 0.8, 0.8, (0.6 + 0.8) / 2, 0.9, (0.4 + 0.6) / 2, 1.0, 0.7, 0.5, 0.7, 0.9, 0.9]
    assert doc.ocr_confidence == pytest.approx(sum(wcs) / len(wcs))
    assert doc.metadata == {
        "alto_version": "4.2",
        "page_id": "P3",
        "words": "13",
        "pages": "1",
        "source_image": "krant-1921-01-05-p3.jp2",
    }
    assert (doc.native_id, doc.record, doc.fetch_mode, doc.url, doc.published_at) == (
        "p3.xml",
        "page 1",
        "ocr",
        None,
        None,
    )
    assert doc.location == str(drop / "p3.xml")


def test_v2_page_in_document_order_without_confidence(drop: Path) -> None:
    (drop / "p1.xml").write_bytes(V2_PAGE)
    (doc,), _ = read(str(drop / "*.xml"))
    assert isinstance(doc, RawRecord)
    assert doc.text == "Eerste regel\ntweede regel\n\nAdvertentie\n\nSlot"
    assert doc.ocr_confidence is None
    assert doc.metadata["alto_version"] == "2"


@pytest.mark.parametrize(("namespace", "version"), [(V3, "3"), (None, None)])
def test_v3_and_unnamespaced_alto(drop: Path, namespace: str | None, version: str | None) -> None:
    (drop / "p.xml").write_bytes(alto(namespace, f'<TextBlock ID="A">{line("Hallo:0.5", "wereld:1.0")}</TextBlock>'))
    (doc,), _ = read(str(drop / "p.xml"))
    assert isinstance(doc, RawRecord)
    assert (doc.text, doc.ocr_confidence, doc.metadata.get("alto_version")) == ("Hallo wereld", 0.75, version)


def test_reading_order_naming_a_composed_block_and_leaving_blocks_out(drop: Path) -> None:
    page = alto(
        V3,
        f"""<TextBlock ID="A">{line("eerst")}</TextBlock>
            <ComposedBlock ID="C"><TextBlock ID="B">{line("tweede")}</TextBlock>
              <TextBlock ID="D">{line("derde")}</TextBlock></ComposedBlock>""",
        extra='<ReadingOrder><OrderedGroup ID="G"><ElementRef ID="R" REF="C"/></OrderedGroup></ReadingOrder>',
    )
    (drop / "p.xml").write_bytes(page)
    (doc,), _ = read(str(drop / "p.xml"))
    assert isinstance(doc, RawRecord)
    assert doc.text == "tweede\n\nderde\n\neerst"  # unnamed blocks follow: no text is lost


def test_hyphen_at_the_end_of_the_page_keeps_the_part(drop: Path) -> None:
    (drop / "p.xml").write_bytes(
        alto(V4, f'<TextBlock ID="A">{line("Wordt", "vervolgd", "op", "pa", "-")}</TextBlock>')
    )
    (doc,), _ = read(str(drop / "p.xml"))
    assert isinstance(doc, RawRecord) and doc.text == "Wordt vervolgd op pa-"


def test_page_without_words_is_an_empty_record(drop: Path) -> None:
    (drop / "leeg.xml").write_bytes(alto(V4, '<TextBlock ID="A"><TextLine/></TextBlock>'))
    (doc,), _ = read(str(drop / "leeg.xml"))
    assert isinstance(doc, RawRecord)
    assert (doc.text, doc.metadata["words"], doc.ocr_confidence) == ("", "0", None)


BROKEN = [
    ("a-kapot.xml", f"<alto><Layout><String CONTENT='{FAKE_NAME}'></Layout>".encode(), "malformed_xml"),
    ("b-bom.xml", BILLION_LAUGHS, "xml_entities_forbidden"),
    (
        "c-latin1.xml",
        alto(V4, f'<TextBlock ID="A">{line(FAKE_NAME.split()[1], "café")}</TextBlock>').decode().encode("latin-1"),
        "encoding_error",
    ),
    ("d-ander.xml", f"<mets><naam>{FAKE_NAME}</naam></mets>".encode(), "unexpected_document"),
]


def test_broken_files_are_quarantined_and_the_run_continues(drop: Path) -> None:
    for name, data, _ in BROKEN:
        (drop / name).write_bytes(data)
    (drop / "e-goed.xml").write_bytes(V2_PAGE)
    items, cursor = read(str(drop / "*.xml"))
    assert len(items) == len(BROKEN) + 1  # one item per file: nothing lost
    *quarantined, good = items
    assert [(q.location, q.reason) for q in quarantined] == [(str(drop / n), r) for n, _, r in BROKEN]
    for q, (_, data, _) in zip(quarantined, BROKEN, strict=True):
        assert isinstance(q, Quarantined) and q.reason in QUARANTINE_REASONS
        assert FAKE_NAME not in q.detail and "Geheimhouder" not in q.detail
        assert q.raw_bytes == data  # kept for review (small: under the cap)
    assert isinstance(good, RawRecord) and good.native_id == "e-goed.xml"
    assert len(cursor["files"]) == 5  # broken files are not read again until they change


def test_incremental_rerun_emits_nothing_until_a_file_changes(drop: Path) -> None:
    (drop / "p1.xml").write_bytes(V2_PAGE)
    (drop / "p2.xml").write_bytes(V4_PAGE)
    first, cursor = read(str(drop / "*.xml"))
    assert [i.native_id for i in first] == ["p1.xml", "p2.xml"]  # type: ignore[union-attr]
    again, cursor_again = read(str(drop / "*.xml"), cursor)
    assert again == [] and cursor_again == cursor
    (drop / "p1.xml").write_bytes(V2_PAGE.replace(b"Slot", b"Einde"))
    changed, _ = read(str(drop / "*.xml"), cursor)
    assert [(i.native_id, i.text.endswith("Einde")) for i in changed] == [("p1.xml", True)]  # type: ignore[union-attr]


# -- HTTP ---------------------------------------------------------------------------------------------


def test_served_pages_with_fetch_errors_and_a_conditional_rerun(
    http_server: FixtureServer, allow_loopback: None
) -> None:
    routes = {
        "/pagina/1.xml": conditional(V4_PAGE, '"p1"'),
        "/pagina/2.xml": Route(b"", 500),
        "/pagina/4.xml": Route(V2_PAGE, delay=3.0),
        "/pagina/5.xml": Route(V2_PAGE * 40),
        "/pagina/6.xml": conditional(V2_PAGE, '"p6"'),
    }
    http_server.routes.update(routes)
    listing = b"".join(f"/pagina/{n}.xml\n".encode() for n in range(1, 7))  # 3.xml is missing: 404
    http_server.routes["/paginas.lst"] = conditional(listing, '"lijst"', "text/plain")
    spec = make_spec("alto", http_server.url("/paginas.lst"), read_timeout_seconds=0.9, max_response_bytes=20_000)
    connector = AltoConnector(spec, Fetcher.for_spec(spec), {})
    items = list(connector.read())
    assert [(type(i).__name__, getattr(i, "reason", None)) for i in items] == [
        ("RawRecord", None),
        ("Quarantined", "http_error"),
        ("Quarantined", "http_error"),
        ("Quarantined", "timeout"),
        ("Quarantined", "response_too_large"),
        ("RawRecord", None),
    ]
    doc = items[0]
    assert isinstance(doc, RawRecord)
    assert doc.native_id == doc.url == doc.location == http_server.url("/pagina/1.xml")
    assert doc.text.startswith("De Staten besloten gisteren")

    http_server.requests.clear()
    rerun = AltoConnector(spec, Fetcher.for_spec(spec), connector.next_cursor())
    again = list(rerun.read())
    # The served pages are unchanged (304); the failed ones are tried again and fail the same way.
    assert [getattr(i, "reason", None) for i in again] == ["http_error", "http_error", "timeout", "response_too_large"]
    assert set(conditional_paths(http_server)) == {"/paginas.lst", "/pagina/1.xml", "/pagina/6.xml"}
    assert content_paths(http_server).count("/pagina/1.xml") == 1
