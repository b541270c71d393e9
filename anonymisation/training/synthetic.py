"""Synthetic modern news-like sentences with gold spans, generated from templates with a fixed seed."""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterable, Sequence

from anonymisation.training.corpora import Example
from anonymisation.training.wordlists import (
    ADDRESS,
    BRAND_ENDINGS,
    DAYS,
    DEMONYMS,
    DOUBLE_SURNAMES,
    EXTRA_GIVEN,
    EXTRA_SURNAMES,
    HISTORICAL_ADDRESS,
    HISTORICAL_TEMPLATES,
    INITIAL_PARTS,
    LANGUAGES,
    MULTI_PLACES,
    ORGS,
    PARTICLE_NAMES,
    PLACE_ENDINGS,
    PLACES,
    SAY,
    SURNAME_ROOTS,
    SYLLABLES,
    TEMPLATES,
    TITLES,
    TOPICS,
    TUSSENVOEGSELS,
)
from anonymisation.vocabulary import MONTHS

#: Synthetic sentences generated (modern news register; the historical corpora are much larger).
SYNTHETIC_SENTENCES = 24_000
SEED = 20261207

#: Synthetic sentences in the register of 19th-century newspapers, from a generator and seed of their own.
HISTORICAL_SENTENCES = 6_000
HISTORICAL_SEED = 20261208

#: Share of historical sentences whose person names are set in capitals, as notices and ads often have them.
HISTORICAL_CAPITALS = 0.35


class _Synthetic:
    """Deterministic filler of :data:`TEMPLATES` (one ``random.Random(seed)``; lists sorted first)."""

    def __init__(self, seed: int, templates: Sequence[str] = TEMPLATES, capitals: float = 0.0) -> None:
        self.rng = random.Random(seed)  # noqa: S311 -- reproducible sampling, not security
        self.templates = templates
        self.capitals = capitals
        self.dutch_given = _faker_list(("nl_NL", "nl_BE"), "first_names")
        self.dutch_surnames = _faker_list(("nl_NL", "nl_BE"), "last_names")
        self.foreign_given = _faker_list(
            ("en_GB", "de_DE", "fr_FR", "tr_TR", "pl_PL", "es_ES", "it_IT"), "first_names"
        ) + sorted(EXTRA_GIVEN)
        self.foreign_surnames = _faker_list(
            ("en_GB", "de_DE", "fr_FR", "tr_TR", "pl_PL", "es_ES", "it_IT"), "last_names"
        ) + sorted(EXTRA_SURNAMES)

    def given(self) -> str:
        r = self.rng
        return r.choice(self.dutch_given if r.random() < 0.65 else self.foreign_given)

    def surname(self) -> str:
        r = self.rng
        x = r.random()
        if x < 0.45:
            return r.choice(self.dutch_surnames)
        if x < 0.62:
            return r.choice(TUSSENVOEGSELS) + " " + r.choice(SURNAME_ROOTS)
        if x < 0.70:
            return (
                r.choice(self.dutch_surnames)
                + "-"
                + r.choice(("de ", "van ", "van der ", ""))
                + r.choice(SURNAME_ROOTS)
            )
        if x < 0.75:
            return r.choice(DOUBLE_SURNAMES)
        if x < 0.81:
            return r.choice(PARTICLE_NAMES)
        return r.choice(self.foreign_surnames)

    def pseudo_word(self, endings: Sequence[str]) -> str:
        """Return an invented capitalised word with a typical ending (an unknown company or place)."""
        r = self.rng
        word = "".join(r.choice(SYLLABLES) for _ in range(r.choice((1, 2, 2, 3)))) + r.choice(endings)
        return word[0].upper() + word[1:]

    def initials(self) -> str:
        r = self.rng
        parts = [r.choice(INITIAL_PARTS) + "." for _ in range(r.choice((1, 1, 1, 2, 2, 3)))]
        return (" " if r.random() < 0.25 else "").join(parts)

    def person(self) -> str:
        r = self.rng
        x = r.random()
        surname = self.surname()
        if x < 0.5:
            return self.given() + " " + surname
        if x < 0.72:
            initials = self.initials()
            if r.random() < 0.15:  # "A.Th.Chr. Van der Laan", "J. v/d Berg"
                root = r.choice(SURNAME_ROOTS)
                return initials + " " + r.choice(("Van der", "Van den", "De", "v/d", "v.d.", "Van")) + " " + root
            return initials + " " + surname
        if x < 0.8:
            return self.given() + " " + self.given() + " " + surname
        if x < 0.9:
            return surname[0].upper() + surname[1:]
        return self.given()

    def fill(self, template: str) -> Example:
        r = self.rng
        text, spans = "", []
        capitals = r.random() < self.capitals
        pieces = template.replace("}", "{").split("{")
        for n, piece in enumerate(pieces):
            if n % 2 == 0:
                text += piece
                continue
            label, value = None, ""
            slot, cap = piece[0], piece.endswith("c")
            if slot == "P":
                label, value = "PER", self.person()
            elif slot == "G":
                label, value = "PER", self.given()
            elif slot == "S":
                value = self.surname()
                label, value = "PER", value[0].upper() + value[1:] if r.random() < 0.8 else value
            elif slot == "T":
                value = r.choice(TITLES)
            elif slot == "A":
                value = r.choice(ADDRESS)
            elif slot == "H":
                value = r.choice(HISTORICAL_ADDRESS)
            elif slot == "L":
                label, value = "LOC", r.choice(PLACES) if r.random() < 0.8 else r.choice(MULTI_PLACES)
            elif slot == "O":
                label, value = "ORG", r.choice(ORGS)
            elif slot == "D":
                value = r.choice(DAYS)
            elif slot == "M":
                value = r.choice(MONTHS)
            elif slot == "X":
                value = r.choice(TOPICS)
            elif slot == "Z":
                value = r.choice(SAY)
            elif slot == "B":
                label, value = "ORG", self.pseudo_word(BRAND_ENDINGS)
            elif slot == "Q":
                label, value = "LOC", self.pseudo_word(PLACE_ENDINGS)
            elif slot == "J":
                value = r.choice(DEMONYMS)
            elif slot == "K":
                value = r.choice(LANGUAGES)
            elif slot == "N":
                value = str(r.randint(2, 99))
            if cap or (not text.strip() or text.rstrip()[-1] in ".!?\"'"):
                value = value[0].upper() + value[1:]
            if capitals and label == "PER" and len(value.upper()) == len(value):
                value = value.upper()  # offsets stay valid only when capitals keep the length (not "ß")
            if label:
                spans.append((len(text), len(text) + len(value), label))
            text += value
        return Example(text, spans)

    def examples(self, count: int) -> list[Example]:
        """``count`` sentences; a few are joined into short paragraphs so context crosses sentences."""
        out = []
        while len(out) < count:
            parts = [self.fill(self.rng.choice(self.templates)) for _ in range(self.rng.choice((1, 1, 2, 3)))]
            text, spans = "", []
            for part in parts:
                if text:
                    text += " " if self.rng.random() < 0.7 else "\n"
                spans.extend((s + len(text), e + len(text), lab) for s, e, lab in part.spans)
                text += part.text
            out.append(Example(text, spans))
        return out


def _faker_list(locales: Iterable[str], prefix: str) -> list[str]:
    """Latin-script names of Faker's person providers, sorted (so the seed alone fixes the sample)."""
    names: set[str] = set()
    for locale in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):
            continue
        for attribute in dir(provider):
            if attribute.startswith(prefix):
                values = getattr(provider, attribute)
                if isinstance(values, (dict, list, tuple)):
                    names.update(v for v in values if isinstance(v, str))
    return sorted(n for n in names if n and n[0].isupper() and all(ord(c) < 0x250 for c in n))


def synthetic_examples(count: int = SYNTHETIC_SENTENCES, seed: int = SEED) -> list[Example]:
    """Return the deterministic synthetic news-like sentences."""
    return _Synthetic(seed).examples(count)


def historical_examples(count: int = HISTORICAL_SENTENCES, seed: int = HISTORICAL_SEED) -> list[Example]:
    """Return the deterministic synthetic sentences in the register of 19th-century newspapers."""
    return _Synthetic(seed, HISTORICAL_TEMPLATES, HISTORICAL_CAPITALS).examples(count)
