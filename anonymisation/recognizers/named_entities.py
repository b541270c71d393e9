"""Recognizers of names: persons (the name rules and the name model), places and organisations (the model)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from presidio_analyzer import EntityRecognizer, RecognizerResult

from anonymisation.entities import OPTIONAL_ENTITIES
from anonymisation.lexicon import NameLexicon
from anonymisation.names import PersonNameFinder, default_finder
from anonymisation.persons import configured_model, find_persons

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

    from anonymisation.namemodel import NameModel


@lru_cache(maxsize=4)
def _never_alone(lexicon: NameLexicon) -> frozenset[str]:
    """Words never propagated alone as a surname: the lexicon's function and common words (built once)."""
    return lexicon.function_words | lexicon.common_words


class NlPersonRecognizer(EntityRecognizer):
    """Person names (``PERSON``): the trained name model and the name rules, combined per text.

    The rules (:class:`anonymisation.names.PersonNameFinder`) decide from word lists, name shape (initials,
    tussenvoegsels), titles and roles; the model (:class:`anonymisation.namemodel.NameModel`, a CRF shipped
    with the package) from what it learnt on annotated text. Their spans are joined, and a name found once
    is found everywhere in the text (:mod:`anonymisation.persons`).

    :param finder: default: the shared finder over the bundled open-source word lists.
    :param model: a loaded name model; default: the configured one (``$CORPUSFABRIEK_NAME_MODEL``, else
        the shipped model); ``False``: the rules alone.
    """

    def __init__(
        self,
        finder: PersonNameFinder | None = None,
        supported_language: str = "nl",
        model: NameModel | bool | None = None,
    ) -> None:
        self._finder = finder
        self._model = model
        super().__init__(
            supported_entities=["PERSON"], name="NlPersonRecognizer", supported_language=supported_language
        )

    def load(self) -> None:
        """Nothing to load: the word lists and the model are loaded on first use (then cached)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return one ``PERSON`` result per name in ``text``."""
        if "PERSON" not in entities:
            return []
        finder = self._finder or default_finder()
        spans = finder.find(text)
        model = _model_of(self._model)
        if model is not None:
            lexicon = finder.lexicon
            spans = find_persons(spans, model.find(text), text, _never_alone(lexicon), lexicon.given_names)
        return [_result(self, "PERSON", span.start, span.end, span.score) for span in spans]


#: Model labels of places and organisations -> Presidio entity names.
_MODEL_ENTITIES = {"LOC": "LOCATION", "ORG": "ORGANIZATION"}


class NlPlaceOrganisationRecognizer(EntityRecognizer):
    """Places (``LOCATION``) and organisations (``ORGANIZATION``) the name model finds, for policies that ask.

    Off unless a source's ``anonymisation.entities`` (or the CLI's ``--entities``) names them. Only the
    model's confident spans count (:data:`MIN_SCORE`); they report a low score so that a person, an
    address or any structured value wins where they overlap. The model tags a text once for this and the
    person recognizer together (:meth:`anonymisation.namemodel.NameModel.find` keeps the last result).

    :param model: a loaded name model; default: the configured one; ``False``: nothing is found.
    """

    #: The model's mean marginal from which a place or organisation span counts.
    MIN_SCORE = 0.7

    #: The score the findings report (below every other recognizer's).
    SCORE = 0.4

    def __init__(self, supported_language: str = "nl", model: NameModel | bool | None = None) -> None:
        self._model = model
        super().__init__(
            supported_entities=list(OPTIONAL_ENTITIES),
            name="NlPlaceOrganisationRecognizer",
            supported_language=supported_language,
        )

    def load(self) -> None:
        """Nothing to load: the model is loaded on first use (then cached)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return the model's places and organisations in ``text`` that ``entities`` asks for."""
        wanted = {label for label, entity in _MODEL_ENTITIES.items() if entity in entities}
        model = _model_of(self._model)
        if not wanted or model is None:
            return []
        return [
            _result(self, _MODEL_ENTITIES[span.label], span.start, span.end, self.SCORE)
            for span in model.find(text)
            if span.label in wanted and span.score >= self.MIN_SCORE
        ]


def _result(recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float) -> RecognizerResult:
    """Build a result scored by its finder, marked so that the context enhancer leaves its score alone."""
    return RecognizerResult(
        entity,
        start,
        end,
        score,
        analysis_explanation=None,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
        },
    )


def _model_of(setting: NameModel | bool | None) -> NameModel | None:
    """Resolve a recognizer's ``model`` argument: ``False`` none, ``None``/``True`` the configured model."""
    if setting is False:
        return None
    if setting is None or setting is True:
        return configured_model()
    return setting
