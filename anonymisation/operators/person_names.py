"""Surrogate person names: the same pattern of titles, initials, given names, tussenvoegsels and surnames."""

from __future__ import annotations

import re

from anonymisation.operators.draws import _Deriver
from anonymisation.operators.formats import _like
from anonymisation.operators.wordlists import (
    FEMALE_NAMES,
    FEMALE_SET,
    INITIAL_LETTERS,
    MALE_NAMES,
    MALE_SET,
    SURNAMES,
    TV_SURNAMES,
)
from anonymisation.vocabulary import FEMALE_TITLES, MALE_TITLES, NAME_SUFFIXES, NEUTRAL_TITLES, TUSSENVOEGSELS

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
        lambda s: "".join(s.choice(INITIAL_LETTERS) for _ in groups),
        lambda v: v == original,
    )
    source = iter(letters)
    return _INITIAL_GROUP.sub(lambda _m: next(source), token)


def _sur_given(d: _Deriver, token: str, gender: str) -> str:
    names = FEMALE_NAMES if gender == "v" else MALE_NAMES
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
    while tv_count < len(words) - 1 and words[tv_count].casefold() in TUSSENVOEGSELS:
        tv_count += 1
    norm = " ".join(words).casefold()
    core = " ".join(words[tv_count:])
    if tv_count == 0:
        new = d.derive("PERSOON/achternaam", norm, lambda s: s.choice(SURNAMES), lambda v: v.casefold() == norm)
        return _like(core, new)
    same_count = tuple(item for item in TV_SURNAMES if len(item[0].split()) == tv_count) or TV_SURNAMES
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
    if any(w in FEMALE_TITLES for w in title_words):
        return "v"
    if any(w in MALE_TITLES for w in title_words):
        return "m"
    for token in given:
        first = token.split("-")[0].casefold()
        if first in FEMALE_SET:
            return "v"
        if first in MALE_SET:
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
        elif word in FEMALE_TITLES | MALE_TITLES | NEUTRAL_TITLES:
            title_words.append(word)
            i += 1
        else:
            break
    # trailing suffixes ("jr.", "MSc")
    j = len(tokens)
    while j > i + 1 and _title_word(tokens[j - 1][2]) in NAME_SUFFIXES:
        j -= 1
    name = tokens[i:j]
    if not name:
        return original

    texts = [t[2] for t in name]
    last = len(texts) - 1
    # a tussenvoegsel word, or a double surname written "Jansen-de Vries" (the tussenvoegsel after a hyphen)
    is_tv = [k < last and t.casefold() in TUSSENVOEGSELS for k, t in enumerate(texts)]
    starts_double = [
        k < last and "-" in t and t.rsplit("-", 1)[1].casefold() in TUSSENVOEGSELS for k, t in enumerate(texts)
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
                and t.casefold() not in MALE_SET | FEMALE_SET
            )
        )
        for k, t in enumerate(texts)
    ]
    tv_index = next((k for k in range(len(texts)) if is_tv[k] or starts_double[k]), None)
    if tv_index is not None:
        surname_start = tv_index
    elif len(texts) == 1:
        single = texts[0].split("-")[0].casefold()
        is_given = single in MALE_SET or single in FEMALE_SET
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
