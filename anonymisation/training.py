"""Train and evaluate the shipped Dutch person-name model (reproducibly, from licence-clean data only).

    python -m anonymisation.training --data ../shared/data --out anonymisation/models
    python -m anonymisation.training --data ../shared/data --evaluate [--model PATH]

Training data (only what allows shipping a derived model):

- ``ner-train/voc-missives/*.conll`` (VOC General Missives, Apache-2.0): PER -> PER; LOC, GPE, LOCderiv ->
  LOC; ORG -> ORG; every other tag -> O;
- ``pii-dev/kb-ocr-ner-dev.jsonl`` (KB Europeana Newspapers OCR NER, CC0) except every 4th record (index
  % 4 == 3), which is held out for evaluation;
- synthetic modern news-like sentences generated here from templates with a fixed seed, names from
  Faker's (MIT) name lists and places and organisations listed below;
- any ``--train FILE`` an operator adds (CoNLL: token ... tag per line; or JSONL with ``tokens`` and
  ``ner_tags``, or ``text`` and ``spans`` of ``{"start", "end", "label"}``).

Never trained on: evaluation-only files (research-only licences; the model alone is measured on them by
``benchmarks/eval_name_model.py``) and ``text-nl/`` (CC BY-SA: a model trained on it would carry
share-alike terms). The training reads nothing but the files named above; it evaluates on the KB split it
holds out.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pycrfsuite

from anonymisation import namemodel
from anonymisation.namemodel import ModelSpan, NameModel, features, scan, tokenize, windows
from anonymisation.vocabulary import MONTHS, WEEKDAYS

#: Synthetic sentences generated (modern news register; the historical corpora are much larger).
SYNTHETIC_SENTENCES = 24_000
SEED = 20261207

#: CRFsuite parameters (L-BFGS with elastic net; minfreq prunes features seen once, keeping the file small).
CRF_PARAMS = {
    "c1": 0.3,
    "c2": 0.01,
    "max_iterations": 150,
    "feature.minfreq": 2,
    "feature.possible_transitions": True,
}

#: Gold tags of the training corpora mapped to the model's labels (everything else is O).
TAG_MAP = {"PER": "PER", "LOC": "LOC", "GPE": "LOC", "LOCderiv": "LOC", "ORG": "ORG"}

KB_FILE = "pii-dev/kb-ocr-ner-dev.jsonl"
VOC_GLOB = "ner-train/voc-missives/*.conll"

#: Licences of the data files used, as the data README states them.
LICENCES = {"voc-missives": "Apache-2.0", "kb-ocr-ner": "CC0-1.0", "synthetic": "EUPL-1.2 (generated here)"}


@dataclass
class Example:
    """One training or evaluation text with gold entity spans ``(start, end, label)``."""

    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- readers


def from_tokens(tokens: Sequence[str], tags: Sequence[str]) -> Example:
    """Join tokens with single spaces and turn IOB2 tags into character spans of mapped labels."""
    text_parts, spans, position = [], [], 0
    current: list | None = None
    for token, tag in zip(tokens, tags, strict=True):
        kind = tag[2:] if len(tag) > 2 else ""
        label = TAG_MAP.get(kind)
        start, end = position, position + len(token)
        if label and tag.startswith("I-") and current is not None and current[2] == label:
            current[1] = end
        else:
            if current is not None:
                spans.append(tuple(current))
            current = [start, end, label] if label else None
        text_parts.append(token)
        position = end + 1
    if current is not None:
        spans.append(tuple(current))
    return Example(" ".join(text_parts), spans)


def read_conll(path: Path) -> Iterator[Example]:
    """Read a CoNLL file (token first, IOB2 tag last on each line; blank line between units)."""
    tokens: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if not parts or parts[0] == "-DOCSTART-":
                if tokens:
                    yield from_tokens(tokens, tags)
                tokens, tags = [], []
                continue
            tokens.append(parts[0])
            tags.append(parts[-1] if len(parts) > 1 else "O")
    if tokens:
        yield from_tokens(tokens, tags)


def read_jsonl(path: Path) -> Iterator[dict]:
    """Read JSONL records."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def record_example(record: dict) -> Example:
    """Return an example from a JSONL record: ``tokens`` + ``ner_tags``, or ``text`` + ``spans``."""
    if "tokens" in record:
        return from_tokens(record["tokens"], record["ner_tags"])
    spans = [(s["start"], s["end"], TAG_MAP.get(s["label"], s["label"])) for s in record.get("spans", ())]
    return Example(record["text"], [s for s in spans if s[2] in namemodel.LABELS])


def read_any(path: Path) -> list[Example]:
    """Read an operator's extra training file by its extension (.jsonl, else CoNLL)."""
    if path.suffix == ".jsonl":
        return [record_example(r) for r in read_jsonl(path)]
    return list(read_conll(path))


def kb_split(data: Path) -> tuple[list[Example], list[Example]]:
    """Return the KB corpus split deterministically: (training, held out = every 4th record by index)."""
    train, held = [], []
    for index, record in enumerate(read_jsonl(data / KB_FILE)):
        (held if index % 4 == 3 else train).append(from_tokens(record["tokens"], record["ner_tags"]))
    return train, held


# ------------------------------------------------------------------------------------------- synthetic

#: Transliterated Arabic, Moroccan, Turkish and other names common in the Netherlands (Faker's ar_* lists
#: are in Arabic script).
EXTRA_GIVEN = (
    "Mohammed Mohamed Ahmed Youssef Yassine Hamza Bilal Mustafa Ibrahim Karim Omar Said Rachid Samir Khalid "
    "Nadia Fatima Samira Yasmina Naima Leila Amira Soufiane Anouar Ayoub Mehmet Ayşe Emre Fatma Kemal Zeynep "
    "Priya Rajesh Wei Li Mei Ling Kwame Ama Tjeerd Sjoerd Wiebe Hylke Femke Sanne Jesse Daan Sem Noor Lotte "
    "Kees Henk Joop Gerrit Klaas Jannie Riet Truus Wim Bas Ruud Marco Frank Mark Geert Sigrid Dilan Hanneke"
).split()
EXTRA_SURNAMES = (
    "Ahmadi Khatib Bouali Amrani Boukhari Tahiri Idrissi Haddou Aboutaleb Marcouch Azarkan Kuzu Öztürk "
    "Yılmaz Kaya Demir Çelik Şahin Doğan Aydın Arslan Nguyen Tran Singh Kumar Chen Wang Kowalski Nowak "
    "Wiśniewski Rutte Schoof Omtzigt Wilders Klaver Jetten Kaag Hoekstra Yeşilgöz Timmermans Bontenbal"
).split()
DOUBLE_SURNAMES = (
    "Bruins Slot",
    "Dijkgraaf",
    "Van Ark",
    "Keijzer",
    "Van Gennip",
    "Kuipers Munneke",
    "Schouten",
    "Gräper-van Koolwijk",
    "Van Huffelen",
    "Van der Burg",
    "Adema",
    "Heinen",
    "Van Weel",
    "Uitermark",
)
PARTICLE_NAMES = (
    "El Ahmadi",
    "Al-Khatib",
    "El Bouzidi",
    "Ben Ali",
    "Abou Jahjah",
    "Ait Taleb",
    "Es Sabbar",
    "El Khadir",
    "Bin Laden",
    "Ould Cheikh",
    "Al-Assad",
    "El-Sisi",
    "Ben Salem",
    "Abu Bakr",
)
TUSSENVOEGSELS = ("van", "de", "van der", "van den", "van de", "ter", "ten", "in 't", "van 't", "de la", "den")
SURNAME_ROOTS = (
    "Sluis",
    "Jong",
    "Berg",
    "Laan",
    "Veen",
    "Meer",
    "Wal",
    "Brink",
    "Heuvel",
    "Vliet",
    "Bosch",
    "Velde",
    "Linden",
    "Ham",
    "Horst",
    "Kamp",
    "Graaf",
    "Haan",
    "Boer",
    "Wit",
    "Kort",
    "Ven",
    "Beek",
    "Hoek",
    "Dam",
    "Broek",
    "Steen",
    "Zanden",
    "Leeuw",
    "Groot",
    "Rooij",
    "Molen",
)
INITIAL_PARTS = "A B C D E F G H I J K L M N O P R S T W Y Th Chr Ph Joh".split()
PLACES = (
    "Amsterdam Rotterdam Utrecht Den Haag Eindhoven Groningen Tilburg Almere Breda Nijmegen Apeldoorn Arnhem "
    "Haarlem Enschede Amersfoort Zaandam Maastricht Leiden Dordrecht Zoetermeer Zwolle Deventer Delft Alkmaar "
    "Heerlen Venlo Leeuwarden Hilversum Gouda Assen Emmen Lelystad Middelburg Brussel Antwerpen Gent Brugge "
    "Leuven Luik Berlijn Parijs Londen Madrid Rome Washington Moskou Kiev Peking Istanbul Ankara Rabat "
    "Nederland België Duitsland Frankrijk Engeland Spanje Italië Rusland Oekraïne China Turkije Marokko "
    "Amerika Europa Afrika Azië Friesland Limburg Brabant Zeeland Drenthe Gelderland Overijssel Texel Ameland"
).split()
MULTI_PLACES = (
    "Den Haag",
    "Den Bosch",
    "Nieuw-Zeeland",
    "Verenigde Staten",
    "Zuid-Afrika",
    "Noord-Holland",
    "Zuid-Holland",
    "Bergen op Zoom",
    "Alphen aan den Rijn",
    "Capelle aan den IJssel",
    "New York",
)
ORGS = (
    "Ajax",
    "PSV",
    "Feyenoord",
    "Philips",
    "ING",
    "Rabobank",
    "ABN Amro",
    "Shell",
    "KLM",
    "NS",
    "Unilever",
    "Ahold",
    "Heineken",
    "ASML",
    "Booking",
    "Rijkswaterstaat",
    "RIVM",
    "CBS",
    "DNB",
    "VVD",
    "PvdA",
    "CDA",
    "D66",
    "GroenLinks",
    "PVV",
    "SP",
    "ChristenUnie",
    "NSC",
    "BBB",
    "FNV",
    "VNO-NCW",
    "NOS",
    "RTL",
    "NAVO",
    "VN",
    "Europese Commissie",
    "Tweede Kamer",
    "Eerste Kamer",
    "Raad van State",
    "Hoge Raad",
    "Europol",
    "Universiteit Utrecht",
    "TU Delft",
    "Erasmus MC",
    "UMC Utrecht",
    "Greenpeace",
    "Amnesty International",
    "Vitesse",
    "AZ",
    "FC Twente",
    "Anderlecht",
    "Google",
    "Microsoft",
    "Apple",
    "Tesla",
    "Albert Heijn",
)
TITLES = (
    "minister",
    "staatssecretaris",
    "premier",
    "burgemeester",
    "wethouder",
    "directeur",
    "voorzitter",
    "woordvoerder",
    "trainer",
    "advocaat",
    "officier van justitie",
    "Kamerlid",
    "fractievoorzitter",
    "bondscoach",
    "president",
    "topman",
    "hoogleraar",
    "onderzoeker",
    "rechter",
    "schrijver",
    "zangeres",
)
ADDRESS = (
    "de heer",
    "mevrouw",
    "dhr.",
    "mw.",
    "dr.",
    "prof.",
    "mr.",
    "ir.",
    "drs.",
    "meneer",
    "prof. dr.",
    "Dhr.",
    "Mevrouw",
    "De heer",
)
SAY = ("zei", "zegt", "vertelde", "liet weten", "verklaarde", "schrijft", "meldde", "benadrukte", "reageerde")
#: Days of the week, then "gisteren" and "vandaag" (months: vocabulary.MONTHS).
DAYS = (*WEEKDAYS, "gisteren", "vandaag")
SYLLABLES = (
    "ba be bo ka ke ko la le li lo ma me mi mo na ne no ra re ri ro sa se so ta te ti to va ve vo wa we za".split()
)
BRAND_ENDINGS = ("co", "tel", "us", "ex", "ia", "tech", "on", "ix", "a", "is", "ar", "gen", "via", "tron", "sys", "")
PLACE_ENDINGS = (
    "dam",
    "drecht",
    "hoven",
    "burg",
    "brugge",
    "kerke",
    "ingen",
    "veld",
    "zele",
    "gem",
    "hout",
    "rode",
    "mond",
    "um",
    "wijk",
    "horst",
    "lo",
    "stad",
    "berg",
    "dorp",
    "sel",
    "beek",
    "broek",
    "ven",
    "i",
    "a",
)
DEMONYMS = (
    "Nederlandse",
    "Belgische",
    "Vlaamse",
    "Duitse",
    "Franse",
    "Britse",
    "Amerikaanse",
    "Afrikaanse",
    "Israëlische",
    "Palestijnse",
    "Russische",
    "Oekraïense",
    "Turkse",
    "Marokkaanse",
    "Chinese",
    "Japanse",
    "Europese",
    "Spaanse",
    "Italiaanse",
    "Poolse",
    "Waalse",
    "Braziliaanse",
    "Indiase",
    "Iraanse",
    "Syrische",
)
LANGUAGES = (
    "English",
    "Engels",
    "Frans",
    "Duits",
    "Spaans",
    "Nederlands",
    "Fries",
    "Arabisch",
    "Turks",
    "Pools",
    "Français",
    "Deutsch",
    "Español",
    "Italiaans",
    "Russisch",
    "Chinees",
)
TOPICS = (
    "de begroting",
    "het stikstofplan",
    "de woningnood",
    "de nieuwe wet",
    "het onderzoek",
    "de staking",
    "de verkiezingen",
    "het asielbeleid",
    "de klimaatdoelen",
    "de zorgkosten",
    "de wedstrijd",
    "het besluit",
)

#: Templates: {P} a person (any form), {G} a lone given name, {S} a lone surname, {T} a title, {A} a form
#: of address, {L} a place, {O} an organisation, {D} a day, {M} a month, {X} a topic, {Z} a verb of saying,
#: {N} a number. Capitals of words that are not names (weekdays in headings, English, Nederlandse) are
#: part of the templates: they are the negative examples.
TEMPLATES = (
    "{T} {P} {Z} {D} dat {X} niet van tafel is.",
    "{Tc} {P} ({O}) wil {X} voor de zomer afronden.",
    '"Dit is een zwarte dag," {Z} {P} na afloop.',
    '"We gaan door," aldus {P}, die sinds {M} {T} is van {O}.',
    "Volgens {P} van {O} is {X} onhaalbaar.",
    "{A} {P} uit {L} werd {D} gehoord als getuige.",
    "{Ac} {S} reageerde niet op vragen van de NOS.",
    "Het gesprek tussen {P} en {P} in {L} duurde twee uur.",
    "{G} ({N}) woont al twintig jaar in {L}.",
    "{G} en {G} gingen {D} samen naar {L}.",
    "Ook {P} kwam naar de bijeenkomst in {L}.",
    "In {L} sprak {P} met bewoners over {X}.",
    "{P} werd in {N} geboren in {L} en studeerde rechten in {L}.",
    "Na de dood van {P} nam {G} het bedrijf over.",
    "De politie heeft {D} een {N}-jarige man uit {L} aangehouden.",
    "{O} maakte {D} bekend dat {P} per {N} {M} vertrekt.",
    "Bij {O} werkt {P} aan {X}.",
    "{S} scoorde in de {N}e minuut de winnende treffer voor {O}.",
    "Trainer {P} van {O} was tevreden over {S} en {S}.",
    "Het boek van {P} verschijnt in {M} bij uitgeverij {O}.",
    "{Dc} {N} {Mc}",
    "{L}, {D} {N} {M}",
    "De Nederlandse regering en de Belgische minister van Buitenlandse Zaken overleggen {D} in {L}.",
    "Op {D} {N} {M} opent {O} een nieuw kantoor in {L}.",
    "Het English Open in {L} werd gewonnen door {P}.",
    "{P}: 'Ik heb hier nooit om gevraagd.'",
    "Dat schrijft {T} {P} in een brief aan de Tweede Kamer.",
    "Ze trouwde in {N} met {P}, met wie ze twee kinderen kreeg.",
    "Zijn dochter {G} en zoon {G} waren bij de uitreiking.",
    "Tegen {A} {P} is een celstraf van {N} maanden geëist.",
    "De rechtbank in {L} sprak {P} vrij.",
    "Het Openbaar Ministerie verdenkt {P} ({N}) uit {L} van fraude.",
    "{O}-topman {P} trad {D} af.",
    "Oud-{T} {P} overleed {D} op {N}-jarige leeftijd in {L}.",
    "Namens {O} was {P} aanwezig, namens {O} {P}.",
    "Wat vindt {G} daarvan? 'Goed,' zegt ze.",
    "Maar {X} blijft een probleem, vindt {P}.",
    "De Kamer stemde {D} in met het voorstel van {P} en {P}.",
    "In {M} kondigde {O} aan dat {X} wordt uitgesteld.",
    "Het kabinet wil {X} aanpakken, maar {O} en {O} zijn kritisch.",
    "Hij verhuisde naar {L}, waar hij {P} leerde kennen.",
    "Ingezonden door {P}, {L}",
    "Met medewerking van {P} en {P}.",
    "Interview met {A} {P}, {T} van {O}.",
    "{P} ({O}) en {P} ({O}) dienden een motie in.",
    "Geachte {A} {S},",
    "Met vriendelijke groet, {P}",
    "Correspondent {P} meldt vanuit {L} dat de situatie rustig is.",
    "Zondag wint {P} de Ronde van {L}.",
    "Europees kampioen {P} uit {L} stopt ermee.",
    "Donderdag is er een debat over {X} in de Tweede Kamer.",
    "Het Rijksmuseum in {L} toont werk van {P}.",
    "Premier {P} en koning {G} bezochten {L}.",
    "Prinses {G} opende {D} het nieuwe gebouw van {O}.",
    "Vorige week stond {P} nog op het podium in {L}.",
    "De familie {S} uit {L} is blij met de uitspraak.",
    "{P}, {T} van {O}, {Z} dat {X} te duur is.",
    "Volgens {T} {S} is {X} 'een kwestie van tijd'.",
    "Op Twitter schreef {P} dat {O} moet ingrijpen.",
    "De aanslag in {L} is opgeëist door een groep rond {P}.",
    # unknown companies and places in their usual contexts: the model must learn the context, not the word
    "Het {J} bedrijf {B} boekte vorig jaar een winst van {N} miljoen euro.",
    "Aandelen {B} stegen {D} met {N} procent op de beurs van {L}.",
    "{B} neemt branchegenoot {B} over voor {N} miljoen euro.",
    "Bij {B} in {Q} verdwijnen {N} banen.",
    "{B}-topman {P} verwacht een beter {N}e kwartaal.",
    "De haven van {Q} ligt {D} stil door de staking.",
    "In {Q} en {Q} viel {D} veel regen.",
    "De {J} premier {P} bezocht {D} {Q}.",
    "Het {J} leger trok zich terug uit {Q}.",
    "Tussen {Q} en {Q} rijden {D} geen treinen.",
    "De {J} regering sloot een akkoord met {O} en {B}.",
    "Het project van {B} en de gemeente {Q} kost {N} miljoen.",
    "Volgens analisten van {B} blijft de {J} economie groeien.",
    "Op de markt in {Q} verkoopt {G} al {N} jaar kaas.",
    "{J}e toeristen bezochten {D} {Q} en {L}.",
    "Het {Jc} Open in {Q} begint op {D} {N} {M}.",
    # languages and language names are capitalised in English-language titles and never persons
    "{P} spreekt vloeiend {K} en {K}.",
    "De voertaal op de conferentie in {L} is {K}, niet {K}.",
    "De film van {P} is {D} te zien met {K}e ondertiteling.",
    "Het boek verschijnt in het {K} bij {O}; een {K} vertaling volgt.",
    "Cursus {K} voor beginners, {D} in {L}.",
)


class _Synthetic:
    """Deterministic filler of :data:`TEMPLATES` (one ``random.Random(seed)``; lists sorted first)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 -- reproducible sampling, not security
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
            if label:
                spans.append((len(text), len(text) + len(value), label))
            text += value
        return Example(text, spans)

    def examples(self, count: int) -> list[Example]:
        """``count`` sentences; a few are joined into short paragraphs so context crosses sentences."""
        out = []
        while len(out) < count:
            parts = [self.fill(self.rng.choice(TEMPLATES)) for _ in range(self.rng.choice((1, 1, 2, 3)))]
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


# ---------------------------------------------------------------------------------------------- training


def token_labels(text: str, spans: Sequence[tuple[int, int, str]]) -> tuple[list, list[str]]:
    """Tokenize with the model's tokenizer and give each token a BIO label from the gold character spans."""
    tokens = tokenize(text)
    labels = ["O"] * len(tokens)
    ordered = sorted(spans)
    k = 0
    for i, token in enumerate(tokens):
        while k < len(ordered) and ordered[k][1] <= token.start:
            k += 1
        if k < len(ordered) and ordered[k][0] < token.end:
            start, _end, label = ordered[k]
            first = token.start <= start or (i > 0 and tokens[i - 1].end <= start)
            labels[i] = ("B-" if first else "I-") + label
    return tokens, labels


def add_examples(trainer: pycrfsuite.Trainer, examples: Iterable[Example], stats: Counter) -> None:
    """Append each example's windows (the only parts the model tags at run time) to the trainer."""
    for example in examples:
        tokens, labels = token_labels(example.text, example.spans)
        stats["sentences"] += 1
        stats["tokens"] += len(tokens)
        doc = scan(example.text)
        for lo, hi in windows(doc):
            trainer.append(features(doc, lo, hi), labels[lo:hi])
            stats["window_tokens"] += hi - lo


def training_sets(data: Path, extra: Sequence[Path] = ()) -> list[tuple[str, str, list[Example]]]:
    """Return the training corpora as ``(name, licence, examples)``, in a fixed order."""
    sets = []
    voc = sorted(data.glob(VOC_GLOB))
    if voc:
        sets.append(("voc-missives", LICENCES["voc-missives"], [e for p in voc for e in read_conll(p)]))
    if (data / KB_FILE).exists():
        sets.append(("kb-ocr-ner (train split)", LICENCES["kb-ocr-ner"], kb_split(data)[0]))
    sets.append(("synthetic", LICENCES["synthetic"], synthetic_examples()))
    for path in extra:
        sets.append((str(path), "operator-supplied", read_any(path)))
    return sets


def train(sets: Sequence[tuple[str, str, list[Example]]], model_path: Path, params: dict | None = None) -> dict:
    """Train a CRF on the given sets and write it to ``model_path``; return per-set counts."""
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params(params or CRF_PARAMS)
    counts = {}
    for name, licence, examples in sets:
        stats: Counter = Counter()
        add_examples(trainer, examples, stats)
        counts[name] = {
            "licence": licence,
            "texts": stats["sentences"],
            "tokens": stats["tokens"],
            "window_tokens": stats["window_tokens"],
        }
    model_path.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(model_path))
    return counts


# -------------------------------------------------------------------------------------------- evaluation


class TokenScores:
    """The data README's per-token PER measures."""

    def __init__(self) -> None:
        self.c: Counter[str] = Counter()

    def add(
        self,
        offsets: Sequence[tuple[int, int]],
        gold_per: Sequence[bool],
        gold_o: Sequence[bool],
        found: Sequence[ModelSpan],
    ) -> None:
        """Score one text: gold token offsets and classes against the detected spans."""
        person = [(s.start, s.end) for s in found if s.label == "PER"]
        every = [(s.start, s.end) for s in found]
        for (start, end), per, o in zip(offsets, gold_per, gold_o, strict=True):
            in_person = any(a < end and start < b for a, b in person)
            in_any = in_person or any(a < end and start < b for a, b in every)
            self.c["tokens"] += 1
            self.c["gold_per"] += per
            self.c["per_found"] += per and in_person
            self.c["in_person"] += in_person
            self.c["in_person_gold"] += in_person and per
            self.c["o"] += o
            self.c["o_any"] += o and in_any
            self.c["o_person"] += o and in_person

    def figures(self) -> dict[str, float]:
        """Recall, precision and over-masking (any label, and PER spans only)."""
        c = self.c

        def ratio(a: str, b: str) -> float:
            return round(c[a] / c[b], 4) if c[b] else float("nan")

        return {
            "tokens": c["tokens"],
            "gold_per_tokens": c["gold_per"],
            "per_recall": ratio("per_found", "gold_per"),
            "per_precision": ratio("in_person_gold", "in_person"),
            "over_masking_any": ratio("o_any", "o"),
            "over_masking_per": ratio("o_person", "o"),
        }


def score_groups(model: NameModel, groups: Iterable[list[dict]]) -> dict[str, float]:
    """Score the model alone on gold IOB2 records; each group (records of one article) is tagged as one text.

    Records have ``tokens`` and ``ner_tags``; tokens are joined by single spaces, records by newlines.
    """
    scores = TokenScores()
    for group in groups:
        lines, offsets, per, o, position = [], [], [], [], 0
        for record in group:
            for token, tag in zip(record["tokens"], record["ner_tags"], strict=True):
                offsets.append((position, position + len(token)))
                per.append(tag.endswith("PER"))
                o.append(tag == "O")
                position += len(token) + 1
            lines.append(" ".join(record["tokens"]))
        scores.add(offsets, per, o, model.find("\n".join(lines)))
    return scores.figures()


def evaluate(model: NameModel, data: Path) -> dict[str, dict[str, float]]:
    """Evaluate the model alone on the KB split that training holds out (other sets: ``benchmarks/``)."""
    if not (data / KB_FILE).exists():
        return {}
    held = [r for i, r in enumerate(read_jsonl(data / KB_FILE)) if i % 4 == 3]
    return {"kb_heldout": score_groups(model, [[r] for r in held])}


def print_results(results: dict[str, dict[str, float]]) -> None:
    """Print the evaluation figures."""
    for name, f in results.items():
        print(
            f"{name:<26} PER recall {f['per_recall']:.3f}  precision {f['per_precision']:.3f}  "
            f"over-masking any {f['over_masking_any']:.4f} (PER {f['over_masking_per']:.4f})  "
            f"gold PER tokens {f['gold_per_tokens']}"
        )


# ------------------------------------------------------------------------------------------------- main


def sha256(path: Path) -> str:
    """Return the sha256 hex digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version() -> str:
    """Return the project's code version (``catalog.documents.code_version`` when importable, else git describe)."""
    try:
        from catalog.documents import code_version as catalog_version

        return catalog_version()
    except ImportError:
        try:
            return subprocess.run(
                ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=True, timeout=5
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Train (and evaluate) the person-name model, or only evaluate one with ``--evaluate``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    parser.add_argument("--out", type=Path, default=Path("anonymisation/models"), help="model output folder")
    parser.add_argument("--name", default="names-nl", help="model file name without extension")
    parser.add_argument("--train", type=Path, action="append", default=[], help="extra CoNLL or JSONL file")
    parser.add_argument("--no-default-data", action="store_true", help="train on --train files (+ synthetic) only")
    parser.add_argument("--evaluate", action="store_true", help="only evaluate an existing model")
    parser.add_argument("--model", type=Path, help="model to evaluate (default: OUT/NAME.crfsuite)")
    args = parser.parse_args(argv)

    model_path = args.model or args.out / f"{args.name}.crfsuite"
    if args.evaluate:
        print_results(evaluate(NameModel(model_path), args.data))
        return 0

    data = args.data if not args.no_default_data else Path("/nonexistent")
    started = time.perf_counter()
    sets = training_sets(data, args.train)
    counts = train(sets, model_path)
    seconds = time.perf_counter() - started
    print(f"trained {model_path} in {seconds:.0f} s ({model_path.stat().st_size / 1e6:.2f} MB)")
    results = evaluate(NameModel(model_path), args.data)
    print_results(results)
    meta = {
        "model": model_path.name,
        "sha256": sha256(model_path),
        "size_bytes": model_path.stat().st_size,
        "features_version": namemodel.FEATURES_VERSION,
        "lexicon_fingerprint": namemodel.lexicon_fingerprint(),
        "window": namemodel.WINDOW,
        "labels": list(namemodel.LABELS),
        "crfsuite": {"algorithm": "lbfgs", **CRF_PARAMS},
        "synthetic": {"sentences": SYNTHETIC_SENTENCES, "seed": SEED, "templates": len(TEMPLATES)},
        "kb_heldout": "records with index % 4 == 3 of " + KB_FILE,
        "training_data": counts,
        "excluded": {
            "evaluation-only files (research-only licences)": "never read by the training",
            "text-nl/*": "CC BY-SA 4.0: not used for training",
        },
        "evaluation": results,
        "training_seconds": round(seconds),
        "trained_at": datetime.now(UTC).date().isoformat(),
        "code_version": code_version(),
        "python": sys.version.split()[0],
    }
    meta_path = model_path.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {meta_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
