"""Benchmark: our polars quality filters against datatrove's, as FineWeb-2 runs them for Dutch (``nld_Latn``).

Builds ``--mb`` MB of Dutch documents: windows of 3-60 sentences from the real documents in
``../shared/data/text-nl/*.jsonl`` (built-in sentences when absent), and ~40% noisy variants of the
kinds web text has (repeated paragraphs and lines, spam, menus, bullet lists, teasers ending in "...",
hashtags, tables, very short texts, URL runs, English and German, mixed pages). Every text goes through
``normalise_text`` first, as in the pipeline; both implementations see the same texts.

    pip install -e '.[bench]'                    # datatrove 0.10.1 (spaCy comes with presidio)
    python benchmarks/bench_quality.py           # 5 MB, seed 13
    python benchmarks/bench_quality.py --mb 1 --seed 7 --examples 10

Ours: ``text_stats(batch).select(first_reason(FINEWEB2_FILTERS))`` on batches of ``--batch`` texts, polars
on one thread. datatrove: ``GopherRepetitionFilter``, ``FineWebQualityFilter`` and ``GopherQualityFilter``
configured as ``fineweb-2-pipeline.py`` does with ``configs/nld_Latn.yml``, their ``.filter(doc)`` called
directly in that order (first failure wins), without the pipeline executor. Prints MB/s per core (process
time) for both, the share of documents with the same decision and the same reason, a confusion table of
the disagreements, counts per reason and per kind of document, and a few disagreeing documents.
Never touches the network (socket connections are blocked while it runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable

import dutch_text  # benchmarks/ is on sys.path when a script in it runs
from offline import block_network

# --- the reference configuration: fineweb-2-pipeline.py with configs/nld_Latn.yml (latest version) -----------

NLD_LATN = {
    "dup_line_frac": 0.296,
    "top_n_grams": ((2, 0.213), (3, 0.182), (4, 0.158)),
    "dup_n_grams": ((5, 0.156), (6, 0.146), (7, 0.136), (8, 0.126), (9, 0.115), (10, 0.104)),
    "line_punct_thr": 0.102,
    "new_line_ratio": 0.154,
    "min_avg_word_length": 3,
    "max_avg_word_length": 17,
    "max_non_alpha_words_ratio": 0.828,
    "stopwords": [
        "de",
        "van",
        "in",
        "het",
        "een",
        "en",
        "is",
        "op",
        "voor",
        "met",
        "door",
        "zijn",
        "werd",
        "hij",
        "uit",
    ],
}

# --- noise material ----------------------------------------------------------------------------------------

MENU = (
    "Home", "Nieuws", "Sport", "Economie", "Cultuur", "Over ons", "Contact", "Inloggen", "Registreren",
    "Winkelwagen", "Mijn account", "Veelgestelde vragen", "Privacybeleid", "Algemene voorwaarden",
    "Cookie-instellingen", "Vacatures", "Nieuwsbrief", "Zoeken", "Regio", "Weer", "Verkeer", "Agenda",
    "Klantenservice", "Retourneren", "Verzending en levering", "Aanbiedingen", "Dames", "Heren", "Kinderen",
    "Sale", "Tuin en klussen", "Wonen", "Elektronica", "Opinie", "Podcasts", "Video", "Archief", "Sitemap",
)  # fmt: skip
BOILERPLATE = (
    "Lees ook:", "Advertentie", "Deel dit artikel", "Foto: ANP", "Lees meer", "Reageer",
    "Meer over dit onderwerp", "Volg ons op Facebook", "Bekijk ook", "Print dit artikel",
)  # fmt: skip
PRODUCTS = (
    "goedkope laptops", "zonnepanelen", "elektrische fietsen", "matrassen", "tuinmeubelen", "vakantiehuisjes",
    "gehoorapparaten", "autoverzekering", "wasmachines", "hondenvoer",
)  # fmt: skip
SPAM_LINES = (
    "Koop nu! {p} met 50% korting!",
    "Bestel vandaag nog {p} en betaal later!",
    "OP=OP!!! {p} voor de laagste prijs van Nederland",
    "Klik hier voor de beste {p} deals",
    "{p} kopen? {p} goedkoop online bestellen bij de nummer 1 in {p}",
)
HASHTAGS = (
    "nieuws", "amsterdam", "rotterdam", "sport", "voetbal", "eredivisie", "weekend", "zomer", "foodie", "lekker",
    "nederland", "holland", "fotografie", "reizen", "werk", "vacature", "duurzaam", "klimaat", "politiek", "ajax",
)  # fmt: skip
SHORT = (
    "Pagina niet gevonden.", "Deze pagina bestaat niet meer", "Je winkelwagen is leeg.", "Inloggen",
    "Er is iets misgegaan. Probeer het later opnieuw.", "Wachtwoord vergeten?", "Bedankt voor je bestelling!",
    "Dit artikel is alleen beschikbaar voor abonnees.", "Accepteer cookies om deze inhoud te bekijken.",
)  # fmt: skip
DOMAINS = ("www.voorbeeld.nl", "nieuws.example.nl", "shop.example.com", "cdn.example.net", "www.gemeente.example.nl")
ENGLISH = (
    "The city council approved the new budget on Tuesday evening after a long debate.",
    "According to the spokesperson, no decision has been made yet about the funding.",
    "Heavy rain and strong winds are expected across the north of the country this weekend.",
    "The company reported a sharp rise in profits during the second quarter of the year.",
    "Researchers at the university published their findings in an international journal.",
    "Residents are worried about the damage to their homes caused by the construction work.",
    "The museum will open a new exhibition about the history of the harbour on Saturday.",
    "Tickets are available online and at the box office from nine in the morning.",
    "The train service between the two cities will be suspended for maintenance next month.",
    "She said the team had worked hard all season and deserved to win the title.",
    "Click here to subscribe to our newsletter and never miss an update.",
    "The police are asking witnesses to come forward with any information they may have.",
    "It is not clear when the new bridge will be open to traffic.",
    "In the end, the match was decided by a penalty in the last minute of extra time.",
)
GERMAN = (
    "Der Stadtrat hat am Dienstagabend dem neuen Haushalt nach langer Debatte zugestimmt.",
    "Nach Angaben des Sprechers ist über die Finanzierung noch nicht entschieden worden.",
    "Für das Wochenende werden im Norden starker Regen und heftiger Wind erwartet.",
    "Das Unternehmen meldete im zweiten Quartal einen deutlichen Anstieg des Gewinns.",
    "Forscher der Universität haben ihre Ergebnisse in einer internationalen Fachzeitschrift veröffentlicht.",
    "Die Anwohner machen sich Sorgen über die Schäden an ihren Häusern durch die Bauarbeiten.",
    "Das Museum zeigt ab Samstag eine Ausstellung über die Geschichte des Hafens.",
    "Karten sind online und an der Abendkasse ab neun Uhr erhältlich.",
    "Die Zugverbindung zwischen den beiden Städten wird im nächsten Monat wegen Wartungsarbeiten eingestellt.",
    "Sie sagte, die Mannschaft habe die ganze Saison hart gearbeitet und den Titel verdient.",
    "Die Polizei bittet Zeugen, sich mit sachdienlichen Hinweisen zu melden.",
    "In der Innenstadt kam es am Morgen zu erheblichen Verkehrsbehinderungen.",
    "Es ist noch unklar, wann die neue Brücke für den Verkehr freigegeben wird.",
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\s'])")


# --- documents ---------------------------------------------------------------------------------------------


def sentence_stream() -> list[tuple[str, bool]]:
    """Return the real Dutch text as (sentence, ends a paragraph) pairs, documents one after another."""
    stream: list[tuple[str, bool]] = []
    paths = sorted(dutch_text.SHARED_TEXT.glob("*.jsonl")) if dutch_text.SHARED_TEXT.is_dir() else []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            for paragraph in re.split(r"\n+", json.loads(line).get("text", "")):
                parts = [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]
                stream += [(s, i == len(parts) - 1) for i, s in enumerate(parts)]
    if not stream:  # no shared data: the built-in sentences, in paragraphs of 1-5
        rng = random.Random(0)
        stream = [(s.rstrip(".") + ".", rng.random() < 0.3) for s in dutch_text.sentences()]
    return stream


class Generator:
    """Draws clean and noisy documents from the sentence stream with one seeded RNG."""

    def __init__(self, stream: list[tuple[str, bool]], seed: int) -> None:
        self.stream = stream
        self.rng = random.Random(seed)
        self.kinds: list[tuple[str, float, Callable[[], str]]] = [
            ("clean", 60, self.clean),
            ("repeated_paragraphs", 4, self.repeated_paragraphs),
            ("repeated_lines", 3, self.repeated_lines),
            ("spam", 3, self.spam),
            ("menu", 4, self.menu),
            ("bullets", 4, self.bullets),
            ("ellipsis_teasers", 3, self.teasers),
            ("hashtags", 3, self.hashtags),
            ("table", 3, self.table),
            ("short", 4, self.short),
            ("url_runs", 2, self.urls),
            ("foreign", 3, self.foreign),
            ("mixed", 4, self.mixed),
        ]

    def draw(self) -> tuple[str, str]:
        """Return (kind, raw text) of one random document."""
        if self.rng.random() < 0.002:
            return "empty", " \n\t \n"
        kind, _, make = self.rng.choices(self.kinds, weights=[w for _, w, _ in self.kinds])[0]
        return kind, make()

    def sentences(self, low: int, high: int) -> list[tuple[str, bool]]:
        """Return a window of ``low``-``high`` consecutive sentences of the real text (wrapping around)."""
        count = self.rng.randint(low, high)
        start = self.rng.randrange(len(self.stream))
        return [self.stream[(start + i) % len(self.stream)] for i in range(count)]

    def paragraphs(self, low: int = 3, high: int = 60) -> list[str]:
        """Return the paragraphs of a window of real sentences."""
        paragraphs, current = [], []
        for sentence, last in self.sentences(low, high):
            current.append(sentence)
            if last or len(current) >= 8:
                paragraphs.append(" ".join(current))
                current = []
        return paragraphs + ([" ".join(current)] if current else [])

    def join(self, paragraphs: list[str]) -> str:
        """Join paragraphs as extracted web text does: one newline, sometimes an empty line between."""
        return ("\n" if self.rng.random() < 0.6 else "\n\n").join(paragraphs)

    def clean(self) -> str:
        """Return plain article text: 3-60 sentences, with a short length bias like real pages."""
        low, high = self.rng.choice([(3, 8), (8, 25), (8, 25), (25, 60)])
        return self.join(self.paragraphs(low, high))

    def repeated_paragraphs(self) -> str:
        """Return an article with a few paragraphs (or the whole text) repeated, as a bad scrape gives."""
        paragraphs = self.paragraphs(6, 40)
        if self.rng.random() < 0.3:
            return self.join(paragraphs * 2)
        for _ in range(self.rng.randint(1, 4)):
            paragraphs.insert(self.rng.randrange(len(paragraphs) + 1), self.rng.choice(paragraphs))
        return self.join(paragraphs)

    def repeated_lines(self) -> str:
        """Return an article with a boilerplate line after most paragraphs."""
        out = []
        line = self.rng.choice(BOILERPLATE)
        for paragraph in self.paragraphs(8, 50):
            out.append(paragraph)
            if self.rng.random() < 0.7:
                out.append(line if self.rng.random() < 0.8 else self.rng.choice(BOILERPLATE))
        return "\n".join(out)

    def spam(self) -> str:
        """Return sales spam: one repeated call to buy, or keyword stuffing, sometimes around a short text."""
        product = self.rng.choice(PRODUCTS)
        style = self.rng.random()
        if style < 0.3:
            body = ("Koop nu! " * self.rng.randint(20, 150)).strip()
        elif style < 0.7:
            lines = [self.rng.choice(SPAM_LINES).format(p=product) for _ in range(self.rng.randint(8, 40))]
            body = "\n".join(lines)
        else:
            words = [*product.split(), "kopen", "online", "goedkoop", "aanbieding", "beste", "prijs", "korting"]
            body = " ".join(self.rng.choice(words) for _ in range(self.rng.randint(60, 400)))
        if self.rng.random() < 0.5:
            return self.join([*self.paragraphs(2, 6), body])
        return body

    def menu(self) -> str:
        """Return navigation: menu items one per line, without punctuation, around a short text or alone."""
        items = "\n".join(self.rng.choices(MENU, k=self.rng.randint(8, 40)))
        if self.rng.random() < 0.4:
            return items
        return "\n".join([items, *self.paragraphs(2, 15), "\n".join(self.rng.choices(MENU, k=self.rng.randint(4, 15)))])

    def bullets(self) -> str:
        """Return a bullet list: short items or whole sentences behind "•" or "-", under a title."""
        mark = self.rng.choice(["• ", "- ", "* "])
        if self.rng.random() < 0.5:
            items = [s for s, _ in self.sentences(5, 30)]
        else:
            items = self.rng.choices(MENU + PRODUCTS, k=self.rng.randint(5, 30))
        lines = [mark + item for item in items]
        intro = self.paragraphs(1, 4) if self.rng.random() < 0.5 else []
        return "\n".join([*intro, *lines])

    def teasers(self) -> str:
        """Return a list of article teasers cut off with "..." or "…", as overview pages have."""
        dots = self.rng.choice(["...", "…", " ..."])
        lines = []
        for sentence, _ in self.sentences(5, 25):
            words = sentence.split()
            lines.append(" ".join(words[: self.rng.randint(4, 14)]) + dots)
            if self.rng.random() < 0.3:
                lines.append("Lees verder" + dots)
        return "\n".join(lines)

    def hashtags(self) -> str:
        """Return social media: posts with hashtags, or an article with a line of hashtags under it."""
        tags = lambda k: " ".join("#" + t for t in self.rng.choices(HASHTAGS, k=k))  # noqa: E731
        if self.rng.random() < 0.5:
            posts = [f"{s} {tags(self.rng.randint(2, 8))}" for s, _ in self.sentences(3, 20)]
            return "\n".join(posts)
        return self.join([*self.paragraphs(3, 25), tags(self.rng.randint(5, 30))])

    def table(self) -> str:
        """Return figures: a table of numbers (one row per line), with a heading and sometimes a paragraph."""
        separator = self.rng.choice([" ", " | ", ";"])
        header = separator.join(["Jaar", "Omzet (mln)", "Winst", "Medewerkers", "Groei"])
        rows = [
            separator.join(
                [
                    str(2000 + i),
                    f"{self.rng.uniform(10, 900):.1f}".replace(".", ","),
                    f"{self.rng.randint(-50, 300)}",
                    f"{self.rng.randint(100, 20000):,}".replace(",", "."),
                    f"{self.rng.uniform(-5, 12):+.1f}%",
                ]
            )
            for i in range(self.rng.randint(5, 40))
        ]
        intro = self.paragraphs(1, 6) if self.rng.random() < 0.5 else []
        return "\n".join([*intro, header, *rows])

    def short(self) -> str:
        """Return a very short page: an error message, a button, or one or two sentences."""
        if self.rng.random() < 0.5:
            return self.rng.choice(SHORT)
        return " ".join(s for s, _ in self.sentences(1, 2))

    def urls(self) -> str:
        """Return runs of long tokens (URLs from sentence words, tracking ids, base64), sometimes in text."""
        lines = []
        for sentence, _ in self.sentences(5, 30):
            slug = "-".join(re.findall(r"\w+", sentence.lower())[:10])
            token = "".join(self.rng.choices("abcdef0123456789", k=self.rng.randint(8, 40)))
            if self.rng.random() < 0.8:
                lines.append(f"https://{self.rng.choice(DOMAINS)}/{2000 + self.rng.randint(0, 25)}/{slug}?id={token}")
            else:
                lines.append(
                    "data:image/png;base64," + "".join(self.rng.choices("ABCDEFGHabcdefgh0123456789+/", k=200))
                )
        if self.rng.random() < 0.4:
            return self.join([*self.paragraphs(2, 10), " ".join(lines)])
        return "\n".join(lines)

    def foreign(self) -> str:
        """Return an English or German article, sometimes with a Dutch sentence or two in it."""
        pool = ENGLISH if self.rng.random() < 0.6 else GERMAN
        sentences = self.rng.choices(pool, k=self.rng.randint(4, 40))
        if self.rng.random() < 0.3:
            sentences += [s for s, _ in self.sentences(1, 3)]
        step = self.rng.randint(2, 6)
        return self.join([" ".join(sentences[i : i + step]) for i in range(0, len(sentences), step)])

    def mixed(self) -> str:
        """Return a web page (menu, article, share line, hashtags, cookies), or Dutch with English in it."""
        if self.rng.random() < 0.3:
            paragraphs = self.paragraphs(5, 30)
            for _ in range(self.rng.randint(1, 4)):
                paragraphs.insert(self.rng.randrange(len(paragraphs) + 1), self.rng.choice(ENGLISH))
            return self.join(paragraphs)
        parts = ["\n".join(self.rng.choices(MENU, k=self.rng.randint(3, 12)))]
        parts += self.paragraphs(3, 40)
        if self.rng.random() < 0.5:
            parts.append("Deel dit artikel\nFacebook\nTwitter\nWhatsApp\nE-mail")
        if self.rng.random() < 0.4:
            parts.append(" ".join("#" + t for t in self.rng.choices(HASHTAGS, k=self.rng.randint(2, 10))))
        if self.rng.random() < 0.5:
            parts.append("Wij gebruiken cookies om de website te verbeteren. Accepteren Weigeren Instellingen")
        return "\n".join(parts)


def build_corpus(megabytes: float, seed: int) -> tuple[list[str], list[str]]:
    """Return (normalised texts, kinds) of at least ``megabytes`` MB of UTF-8 text."""
    from quality.normalise import normalise_text

    generator = Generator(sentence_stream(), seed)
    texts, kinds, total = [], [], 0
    while total < megabytes * 1e6:
        kind, raw = generator.draw()
        text = normalise_text(raw)
        texts.append(text)
        kinds.append(kind)
        total += len(text.encode("utf-8"))
    return texts, kinds


# --- the two implementations -------------------------------------------------------------------------------


def datatrove_filters() -> list:
    """Return datatrove's three filters configured exactly as fineweb-2-pipeline.py does for nld_Latn."""
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
    from datatrove.utils.typeshelper import Languages

    language = Languages.dutch__latn  # "nld_Latn": SpaCyTokenizer("nl") via tokenizer_assignment.csv
    c = NLD_LATN
    return [
        GopherRepetitionFilter(
            language=language,
            dup_para_frac=0,
            dup_line_char_frac=0,
            dup_para_char_frac=0,
            dup_line_frac=c["dup_line_frac"],
            top_n_grams=c["top_n_grams"],
            dup_n_grams=c["dup_n_grams"],
        ),
        FineWebQualityFilter(
            language=language,
            short_line_thr=999,
            char_duplicates_ratio=0.1,
            line_punct_thr=c["line_punct_thr"],
            new_line_ratio=c["new_line_ratio"],
        ),
        GopherQualityFilter(
            language=language,
            max_avg_word_length=c["max_avg_word_length"],
            min_avg_word_length=c["min_avg_word_length"],
            stop_words=c["stopwords"],
            max_non_alpha_words_ratio=c["max_non_alpha_words_ratio"],
            min_stop_words=2,
        ),
    ]


def datatrove_reason(filters: list, doc: object) -> str | None:
    """Run the filters' ``.filter`` in order; return the first drop reason, or None when all keep."""
    for step in filters:
        result = step.filter(doc)
        keep, reason = result if isinstance(result, tuple) else (result, None)
        if not keep:
            return reason or step.name
    return None


def run_ours(texts: list[str], batch: int) -> tuple[list[str | None], float, float]:
    """Return (reasons, process seconds, wall seconds) of our filters over ``texts`` in batches."""
    from catalog.quality_settings import QualitySettings
    from quality.filters import FINEWEB2_FILTERS, first_reason, text_stats

    settings = QualitySettings()
    expression = first_reason([f(settings) for f in FINEWEB2_FILTERS]).alias("reason")
    text_stats(texts[:50], settings).select(expression)  # warm-up (regex compilation) outside the timing
    reasons: list[str | None] = []
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(texts), batch):
        reasons += text_stats(texts[start : start + batch], settings).select(expression)["reason"].to_list()
    return reasons, time.process_time() - cpu, time.perf_counter() - wall


def run_datatrove(texts: list[str]) -> tuple[list[str | None], float, float]:
    """Return (reasons, process seconds, wall seconds) of datatrove's filters over ``texts``."""
    from datatrove.data import Document

    filters = datatrove_filters()
    for text in texts[:50]:  # warm-up outside the timing: spacy.blank("nl") loads on first use
        datatrove_reason(filters, Document(text=text + " warm", id="warm-up"))
    docs = [Document(text=text, id=str(i)) for i, text in enumerate(texts)]  # built outside the timing
    cpu, wall = time.process_time(), time.perf_counter()
    reasons = [datatrove_reason(filters, doc) for doc in docs]
    return reasons, time.process_time() - cpu, time.perf_counter() - wall


def occurrence_stop_words_rescued(texts: list[str], reasons: list[str | None]) -> int:
    """Count documents datatrove 0.10.1 drops for stop words that datatrove 0.4.0 (FineWeb-2's) would keep.

    0.4.0 counted stop-word occurrences (``sum(w in stop_words for w in words) >= 2``); 0.5.0 and later
    count distinct stop words. The stop-word rule is the last one, so passing it means kept.
    """
    from datatrove.utils.text import split_into_words

    stop_words = set(NLD_LATN["stopwords"])
    rescued = 0
    for text, reason in zip(texts, reasons, strict=True):
        if reason == "gopher_enough_stop_words":
            rescued += sum(w in stop_words for w in split_into_words(text, "nld_Latn")) >= 2
    return rescued


# --- report ------------------------------------------------------------------------------------------------


def shorten(text: str, limit: int = 220) -> str:
    """Return a one-line preview of a text."""
    flat = text.replace("\n", "⏎")
    return flat if len(flat) <= limit else flat[: limit - 40] + " […] " + flat[-35:]


def report(texts: list[str], kinds: list[str], ours: list[str | None], theirs: list[str | None], examples: int) -> None:
    """Print agreement, the confusion of reasons, counts per reason and per kind, and example documents."""
    n = len(texts)
    name = lambda r: r or "(kept)"  # noqa: E731
    same_decision = sum((a is None) == (b is None) for a, b in zip(ours, theirs, strict=True))
    same_reason = sum(a == b for a, b in zip(ours, theirs, strict=True))
    ours_only = sum(a is not None and b is None for a, b in zip(ours, theirs, strict=True))
    theirs_only = sum(a is None and b is not None for a, b in zip(ours, theirs, strict=True))
    print("\nagreement")
    print(f"  same keep/drop decision: {same_decision:,} / {n:,} = {same_decision / n:.2%}")
    print(f"  same reason (kept = kept): {same_reason:,} / {n:,} = {same_reason / n:.2%}")
    print(f"  dropped by ours only: {ours_only:,}   dropped by datatrove only: {theirs_only:,}")

    confusion = Counter((name(b), name(a)) for a, b in zip(ours, theirs, strict=True) if a != b)
    print(f"\ndisagreements, datatrove reason -> our reason (top 15 of {len(confusion)} pairs)")
    for (b, a), count in confusion.most_common(15):
        print(f"  {count:6,}  {b:32} -> {a}")
    if not confusion:
        print("  (none)")

    counts_ours, counts_theirs = Counter(map(name, ours)), Counter(map(name, theirs))
    print(f"\ndocuments per reason\n  {'reason':32} {'datatrove':>10} {'ours':>10}")
    for reason in sorted(counts_ours.keys() | counts_theirs.keys(), key=lambda r: (r != "(kept)", r)):
        print(f"  {reason:32} {counts_theirs[reason]:10,} {counts_ours[reason]:10,}")

    print(
        f"\nper kind of document\n  {'kind':22} {'docs':>6} {'dropped: datatrove':>19} {'ours':>7} {'same reason':>12}"
    )
    for kind in sorted(set(kinds), key=lambda k: (k != "clean", k)):
        rows = [i for i, k in enumerate(kinds) if k == kind]
        dropped_theirs = sum(theirs[i] is not None for i in rows) / len(rows)
        dropped_ours = sum(ours[i] is not None for i in rows) / len(rows)
        agree = sum(ours[i] == theirs[i] for i in rows) / len(rows)
        print(f"  {kind:22} {len(rows):6,} {dropped_theirs:19.1%} {dropped_ours:7.1%} {agree:12.1%}")

    if examples and confusion:
        print(f"\nexample disagreements (one per pair, up to {examples})")
        for (b, a), _ in confusion.most_common(examples):
            i = next(i for i in range(n) if name(theirs[i]) == b and name(ours[i]) == a)
            print(f"  [{kinds[i]}] datatrove {b} / ours {a}: {len(texts[i]):,} chars\n    {shorten(texts[i])}")


def main() -> None:
    """Build the corpus, run both implementations, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0, help="MB of text (UTF-8, after normalisation)")
    parser.add_argument("--batch", type=int, default=1000, help="documents per text_stats call")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--examples", type=int, default=5, help="disagreeing documents to show")
    args = parser.parse_args()
    os.environ["POLARS_MAX_THREADS"] = "1"  # before polars is imported: the figure is one core
    block_network("bench_quality")
    started = time.perf_counter()
    try:
        import datatrove.pipeline.filters  # noqa: F401
        import spacy  # noqa: F401  (datatrove's Dutch word tokenizer)
    except ImportError as error:
        print(f"datatrove or spaCy is not installed ({error}); install the benchmark extra: pip install -e '.[bench]'")
        sys.exit(2)
    from importlib.metadata import version

    datatrove_version = "datatrove " + version("datatrove")
    from catalog.quality_settings import QualitySettings

    ours_config = QualitySettings().model_dump()
    ours_config["stopwords"] = list(ours_config.pop("stop_words"))
    expected = {**NLD_LATN, "char_duplicates_ratio": 0.1, "min_stop_words": 2}
    differ = sorted(key for key, value in expected.items() if ours_config[key] != value)
    if differ:
        print(f"warning: QualitySettings() defaults differ from FineWeb-2's nld_Latn configuration: {differ}")

    texts, kinds = build_corpus(args.mb, args.seed)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    noisy = sum(k != "clean" for k in kinds) / len(kinds)
    print(f"text: {dutch_text.source_name()} + generated noise; seed {args.seed}")
    print(
        f"data: {megabytes:.2f} MB (UTF-8, normalised), {len(texts):,} documents "
        f"(mean {megabytes * 1e6 / len(texts):,.0f} bytes), {noisy:.1%} noisy"
    )

    ours, ours_cpu, ours_wall = run_ours(texts, args.batch)
    theirs, theirs_cpu, theirs_wall = run_datatrove(texts)
    import polars as pl

    print(f"\nspeed (process time = one core; polars on {pl.thread_pool_size()} thread)")
    print(
        f"  ours       {megabytes / ours_cpu:7.2f} MB/s per core  ({ours_cpu:.1f} s CPU, {ours_wall:.1f} s wall; "
        f"text_stats + first_reason, batches of {args.batch:,})"
    )
    print(
        f"  datatrove  {megabytes / theirs_cpu:7.2f} MB/s per core  ({theirs_cpu:.1f} s CPU, {theirs_wall:.1f} s wall; "
        f"{datatrove_version}, .filter() called directly: no executor, reader or writer overhead, which favours it)"
    )
    print(f"  ratio ours/datatrove: {theirs_cpu / ours_cpu:.2f}x")
    dropped_ours = sum(r is not None for r in ours)
    dropped_theirs = sum(r is not None for r in theirs)
    print(f"\ndropped: datatrove {dropped_theirs:,} ({dropped_theirs / len(texts):.1%}), ", end="")
    print(f"ours {dropped_ours:,} ({dropped_ours / len(texts):.1%})")
    rescued = occurrence_stop_words_rescued(texts, theirs)
    print(
        f"  (datatrove < 0.5, which FineWeb-2 ran, counted stop-word occurrences, not distinct stop words: "
        f"it would keep {rescued:,} of datatrove's gopher_enough_stop_words drops)"
    )
    report(texts, kinds, ours, theirs, args.examples)
    print(f"\ntotal runtime {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
