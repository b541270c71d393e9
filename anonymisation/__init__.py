"""Dutch anonymisation: find personal data in Dutch text and replace it, offline and without Dagster.

The rooms:

- finding: :mod:`~anonymisation.recognizers` (Presidio recognizers, one per entity type),
  :mod:`~anonymisation.names`, :mod:`~anonymisation.lexicon` and :mod:`~anonymisation.persons` (person-name
  rules and their merge with the model), :mod:`~anonymisation.namemodel` (the shipped name model; trained by
  :mod:`~anonymisation.training`), :mod:`~anonymisation.checksums` and :mod:`~anonymisation.engine` (the
  offline analyzer);
- :mod:`~anonymisation.vocabulary`: the Dutch words all of them decide with, in one place;
- replacing: :mod:`~anonymisation.operators` (placeholders, keyed hashes, surrogates),
  :mod:`~anonymisation.pseudonyms` (ids and URLs), :mod:`~anonymisation.anonymiser` and
  :mod:`~anonymisation.document` (a text, a whole document);
- :mod:`~anonymisation.entities`: the registry of entity types; :mod:`~anonymisation.config`: the choices
  the top layer hands over (name model, cache folder).

The pipeline's anonymisation stage and its residual scan are in :mod:`stages.anonymise`.
"""
