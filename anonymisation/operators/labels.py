"""Dutch labels of entity names: the placeholder text, and the key that selects a surrogate generator."""

from __future__ import annotations

# Entity names (Presidio's and the Dutch recognizers', with common aliases) -> Dutch label.
# The label is the placeholder text and selects the surrogate generator.
ENTITY_LABELS: dict[str, str] = {
    "PERSON": "PERSOON",
    "PER": "PERSOON",
    "NL_PERSON": "PERSOON",
    "PERSOON": "PERSOON",
    "EMAIL_ADDRESS": "EMAIL",
    "EMAIL": "EMAIL",
    "NL_EMAIL": "EMAIL",
    "PHONE_NUMBER": "TELEFOONNUMMER",
    "NL_PHONE_NUMBER": "TELEFOONNUMMER",
    "NL_PHONE": "TELEFOONNUMMER",
    "TELEFOONNUMMER": "TELEFOONNUMMER",
    "IBAN_CODE": "IBAN",
    "IBAN": "IBAN",
    "NL_IBAN": "IBAN",
    "NL_BSN": "BSN",
    "BSN": "BSN",
    "NL_POSTCODE": "POSTCODE",
    "NL_ZIP_CODE": "POSTCODE",
    "POSTCODE": "POSTCODE",
    "NL_ADDRESS": "ADRES",
    "NL_ADRES": "ADRES",
    "ADDRESS": "ADRES",
    "STREET_ADDRESS": "ADRES",
    "ADRES": "ADRES",
    "NL_LICENSE_PLATE": "KENTEKEN",
    "NL_KENTEKEN": "KENTEKEN",
    "LICENSE_PLATE": "KENTEKEN",
    "KENTEKEN": "KENTEKEN",
    "NL_KVK": "KVK",
    "NL_KVK_NUMBER": "KVK",
    "KVK": "KVK",
    "NL_BTW": "BTW",
    "NL_BTW_NUMBER": "BTW",
    "NL_BTW_ID": "BTW",
    "NL_VAT": "BTW",
    "NL_VAT_NUMBER": "BTW",
    "BTW": "BTW",
    "IP_ADDRESS": "IP_ADRES",
    "IP_ADRES": "IP_ADRES",
    "URL": "URL",
    "CREDIT_CARD": "CREDITCARD",
    "CREDITCARD": "CREDITCARD",
    "DATE_OF_BIRTH": "GEBOORTEDATUM",
    "NL_DATE_OF_BIRTH": "GEBOORTEDATUM",
    "BIRTH_DATE": "GEBOORTEDATUM",
    "GEBOORTEDATUM": "GEBOORTEDATUM",
    "LOCATION": "LOCATIE",
    "LOCATIE": "LOCATIE",
    "ORGANIZATION": "ORGANISATIE",
    "ORGANISATIE": "ORGANISATIE",
    "DATE_TIME": "DATUM",
    "NRP": "NATIONALITEIT",
}


def label_for(entity: str) -> str:
    """Return the Dutch label of an entity name; unknown names are upper-cased as they are."""
    name = entity.strip().upper()
    return ENTITY_LABELS.get(name, name)
