"""The street address recognizer (street, house number, and a postcode and place after them)."""

from __future__ import annotations

import regex

from anonymisation.recognizers.base import _MONTH_NAMES, DutchPatternRecognizer
from anonymisation.vocabulary import STREET_SUFFIXES

_SUFFIX_WORDS = (*STREET_SUFFIXES, "ring", "dam", "vaart", "zijde", "oever", "burgwal")
# A capitalised name word ("Prins", "IJssel", "Oost-Indië") or a title abbreviation ("Burg.", "St.").
# All-caps tokens ("AB" of a postcode) and words ending a sentence ("Den Haag.") are not name words.
_WORD = (
    r"(?:(?:IJ|\p{Lu})\p{Ll}[\p{L}'’-]*(?![.\p{L}'’-])"
    r"|(?:St|Burg|Prof|Dr|Mr|Ir|Ing|Ds|Gen|Kon|Pr|Jhr|Mgr|Past|Luit|Adm|Kapt|Mej|Mevr|Dhr)\.)"
)
_PARTICLE = r"(?:van|de|der|den|het|'t|ter|ten|te|la|le|du|von)"
# Capitalised words that start a sentence or clause rather than a street name.
_NOT_STREET_WORD = (
    r"(?!(?:In|Op|Aan|Bij|Naar|Uit|Via|Langs|Tot|Vanaf|Voor|Achter|Tegenover|Nabij|Naast|Tussen|Sinds|Met"
    r"|Zonder|Over|Onder|Door|Om|Per|Ik|Wij|We|Hij|Zij|Ze|U|Mijn|Zijn|Haar|Onze|Ons|Hun|Een|Deze|Dit|Die|Dat"
    r"|Ook|Maar|Dus|Toen|Nu|Daarna|Vandaag|Gisteren|Morgen|Hier|Daar|Er|Zie|Als|Want|Omdat|Dan|Waar|Welke"
    r"|Alle|Elke|Iedere|Adres|Woonadres|Postadres|Bezoekadres|Woonachtig|Wonende|En|Of)\s)"
)
_PREFIX_WORD = rf"{_NOT_STREET_WORD}{_WORD}\s+(?:{_PARTICLE}\s+){{0,2}}"
# The street as matched by the regex: a word ending in a street suffix ("Kalverstraat", "Withstraat"),
# a bare suffix word ("Gracht", "Markt": only with name words before it) or "Laan van X". Name words
# before it ("Prins", "Burgemeester de", "Oude") are added afterwards by NlAddressRecognizer.refine_span:
# matching them in the main regex at every capitalised word made it four times slower.
_STREET = (
    r"(?:"
    rf"\p{{Lu}}[\p{{L}}'’-]*?(?:{'|'.join(STREET_SUFFIXES)})"
    rf"|(?P<bare>{'|'.join(word.capitalize() for word in _SUFFIX_WORDS)})"
    rf"|(?:Laan|Plein|Weg|Kade|Dijk|Singel|Straat|Park|Hof|Dreef|Gracht|Markt)\s+(?:{_PARTICLE}\s+){{1,2}}"
    rf"{_WORD}(?:\s+{_WORD})?"
    r")"
)
_NUMBER_AFTER_LETTER = regex.compile(r"(?<=[^\W\d_])\s+[1-9]")
_LONGEST_SUFFIX = max(len(word) for word in _SUFFIX_WORDS)
_STREET_WORD_THEN_PARTICLE = regex.compile(
    rf"(?:Laan|Plein|Weg|Kade|Dijk|Singel|Straat|Park|Hof|Dreef|Gracht|Markt)\s+{_PARTICLE}\s"
)
_NAME_WORDS_BEFORE = regex.compile(rf"(?<![\w-])(?:{_PREFIX_WORD}){{1,3}}\Z")
_NAME_WORDS_WINDOW = 100
_NOT_A_QUANTITY = (
    r"(?!\s*(?:%|€|[.,:]\d|(?i:uur|km|kilometer|meter|m|cm|mm|kg|jaar|jaren|keer|minuten|min|seconden|procent|euro"
    r"|mensen|personen|dagen|weken|maanden|woningen|huizen|" + _MONTH_NAMES + r")(?!\w)))"
)
_HOUSE_NUMBER = (
    r"[1-9]\d{0,4}" + _NOT_A_QUANTITY + r"(?:[ ]?-[ ]?(?:[1-9]\d{0,3}|[A-Za-z]{1,3})(?![\w-])"
    r"|[ ]?(?:bis|hs|huis|bg|boven|rood|zw)(?!\w)"
    r"|[ ]?[A-Za-z](?:[ ]?-[ ]?\d{1,3})?(?![\w-]))?"
)
_CITY = r"(?:'s-|'s\s|'t\s)?\p{Lu}[\p{L}'’-]+(?:\s(?:(?:aan|op|in|bij|a/d)\s(?:de\s|den\s)?)?\p{Lu}[\p{L}'’-]+){0,2}"
_POSTCODE = r"[1-9]\d{3}[ \u00a0]?(?!SA|SD|SS)[A-Z]{2}(?![\w-])"


class NlAddressRecognizer(DutchPatternRecognizer):
    """Street + house number, e.g. ``Kalverstraat 12``, ``Prins Hendrikkade 12-II``, ``Laan van Meerdervoort 5a``.

    The street is a capitalised word ending in a street suffix (straat, weg, laan, gracht, kade, ...),
    optionally preceded by up to three name words with particles (``Burgemeester de Withstraat``), or
    name words followed by a separate suffix word (``Oude Gracht``, ``Grote Markt``), or ``Laan van X``.
    House numbers may carry additions (``12a``, ``12-II``, ``12 bis``, ``12 A-3``, ``12hs``). A postcode
    and city directly after it are included in the span and raise the score.
    """

    ENTITY = "NL_ADDRESS"
    PATTERNS = (
        (
            "address_postcode",
            rf"(?<![\w-]){_STREET}\s+{_HOUSE_NUMBER},?\s+{_POSTCODE}(?:[ \u00a0]+{_CITY})?",
            0.85,
        ),
        ("address", rf"(?<![\w-]){_STREET}\s+{_HOUSE_NUMBER}(?![\w-])", 0.7),
    )
    CONTEXT = ("adres", "woonadres", "postadres", "woonachtig", "wonende", "woont", "gevestigd", "bezoekadres")

    def may_match(self, text: str) -> bool:
        """Return whether a house number follows a street suffix word or a ``Laan van X``-style street.

        A regex alternation of all suffixes costs as much as the address patterns themselves; finding
        "letter, space, digit" and checking the word before it in Python is ~30x cheaper on news text.
        """
        for candidate in _NUMBER_AFTER_LETTER.finditer(text):
            position = candidate.start()
            if text[max(0, position - _LONGEST_SUFFIX) : position].lower().endswith(_SUFFIX_WORDS):
                return True
            if _STREET_WORD_THEN_PARTICLE.search(text, max(0, position - _NAME_WORDS_WINDOW), position):
                return True
        return False

    def refine_span(self, text: str, match: regex.Match, start: int, end: int) -> tuple[int, int] | None:
        """Extend the span over up to three name words before the street; a bare suffix word needs them."""
        before = _NAME_WORDS_BEFORE.search(text, max(0, start - _NAME_WORDS_WINDOW), start)
        if before is not None:
            return before.start(), end
        if match.group("bare") is not None:  # "Gracht 4" on its own is no street
            return None
        return start, end
