"""The ``quality:`` section of a source spec, and the language codes a spec may name.

The spec is data at the bottom of the layers; the quality library (:mod:`quality.filters`,
:mod:`quality.language`) reads these settings, and a test keeps :data:`LANGUAGE_CODES` equal to what the
bundled language model knows. A named profile (:mod:`catalog.quality_profiles`) presets the thresholds;
values the spec names itself win over the profile's.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from catalog.quality_profiles import QUALITY_PROFILES, ProfileName

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
    """Thresholds of the quality filters: a named profile's, with the values given explicitly on top.

    The field defaults are FineWeb-2's for Dutch (``nld_Latn``), which is the ``web`` profile. Another
    ``profile`` replaces the defaults it names (see :data:`catalog.quality_profiles.QUALITY_PROFILES`);
    a value given explicitly (a spec's ``quality:`` section) wins over the profile's and is remembered in
    :attr:`overrides`, so the profile can be swapped while the overrides stay.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the preset the other values start from
    profile: ProfileName = "web"
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
    #: an n-gram counts towards the top n-gram share only when it occurs this often (datatrove: 1, so a
    #: single long n-gram of a short text already counts)
    top_n_gram_min_count: int = Field(1, ge=1)
    # FineWeb quality
    line_punct_thr: float = Field(0.102, ge=0, le=1)
    #: a line ending in terminal punctuation followed by closing quotes or brackets (`.'`, `."`, `!)`)
    #: counts as ending in punctuation (datatrove: no)
    closing_quotes_terminate: bool = False
    #: more characters that end a line as well as a full stop does (legal enumerations: ``;:``)
    extra_line_end_chars: str = Field("", max_length=10, pattern=r"^[^\w\s]*$")
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
    #: keyword stuffing, tag lists, word salad: a line of more words than this without one stop word
    #: (:data:`stop_words`, any case) fails the document (None: rule off)
    max_stopless_line_words: int | None = Field(None, ge=1)
    #: consent and subscription walls: largest share of words from their vocabulary (None: rule off)
    max_consent_word_ratio: float | None = Field(None, ge=0, le=1)
    # OCR noise (archive text): mean word confidence from ALTO, share of words that are not words
    min_ocr_confidence: float = Field(0.6, ge=0, le=1)
    max_ocr_noise_ratio: float = Field(0.3, ge=0, le=1)
    #: apply the OCR noise rule to every text, not only to texts marked as OCR (archive file drops; garbage
    #: from broken extraction in born-digital text)
    noise_rule_all_texts: bool = False
    #: old Dutch spelling (``menschen``, ``zoo``, ``gelooven``) counts as words in the OCR noise rule
    old_spelling: bool = False
    # Furniture (quality.furniture): short lines in at least furniture_min_documents distinct documents *and*
    # furniture_min_share of the source's documents are removed before judging; 2 at least, so a line of one
    # document never goes
    strip_furniture: bool = True
    furniture_min_documents: int = Field(5, ge=2)
    furniture_min_share: float = Field(0.02, ge=0, le=1)
    furniture_max_line_chars: int = Field(200, ge=1)

    _overrides: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @model_validator(mode="wrap")
    @classmethod
    def _apply_profile(cls, data: Any, handler: Any) -> QualitySettings:
        """Fill in the profile's values under the explicit ones, and remember which were explicit."""
        if not isinstance(data, dict):
            return handler(data)
        profile = data.get("profile", "web")
        preset = QUALITY_PROFILES.get(profile, {}) if isinstance(profile, str) else {}
        settings = handler({**preset, **data})
        settings._overrides = frozenset(name for name in data if name != "profile")
        return settings

    @property
    def overrides(self) -> dict[str, Any]:
        """Return the values given explicitly rather than taken from the profile."""
        return {name: getattr(self, name) for name in sorted(self._overrides)}

    def with_profile(self, profile: str) -> QualitySettings:
        """Return these settings on another profile: its preset, with this one's explicit overrides on top."""
        return QualitySettings.model_validate({**self.overrides, "profile": profile})

    def to_data(self) -> dict[str, Any]:
        """Return the profile and the explicit overrides as plain data (what a spec says; validates again)."""
        dumped = self.model_dump(mode="json")
        return {"profile": self.profile, **{name: dumped[name] for name in sorted(self._overrides)}}

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
