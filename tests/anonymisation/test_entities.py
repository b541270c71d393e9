"""The entity registry: recognizers, labels, surrogates, the residual scan and the source spec agree with it."""

from anonymisation.entities import DEFAULT_ENTITIES, ENTITY_TYPES, OPTIONAL_ENTITIES, RESIDUAL_ENTITIES
from anonymisation.operators.labels import label_for
from anonymisation.operators.surrogates import _GENERATORS
from anonymisation.recognizers import dutch_recognizers


def test_every_recognizer_finds_registered_types_and_every_type_has_a_recognizer():
    found = [entity for recognizer in dutch_recognizers() for entity in recognizer.supported_entities]
    assert sorted(found) == sorted(t.name for t in ENTITY_TYPES)


def test_labels_and_surrogate_generators_follow_the_registry():
    for entity in ENTITY_TYPES:
        assert label_for(entity.name) == entity.label
        assert (entity.label in _GENERATORS) is entity.surrogate, entity.name


def test_the_source_spec_lists_the_registry_by_default_and_allows_the_optional_types():
    from catalog.sources import OPTIONAL_PII_ENTITIES, PII_ENTITIES

    # the spec sits below the anonymisation library and cannot import it: this test keeps the two equal
    assert PII_ENTITIES == DEFAULT_ENTITIES
    assert OPTIONAL_PII_ENTITIES == OPTIONAL_ENTITIES


def test_the_residual_scan_looks_for_registered_default_types_with_a_recognizer():
    from stages.anonymise import RESIDUAL_ENTITIES as scanned

    assert scanned == RESIDUAL_ENTITIES
    assert set(RESIDUAL_ENTITIES) <= set(DEFAULT_ENTITIES)
