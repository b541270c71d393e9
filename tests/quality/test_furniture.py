from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from catalog.quality_settings import QualitySettings
from quality.furniture import (
    Furniture,
    FurnitureCounter,
    count_stored_lines,
    document_lines,
    line_key,
    line_sha256,
)

HEADER = "Door onze verslaggever"
FOOTER = "Word abonnee voor € 1 per week en lees onbeperkt verder."
ONCE = "Deze regel staat maar in één bericht."


def article(n: int) -> str:
    return f"Het college besloot in vergadering {n} dat de nieuwe brug er komt.\n\nDe bouw begint in week {n}."


def counted(tmp_path: Path, texts: list[str], batch: int | None = None, **settings: float) -> Furniture:
    counter = FurnitureCounter(str(tmp_path), **settings)  # type: ignore[arg-type]
    step = batch or max(len(texts), 1)
    for start in range(0, len(texts), step):
        counter.add(texts[start : start + step])
    return counter.finish()


def test_lines_shared_by_many_documents_go_and_a_line_of_one_document_stays(tmp_path: Path) -> None:
    texts = [f"{HEADER}\n\n{article(n)}\n\n{FOOTER}" for n in range(30)]
    texts[7] += f"\n{ONCE}"
    furniture = counted(tmp_path, texts)
    stripped, removed = furniture.strip(texts)

    assert stripped[0] == article(0)
    assert stripped[7] == f"{article(7)}\n\n{ONCE}"
    assert removed == [2] * 30
    assert furniture.lines_removed == 60 and furniture.documents_affected == 30
    assert [(line.line_sha256, line.documents, line.chars) for line in furniture.found()] == sorted(
        [(line_sha256(HEADER), 30, len(HEADER)), (line_sha256(FOOTER), 30, len(FOOTER))]
    )


def test_the_report_of_the_lines_holds_no_text_and_the_review_table_does(tmp_path: Path) -> None:
    texts = [f"{HEADER}\n{article(n)}" for n in range(10)]
    furniture = counted(tmp_path, texts)
    furniture.strip(texts)
    assert HEADER not in repr(furniture.found())
    review = furniture.review_table().to_pylist()
    assert review == [{"line_sha256": line_sha256(HEADER), "documents": 10, "chars": len(HEADER), "text": HEADER}]


def test_a_line_under_either_threshold_stays(tmp_path: Path) -> None:
    # in 4 documents: under min_documents (5) although 40% of the source
    few = [f"{HEADER}\n{article(n)}" if n < 4 else article(n) for n in range(10)]
    assert len(counted(tmp_path / "a", few)) == 0
    # in 10 of 1,000 documents: 1% is under min_share (2%) although over min_documents
    rare = [f"{HEADER}\n{article(n)}" if n < 10 else article(n) for n in range(1_000)]
    furniture = counted(tmp_path / "b", rare)
    assert furniture.threshold == 20 and len(furniture) == 0
    assert furniture.strip(rare[:3])[1] == [0, 0, 0]
    # at the threshold it goes
    at = [f"{HEADER}\n{article(n)}" if n < 20 else article(n) for n in range(1_000)]
    assert len(counted(tmp_path / "c", at)) == 1


def test_a_long_syndicated_paragraph_is_not_furniture(tmp_path: Path) -> None:
    paragraph = (
        "Het kabinet heeft dinsdag bekendgemaakt dat de regeling voor energietoeslag volgend jaar wordt verlengd, "
        "zo meldt het persbureau. Gemeenten krijgen daarvoor extra geld, maar de precieze verdeling is nog niet bekend."
    )
    assert len(paragraph) > 200
    texts = [f"{article(n)}\n\n{paragraph}" for n in range(50)]
    furniture = counted(tmp_path, texts)
    assert len(furniture) == 0
    assert furniture.strip(texts)[0] == texts


def test_exact_copies_of_one_document_count_once(tmp_path: Path) -> None:
    # one short item delivered ten times: exact deduplication keeps a copy, furniture must not empty them all
    texts = [f"{HEADER}\nKort bericht."] * 10 + [article(n) for n in range(10)]
    assert len(counted(tmp_path, texts)) == 0


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_streamed_counting_equals_counting_in_one_batch(tmp_path: Path, batch: int) -> None:
    texts = [
        "\n".join([HEADER if n % 2 else "Door een correspondent", article(n % 37), FOOTER if n % 3 else "Lees ook dit"])
        for n in range(200)
    ]
    whole = counted(tmp_path / "whole", texts, min_documents=5, min_share=0.1)
    streamed = counted(tmp_path / "streamed", texts, batch=batch, min_documents=5, min_share=0.1)
    assert streamed.frequencies == whole.frequencies and len(whole) == 4
    assert streamed.strip(texts) == whole.strip(texts)


def test_nothing_counted_and_nothing_found(tmp_path: Path) -> None:
    furniture = counted(tmp_path, [])
    assert len(furniture) == 0 and furniture.strip(["tekst"]) == (["tekst"], [0])
    assert furniture.review_table().num_rows == 0


def test_a_line_of_one_document_can_never_be_furniture(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        FurnitureCounter(str(tmp_path), min_documents=1)
    with pytest.raises(ValidationError):
        QualitySettings(furniture_min_documents=1)
    # a line repeated inside one document is still one document
    assert len(counted(tmp_path, [f"{HEADER}\n{HEADER}\n{HEADER}\n{HEADER}\n{HEADER}"], min_share=0)) == 0


def stored_batches(tmp_path: Path, batches: list[list[str]], max_line_chars: int = 200) -> list[str]:
    """Write each batch of texts as a stored batch would keep them: each text's identity and its line keys."""
    from catalog.documents import content_sha256

    files = []
    for number, texts in enumerate(batches):
        path = str(tmp_path / f"batch-{number}.parquet")
        identities = pa.array([content_sha256(text) for text in texts], pa.string())
        pq.write_table(
            pa.table({"content_sha256": identities, "line_keys": document_lines(texts, max_line_chars)}), path
        )
        files.append(path)
    return files


def test_counting_stored_line_keys_finds_what_counting_the_texts_finds(tmp_path: Path) -> None:
    texts = [
        "\n".join([HEADER if n % 2 else "Door een correspondent", article(n % 37), FOOTER if n % 3 else "Lees ook dit"])
        for n in range(200)
    ]
    texts += texts[:40]  # delivered again in a later batch: the copies count once
    batches = [texts[:90], texts[90:91], texts[91:]]
    settings = QualitySettings(furniture_min_documents=5, furniture_min_share=0.1)
    con = duckdb.connect()

    stored, present = count_stored_lines(con, stored_batches(tmp_path, batches), len(texts), settings)

    counted = FurnitureCounter.from_settings(str(tmp_path / "counted"), settings)
    counted.add(texts)
    whole = counted.finish(con)
    assert stored.frequencies == whole.frequencies and len(whole) == 4
    assert stored.threshold == whole.threshold == 24
    # by batch, the furniture lines in it: the one-document batch has two (its article's lines are not)
    assert present[1] == sorted([line_key("Door een correspondent"), line_key("Lees ook dit")])
    assert present[0] == present[2] == sorted(stored.frequencies)


def test_a_line_key_is_the_line_sha256_as_a_number() -> None:
    assert f"{line_key(f'  {HEADER} '):016x}" == line_sha256(HEADER)
    assert document_lines([f"{HEADER}\n\n{HEADER}\n{'x' * 201}", ""], 200).to_pylist() == [[line_key(HEADER)], []]
