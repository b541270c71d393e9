"""Named quality profiles: threshold presets per kind of text, as data, and the default profile of a source.

FineWeb-2's Dutch thresholds (the ``web`` profile) were fitted to web pages. Edited news, historical OCR,
court rulings and short sector notes break web-page assumptions in known ways (closing quotes after the
full stop, short items, figures, old spelling, enumerations), so each kind of text gets a preset that
changes only the rules those texts trip over; the repetition rules and the language rule stay as strict
as FineWeb-2's everywhere. A spec chooses a profile under ``quality: {profile: ...}`` and may still
override any threshold; the README's Quality section gives each profile's table and reasons.

Only data lives here: :class:`catalog.quality_settings.QualitySettings` applies a preset, and the
quality library reads the resulting settings.
"""

from __future__ import annotations

from typing import Any, Literal

ProfileName = Literal["web", "news", "archive-ocr", "legal", "sector"]
PROFILE_NAMES: tuple[str, ...] = ProfileName.__args__

#: Profile -> the settings it changes from FineWeb-2's Dutch configuration (``web`` changes nothing).
QUALITY_PROFILES: dict[str, dict[str, Any]] = {
    "web": {},
    "news": {
        # a quote or bracket after the full stop ends a sentence as well (`... opmerkelijk.'`)
        "closing_quotes_terminate": True,
        # one unique n-gram in a 30-word item is no repetition; an n-gram must occur twice to count
        "top_n_gram_min_count": 2,
        # short news items (two or three sentences) are complete articles
        "min_doc_words": 15,
        # scores, amounts, dates and results lower the share of alphabetic tokens
        "max_non_alpha_words_ratio": 0.65,
        # a table of figures has a few words per line
        "new_line_ratio": 0.3,
        # cookie walls, paywalls and consent prompts that survive line stripping
        "max_consent_word_ratio": 0.06,
        # keyword stuffing: Dutch prose has a stop word every few words
        "max_stopless_line_words": 25,
        # garbage from broken extraction: edited news has under 7% words outside the vocabulary (names)
        "noise_rule_all_texts": True,
        "max_ocr_noise_ratio": 0.2,
    },
    "archive-ocr": {
        "closing_quotes_terminate": True,
        "top_n_gram_min_count": 2,
        # notices and shipping news are short; the OCR noise rule guards what the length rule did
        "min_doc_words": 30,
        # OCR splits punctuation off ("wonen , en") and keeps numbers, column rules and stray marks
        "max_non_alpha_words_ratio": 0.55,
        # a page that starts with a dash is one OCR line, not a bullet list
        "max_bullet_lines_ratio": 1.0,
        # every text of an archive source is OCR text, with or without a confidence from ALTO
        "noise_rule_all_texts": True,
        # "menschen", "zoo", "eene", "gelooven": old spelling is a word, not noise
        "old_spelling": True,
        "max_ocr_noise_ratio": 0.25,
        "min_ocr_confidence": 0.6,
    },
    "legal": {
        "closing_quotes_terminate": True,
        # enumerations: "a. de verdachte;" and "overwegende:" end their line
        "extra_line_end_chars": ";:",
        "top_n_gram_min_count": 2,
        # official announcements are short
        "min_doc_words": 20,
        # article numbers, dates, amounts and citations (ECLI:NL:HR:2020:123, art. 6:162 BW)
        "max_non_alpha_words_ratio": 0.6,
        # numbered paragraphs and enumerations put few words on a line
        "new_line_ratio": 0.35,
        "max_bullet_lines_ratio": 1.0,
        "max_stopless_line_words": 25,
        # garbage from broken PDF extraction; citations (ECLI, BW, Awb) are a few per cent of the words
        "noise_rule_all_texts": True,
        "max_ocr_noise_ratio": 0.25,
        # every ruling repeats its section headings ("Beslissing", "De procedure"): content, not furniture;
        # only lines on half of the documents (a court's letterhead) go
        "furniture_min_share": 0.5,
    },
    "sector": {
        "closing_quotes_terminate": True,
        "extra_line_end_chars": ";:",
        "top_n_gram_min_count": 2,
        # reports and notes: a sentence or a few field lines
        "min_doc_words": 5,
        "min_stop_words": 1,
        # addresses, dates, amounts and reference numbers
        "max_non_alpha_words_ratio": 0.5,
        # notes often end without a full stop
        "line_punct_thr": 0.0,
        # "Onderwerp: ...", "Locatie: ...": structured notes have field lines
        "new_line_ratio": 0.5,
        "max_bullet_lines_ratio": 1.0,
        # language identification is unsure on a dozen words
        "min_language_score": 0.4,
        # garbage from broken PDF or scan extraction in a partner's drop; notes with addresses and names
        # stay under 0.1 unknown words (the sample drop: at most 0.07), extraction garbage mostly over 0.3
        "noise_rule_all_texts": True,
        # cookie and subscription walls end up in partner drops scraped from websites too
        "max_consent_word_ratio": 0.06,
    },
}

#: Sectors whose text is edited journalism, historical archive OCR, or legal text (lower case).
NEWS_SECTORS = frozenset({"news", "media", "journalism", "nieuws"})
ARCHIVE_SECTORS = frozenset({"archives", "archive", "heritage", "archieven", "erfgoed"})
LEGAL_SECTORS = frozenset({"justice", "legal", "judiciary", "rechtspraak", "legislation"})


def default_profile(kind: str | None, sector: str | None) -> str:
    """Return the profile a source gets when its spec names none, from its kind and sector.

    In this order: ``rechtspraak`` sources are legal and ``alto`` sources archive OCR, whatever the
    sector; then the sector decides (news, archives, justice); then web crawls and feeds (``warc``,
    ``rss``) are web pages; every other source (file drops, OAI-PMH repositories) is a sector source.
    """
    sector = (sector or "").strip().lower()
    if kind == "rechtspraak":
        return "legal"
    if kind == "alto":
        return "archive-ocr"
    if sector in NEWS_SECTORS:
        return "news"
    if sector in ARCHIVE_SECTORS:
        return "archive-ocr"
    if sector in LEGAL_SECTORS:
        return "legal"
    if kind in ("warc", "rss"):
        return "web"
    return "sector"
