"""Presidio recognizers for personal data in Dutch text (language ``"nl"``), offline and regex-based.

One small class per entity type; :func:`dutch_recognizers` returns one instance of each. All of them
share :class:`DutchPatternRecognizer`, a :class:`~presidio_analyzer.PatternRecognizer` that adds what
Dutch text needs and Presidio's stock matching lacks:

* patterns are compiled once, case-sensitive unless a pattern says ``(?i:...)`` itself (Presidio's
  default flags ignore case, which breaks postcodes, kentekens and capitalised street names);
* a pattern may mark the reported span with a named group ``pii``; the rest of the match is context
  (the date of birth pattern matches ``geboren op <date>`` but reports only the date). A group
  ``lead`` (may sit in a lookbehind) moves the start of the span back to where it starts;
* context words are matched in the raw text just before the match (``context_window`` characters).
  They raise the score by ``context_boost`` and are *required* for the patterns named in
  ``context_required``. This works with a blank spaCy pipeline, where Presidio's own lemma-based
  context enhancement sees no lemmas. Every result is flagged as context-enhanced, so Presidio's
  enhancer skips it: no double boost, and none of its per-result search through all tokens, which
  dominated analysis time on long documents;
* ``validate_result`` returning ``False`` drops a match (checksums), ``True`` keeps the pattern score
  (a passed 11-proef is weak evidence on its own, so it must not jump to 1.0 as in stock Presidio).

The rooms: :mod:`~anonymisation.recognizers.base` (the base class and shared regex fragments),
:mod:`~anonymisation.recognizers.contact` (e-mail, URL, IP, phone), :mod:`~anonymisation.recognizers.identifiers`
(IBAN, card, BSN, postcode, kenteken, KvK, btw, date of birth), :mod:`~anonymisation.recognizers.address`
and :mod:`~anonymisation.recognizers.named_entities` (persons, places, organisations).

No Dagster here, and nothing is downloaded: the e-mail recognizer uses tldextract's bundled public
suffix list.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer

from anonymisation.recognizers.address import NlAddressRecognizer
from anonymisation.recognizers.base import DutchPatternRecognizer
from anonymisation.recognizers.contact import (
    NlEmailRecognizer,
    NlIpAddressRecognizer,
    NlPhoneRecognizer,
    NlUrlRecognizer,
    offline_tld_extractor,
)
from anonymisation.recognizers.identifiers import (
    NlBsnRecognizer,
    NlBtwRecognizer,
    NlCreditCardRecognizer,
    NlDateOfBirthRecognizer,
    NlIbanRecognizer,
    NlKvkRecognizer,
    NlLicensePlateRecognizer,
    NlPostcodeRecognizer,
)
from anonymisation.recognizers.named_entities import (
    OPTIONAL_ENTITIES,
    NlPersonRecognizer,
    NlPlaceOrganisationRecognizer,
)
from anonymisation.recognizers.named_entities import _never_alone as _never_alone

__all__ = [
    "OPTIONAL_ENTITIES",
    "DutchPatternRecognizer",
    "NlAddressRecognizer",
    "NlBsnRecognizer",
    "NlBtwRecognizer",
    "NlCreditCardRecognizer",
    "NlDateOfBirthRecognizer",
    "NlEmailRecognizer",
    "NlIbanRecognizer",
    "NlIpAddressRecognizer",
    "NlKvkRecognizer",
    "NlLicensePlateRecognizer",
    "NlPersonRecognizer",
    "NlPhoneRecognizer",
    "NlPlaceOrganisationRecognizer",
    "NlPostcodeRecognizer",
    "NlUrlRecognizer",
    "dutch_recognizers",
    "offline_tld_extractor",
]


def dutch_recognizers() -> list[EntityRecognizer]:
    """Return one instance of every Dutch recognizer, ready for ``RecognizerRegistry.add_recognizer``."""
    return [
        NlEmailRecognizer(),
        NlPhoneRecognizer(),
        NlIbanRecognizer(),
        NlIpAddressRecognizer(),
        NlUrlRecognizer(),
        NlCreditCardRecognizer(),
        NlBsnRecognizer(),
        NlPostcodeRecognizer(),
        NlAddressRecognizer(),
        NlLicensePlateRecognizer(),
        NlKvkRecognizer(),
        NlBtwRecognizer(),
        NlDateOfBirthRecognizer(),
        NlPersonRecognizer(),
        NlPlaceOrganisationRecognizer(),
    ]
