"""Replacement operators for detected personal data, and ``anonymise_text`` to apply them by offsets.

Each operator is a small class with its settings in the constructor and one method
``replace(entity, original) -> str``:

* :class:`PlaceholderOperator` -> ``<PERSOON>``, ``<IBAN>``, ... (Dutch labels from :data:`ENTITY_LABELS`).
* :class:`HashOperator` -> ``<NL_BSN:3f2a9c0d11e4b7a2>``: keyed HMAC-SHA256, deterministic for the key.
* :class:`SurrogateOperator` -> realistic Dutch values of the same kind and format (a BSN that passes
  the 11-proef, an IBAN with valid check digits, a phone number in the same notation, a name with the
  same pattern of initials, tussenvoegsel and title, ...). The choice is seeded by
  HMAC-SHA256(key, label + normalised original), so it is deterministic for a key and unpredictable
  without it. :meth:`SurrogateOperator.for_document` returns a per-document mapping that, in addition,
  never gives two different originals of a document the same surrogate.

Realistic surrogates can coincide with a real person's data (a random valid BSN, IBAN or 06-number
may exist); e-mail addresses, URLs and IP addresses use reserved example domains and documentation
ranges instead. Nothing here logs, and error messages never contain the original text or a key.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from anonymisation.checksums import luhn_check_digit, mod97

__all__ = [
    "ENTITY_LABELS",
    "MIN_KEY_BYTES",
    "AnonymisationKeyError",
    "DocumentSurrogates",
    "HashOperator",
    "Operator",
    "PlaceholderOperator",
    "SurrogateOperator",
    "anonymise_text",
    "anonymise_with_spans",
    "check_key",
    "label_for",
]

#: The shortest secret key accepted; :func:`check_key` is the only place that enforces it.
MIN_KEY_BYTES = 16
_MAX_ATTEMPTS = 64

T = TypeVar("T")

# Entity names (Presidio's and the Dutch recognizers', with common aliases) -> Dutch label.
# The label is the placeholder text and selects the surrogate generator.
ENTITY_LABELS: dict[str, str] = {
    "PERSON": "PERSOON",
    "PER": "PERSOON",
    "NL_PERSON": "PERSOON",
    "PERSOON": "PERSOON",
    "EMAIL_ADDRESS": "EMAIL",
    "EMAIL": "EMAIL",
    "NL_EMAIL": "EMAIL",
    "PHONE_NUMBER": "TELEFOONNUMMER",
    "NL_PHONE_NUMBER": "TELEFOONNUMMER",
    "NL_PHONE": "TELEFOONNUMMER",
    "TELEFOONNUMMER": "TELEFOONNUMMER",
    "IBAN_CODE": "IBAN",
    "IBAN": "IBAN",
    "NL_IBAN": "IBAN",
    "NL_BSN": "BSN",
    "BSN": "BSN",
    "NL_POSTCODE": "POSTCODE",
    "NL_ZIP_CODE": "POSTCODE",
    "POSTCODE": "POSTCODE",
    "NL_ADDRESS": "ADRES",
    "NL_ADRES": "ADRES",
    "ADDRESS": "ADRES",
    "STREET_ADDRESS": "ADRES",
    "ADRES": "ADRES",
    "NL_LICENSE_PLATE": "KENTEKEN",
    "NL_KENTEKEN": "KENTEKEN",
    "LICENSE_PLATE": "KENTEKEN",
    "KENTEKEN": "KENTEKEN",
    "NL_KVK": "KVK",
    "NL_KVK_NUMBER": "KVK",
    "KVK": "KVK",
    "NL_BTW": "BTW",
    "NL_BTW_NUMBER": "BTW",
    "NL_BTW_ID": "BTW",
    "NL_VAT": "BTW",
    "NL_VAT_NUMBER": "BTW",
    "BTW": "BTW",
    "IP_ADDRESS": "IP_ADRES",
    "IP_ADRES": "IP_ADRES",
    "URL": "URL",
    "CREDIT_CARD": "CREDITCARD",
    "CREDITCARD": "CREDITCARD",
    "DATE_OF_BIRTH": "GEBOORTEDATUM",
    "NL_DATE_OF_BIRTH": "GEBOORTEDATUM",
    "BIRTH_DATE": "GEBOORTEDATUM",
    "GEBOORTEDATUM": "GEBOORTEDATUM",
    "LOCATION": "LOCATIE",
    "LOCATIE": "LOCATIE",
    "ORGANIZATION": "ORGANISATIE",
    "ORGANISATIE": "ORGANISATIE",
    "DATE_TIME": "DATUM",
    "NRP": "NATIONALITEIT",
}


def label_for(entity: str) -> str:
    """Return the Dutch label of an entity name; unknown names are upper-cased as they are."""
    name = entity.strip().upper()
    return ENTITY_LABELS.get(name, name)


class Operator(Protocol):
    """What :func:`anonymise_text` needs: a replacement for one detected value."""

    def replace(self, entity: str, original: str) -> str:
        """Return the text that replaces ``original``, a detected ``entity``."""
        ...


# --------------------------------------------------------------------------------------------------
# Keys


class AnonymisationKeyError(ValueError):
    """The anonymisation key is missing or too short (the message never contains the key)."""


def check_key(key: bytes, what: str = "key") -> bytes:
    """Return ``key`` if it is long enough to be a secret key of surrogates and hashes.

    The one place that checks the key length: the operators call it, and so does whoever resolves a key
    (``catalog.keys`` gets it passed in, since the catalog layer cannot import this library).

    :param what: how the message names the key's origin (``"environment variable X"``, a key file).
    :raises AnonymisationKeyError: shorter than :data:`MIN_KEY_BYTES`; the message names ``what``, never the key.
    """
    if not isinstance(key, bytes | bytearray):
        raise TypeError("key must be bytes")
    if len(key) < MIN_KEY_BYTES:
        raise AnonymisationKeyError(f"{what} must hold at least {MIN_KEY_BYTES} bytes")
    return bytes(key)


# --------------------------------------------------------------------------------------------------
# Placeholder and hash


class PlaceholderOperator:
    """Replace every value by its Dutch label: ``<PERSOON>``, ``<EMAIL>``, ``<BSN>``, ...

    :param labels: extra or overriding entity name -> label entries.
    """

    def __init__(self, labels: Mapping[str, str] | None = None):
        self._labels = {k.upper(): v for k, v in (labels or {}).items()}

    def replace(self, entity: str, original: str) -> str:
        """Return ``<LABEL>`` for the entity (``original`` is not used)."""
        name = entity.strip().upper()
        return f"<{self._labels.get(name) or label_for(name)}>"


class HashOperator:
    """Replace a value by ``<ENTITY:first 16 hex of HMAC-SHA256>``, deterministic for the key.

    The value is normalised first (case, whitespace, and separators in numbers), so ``NL91 ABNA ...`` and
    ``NL91ABNA...`` hash alike. Without the key the hash cannot be recomputed from guessed values.

    :param key: secret of at least 16 bytes (see :func:`check_key`).
    """

    def __init__(self, key: bytes, *, hex_chars: int = 16):
        self._key = check_key(key)
        self._hex_chars = hex_chars

    def __repr__(self) -> str:
        return f"HashOperator(key=<hidden>, hex_chars={self._hex_chars})"

    def replace(self, entity: str, original: str) -> str:
        """Return ``<ENTITY:hex>``."""
        label = label_for(entity)
        message = b"\x1f".join([b"hash", label.encode(), _normalise(label, original).encode()])
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return f"<{entity.strip().upper()}:{digest[: self._hex_chars]}>"


# --------------------------------------------------------------------------------------------------
# Deterministic randomness


class _Stream:
    """Deterministic random draws from HMAC-SHA256(key, namespace, normalised value, attempt)."""

    def __init__(self, key: bytes, namespace: str, norm: str, attempt: int):
        message = b"\x1f".join([b"surrogate", namespace.encode(), norm.encode(), str(attempt).encode()])
        self._seed = hmac.new(key, message, hashlib.sha256).digest()
        self._counter = 0
        self._buffer = b""

    def _take(self, count: int) -> bytes:
        while len(self._buffer) < count:
            block = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
            self._buffer += block
        taken, self._buffer = self._buffer[:count], self._buffer[count:]
        return taken

    def below(self, n: int) -> int:
        """Return a uniform integer in ``[0, n)`` (rejection sampling, no modulo bias)."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            value = int.from_bytes(self._take(8), "big")
            if value < limit:
                return value % n

    def between(self, low: int, high: int) -> int:
        """Return a uniform integer in ``[low, high]``."""
        return low + self.below(high - low + 1)

    def choice(self, items: tuple[T, ...] | list[T] | str) -> Any:
        """Return one item."""
        return items[self.below(len(items))]

    def digits(self, count: int) -> str:
        """Return ``count`` random decimal digits."""
        return "".join(str(self.below(10)) for _ in range(count))


class _Deriver:
    """Stateless: the same (namespace, normalised value) always gives the same value."""

    def __init__(self, key: bytes):
        self._key = key

    def derive(
        self,
        namespace: str,
        norm: str,
        make: Callable[[_Stream], T],
        reject: Callable[[T], bool] | None = None,
        *,
        unique: bool = True,
    ) -> T:
        """Draw a value for (namespace, norm); retry while ``reject``s it or (unique) it is taken."""
        value = make(_Stream(self._key, namespace, norm, 0))
        for attempt in range(1, _MAX_ATTEMPTS):
            if not (reject and reject(value)) and (not unique or self._accept(namespace, value)):
                break
            value = make(_Stream(self._key, namespace, norm, attempt))
        self._remember(namespace, norm, value, unique)
        return value

    def _accept(self, namespace: str, value: Any) -> bool:
        return True

    def _remember(self, namespace: str, norm: str, value: Any, unique: bool) -> None:
        return None


class _DocumentDeriver(_Deriver):
    """Remembers each value of a document and keeps surrogates of different originals apart."""

    def __init__(self, key: bytes):
        super().__init__(key)
        self._memo: dict[tuple[str, str], Any] = {}
        self._used: dict[str, set[Any]] = {}

    def derive(
        self,
        namespace: str,
        norm: str,
        make: Callable[[_Stream], T],
        reject: Callable[[T], bool] | None = None,
        *,
        unique: bool = True,
    ) -> T:
        """Return the value remembered for (namespace, norm), or draw one no other original has."""
        if (namespace, norm) in self._memo:
            return self._memo[(namespace, norm)]
        return super().derive(namespace, norm, make, reject, unique=unique)

    def _accept(self, namespace: str, value: Any) -> bool:
        return value not in self._used.get(namespace, set())

    def _remember(self, namespace: str, norm: str, value: Any, unique: bool) -> None:
        self._memo[(namespace, norm)] = value
        if unique:
            self._used.setdefault(namespace, set()).add(value)


# --------------------------------------------------------------------------------------------------
# Word lists (written for this module; common Dutch names, streets and places are facts, not a source)


def _bar_list(text: str) -> tuple[str, ...]:
    """Split a ``|``-separated multi-line literal into stripped items."""
    return tuple(item.strip() for item in text.split("|") if item.strip())


_MALE_NAMES = tuple(
    """
    Jan Pieter Kees Hendrik Willem Johannes Cornelis Gerrit Dirk Jacob Klaas Hans Peter Marco Mark
    Martijn Bas Sander Thomas Daan Sem Lucas Levi Finn Luuk Milan Jesse Bram Tim Lars Ruben Thijs
    Stijn Niels Joost Jeroen Rob Erik Frank Paul Michiel Wouter Maarten Bart Arjan Ronald René Henk
    Gert Ad Ton Wim Theo Frans Joop Harm Sjoerd Tjeerd Wietse Jelle Sietse Douwe Auke Hidde Koen
    Teun Gijs Jorn Rik Tom Sven Max Noah Sam Julian Mees Jens Siem Ties Olivier Boaz Floris Job Tijn
    Guus Hugo Jurre Quinten Vincent Stefan Dennis Patrick Edwin Richard Raymond Marcel Robert Johan
    Jos Leo Anton Arie Bert Evert Gerard Herman Jaap Joris Karel Lambert Nico Rutger Simon Wessel
    Wiebe Yannick Mohamed Youssef Ibrahim Mustafa Ali Omar Hamza Ayoub Emre Mehmet Kevin Jeffrey
    Ricardo Sebastiaan Laurens Maurits Coen Diederik Egbert Fokke Geert Hielke Jochem Kasper Lodewijk
    Menno Otto Reinier Roel Stan Tobias Valentijn Wilco Xander Aart Berend Chiel Dolf Ewout Freek
    """.split()
)
_FEMALE_NAMES = tuple(
    """
    Anna Maria Johanna Cornelia Elisabeth Wilhelmina Hendrika Geertruida Margaretha Catharina Emma
    Julia Sophie Tess Zoë Sara Eva Lotte Lisa Fleur Noor Mila Saar Nina Lieke Anouk Femke Sanne
    Marloes Linda Monique Ingrid Petra Ellen Karin Esther Marieke Annemiek Ilse Inge Janneke Jolanda
    Marjolein Miriam Mirjam Nicole Patricia Sandra Saskia Wendy Yvonne Anja Astrid Bianca Carla
    Dorien Elise Floor Hanneke Iris Jasmijn Kim Laura Manon Merel Naomi Romy Roos Sofie Vera Yara Liv
    Nova Evi Olivia Maud Isa Sarah Fenna Lynn Jet Elin Hannah Loïs Amber Demi Britt Joyce Kelly
    Denise Mariska Tineke Gerda Riet Truus Ria Annie Corrie Greet Henny Joke Marian Ans Els Ineke
    Mieke Trudy Wilma Anne Marie Jantine Sietske Geesje Aaltje Grietje Fatima Khadija Aisha Meryem Yasmina
    Samira Nadia Latifa Agnes Berber Charlotte Daphne Eline Frederique Gonnie Heleen Ida Jacqueline
    Klaartje Lieve Machteld Nathalie Paulien Renske Silvia Thirza Ursula Willemijn Anneke Bregje
    """.split()
)
_SURNAMES = tuple(
    """
    Jansen Bakker Visser Smit Meijer Mulder Bos Vos Peters Hendriks Dekker Brouwer Dijkstra Smits
    Janssen Willems Kok Jacobs Schouten Vermeulen Hoekstra Koster Prins Huisman Peeters Kuipers Maas
    Postma Verbeek Kramer Bosman Gerritsen Vink Kuiper Schipper Timmermans Mol Groen Wouters Hermans
    Koning Jonker Evers Martens Verhoeven Blom Scholten Veenstra Hoogendoorn Willemsen Vermeer
    Boersma Sanders Koopman Driessen Claassen Franken Hofman Verhoef Lammers Nijhuis Hoekman Wolters
    Bouwman Aerts Verschuren Bruins Sluiter Zwart Schut Hendriksen Gerrits Stam Koopmans Brink Pol
    Post Molenaar Mulders Kroon Kamp Buijs Kersten Hoek Kuijpers Verhagen Goossens Heijnen Claessens
    Wagenaar Hofstra Westra Zijlstra Terpstra Bosma Visscher Wiersma Kooistra Talsma Sijtsma
    Nijenhuis Oosterhuis Wessels Brinkman Hulshof Lubbers Veldman Pauw Keijzer Sommer Ottens
    Tuinstra Schuurman Scheffer Damen Arts Geurts Thijssen Coenen Bongers Verstappen Rutten Beekman
    Staal Blaauw Snijders Hoogland Klaver Vonk Leeuwis Rietveld Hartman Bleeker Sterk Mooij Rijnders
    Ligthart Oudshoorn Kemper Overbeek Kolk Dijkman Reinders Rozendaal Stevens Groenewegen Zuidema
    Bouma Faber Wieringa Tromp Jongsma Siebenga Hermsen Klein Lenders Mertens Nieuwenhuis Ploeger
    Roelofs Slot Teunissen Vogel Wijnen Zomer Baas Burger Dam Eijkelenboom Fransen Gorter Haverkamp
    Jongerius Kalkman Lindeman Meulenbelt Noordhuis Ooms Pieterse Quist Rademaker Schreuder
    """.split()
)
# (tussenvoegsel, core)
_TV_SURNAMES = tuple(
    tuple(item.rsplit(" ", 1))
    for item in _bar_list(
        """
    de Vries|de Jong|van Dijk|van den Berg|van der Meer|de Boer|van Leeuwen|de Groot|van der Linden|
    van der Heijden|de Graaf|van Beek|van Vliet|de Haan|van den Broek|van Wijk|de Bruijn|van Dam|
    van der Veen|van der Wal|de Wit|van Veen|van den Heuvel|van der Laan|van Doorn|van der Ploeg|
    de Lange|van Dongen|van Rijn|van Loon|de Ruiter|van den Bosch|ter Horst|de Kok|van Os|van Houten|
    van Gils|van Essen|van Kempen|van Zanten|de Roos|van Schaik|van der Velden|van Eijk|van Rooij|
    van de Ven|de Klerk|van Hoof|van Rossum|te Riele|van Ginkel|van Es|van der Zee|van den Bergh|
    van Geest|ten Brink|van der Horst|de Wilde|van Oosten|van Hulst|de Vos|de Koning|van der Steen|
    de Wolf|van de Kamp|van het Hof|in 't Veld|van 't Zand|op den Akker|van de Pol
    """
    )
)
_STREETS = _bar_list(
    """
    Kerkstraat|Dorpsstraat|Schoolstraat|Molenstraat|Molenweg|Stationsweg|Stationsstraat|Julianastraat|
    Wilhelminastraat|Beatrixstraat|Emmastraat|Oranjestraat|Nieuwstraat|Hoofdstraat|Markt|Parallelweg|
    Industrieweg|Sportlaan|Kastanjelaan|Eikenlaan|Beukenlaan|Lindelaan|Berkenlaan|Irenestraat|
    Bernhardstraat|Tulpstraat|Rozenstraat|Vlietweg|Dijkstraat|Havenstraat|Voorstraat|Achterstraat|
    Zandweg|Veldweg|Brugstraat|Nieuweweg|Prinsengracht|Spoorlaan|Meidoornlaan|Vogelzang|Wilgenlaan|
    Populierenlaan|Boslaan|Esdoornstraat|Leeuweriklaan|Merelstraat|Zwanenlaan|Burgwal|Raadhuisstraat
    """
)
_CITIES = _bar_list(
    """
    Amsterdam|Rotterdam|Den Haag|Utrecht|Eindhoven|Groningen|Tilburg|Almere|Breda|Nijmegen|Apeldoorn|
    Haarlem|Arnhem|Enschede|Amersfoort|Zaandam|Zwolle|Leiden|Maastricht|Dordrecht|Zoetermeer|Ede|
    Alkmaar|Delft|Deventer|Leeuwarden|Venlo|Helmond|Hilversum|Heerlen|Oss|Hengelo|Assen|Gouda|Zeist|
    Roosendaal|Emmen|Lelystad|Purmerend|Schiedam|Vlaardingen|Middelburg|Harderwijk|Meppel|Sneek|
    Winterswijk|Doetinchem|Tiel|Goes|Den Helder
    """
)
_EMAIL_DOMAINS = (
    "voorbeeld.example",
    "mail.example",
    "post.example",
    "webmail.example",
    "mijnprovider.example",
    "thuis.example",
    "kantoor.example",
    "bedrijf.example",
    "organisatie.example",
    "internet.example",
)
_URL_WORDS = ("pagina", "nieuws", "artikel", "contact", "over-ons", "dossier", "informatie", "documenten", "profiel")
_NL_BANKS = ("ABNA", "INGB", "RABO", "SNSB", "ASNB", "RBRB", "TRIO", "KNAB", "BUNQ", "FVLB")
_PLATE_LETTERS = "BDFGHJKLNPRSTVXZ"  # no vowels (and no C, Q, M, W), as on Dutch plates
_POSTCODE_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"  # no F, I, O, Q, U, Y
_INITIAL_LETTERS = "ABCDEFGHIJKLMNOPRSTVW"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_IPV4_DOC_NETS = ("192.0.2", "198.51.100", "203.0.113")
_MONTHS_FULL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_MONTHS_ABBR = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTHS_FULL)} | {
    name: i + 1 for i, name in enumerate(_MONTHS_ABBR)
}
_MONTH_NUMBER |= {"febr": 2, "mar": 3, "maa": 3, "sept": 9, "oct": 10}

_MALE_SET = frozenset(n.casefold() for n in _MALE_NAMES)
_FEMALE_SET = frozenset(n.casefold() for n in _FEMALE_NAMES)

# Titles and forms of address stay as they are; some imply the gender of the first name.
_FEMALE_TITLES = frozenset({"mevrouw", "mevr", "mw", "juffrouw", "juf", "zuster", "tante", "oma", "moeder"})
_MALE_TITLES = frozenset({"meneer", "mijnheer", "heer", "dhr", "hr", "oom", "opa", "broeder", "vader"})
_NEUTRAL_TITLES = frozenset(
    {
        "mr",
        "dr",
        "drs",
        "ir",
        "ing",
        "prof",
        "ds",
        "bc",
        "burgemeester",
        "wethouder",
        "minister",
        "staatssecretaris",
        "premier",
        "rechter",
        "notaris",
        "dokter",
        "meester",
        "pastoor",
        "dominee",
        "agent",
        "commissaris",
        "directeur",
        "gedeputeerde",
        "kamerlid",
        "raadslid",
        "officier",
        "advocaat",
    }
)
_SUFFIXES = frozenset({"jr", "sr", "msc", "bsc", "ma", "ba", "phd", "mba", "llm", "llb"})
_TUSSENVOEGSELS = frozenset(
    {"van", "de", "der", "den", "het", "'t", "’t", "ter", "ten", "te", "in", "op", "aan", "uit", "la", "le", "du"}
    | {"da", "di", "del", "des", "dos", "d'", "l'", "vd", "v.d."}
)
_TWO_DIGIT_AREA_CODES = frozenset(
    "10 13 15 20 23 24 26 30 33 35 36 38 40 43 45 46 50 53 55 58 70 71 72 73 74 75 76 77 78 79 84 85 87 88".split()
)
_SERVICE_PREFIXES = ("800", "900", "906", "909")

# --------------------------------------------------------------------------------------------------
# Helpers


def _collapse(text: str) -> str:
    return " ".join(text.split()).casefold()


def _alnum_upper(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum()).upper()


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _pour(template: str, chars: str, slot: Callable[[str], bool] = str.isalnum) -> str:
    """Write ``chars`` into the slots of ``template`` (alphanumerics by default), keeping the rest and case."""
    source = iter(chars)
    out = []
    for ch in template:
        if slot(ch):
            new = next(source)
            out.append(new.lower() if ch.isalpha() and ch.islower() else new)
        else:
            out.append(ch)
    return "".join(out)


def _like(template: str, value: str) -> str:
    """Give ``value`` the letter case of ``template`` (ALL CAPS, all lower, or as listed)."""
    letters = [ch for ch in template if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return value.upper()
    if letters and all(ch.islower() for ch in letters):
        return value.lower()
    return value


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _shape(stream: _Stream, compact: str, letters: str = _LETTERS) -> str:
    """Random characters of the same kinds: digit for digit, letter for letter."""
    return "".join(
        str(stream.below(10)) if ch.isdigit() else stream.choice(letters) if ch.isalpha() else ch for ch in compact
    )


def _elfproef_digits(stream: _Stream, *, leading_zero: bool = False) -> str:
    """Nine digits that pass the BSN 11-proef (9*d1 + ... + 2*d8 - d9 divisible by 11)."""
    while True:
        head = ("0" if leading_zero else str(stream.between(1, 9))) + stream.digits(7)
        check = sum(w * int(d) for w, d in zip(range(9, 1, -1), head, strict=True)) % 11
        if check < 10:
            return head + str(check)


# --------------------------------------------------------------------------------------------------
# Normalisation: which originals count as "the same value"


def _phone_parts(original: str) -> tuple[str, str] | None:
    """Split a phone number into (kept prefix text, national part text) for Dutch notations."""
    match = re.match(r"^(\s*(?:(?:\+|00)\s*31[\s.\-]*(?:\(0\)[\s.\-]*)?|\(?0))(.*)$", original, re.DOTALL)
    if match is None or not _digits(match.group(2)):
        return None
    return match.group(1), match.group(2)


def _normalise(label: str, original: str) -> str:
    if label in {"BSN", "KVK", "CREDITCARD"}:
        return _digits(original) or _collapse(original)
    if label in {"IBAN", "POSTCODE", "KENTEKEN", "BTW"}:
        return _alnum_upper(original) or _collapse(original)
    if label == "TELEFOONNUMMER":
        parts = _phone_parts(original)
        return ("31:" + _digits(parts[1])) if parts else _digits(original) or _collapse(original)
    if label == "IP_ADRES":
        try:
            return str(ipaddress.ip_address(original.strip()))
        except ValueError:
            return _collapse(original)
    if label == "GEBOORTEDATUM":
        parsed = _parse_date(original)
        return parsed[0].isoformat() if parsed else _collapse(original)
    return _collapse(original)


# --------------------------------------------------------------------------------------------------
# Surrogate generators: (deriver, original) -> surrogate


def _sur_bsn(d: _Deriver, original: str) -> str:
    digits = _digits(original)
    if len(digits) not in (8, 9):
        value = d.derive("BSN", digits, lambda s: s.digits(len(digits)), lambda v: v == digits)
        return _pour(original, value, str.isdigit)
    padded = digits.zfill(9)
    # an eight-digit notation is a BSN with a leading zero written without it: keep that shape
    value = d.derive("BSN", padded, lambda s: _elfproef_digits(s, leading_zero=len(digits) == 8), lambda v: v == padded)
    return _pour(original, value[-len(digits) :], str.isdigit)


def _sur_iban(d: _Deriver, original: str) -> str:
    compact = _alnum_upper(original)
    if len(compact) < 5 or not compact.isascii() or not compact[:2].isalpha():
        value = d.derive("IBAN", compact, lambda s: _shape(s, compact), lambda v: v == compact)
        return _pour(original, value)
    country = compact[:2]

    def make(s: _Stream) -> str:
        if country == "NL" and len(compact) == 18:
            while True:  # Dutch account numbers used to pass an 11-proef over ten digits
                head = s.digits(9)
                check = -sum(w * int(c) for w, c in zip(range(10, 1, -1), head, strict=True)) % 11
                if check < 10 and head.strip("0"):
                    break
            bban = s.choice(_NL_BANKS) + head + str(check)
        else:
            bban = _shape(s, compact[4:])
        check_digits = 98 - mod97(bban + country + "00")
        return f"{country}{check_digits:02d}{bban}"

    value = d.derive("IBAN", compact, make, lambda v: v == compact)
    return _pour(original, value)


def _sur_phone(d: _Deriver, original: str) -> str:
    parts = _phone_parts(original)
    if parts is None:
        digits = _digits(original)
        keep = 3 if original.lstrip().startswith(("+", "00")) else 1
        value = d.derive(
            "TELEFOONNUMMER",
            digits,
            lambda s: digits[:keep] + s.digits(len(digits) - keep),
            lambda v: v == digits,
        )
        return _pour(original, value, str.isdigit)
    prefix, rest = parts
    national = _digits(rest)
    if national.startswith("6"):
        keep, first = 1, "12345"
    elif national.startswith(_SERVICE_PREFIXES):
        keep, first = 3, "0123456789"
    elif national[:2] in _TWO_DIGIT_AREA_CODES:
        keep, first = 2, "23456789"
    else:
        keep, first = 3, "23456789"
    keep = min(keep, len(national))

    def make(s: _Stream) -> str:
        tail = len(national) - keep
        return national[:keep] + (s.choice(first) + s.digits(tail - 1) if tail > 0 else "")

    value = d.derive("TELEFOONNUMMER", "31:" + national, make, lambda v: v == national)
    return prefix + _pour(rest, value, str.isdigit)


def _email_local(s: _Stream, original_local: str) -> str:
    first = _ascii(s.choice(_MALE_NAMES + _FEMALE_NAMES))
    last = _ascii(s.choice(_SURNAMES))
    pattern = s.below(4)
    local = [f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last}", f"{first}_{last}"][pattern]
    if any(ch.isdigit() for ch in original_local):
        local += s.digits(2)
    return local


def _sur_email(d: _Deriver, original: str) -> str:
    local = original.rsplit("@", 1)[0]
    norm = _collapse(original)
    return d.derive(
        "EMAIL",
        norm,
        lambda s: f"{_email_local(s, local)}@{s.choice(_EMAIL_DOMAINS)}",
        lambda v: v == norm,
    )


def _sur_postcode(d: _Deriver, original: str) -> str:
    compact = _alnum_upper(original)
    if re.fullmatch(r"\d{4}[A-Z]{2}", compact):

        def make(s: _Stream) -> str:
            while True:
                letters = s.choice(_POSTCODE_LETTERS) + s.choice(_POSTCODE_LETTERS)
                if letters not in {"SA", "SD", "SS"}:
                    return str(s.between(1, 9)) + s.digits(3) + letters

    else:

        def make(s: _Stream) -> str:
            return _shape(s, compact)

    return _pour(original, d.derive("POSTCODE", compact, make, lambda v: v == compact))


def _sur_kenteken(d: _Deriver, original: str) -> str:
    compact = _alnum_upper(original)
    value = d.derive("KENTEKEN", compact, lambda s: _shape(s, compact, _PLATE_LETTERS), lambda v: v == compact)
    return _pour(original, value)


def _sur_kvk(d: _Deriver, original: str) -> str:
    digits = _digits(original)
    value = d.derive(
        "KVK",
        digits,
        lambda s: (str(s.between(1, 9)) + s.digits(len(digits) - 1)) if digits else "",
        lambda v: v == digits,
    )
    return _pour(original, value, str.isdigit)


def _sur_btw(d: _Deriver, original: str) -> str:
    compact = _alnum_upper(original)
    match = re.fullmatch(r"(NL)?(\d{9})B(\d{2})", compact)
    if match is None:
        value = d.derive("BTW", compact, lambda s: _shape(s, compact), lambda v: v == compact)
        return _pour(original, value)

    def make(s: _Stream) -> str:
        # nine digits that pass the 11-proef and a suffix that makes NL...B.. pass MOD 97-10: valid under both rules
        digits = _elfproef_digits(s)
        start = s.below(99)
        for i in range(99):
            suffix = f"{(start + i) % 99 + 1:02d}"
            if mod97(f"NL{digits}B{suffix}") == 1:
                return f"NL{digits}B{suffix}"
        return f"NL{digits}B01"  # pragma: no cover - 99 consecutive suffixes cover every residue

    key = "NL" + match.group(2) + "B" + match.group(3)
    value = d.derive("BTW", key, make, lambda v: v == key)
    return _pour(original, value if match.group(1) else value[2:])


def _sur_creditcard(d: _Deriver, original: str) -> str:
    digits = _digits(original)
    if len(digits) < 2:
        return _pour(original, d.derive("CREDITCARD", digits, lambda s: s.digits(len(digits))), str.isdigit)

    def make(s: _Stream) -> str:
        payload = digits[0] + s.digits(len(digits) - 2)
        return payload + luhn_check_digit(payload)

    return _pour(original, d.derive("CREDITCARD", digits, make, lambda v: v == digits), str.isdigit)


def _sur_ip(d: _Deriver, original: str) -> str:
    text = original.strip()
    suffix = ""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        try:
            interface = ipaddress.ip_interface(text)
        except ValueError:
            address = None
        else:
            address = interface.ip
            suffix = "/" + str(interface.network.prefixlen)
    version = address.version if address else (6 if ":" in text else 4)
    norm = str(address) if address else _collapse(original)

    def make(s: _Stream) -> str:
        if version == 4:
            return f"{s.choice(_IPV4_DOC_NETS)}.{s.between(1, 254)}"
        groups = ":".join(f"{s.below(1 << 16):x}" for _ in range(6))
        return str(ipaddress.IPv6Address(f"2001:db8:{groups}"))

    value = d.derive("IP_ADRES", norm, make, lambda v: v == norm)
    if any(ch in "ABCDEF" for ch in text):
        value = value.upper()
    return original[: len(original) - len(original.lstrip())] + value + suffix


def _sur_url(d: _Deriver, original: str) -> str:
    text = original.strip()
    lowered = text.lower()
    match = re.match(r"^(?:[a-z][a-z0-9+.\-]*://)?[^/?#]*(.*)$", lowered, re.DOTALL)
    has_path = bool(match and match.group(1).strip("/"))
    if lowered.startswith(("http://", "https://")) or "://" in lowered:
        base = "https://www.voorbeeld.example"
    elif lowered.startswith("www."):
        base = "www.voorbeeld.example"
    else:
        base = "voorbeeld.example"

    def make(s: _Stream) -> str:
        if not has_path:
            return f"{base}/" if text.endswith("/") else base
        return f"{base}/{s.choice(_URL_WORDS)}/{s.choice(_URL_WORDS)}-{s.between(100, 9999)}"

    norm = _collapse(original)
    return d.derive("URL", norm, make, lambda v: v.casefold() == norm)


# Dates of birth ------------------------------------------------------------------------------------

_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})([-/.]|\s)(\d{1,2})\2(\d{1,4})(?!\d)")
_TEXT_DATE = re.compile(r"(?<!\d)(\d{1,2})(\s+|-)([^\W\d_]+)(\.?)(\s+|-)(\d{2,4})(?!\d)")


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        year += 1900 if year > 30 else 2000
    return year


def _parse_date(original: str) -> tuple[dt.date, re.Match[str], str] | None:
    """Return (date, match, kind) for the first date in ``original``; kind is 'ymd', 'dmy' or 'text'."""
    match = _TEXT_DATE.search(original)
    if match and match.group(3).casefold() in _MONTH_NUMBER:
        try:
            day = int(match.group(1))
            return dt.date(_year(match.group(6)), _MONTH_NUMBER[match.group(3).casefold()], day), match, "text"
        except ValueError:
            return None
    match = _NUMERIC_DATE.search(original)
    if match is None:
        return None
    first, _, middle, last = match.groups()
    try:
        if len(first) == 4:
            return dt.date(int(first), int(middle), int(last)), match, "ymd"
        if len(last) in (2, 4):
            return dt.date(_year(last), int(middle), int(first)), match, "dmy"
    except ValueError:
        return None
    return None


def _pad(template: str, value: int, *, numeric: bool = True) -> str:
    """Zero-pad like the original: "03" pads; "3" does not; "12" pads in numeric dates only."""
    padded = template.startswith("0") or (numeric and len(template) == 2)
    return f"{value:02d}" if padded else str(value)


def _sur_birthdate(d: _Deriver, original: str) -> str:
    parsed = _parse_date(original)
    if parsed is None:
        return "<GEBOORTEDATUM>"
    date, match, kind = parsed

    def make(s: _Stream) -> dt.date:
        # same age give or take three years; day and month drawn afresh
        year = date.year - s.below(4)
        month = s.between(1, 12)
        return dt.date(year, month, s.between(1, calendar.monthrange(year, month)[1]))

    new = d.derive("GEBOORTEDATUM", date.isoformat(), make, lambda v: v == date)
    g = match.group
    if kind == "ymd":
        text = f"{new.year}{g(2)}{_pad(g(3), new.month)}{g(2)}{_pad(g(4), new.day)}"
    elif kind == "dmy":
        year = f"{new.year % 100:02d}" if len(g(4)) == 2 else str(new.year)
        text = f"{_pad(g(1), new.day)}{g(2)}{_pad(g(3), new.month)}{g(2)}{year}"
    else:
        month_word = g(3)
        names = _MONTHS_FULL if month_word.casefold() in _MONTHS_FULL else _MONTHS_ABBR
        name = names[new.month - 1]
        if month_word[:1].isupper():
            name = name.upper() if len(month_word) > 1 and month_word.isupper() else name.capitalize()
        year = f"{new.year % 100:02d}" if len(g(6)) == 2 else str(new.year)
        text = f"{_pad(g(1), new.day, numeric=False)}{g(2)}{name}{g(4)}{g(5)}{year}"
    return original[: match.start()] + text + original[match.end() :]


# Places and addresses ------------------------------------------------------------------------------


def _sur_city(d: _Deriver, original: str) -> str:
    norm = _collapse(original)
    city = d.derive("LOCATIE", norm, lambda s: s.choice(_CITIES), lambda v: v.casefold() == norm)
    return _like(original, city)


_ADDRESS = re.compile(r"^(?P<street>\D*?[^\W\d_][^\d]*?)(?P<sep>\s+)(?P<number>\d{1,5})(?P<tail>.*)$", re.DOTALL)
_TAIL_POSTCODE = re.compile(r"(?<![\w-])\d{4}[ \u00a0]?[A-Za-z]{2}(?![\w-])")


def _sur_address(d: _Deriver, original: str) -> str:
    match = _ADDRESS.match(original.strip())
    if match is None:
        return "<ADRES>"
    lead = original[: len(original) - len(original.lstrip())]
    street, number, tail = match.group("street"), match.group("number"), match.group("tail")
    norm = _collapse(street + " " + number)
    if street.strip().casefold() == "postbus":
        new_street = street
        new_number = d.derive(
            "ADRES", norm, lambda s: str(s.between(1, 9999)), lambda v: v == number
        )  # keep the word, change the number
    else:
        new_street_raw, new_number = d.derive(
            "ADRES",
            norm,
            lambda s: (s.choice(_STREETS), str(s.between(1, 199))),
            lambda v: v[0].casefold() == street.strip().casefold(),
        )
        new_street = _like(street, new_street_raw)

    # the tail is a house number addition (kept), then optionally a postcode and a place name (replaced)
    postcode = _TAIL_POSTCODE.search(tail)
    if postcode is not None:
        after = tail[postcode.end() :]
        city = after.strip(" \u00a0,\t\n")
        if city:
            begin = after.index(city)
            after = after[:begin] + _sur_city(d, city) + after[begin + len(city) :]
        tail = tail[: postcode.start()] + _sur_postcode(d, postcode.group()) + after
    return lead + new_street + match.group("sep") + new_number + tail


# Person names --------------------------------------------------------------------------------------

_INITIALS = re.compile(r"^(?:[A-ZÀ-Þ][a-zà-ÿ]{0,2}\.)+[A-ZÀ-Þ]?$|^[A-ZÀ-Þ]$")
_INITIALS_NO_DOTS = re.compile(r"^[A-ZÀ-Þ]{1,3}$")
_INITIAL_GROUP = re.compile(r"[A-ZÀ-Þ][a-zà-ÿ]*")


def _title_word(token: str) -> str:
    return token.casefold().rstrip(".,")


def _sur_initials(d: _Deriver, token: str) -> str:
    groups = _INITIAL_GROUP.findall(token)
    original = "".join(g[0] for g in groups).upper()
    letters = d.derive(
        "PERSOON/initialen",
        original,
        lambda s: "".join(s.choice(_INITIAL_LETTERS) for _ in groups),
        lambda v: v == original,
    )
    source = iter(letters)
    return _INITIAL_GROUP.sub(lambda _m: next(source), token)


def _sur_given(d: _Deriver, token: str, gender: str) -> str:
    names = _FEMALE_NAMES if gender == "v" else _MALE_NAMES
    parts = re.split(r"(-)", token)
    out = []
    for part in parts:
        if part == "-" or not part:
            out.append(part)
            continue
        norm = part.casefold()
        new = d.derive(
            f"PERSOON/voornaam/{gender}", norm, lambda s, n=names: s.choice(n), lambda v, n=norm: v.casefold() == n
        )
        out.append(_like(part, new))
    return "".join(out)


def _sur_surname_component(d: _Deriver, component: str) -> str:
    words = component.split()
    tv_count = 0
    while tv_count < len(words) - 1 and words[tv_count].casefold() in _TUSSENVOEGSELS:
        tv_count += 1
    norm = " ".join(words).casefold()
    core = " ".join(words[tv_count:])
    if tv_count == 0:
        new = d.derive("PERSOON/achternaam", norm, lambda s: s.choice(_SURNAMES), lambda v: v.casefold() == norm)
        return _like(core, new)
    same_count = tuple(item for item in _TV_SURNAMES if len(item[0].split()) == tv_count) or _TV_SURNAMES
    tv, new_core = d.derive(
        f"PERSOON/achternaam/tv{tv_count}",
        norm,
        lambda s: s.choice(same_count),
        lambda v: v[1].casefold() == core.casefold(),
    )
    new_core = _like(core, new_core)
    if words[0][:1].isupper():
        tv = tv.upper() if len(words[0]) > 1 and words[0].isupper() else tv[:1].upper() + tv[1:]
    return f"{tv} {new_core}"


def _sur_surname(d: _Deriver, text: str) -> str:
    pieces = re.split(r"(\s*-\s*)", text)
    return "".join(piece if i % 2 else _sur_surname_component(d, piece) for i, piece in enumerate(pieces))


def _gender(d: _Deriver, title_words: list[str], given: list[str]) -> str:
    if any(w in _FEMALE_TITLES for w in title_words):
        return "v"
    if any(w in _MALE_TITLES for w in title_words):
        return "m"
    for token in given:
        first = token.split("-")[0].casefold()
        if first in _FEMALE_SET:
            return "v"
        if first in _MALE_SET:
            return "m"
    norm = given[0].casefold() if given else ""
    return d.derive("PERSOON/geslacht", norm, lambda s: "v" if s.below(2) else "m", unique=False)


def _sur_person(d: _Deriver, original: str) -> str:
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", original)]
    # leading titles and forms of address ("mevrouw", "dhr.", "de heer", "burgemeester", "dr.")
    i = 0
    title_words: list[str] = []
    while i < len(tokens):
        word = _title_word(tokens[i][2])
        if word == "de" and i + 1 < len(tokens) and _title_word(tokens[i + 1][2]) == "heer":
            title_words += ["de", "heer"]
            i += 2
        elif word in _FEMALE_TITLES | _MALE_TITLES | _NEUTRAL_TITLES:
            title_words.append(word)
            i += 1
        else:
            break
    # trailing suffixes ("jr.", "MSc")
    j = len(tokens)
    while j > i + 1 and _title_word(tokens[j - 1][2]) in _SUFFIXES:
        j -= 1
    name = tokens[i:j]
    if not name:
        return original

    texts = [t[2] for t in name]
    last = len(texts) - 1
    # a tussenvoegsel word, or a double surname written "Jansen-de Vries" (the tussenvoegsel after a hyphen)
    is_tv = [k < last and t.casefold() in _TUSSENVOEGSELS for k, t in enumerate(texts)]
    starts_double = [
        k < last and "-" in t and t.rsplit("-", 1)[1].casefold() in _TUSSENVOEGSELS for k, t in enumerate(texts)
    ]
    shouting = all(not ch.isalpha() or ch.isupper() for ch in "".join(texts))
    initials = [
        not is_tv[k]
        and (
            bool(_INITIALS.match(t))
            or (
                k < last
                and bool(_INITIALS_NO_DOTS.match(t))
                and not (shouting and len(t) > 2)
                and t.casefold() not in _MALE_SET | _FEMALE_SET
            )
        )
        for k, t in enumerate(texts)
    ]
    tv_index = next((k for k in range(len(texts)) if is_tv[k] or starts_double[k]), None)
    if tv_index is not None:
        surname_start = tv_index
    elif len(texts) == 1:
        single = texts[0].split("-")[0].casefold()
        is_given = single in _MALE_SET or single in _FEMALE_SET
        surname_start = 1 if (is_given or initials[0]) else 0
    else:
        surname_start = len(texts) - 1
        if initials[-1]:
            surname_start = len(texts)

    given_tokens = [t for k, t in enumerate(texts[:surname_start]) if not initials[k]]
    gender = _gender(d, title_words, given_tokens) if given_tokens else "m"

    out = [original[: name[0][0]]]
    for k in range(surname_start):
        _, end, text = name[k]
        out.append(_sur_initials(d, text) if initials[k] else _sur_given(d, text, gender))
        next_start = name[k + 1][0] if k + 1 < len(name) else end
        out.append(original[end:next_start])
    if surname_start < len(name):
        region_start, region_end = name[surname_start][0], name[-1][1]
        out.append(_sur_surname(d, original[region_start:region_end]))
    out.append(original[name[-1][1] :])
    return "".join(out)


_GENERATORS: dict[str, Callable[[_Deriver, str], str]] = {
    "PERSOON": _sur_person,
    "EMAIL": _sur_email,
    "TELEFOONNUMMER": _sur_phone,
    "IBAN": _sur_iban,
    "BSN": _sur_bsn,
    "POSTCODE": _sur_postcode,
    "ADRES": _sur_address,
    "KENTEKEN": _sur_kenteken,
    "KVK": _sur_kvk,
    "BTW": _sur_btw,
    "IP_ADRES": _sur_ip,
    "URL": _sur_url,
    "CREDITCARD": _sur_creditcard,
    "GEBOORTEDATUM": _sur_birthdate,
    "LOCATIE": _sur_city,
}


class SurrogateOperator:
    """Replace values by realistic Dutch surrogates of the same kind and format, deterministic for the key.

    The same original (ignoring case, whitespace and, for numbers, separators) always gets the same
    surrogate for a key, in any document and process. Entities without a generator (e.g. ORGANIZATION)
    get their placeholder. Use :meth:`for_document` per document so that two different originals of one
    document never share a surrogate.

    :param key: secret of at least 16 bytes (see :func:`check_key`).
    """

    def __init__(self, key: bytes):
        self._key = check_key(key)
        self._deriver = _Deriver(self._key)

    def __repr__(self) -> str:
        return "SurrogateOperator(key=<hidden>)"

    def replace(self, entity: str, original: str) -> str:
        """Return the surrogate for ``original`` (pure: depends on key, entity and value only)."""
        return _surrogate(self._deriver, entity, original)

    def for_document(self) -> DocumentSurrogates:
        """Return a fresh per-document mapping with the same key."""
        return DocumentSurrogates(self._key)


class DocumentSurrogates:
    """Surrogates for one document: consistent per value, and different values get different surrogates.

    Starts from the same deterministic choices as :class:`SurrogateOperator`; only when a surrogate (or a
    name part) is already taken by another original of this document is a further choice drawn. It holds
    the originals of one document in memory: do not keep it longer than the document.
    """

    def __init__(self, key: bytes):
        self._deriver = _DocumentDeriver(check_key(key))

    def __repr__(self) -> str:
        return "DocumentSurrogates(key=<hidden>)"

    def replace(self, entity: str, original: str) -> str:
        """Return the surrogate for ``original`` in this document."""
        return _surrogate(self._deriver, entity, original)


def _surrogate(deriver: _Deriver, entity: str, original: str) -> str:
    label = label_for(entity)
    generator = _GENERATORS.get(label)
    if generator is None or not original.strip():
        return f"<{label}>"
    result = generator(deriver, original)
    if _collapse(result) == _collapse(original):
        # nothing replaceable in it (e.g. a "BSN" without digits): never hand back the original
        return f"<{label}>"
    return result


# --------------------------------------------------------------------------------------------------
# Applying findings


def _entity_of(finding: Any) -> str:
    entity = getattr(finding, "entity", None) or getattr(finding, "entity_type", None)
    if not entity:
        raise TypeError("a finding needs an 'entity' (or Presidio 'entity_type') attribute")
    return entity


def anonymise_text(
    text: str,
    findings: Iterable[Any],
    operator: Operator,
    *,
    per_document: bool = True,
) -> str:
    """Replace each finding's span of ``text``; see :func:`anonymise_with_spans` (this drops the spans)."""
    return anonymise_with_spans(text, findings, operator, per_document=per_document)[0]


def anonymise_with_spans(
    text: str,
    findings: Iterable[Any],
    operator: Operator,
    *,
    per_document: bool = True,
) -> tuple[str, list[tuple[str, int, int]]]:
    """Replace each finding's span of ``text`` with ``operator.replace(entity, span)``.

    Findings are objects with ``start``, ``end`` (character offsets into ``text``) and ``entity``
    (or Presidio's ``entity_type``); they must not overlap (``anonymisation.engine.analyse`` resolves
    overlaps). Returns the new text and, per replacement, ``(entity, start, end)`` in the *new* text:
    later checks use them to tell surrogates (valid-looking on purpose) from personal data that was missed.

    :param per_document: when the operator has ``for_document()`` (surrogates), use a fresh per-document
        mapping for this text, so different values never share a surrogate within it.
    :raises ValueError: a span is out of range, empty or overlaps another (the message has offsets only).
    """
    spans = sorted(((f.start, f.end, _entity_of(f)) for f in findings), key=lambda s: (s[0], s[1]))
    previous_end = 0
    for start, end, _ in spans:
        if not 0 <= start < end <= len(text):
            raise ValueError(f"finding [{start}, {end}) is empty or outside the text (length {len(text)})")
        if start < previous_end:
            raise ValueError(f"finding [{start}, {end}) overlaps the previous finding ending at {previous_end}")
        previous_end = end
    if per_document and hasattr(operator, "for_document"):
        operator = operator.for_document()
    # Replacements are chosen in reading order (surrogate numbering follows the text), then spliced
    # left to right while the output offsets of each replacement are recorded.
    replacements = [(start, end, entity, operator.replace(entity, text[start:end])) for start, end, entity in spans]
    pieces: list[str] = []
    placed: list[tuple[str, int, int]] = []
    cursor = length = 0
    for start, end, entity, replacement in replacements:
        pieces.append(text[cursor:start])
        length += start - cursor
        pieces.append(replacement)
        placed.append((entity, length, length + len(replacement)))
        length += len(replacement)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), placed
