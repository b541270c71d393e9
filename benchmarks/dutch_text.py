"""Dutch sentences for the benchmarks: the shared evaluation text when present, else a small built-in list."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_TEXT = REPO.parent / "shared" / "data" / "text-nl"

FALLBACK = [
    "De gemeenteraad stemde dinsdagavond in met het nieuwe plan voor de binnenstad.",
    "Volgens de woordvoerder is er nog geen besluit genomen over de financiering.",
    "Het KNMI verwacht voor het weekend veel regen en harde wind in het noorden.",
    "De provincie wil de komende jaren fors investeren in fietspaden en openbaar vervoer.",
    "Bewoners maken zich zorgen over de schade aan hun huizen door de gaswinning.",
    "De rechtbank doet over twee weken uitspraak in de zaak tegen het bouwbedrijf.",
    "Onderzoekers van de universiteit publiceerden hun resultaten in een internationaal tijdschrift.",
    "In het museum is vanaf zaterdag een tentoonstelling over de Gouden Eeuw te zien.",
]


def sentences() -> list[str]:
    """Return real Dutch sentences (longer than 30 characters), or the built-in list without shared data."""
    found: list[str] = []
    for path in sorted(SHARED_TEXT.glob("*.jsonl")) if SHARED_TEXT.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line).get("text", "")
            found += [s.strip() for s in text.replace("\n", " ").split(". ") if len(s.strip()) > 30]
    return found or FALLBACK


def source_name() -> str:
    """Say where the sentences come from (printed by the benchmarks)."""
    return "shared/data/text-nl" if SHARED_TEXT.is_dir() else "built-in sentences"
