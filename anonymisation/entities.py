"""The registry of entity types: one entry per kind of personal data the anonymiser knows.

Everything else derives from it: the Dutch label (placeholder text, surrogate generator), whether a
policy replaces the type unless it says otherwise, and whether the residual scan looks for it in what a
release publishes. A new type is one entry here plus its recognizer in :func:`anonymisation.recognizers.
dutch_recognizers` (and a surrogate generator under its label, or it is replaced by its placeholder); a
test checks that recognizers, registry, surrogates and the source spec's list agree.
"""

from __future__ import annotations

from typing import NamedTuple


class EntityType(NamedTuple):
    """One kind of personal data.

    :ivar name: the entity name recognizers report (Presidio's where it has one).
    :ivar label: the Dutch label: the placeholder text (``<PERSOON>``) and the surrogate generator's key.
    :ivar default: replaced unless a policy leaves it out; ``False``: only where a policy lists it.
    :ivar residual: looked for by the residual scan in released text (values with a checksum or a fixed
        shape, reliable enough to block a release).
    :ivar surrogate: has a realistic surrogate generator; otherwise a surrogate policy writes its placeholder.
    """

    name: str
    label: str
    default: bool = True
    residual: bool = False
    surrogate: bool = True


ENTITY_TYPES: tuple[EntityType, ...] = (
    EntityType("PERSON", "PERSOON"),
    EntityType("EMAIL_ADDRESS", "EMAIL", residual=True),
    EntityType("PHONE_NUMBER", "TELEFOONNUMMER", residual=True),
    EntityType("IBAN_CODE", "IBAN", residual=True),
    EntityType("IP_ADDRESS", "IP_ADRES"),
    EntityType("URL", "URL"),
    EntityType("CREDIT_CARD", "CREDITCARD", residual=True),
    EntityType("NL_BSN", "BSN", residual=True),
    EntityType("NL_POSTCODE", "POSTCODE"),
    EntityType("NL_ADDRESS", "ADRES"),
    EntityType("NL_LICENSE_PLATE", "KENTEKEN"),
    EntityType("NL_KVK", "KVK"),
    EntityType("NL_BTW", "BTW"),
    EntityType("DATE_OF_BIRTH", "GEBOORTEDATUM"),
    EntityType("LOCATION", "LOCATIE", default=False),
    EntityType("ORGANIZATION", "ORGANISATIE", default=False, surrogate=False),
)

#: Entity names replaced unless a policy leaves them out, in registry order.
DEFAULT_ENTITIES = tuple(t.name for t in ENTITY_TYPES if t.default)

#: Entity names replaced only where a policy names them: places and organisations are not personal data
#: in themselves, and news without them loses its meaning.
OPTIONAL_ENTITIES = tuple(t.name for t in ENTITY_TYPES if not t.default)

#: Entity names whose presence after anonymisation blocks a release.
RESIDUAL_ENTITIES = tuple(t.name for t in ENTITY_TYPES if t.residual)
