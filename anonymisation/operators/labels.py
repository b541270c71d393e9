"""Dutch labels of entity names: the placeholder text, and the key that selects a surrogate generator."""

from __future__ import annotations

from anonymisation.entities import ENTITY_TYPES

#: Entity names -> Dutch label: the registry's types, and the aliases other tools use for them (Presidio's,
#: spaCy's, the labels themselves). The label is the placeholder text and selects the surrogate generator.
ENTITY_LABELS: dict[str, str] = {
    **{t.name: t.label for t in ENTITY_TYPES},
    **{t.label: t.label for t in ENTITY_TYPES},
    "PER": "PERSOON",
    "NL_PERSON": "PERSOON",
    "NL_EMAIL": "EMAIL",
    "NL_PHONE_NUMBER": "TELEFOONNUMMER",
    "NL_PHONE": "TELEFOONNUMMER",
    "NL_IBAN": "IBAN",
    "NL_ZIP_CODE": "POSTCODE",
    "NL_ADRES": "ADRES",
    "ADDRESS": "ADRES",
    "STREET_ADDRESS": "ADRES",
    "NL_KENTEKEN": "KENTEKEN",
    "LICENSE_PLATE": "KENTEKEN",
    "NL_KVK_NUMBER": "KVK",
    "NL_BTW_NUMBER": "BTW",
    "NL_BTW_ID": "BTW",
    "NL_VAT": "BTW",
    "NL_VAT_NUMBER": "BTW",
    "NL_DATE_OF_BIRTH": "GEBOORTEDATUM",
    "BIRTH_DATE": "GEBOORTEDATUM",
    "DATE_TIME": "DATUM",
    "NRP": "NATIONALITEIT",
}


def label_for(entity: str) -> str:
    """Return the Dutch label of an entity name; unknown names are upper-cased as they are."""
    name = entity.strip().upper()
    return ENTITY_LABELS.get(name, name)
