"""News boilerplate: whole lines that are page furniture, not article text, removed in polars.

Article pages extracted from RSS links and web archives keep lines such as "Lees ook: ...", "Deel dit
artikel", "Volg ons op Instagram", "Advertentie", cookie notices, photo credits and copyright footers.
They repeat across thousands of documents, so left in they teach a model page furniture and inflate
near-duplicate scores. A line is removed only when the *whole* line matches one of the patterns and is
short (:data:`MAX_LINE_CHARS`): a sentence that merely mentions "advertentie" stays.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from quality.normalise import normalise_text

#: Longest line that can be boilerplate; longer lines are article text whatever they contain.
MAX_LINE_CHARS = 160

#: Whole-line patterns of Dutch (and Flemish) news page furniture, matched case-insensitively.
DUTCH_NEWS_BOILERPLATE: tuple[str, ...] = (
    r"(lees|bekijk|zie) (ook|meer|hier)\b.*",
    r"(meer|ander|gerelateerd) nieuws\b.*",
    r"(deel|share|delen)( dit| het)?( artikel| bericht| pagina)?( via| op)?"
    r"( facebook| twitter| x| whatsapp| linkedin| e-?mail)*:?",
    r"volg (ons|de redactie|.{1,40}) op (facebook|twitter|x|instagram|linkedin|tiktok|youtube|whatsapp).*",
    r"(advertentie|advertorial|gesponsord|sponsored|reclame)",
    r"(foto|beeld|video|illustratie)( ?:| -)? ?"
    r"(anp|afp|reuters|belga|getty( images)?|shutterstock|hollandse hoogte|ap|epa)\b.*",
    r"(©|\(c\)|copyright) ?(\d{4}|[a-z]).{0,100}",
    r"(alle rechten voorbehouden|all rights reserved).*",
    r"(deze website|wij|we) (gebruikt|gebruiken|maakt gebruik van) cookies.*",
    r"(accepteer|akkoord|cookie-?instellingen|cookies? (accepteren|weigeren)).*",
    r"(reageer|reacties?|plaats een reactie|\d+ reacties?)( \(\d+\))?:?",
    r"(schrijf je in|abonneer( je)?|meld je aan) (voor|op) (onze|de) nieuwsbrief.*",
    r"(print|afdrukken|mail|e-?mail) (dit )?(artikel|bericht)",
    r"(terug naar|naar) (boven|top|home(page)?|de homepage)",
    r"(gepubliceerd|bijgewerkt|laatste update|geüpdatet)( op)?:? .{0,40}\d{1,2}[:.]\d{2}",
    r"(tip de redactie|heb je een tip\?).*",
    r"(luister|lees) (het artikel|voor)( voor)?",
)


class NewsBoilerplateCleaner:
    """Remove boilerplate lines from texts, batch-wise.

    :param patterns: whole-line regexes (case-insensitive), default :data:`DUTCH_NEWS_BOILERPLATE`.
    :param max_line_chars: longer lines are never removed.
    """

    def __init__(self, patterns: Sequence[str] = DUTCH_NEWS_BOILERPLATE, max_line_chars: int = MAX_LINE_CHARS):
        if not patterns:
            raise ValueError("a boilerplate cleaner needs at least one pattern")
        self.max_line_chars = max_line_chars
        # one anchored alternation: polars' regex engine matches it in a single pass per line
        self.pattern = "(?i)^(?:" + "|".join(f"(?:{p})" for p in patterns) + r")[\s.!]*$"

    def clean(self, texts: pl.Series | Sequence[str]) -> tuple[pl.Series, pl.Series]:
        """Return the texts without boilerplate lines, and how many lines each lost (input order)."""
        frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).with_row_index("doc")
        lines = (
            frame.select("doc", pl.col("text").str.split("\n").alias("line"))
            .explode("line")
            .with_columns(
                boilerplate=(pl.col("line").str.len_chars() <= self.max_line_chars)
                & pl.col("line").str.strip_chars().str.contains(self.pattern)
            )
        )
        kept = lines.group_by("doc", maintain_order=True).agg(
            text=pl.col("line").filter(~pl.col("boilerplate")).str.join("\n"),
            removed=pl.col("boilerplate").sum(),
        )
        result = frame.select("doc").join(kept, on="doc", how="left").sort("doc")
        # a text that was all boilerplate becomes empty; blank lines left at the edges are trimmed
        cleaned = result["text"].fill_null("").str.strip_chars("\n")
        return cleaned.alias("text"), result["removed"].fill_null(0).cast(pl.Int64).alias("boilerplate_lines")

    def clean_normalised(self, texts: Sequence[str]) -> tuple[list[str], list[int]]:
        """Strip boilerplate from normalised texts and keep them normalised; return texts and lines removed.

        A removed line can leave three newlines in a row, so only the texts that lost lines are normalised again.
        """
        stripped, lines = self.clean(texts)
        removed = lines.to_list()
        return [normalise_text(t) if n else t for t, n in zip(stripped.to_list(), removed, strict=True)], removed
