"""Benchmark: recall, precision and speed of the structured PII recognizers on Dutch text with planted values.

Generates Dutch documents from real sentences (``../shared/data/text-nl/*.jsonl`` when present, else a
built-in list) with 1-3 planted values each in natural Dutch phrases: valid BSNs (11-proef), IBANs
(mod 97, real Dutch bank codes), Luhn-valid cards, valid Dutch phone numbers, e-mail addresses,
kentekens, postcodes, KvK- and btw-nummers, dates of birth and IP addresses; plus invalid BSNs and IBANs
with wrong check digits in the same phrases, which must not be reported.

    python benchmarks/bench_pii_structured.py                 # 2,000 documents, 2 MB for the speed part
    python benchmarks/bench_pii_structured.py --docs 5000 --mb 10

Prints per entity type: planted count, recall, precision and the false positives by type; then MB/s on
one core for (a) our engine with the structured recognizers, (b) the same recognizers with Presidio's
stock context enhancer (what (a) used before it skipped pre-enhanced results), (c) stock Presidio
recognizers (re-registered for ``nl``) plus our NL-only structured recognizers on the same blank spaCy
pipeline, (d) the pipeline's full engine, person names (model and rules) included, and (e) stock Presidio
with the same recognizers as (d): spaCy tokenisation, its context enhancer, its own recognizers where it has
them and ours for the rest.
Never touches the network (socket connections are blocked while it runs).
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections import Counter, defaultdict
from pathlib import Path

import dutch_text  # benchmarks/ is on sys.path when a script in it runs
import phonenumbers
from offline import block_network

from anonymisation.checksums import bsn_valid, iban_valid, luhn_valid

REPO = Path(__file__).resolve().parent.parent

BANKS = ("ABNA", "INGB", "RABO", "SNSB", "TRIO", "BUNQ")
MONTHS = (
    "januari februari maart april mei juni juli augustus september oktober november december".split()
)  # fmt: skip
PLATE_LETTERS = "BDFGHJKLNPRSTVXZ"
PLATE_SHAPES = ("99-XXX-9", "9-XXX-99", "XX-999-X", "X-999-XX", "XXX-99-X", "X-99-XXX", "99-XX-XX")
FIRST_NAMES = ("jan", "sanne", "pieter", "fatima", "daan", "emma", "mohammed", "lotte", "bram", "anouk")
LAST_NAMES = ("devries", "jansen", "bakker", "visser", "smit", "elamrani", "mulder", "degroot", "bos", "meijer")
MAIL_DOMAINS = ("gmail.com", "ziggo.nl", "kpnmail.nl", "hetnet.nl", "outlook.com", "gemeente-utrecht.nl")

# Phrases per entity; "{v}" is the planted value. Invalid values reuse the BSN / IBAN phrases.
PHRASES: dict[str, tuple[str, ...]] = {
    "NL_BSN": (
        "Mijn BSN is {v}.",
        "Zijn burgerservicenummer is {v}, zo bleek uit het dossier.",
        "Vermeld altijd uw BSN {v} bij de aanvraag.",
    ),
    "IBAN_CODE": (
        "Maak het bedrag over naar IBAN {v}.",
        "Het geld is gestort op rekeningnummer {v} ten name van de stichting.",
        "Betalen kan op {v} onder vermelding van het factuurnummer.",
    ),
    "PHONE_NUMBER": ("Bel ons op {v}.", "U kunt haar bereiken op telefoonnummer {v}.", "Mobiel: {v}."),
    "EMAIL_ADDRESS": ("Mail naar {v} voor meer informatie.", "Zijn e-mailadres is {v}."),
    "NL_LICENSE_PLATE": ("Het kenteken was {v}.", "De auto met kenteken {v} reed door rood."),
    "NL_POSTCODE": ("Postcode {v}.", "Het pakket moet naar postcode {v} in Utrecht."),
    "NL_KVK": ("KvK-nummer {v}.", "Het bedrijf staat bij de Kamer van Koophandel ingeschreven onder {v}."),
    "NL_BTW": ("Ons btw-nummer is {v}.", "btw-nummer: {v}"),
    "DATE_OF_BIRTH": ("Hij is geboren op {v} in Amsterdam.", "Geboortedatum: {v}."),
    "CREDIT_CARD": ("Hij betaalde met creditcard {v}.", "Het nummer van de creditcard is {v}."),
    "IP_ADDRESS": ("Het IP-adres {v} werd geblokkeerd.", "De aanval kwam van IP-adres {v}."),
}
INVALID = {"NL_BSN_INVALID": "NL_BSN", "IBAN_CODE_INVALID": "IBAN_CODE"}


# --- value generators (valid by the checksum rules; asserted against anonymisation.checksums) ----------


def gen_bsn(rng: random.Random, valid: bool = True) -> str:
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(w * d for w, d in zip(range(9, 1, -1), digits, strict=True)) % 11
        if valid and check == 10:
            continue
        last = check if valid else rng.choice([d for d in range(10) if d != check])
        number = "".join(map(str, digits)) + str(last)
        assert bsn_valid(number) is valid
        return f"{number[:3]}.{number[3:6]}.{number[6:]}" if rng.random() < 0.3 else number


def _mod97(text: str) -> int:
    return int("".join(str(int(c, 36)) for c in text)) % 97


def gen_iban(rng: random.Random, valid: bool = True) -> str:
    bban = rng.choice(BANKS) + "".join(rng.choice(string.digits) for _ in range(10))
    check = 98 - _mod97(bban + "NL00")
    if not valid:
        check = rng.choice([c for c in range(2, 99) if c != check])
    iban = f"NL{check:02d}{bban}"
    assert iban_valid(iban) is valid
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.6 else iban


def gen_card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "52", "53", "54", "55"])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(15 - len(prefix)))
    check = next(d for d in range(10) if luhn_valid(body + str(d)))
    number = body + str(check)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4)) if rng.random() < 0.7 else number


def gen_phone(rng: random.Random) -> str:
    while True:
        if rng.random() < 0.6:
            rest = str(rng.randint(1, 5)) + "".join(rng.choice(string.digits) for _ in range(7))
            number = rng.choice([f"06-{rest}", f"06 {rest[:4]} {rest[4:]}", f"+31 6 {rest}", f"06{rest}"])
        else:
            area = rng.choice(["020", "010", "050"])
            rest = str(rng.randint(2, 8)) + "".join(rng.choice(string.digits) for _ in range(6))
            number = rng.choice([f"{area}-{rest}", f"{area} {rest[:3]} {rest[3:]}", f"({area}) {rest}"])
        if phonenumbers.is_valid_number(phonenumbers.parse(number, "NL")):
            return number


def gen_email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = rng.choice([f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}.{last}"])
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def gen_plate(rng: random.Random) -> str:
    shape = rng.choice(PLATE_SHAPES)
    return "".join(
        rng.choice(PLATE_LETTERS) if c == "X" else rng.choice(string.digits) if c == "9" else c for c in shape
    )


def gen_postcode(rng: random.Random) -> str:
    while True:
        letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
        if letters not in ("SA", "SD", "SS"):
            return f"{rng.randint(1000, 9999)}{rng.choice([' ', ''])}{letters}"


def gen_kvk(rng: random.Random) -> str:
    return str(rng.randint(10_000_000, 99_999_999))


def gen_btw(rng: random.Random) -> str:
    digits = gen_bsn(rng).replace(".", "")
    return f"NL{digits}B{rng.randint(1, 3):02d}"


def gen_dob(rng: random.Random) -> str:
    year, month, day = rng.randint(1930, 2010), rng.randint(1, 12), rng.randint(1, 28)
    if rng.random() < 0.5:
        return f"{day} {MONTHS[month - 1]} {year}"
    return f"{day:02d}-{month:02d}-{year}"


def gen_ip(rng: random.Random) -> str:
    first = rng.choice([31, 62, 77, 82, 145, 185, 212])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


GENERATORS = {
    "NL_BSN": gen_bsn,
    "IBAN_CODE": gen_iban,
    "PHONE_NUMBER": gen_phone,
    "EMAIL_ADDRESS": gen_email,
    "NL_LICENSE_PLATE": gen_plate,
    "NL_POSTCODE": gen_postcode,
    "NL_KVK": gen_kvk,
    "NL_BTW": gen_btw,
    "DATE_OF_BIRTH": gen_dob,
    "CREDIT_CARD": gen_card,
    "IP_ADDRESS": gen_ip,
}
PLANT_KINDS = [*GENERATORS, *INVALID]


def sentences() -> list[str]:
    """Real Dutch sentences, each ending in exactly one full stop."""
    return [s.rstrip(".") + "." for s in dutch_text.sentences()]


def generate(n: int, seed: int) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Return ``n`` documents with their ground truth ``(entity, start, end)``; invalid kinds end in ``_INVALID``."""
    rng = random.Random(seed)
    pool = sentences()
    docs = []
    for _ in range(n):
        parts: list[str | tuple[str, str, str]] = [rng.choice(pool) for _ in range(rng.randint(3, 8))]
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(PLANT_KINDS)
            base = INVALID.get(kind, kind)
            value = gen_bsn(rng, False) if kind == "NL_BSN_INVALID" else gen_iban(rng, False) if kind in INVALID else ""
            value = value or GENERATORS[kind](rng)
            parts.insert(rng.randint(0, len(parts)), (kind, rng.choice(PHRASES[base]), value))
        text, truth = "", []
        for part in parts:
            text += " " if text else ""
            if isinstance(part, str):
                text += part
                continue
            kind, phrase, value = part
            before, after = phrase.split("{v}")
            start = len(text) + len(before)
            truth.append((kind, start, start + len(value)))
            text += before + value + after
        docs.append((text, truth))
    return docs


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def evaluate(analyzer, docs) -> None:
    from anonymisation.engine import analyse

    planted, found = Counter(), Counter()
    invalid_reported, invalid_other = Counter(), Counter()
    by_type, true_by_type = Counter(), Counter()
    fp_examples: dict[str, list[str]] = defaultdict(list)
    fp_across = Counter()  # false positives that overlap a planted value of another type
    for text, truth in docs:
        findings = analyse(text, analyzer)
        for kind, start, end in truth:
            span = (start, end)
            if kind in INVALID:
                planted[kind] += 1
                hits = [f.entity for f in findings if overlaps(span, (f.start, f.end))]
                invalid_reported[kind] += INVALID[kind] in hits
                for entity in set(hits) - {INVALID[kind]}:
                    invalid_other[(kind, entity)] += 1
                continue
            planted[kind] += 1
            found[kind] += any(f.entity == kind and overlaps(span, (f.start, f.end)) for f in findings)
        for f in findings:
            by_type[f.entity] += 1
            if any(k == f.entity and overlaps((s, e), (f.start, f.end)) for k, s, e in truth):
                true_by_type[f.entity] += 1
                continue
            if any(overlaps((s, e), (f.start, f.end)) for _, s, e in truth):
                fp_across[f.entity] += 1
            if len(fp_examples[f.entity]) < 3:
                fp_examples[f.entity].append(text[max(0, f.start - 25) : f.end + 10].replace("\n", " "))

    print(f"\n{'entity':<18}{'planted':>8}{'recall':>9}{'findings':>10}{'precision':>11}{'FP':>5}")
    for entity in sorted(set(GENERATORS) | set(by_type)):
        recall = f"{found[entity] / planted[entity]:.3f}" if planted[entity] else "-"
        precision = f"{true_by_type[entity] / by_type[entity]:.3f}" if by_type[entity] else "-"
        fp = by_type[entity] - true_by_type[entity]
        print(f"{entity:<18}{planted[entity]:>8}{recall:>9}{by_type[entity]:>10}{precision:>11}{fp:>5}")
    print("\ninvalid values (must not be reported as their type):")
    for kind, target in INVALID.items():
        others = ", ".join(f"{e} {c}" for (k, e), c in sorted(invalid_other.items()) if k == kind) or "none"
        print(
            f"  {kind:<18} planted {planted[kind]:>4}  reported as {target}: {invalid_reported[kind]}"
            f"  other types: {others}"
        )
    print("\nfalse positives by type (finding overlaps no planted value of its type):")
    fps = {e: by_type[e] - true_by_type[e] for e in by_type if by_type[e] > true_by_type[e]}
    if not fps:
        print("  none")
    for entity, count in sorted(fps.items(), key=lambda item: -item[1]):
        print(f"  {entity:<18}{count:>5}  (on a planted value of another type: {fp_across[entity]})")
        for example in fp_examples[entity]:
            print(f"      …{example}…")


def structured_recognizers():
    """Our recognizers without PERSON: the structured types this benchmark plants and compares."""
    from anonymisation.recognizers import OPTIONAL_ENTITIES, dutch_recognizers

    return [r for r in dutch_recognizers() if not {"PERSON", *OPTIONAL_ENTITIES} & set(r.supported_entities)]


def stock_analyzer(ours):
    """Presidio's predefined recognizers for comparable types (re-registered for nl) + our NL-only recognizers."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
    )

    stock = [
        EmailRecognizer(supported_language="nl"),
        PhoneRecognizer(supported_language="nl", supported_regions=("NL",)),  # NL only: fair and cheapest
        IbanRecognizer(supported_language="nl"),
        IpRecognizer(supported_language="nl"),
        UrlRecognizer(supported_language="nl"),
        CreditCardRecognizer(supported_language="nl"),
    ]
    stock_entities = {r.supported_entities[0] for r in stock}
    nl_only = [r for r in structured_recognizers() if r.supported_entities[0] not in stock_entities]
    registry = RecognizerRegistry(recognizers=stock + nl_only, supported_languages=["nl"])
    # ours.nlp_engine is the cached blank Dutch pipeline from engine.blank_model_path(), loaded once.
    return AnalyzerEngine(registry=registry, nlp_engine=ours.nlp_engine, supported_languages=["nl"])


def stock_with_names():
    """Build stock Presidio as it runs out of the box, with the same recognizers as the pipeline's engine.

    spaCy tokenisation (the blank Dutch pipeline: no Dutch NER model can be downloaded), its default context
    enhancer, its recognizers where it has them, and ours (person names included) for the rest.
    """
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from anonymisation.engine import build_analyzer
    from anonymisation.recognizers import NlPersonRecognizer

    tokenized = build_analyzer(structured_recognizers(), tokenize=True)
    stock = stock_analyzer(tokenized)
    recognizers = [*stock.registry.recognizers, NlPersonRecognizer()]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["nl"])
    return AnalyzerEngine(registry=registry, nlp_engine=tokenized.nlp_engine, supported_languages=["nl"])


def stock_enhancer_analyzer():
    """Our recognizers on Presidio's NoOpNlpEngine with its default (lemma) context enhancer."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    registry = RecognizerRegistry(recognizers=structured_recognizers(), supported_languages=["nl"])
    nlp_engine = NoOpNlpEngine(models=[{"lang_code": "nl", "model_name": "noop"}])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["nl"])


def speed(name: str, analyzer, texts: list[str], megabytes: float) -> float:
    from anonymisation.engine import default_entities

    # what the pipeline asks for by default: places and organisations only where a policy names them
    entities = default_entities(analyzer)
    analyzer.analyze(text=texts[0], language="nl", entities=entities)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    findings = sum(len(analyzer.analyze(text=text, language="nl", entities=entities)) for text in texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"  {name:<44} {megabytes / cpu:6.2f} MB/s per core"
        f" (CPU {cpu:5.1f} s, wall {wall:5.1f} s, {findings:,} raw findings)"
    )
    return megabytes / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents for the accuracy part")
    parser.add_argument("--mb", type=float, default=2.0, help="MB of text for the speed part")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    block_network("bench_pii_structured")
    started = time.perf_counter()

    from anonymisation.engine import build_analyzer, ensure_offline_tldextract

    ensure_offline_tldextract()
    docs = generate(args.docs, args.seed)
    size = sum(len(text.encode("utf-8")) for text, _ in docs) / 1e6
    source = dutch_text.source_name()
    print(f"text: {source}; {len(docs):,} documents, {size:.2f} MB, seed {args.seed}")

    ours = build_analyzer(structured_recognizers())
    evaluate(ours, docs)

    texts, total = [], 0
    while total < args.mb * 1e6:
        for text, _ in docs:
            texts.append(text)
            total += len(text.encode("utf-8"))
            if total >= args.mb * 1e6:
                break
    megabytes = total / 1e6
    print(f"\nspeed: {megabytes:.2f} MB in {len(texts):,} documents, AnalyzerEngine.analyze per document, one core")
    a = speed("(a) ours: build_analyzer() (blank spaCy)", ours, texts, megabytes)
    b = speed("(b) ours with Presidio's stock context enhancer", stock_enhancer_analyzer(), texts, megabytes)
    c = speed("(c) stock Presidio recognizers + our NL-only", stock_analyzer(ours), texts, megabytes)
    print(f"  ratios: (a)/(c) {a / c:.2f}x   (b)/(c) {b / c:.2f}x   (a)/(b) {a / b:.2f}x")
    full = build_analyzer()
    full.analyze("Opwarmen van de woordenlijsten door mevrouw Jansen.", language="nl")  # lexicon outside timing
    d = speed("(d) ours with PERSON (the pipeline's engine)", full, texts, megabytes)
    print(f"  cost of person names: (a)/(d) {a / d:.2f}x; (d)/(c) {d / c:.2f}x")
    stock = stock_with_names()
    stock.analyze("Opwarmen van de woordenlijsten door mevrouw Jansen.", language="nl")
    e = speed("(e) stock Presidio, same recognizers, names", stock, texts, megabytes)
    print(f"  full engine against stock Presidio with the same recognizers: (d)/(e) {d / e:.2f}x   target >= 5x")
    print(f"\ntotal runtime {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
