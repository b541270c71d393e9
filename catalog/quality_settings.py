"""The ``quality:`` section of a source spec, and the language codes a spec may name.

The spec is data at the bottom of the layers; the quality library (:mod:`quality.filters`,
:mod:`quality.language`) reads these settings, and a test keeps :data:`LANGUAGE_CODES` equal to what the
bundled language model knows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The 15 Dutch stop words of FineWeb-2's nld_Latn configuration (case-sensitive, as in datatrove).
DUTCH_STOP_WORDS = (
    "de", "van", "in", "het", "een", "en", "is", "op", "voor", "met", "door", "zijn", "werd", "hij", "uit",
)  # fmt: skip

#: ISO 639 codes the bundled language identifier (py3langid) knows: what a spec's ``languages`` may list.
LANGUAGE_CODES = frozenset(
    """
    ace af am an ar ary arz as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo es et eu ext fa fi fo fr
    fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr ht hu hy id ig is it ja jv ka kab kik kk km kn ko
    ku ky la lb lg lij ln lo lt ltg lv mg mk ml mn mr ms mt my ne nl nn no nso oc om or pa pcm pl ps pt qu ro ru
    rw sa sdh se si sk sl sn so sq sr st sv sw ta te tg th tk tl tr tt ug uk ur uz uzs vec vi vo wa wuu xh yo
    yue zh zu zxx
    """.split()
)


class QualitySettings(BaseModel):
    """Thresholds of the quality filters; defaults are FineWeb-2's for Dutch (``nld_Latn``).

    A source's spec may override any of them under ``quality:``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    #: remove whole lines of news page furniture ("Lees ook: ...", "Deel dit artikel") before judging
    strip_boilerplate: bool = True
    # language (FineWeb-2: GlotLID score; here py3langid's probability, see quality.language)
    min_language_score: float = Field(0.689, ge=0, le=1)
    # Gopher repetition
    dup_line_frac: float = Field(0.296, ge=0, le=1)
    top_n_grams: tuple[tuple[int, float], ...] = ((2, 0.213), (3, 0.182), (4, 0.158))
    dup_n_grams: tuple[tuple[int, float], ...] = (
        (5, 0.156), (6, 0.146), (7, 0.136), (8, 0.126), (9, 0.115), (10, 0.104),
    )  # fmt: skip
    # FineWeb quality
    line_punct_thr: float = Field(0.102, ge=0, le=1)
    char_duplicates_ratio: float = Field(0.1, ge=0, le=1)
    new_line_ratio: float = Field(0.154, ge=0)
    # Gopher quality
    min_doc_words: int = Field(50, ge=0)
    max_doc_words: int = Field(100_000, ge=1)
    min_avg_word_length: float = Field(3, ge=0)
    max_avg_word_length: float = Field(17, ge=0)
    max_symbol_word_ratio: float = Field(0.1, ge=0)
    max_bullet_lines_ratio: float = Field(0.9, ge=0, le=1)
    max_ellipsis_lines_ratio: float = Field(0.3, ge=0, le=1)
    max_non_alpha_words_ratio: float = Field(0.828, ge=0, le=1)
    min_stop_words: int = Field(2, ge=0)
    stop_words: tuple[str, ...] = DUTCH_STOP_WORDS
    # OCR noise (archive text): mean word confidence from ALTO, share of words that are not words
    min_ocr_confidence: float = Field(0.6, ge=0, le=1)
    max_ocr_noise_ratio: float = Field(0.3, ge=0, le=1)
    # Furniture (quality.furniture): short lines in at least furniture_min_documents distinct documents *and*
    # furniture_min_share of the source's documents are removed before judging; 2 at least, so a line of one
    # document never goes
    strip_furniture: bool = True
    furniture_min_documents: int = Field(5, ge=2)
    furniture_min_share: float = Field(0.02, ge=0, le=1)
    furniture_max_line_chars: int = Field(200, ge=1)

    @model_validator(mode="after")
    def _check(self) -> QualitySettings:
        for name in ("top_n_grams", "dup_n_grams"):
            for n, fraction in getattr(self, name):
                if not 1 <= n <= 20 or not 0 <= fraction <= 1:
                    raise ValueError(f"{name}: each entry is [n, fraction] with 1 <= n <= 20 and 0 <= fraction <= 1")
        if self.min_doc_words > self.max_doc_words:
            raise ValueError("min_doc_words must not exceed max_doc_words")
        if self.min_avg_word_length > self.max_avg_word_length:
            raise ValueError("min_avg_word_length must not exceed max_avg_word_length")
        return self
