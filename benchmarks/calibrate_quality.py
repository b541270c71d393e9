"""Calibration of the quality profiles: per profile, how much real text of its kind stays and how much junk goes.

Real text (from ``../shared/data``, read in place, never copied; each set is skipped when absent):

* ``news``: professionally edited newspaper articles (UD Dutch Alpino documents);
* ``wiki``: Wikipedia and web text (UD Dutch LassySmall documents);
* ``ocr``: 19th-century newspaper OCR of the KB (Europeana Newspapers);
* ``feed``: the items of a government publication feed, as the RSS connector makes them without article
  pages (the description: mostly a title);
* ``warc``: the pages of the two web archives, extracted as the WARC connector does (English pages: a
  Dutch source must drop them).

Junk, generated with one seeded RNG from real sentences, one set per failure type: repetition, menus,
spam, link farms, wrong language, mojibake, OCR garbage and boilerplate-only pages (cookie walls,
paywalls, error pages, share and follow blocks). Every text is normalised and goes through the same
:class:`quality.gate.QualityGate` as in the clean stage (boilerplate lines stripped first).

    python benchmarks/calibrate_quality.py                  # every profile, 150 junk texts per type, seed 5
    python benchmarks/calibrate_quality.py --profile archive-ocr --ids 20 --seed 11

Prints a table per profile: the share kept of each real set (with the reasons of the drops) and the share
dropped of each junk type (with the reasons of what slipped through). ``--ids N`` also lists N dropped and
N kept document ids of the OCR set (ids only) to check by hand. Never touches the network.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import re
import sys
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# benchmarks/ is on sys.path when a script in it runs: the web benchmark's noise material is shared
from bench_quality import BOILERPLATE, DOMAINS, ENGLISH, GERMAN, MENU, PRODUCTS, SHORT, SPAM_LINES, sentence_stream
from offline import block_network

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

# --- real text ---------------------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["id"], row["text"]) for row in rows]


def feed_items(path: Path) -> list[tuple[str, str]]:
    """Return (link, text) of every feed item, the text as the RSS connector takes it from the feed alone."""
    if not path.is_file():
        return []
    import feedparser

    from catalog.connectors.rss import _feed_text

    feed = feedparser.parse(path.read_bytes())
    return [(entry.get("link", str(i)), _feed_text(entry)) for i, entry in enumerate(feed.entries)]


def warc_pages(folder: Path) -> list[tuple[str, str]]:
    """Return (URL, main text) of every HTML response in the folder's WARC files (trafilatura, as ingest does)."""
    if not folder.is_dir():
        return []
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    pages = []
    for path in sorted(folder.glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                headers = record.http_headers
                if record.rec_type != "response" or headers is None:
                    continue
                if "html" not in (headers.get_header("Content-Type") or ""):
                    continue
                html = record.content_stream().read()
                text = trafilatura.extract(html, include_comments=False, favor_precision=True) or ""
                if text.strip():
                    pages.append((record.rec_headers.get_header("WARC-Target-URI"), text))
    return pages


def real_sets() -> dict[str, list[tuple[str, str]]]:
    """Return the real text sets that are present, by name."""
    sets = {
        "news": _jsonl(SHARED / "text-nl" / "ud-alpino-dev-docs.jsonl"),
        "wiki": _jsonl(SHARED / "text-nl" / "ud-lassysmall-dev-docs.jsonl"),
        "ocr": _jsonl(SHARED / "pii-dev" / "kb-ocr-ner-dev.jsonl"),
        "feed": feed_items(SHARED / "feeds" / "officielebekendmakingen_rss_2022-05-02.xml"),
        "warc": warc_pages(SHARED / "warc"),
    }
    return {name: items for name, items in sets.items() if items}


#: Which real sets each profile is meant for (kept is the goal), and which it must drop (``warc``: English).
MEANT_FOR = {
    "web": ("news", "wiki"),
    "news": ("news", "wiki"),
    "archive-ocr": ("ocr",),
    "legal": ("feed",),
    "sector": ("feed",),
}

# --- junk ----------------------------------------------------------------------------------------------------

FRENCH = (
    "Le conseil municipal a approuvé mardi soir le nouveau budget après un long débat.",
    "Selon le porte-parole, aucune décision n'a encore été prise sur le financement.",
    "De fortes pluies et des vents violents sont attendus dans le nord du pays ce week-end.",
    "Les habitants s'inquiètent des dégâts causés à leurs maisons par les travaux.",
    "Le musée ouvrira samedi une nouvelle exposition sur l'histoire du port.",
)
CONSENT = (
    "Wij en onze partners gebruiken cookies en vergelijkbare technieken om je een betere ervaring te bieden, "
    "advertenties te personaliseren en het gebruik van de website te analyseren.",
    "Door op Akkoord te klikken geef je toestemming voor het plaatsen van cookies; je kunt je voorkeuren altijd "
    "wijzigen via de cookie-instellingen onderaan de pagina.",
    "Met jouw toestemming gebruiken wij en onze partners ook tracking cookies voor gepersonaliseerde advertenties.",
    "Lees meer over hoe wij met je gegevens omgaan in ons privacybeleid en onze cookieverklaring.",
    "Dit artikel is exclusief voor abonnees. Word abonnee en lees onbeperkt alle artikelen, de eerste maand gratis.",
    "Al abonnee? Log in met je account om verder te lezen. Je abonnement is maandelijks opzegbaar.",
    "Je hebt het maximale aantal gratis artikelen voor deze maand gelezen. Neem een proefperiode en lees verder.",
)
PROMPTS = (
    "Accepteren", "Weigeren", "Instellingen aanpassen", "Akkoord en doorgaan", "Inloggen", "Abonneer nu",
    "Deel dit artikel", "Volg ons op Instagram", "Schrijf je in voor onze nieuwsbrief", "Terug naar boven",
    "© 2024 Mediahuis Nederland. Alle rechten voorbehouden.", "Reacties (0)", "Tip de redactie",
)  # fmt: skip
CITIES = ("Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen", "Tilburg", "Almere", "Breda")
#: Characters OCR confuses with each letter (what a worn or badly scanned page gives).
OCR_CONFUSION = {
    "e": "coé", "n": "uii", "h": "bli", "m": "rnn", "u": "nii", "i": "l1!í", "l": "1I|", "a": "oáe", "o": "0ce",
    "s": "fś5", "r": "t", "t": "lf", "d": "cl", "c": "e(", "w": "vv", "b": "h6", "g": "q9", "k": "lc",
}  # fmt: skip
OCR_DEBRIS = ".,'`^~*»«;:|/\\-_"


class JunkGenerator:
    """Draws junk documents of each failure type from real sentences with one seeded RNG."""

    def __init__(self, sentences: list[str], ocr_sentences: list[str], seed: int) -> None:
        self.sentences = sentences
        self.ocr_sentences = ocr_sentences or sentences
        self.rng = random.Random(seed)
        self.types: dict[str, Callable[[], str]] = {
            "repetition": self.repetition,
            "menus": self.menus,
            "spam": self.spam,
            "link farms": self.link_farm,
            "wrong language": self.wrong_language,
            "mojibake": self.mojibake,
            "OCR garbage": self.ocr_garbage,
            "boilerplate only": self.boilerplate_only,
        }

    def some(self, low: int, high: int) -> list[str]:
        """Return ``low``-``high`` consecutive real sentences."""
        start = self.rng.randrange(len(self.sentences))
        return [self.sentences[(start + i) % len(self.sentences)] for i in range(self.rng.randint(low, high))]

    def repetition(self) -> str:
        """Return a paragraph or sentence repeated, a line after every paragraph, or spun SEO text per city."""
        style = self.rng.randrange(4)
        if style == 0:
            return "\n\n".join([" ".join(self.some(2, 5))] * self.rng.randint(3, 10))
        if style == 1:
            return " ".join([self.rng.choice(self.sentences)] * self.rng.randint(5, 30))
        if style == 2:  # a line the scraper repeated after every paragraph (not furniture the cleaner knows)
            line = self.rng.choice(self.sentences)
            return "\n".join(f"{' '.join(self.some(1, 2))}\n{line}" for _ in range(self.rng.randint(6, 20)))
        product = self.rng.choice(PRODUCTS)
        template = (
            "Op zoek naar {p} in {c}? Wij leveren de beste {p} in {c} en omgeving. "
            "Bestel uw {p} in {c} vandaag nog en profiteer van onze service in {c}."
        )
        return "\n".join(template.format(p=product, c=c) for c in self.rng.sample(CITIES, self.rng.randint(4, 9)))

    def menus(self) -> str:
        """Return navigation: items one per line, breadcrumbs, or a footer menu under one short sentence."""
        items = self.rng.choices(MENU, k=self.rng.randint(6, 40))
        style = self.rng.randrange(3)
        if style == 0:
            return "\n".join(items)
        if style == 1:
            return " > ".join(items[:5]) + "\n" + " | ".join(items[5:])
        return "\n".join([*items[: len(items) // 2], self.rng.choice(self.sentences), *items[len(items) // 2 :]])

    def spam(self) -> str:
        """Return sales calls, keyword stuffing and casino/pharma spam, alone or under a few real sentences."""
        product = self.rng.choice(PRODUCTS)
        style = self.rng.randrange(3)
        if style == 0:
            body = "\n".join(self.rng.choice(SPAM_LINES).format(p=product) for _ in range(self.rng.randint(6, 30)))
        elif style == 1:
            words = [
                *product.split(),
                "kopen",
                "online",
                "goedkoop",
                "aanbieding",
                "beste",
                "prijs",
                "korting",
                "gratis",
            ]
            body = " ".join(self.rng.choice(words) for _ in range(self.rng.randint(40, 300)))
        else:
            offers = ("online casino", "gratis spins", "viagra zonder recept", "snel geld lenen", "crypto winst")
            body = "\n".join(
                f"{self.rng.choice(offers).capitalize()}!!! {self.rng.choice(('Klik hier', 'Meld je nu aan', 'Bonus'))}"
                f" {self.rng.randint(10, 500)}% {self.rng.choice(('gratis', 'extra', 'winst'))}"
                for _ in range(self.rng.randint(5, 25))
            )
        if self.rng.random() < 0.3:
            return "\n".join([*self.some(1, 3), body])
        return body

    def link_farm(self) -> str:
        """Return runs of links, headline lists, teasers cut off with an ellipsis, or tag clouds."""
        style = self.rng.randrange(4)
        if style == 0:
            return "\n".join(
                f"https://{self.rng.choice(DOMAINS)}/{'-'.join(re.findall(r'[a-z]+', s.lower())[:8])}"
                for s in self.some(8, 30)
            )
        if style == 1:
            return "\n".join(" ".join(s.rstrip(".").split()[: self.rng.randint(4, 9)]) for s in self.some(8, 30))
        if style == 2:
            return "\n".join(" ".join(s.split()[: self.rng.randint(6, 14)]) + " ..." for s in self.some(6, 20))
        words = [w.strip(".,") for s in self.some(5, 15) for w in s.split() if len(w) > 4]
        return "Tags: " + ", ".join(self.rng.sample(words, min(len(words), self.rng.randint(15, 40))))

    def wrong_language(self) -> str:
        """Return an English, German or French article, sometimes with a Dutch sentence in it."""
        pool = self.rng.choice((ENGLISH, GERMAN, FRENCH))
        sentences = self.rng.choices(pool, k=self.rng.randint(4, 30))
        if self.rng.random() < 0.3:
            sentences.insert(self.rng.randrange(len(sentences)), self.rng.choice(self.sentences))
        return " ".join(sentences)

    def mojibake(self) -> str:
        """Return Dutch text decoded with a wrong codec beyond repair, or a binary stream read as text."""
        text = " ".join(self.some(4, 15))
        style = self.rng.randrange(4)
        if style == 0:  # single-byte text read as UTF-16 (a wrongly detected byte order mark)
            data = text.encode("cp1252", "replace")
            return data[: len(data) // 2 * 2].decode("utf-16-le", "replace")
        if style == 1:  # an EBCDIC export read as Latin-1
            return text.encode("cp500", "replace").decode("latin-1")
        if style == 2:  # a MIME part exported without decoding its base64
            return "\n".join(re.findall(".{1,76}", base64.b64encode(text.encode()).decode()))
        packed = gzip.compress(text.encode()) if self.rng.random() < 0.5 else zlib.compress(text.encode() * 3)
        return packed.decode("latin-1")

    def ocr_garbage(self) -> str:
        """Return a scan OCR could not read: most words mangled, debris between them (from old and modern text)."""
        pool = self.ocr_sentences if self.rng.random() < 0.6 else self.sentences
        start = self.rng.randrange(len(pool))
        words = " ".join(pool[(start + i) % len(pool)] for i in range(self.rng.randint(3, 10))).split()
        rate = self.rng.uniform(0.3, 0.6)
        out = []
        for word in words:
            chars = [self.rng.choice(OCR_CONFUSION.get(c.lower(), c)) if self.rng.random() < rate else c for c in word]
            if self.rng.random() < rate / 2:
                chars.insert(self.rng.randrange(len(chars) + 1), self.rng.choice(OCR_DEBRIS))
            out.append("".join(chars))
            if self.rng.random() < rate / 3:
                out.append("".join(self.rng.choices(OCR_DEBRIS + "ilI1", k=self.rng.randint(1, 4))))
        return " ".join(out)

    def boilerplate_only(self) -> str:
        """Return a page with no text of its own: a cookie wall, a paywall, an error page, share and follow blocks."""
        style = self.rng.randrange(3)
        if style == 0:
            paragraph = " ".join(self.rng.sample(CONSENT, self.rng.randint(2, 4)))
            return "\n".join([self.rng.choice(("Wij vragen je toestemming", "Even dit", "Cookies")), paragraph,
                              *self.rng.sample(PROMPTS, self.rng.randint(1, 4))])  # fmt: skip
        if style == 1:
            return "\n".join([self.rng.choice(SHORT), *self.rng.sample(PROMPTS, self.rng.randint(1, 4))])
        return "\n".join(self.rng.sample(BOILERPLATE + PROMPTS, self.rng.randint(4, 10)))

    def draw(self, kind: str, count: int) -> list[tuple[str, str]]:
        """Return ``count`` (id, text) junk documents of one type."""
        make = self.types[kind]
        return [(f"{kind}-{i}", make()) for i in range(count)]


# --- measuring -----------------------------------------------------------------------------------------------


def assess(profile: str, items: list[tuple[str, str]], ocr: bool = False) -> list[tuple[str, str | None]]:
    """Return (id, reason or None when kept) per document, as the clean stage decides with this profile."""
    from catalog.quality_settings import QualitySettings
    from quality.gate import QualityGate
    from quality.normalise import normalise_text

    gate = GATES.setdefault(profile, QualityGate(QualitySettings(profile=profile), ["nl"]))
    texts = [normalise_text(text) for _, text in items]
    if gate.cleaner is not None:
        texts, _ = gate.cleaner.clean_normalised(texts)
    reasons = gate.assess(texts, is_ocr=[ocr] * len(texts))["reason"].to_list()
    return [(doc_id, reason) for (doc_id, _), reason in zip(items, reasons, strict=True)]


GATES: dict[str, object] = {}


def _top(reasons: Counter[str], n: int = 3) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in reasons.most_common(n))


def profile_table(profile: str, real: dict[str, list[tuple[str, str]]], junk: dict[str, list[tuple[str, str]]]) -> None:
    """Print one profile's table: real sets kept, junk types dropped."""
    print(f"\n## profile {profile}\n")
    print(
        f"| {'set':<26} | {'docs':>5} | {'kept':>7} | {'dropped':>7} | "
        "main reasons (drops of real text, keeps of junk) |"
    )
    print(f"|{'-' * 28}|{'-' * 7}|{'-' * 9}|{'-' * 9}|{'-' * 50}|")
    for name, items in real.items():
        decided = assess(profile, items, ocr=name == "ocr")
        kept = sum(reason is None for _, reason in decided)
        mark = " (meant for)" if name in MEANT_FOR[profile] else ""
        reasons = Counter(reason for _, reason in decided if reason)
        print(
            f"| real: {name + mark:<20} | {len(items):>5} | {kept / len(items):>7.1%} | "
            f"{1 - kept / len(items):>7.1%} | {_top(reasons):<48} |"
        )
    total = dropped_total = 0
    for kind, items in junk.items():
        decided = assess(profile, items)
        slipped = [doc_id for doc_id, reason in decided if reason is None]
        dropped = len(items) - len(slipped)
        total += len(items)
        dropped_total += dropped
        reasons = Counter(reason for _, reason in decided if reason)
        note = f"kept: {', '.join(slipped[:3])}" if slipped else _top(reasons, 2)
        print(
            f"| junk: {kind:<20} | {len(items):>5} | {len(slipped) / len(items):>7.1%} | "
            f"{dropped / len(items):>7.1%} | {note:<48} |"
        )
    print(
        f"| junk: all types {'':<10} | {total:>5} | {1 - dropped_total / total:>7.1%} | {dropped_total / total:>7.1%} |"
    )


def list_ocr_ids(items: list[tuple[str, str]], count: int, seed: int) -> None:
    """Print ``count`` dropped and ``count`` kept ids of the OCR set under archive-ocr (ids and reasons only)."""
    decided = assess("archive-ocr", items, ocr=True)
    rng = random.Random(seed)
    dropped = [(doc_id, reason) for doc_id, reason in decided if reason]
    kept = [doc_id for doc_id, reason in decided if reason is None]
    print(f"\narchive-ocr on the OCR set: {len(kept)} kept, {len(dropped)} dropped")
    print(
        "dropped:",
        ", ".join(f"{doc_id} ({reason})" for doc_id, reason in rng.sample(dropped, min(count, len(dropped)))),
    )
    print("kept:", ", ".join(rng.sample(kept, min(count, len(kept)))))


def main() -> None:
    """Print the calibration tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="append", help="only this profile (repeatable)")
    parser.add_argument("--junk", type=int, default=150, help="junk documents per failure type")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--ids", type=int, default=0, metavar="N", help="list N dropped and N kept OCR ids")
    args = parser.parse_args()
    block_network("calibrate_quality")
    from catalog.quality_profiles import PROFILE_NAMES

    real = real_sets()
    sentences = [s for s, _ in sentence_stream() if len(s) > 30]
    ocr_sentences = [s for _, text in real.get("ocr", []) for s in re.split(r"(?<=[.!?]) ", text) if len(s) > 30]
    generator = JunkGenerator(sentences, ocr_sentences, args.seed)
    junk = {kind: generator.draw(kind, args.junk) for kind in generator.types}
    where = "shared/data" if real else "no shared data: junk only"
    print(f"real text: {', '.join(f'{k} {len(v)}' for k, v in real.items()) or 'none'} ({where}); ", end="")
    print(f"junk: {args.junk} per type, seed {args.seed}; boilerplate lines stripped before the gate")
    for profile in args.profile or PROFILE_NAMES:
        profile_table(profile, real, junk)
    if args.ids and "ocr" in real:
        list_ocr_ids(real["ocr"], args.ids, args.seed)


if __name__ == "__main__":
    sys.exit(main())
