"""Train and evaluate the shipped Dutch person-name model (reproducibly, from licence-clean data only).

    python -m anonymisation.training --data ../shared/data --out anonymisation/models
    python -m anonymisation.training --data ../shared/data --evaluate [--model PATH]

Training data (only what allows shipping a derived model):

- ``ner-train/voc-missives/*.conll`` (VOC General Missives, Apache-2.0): PER -> PER; LOC, GPE, LOCderiv ->
  LOC; ORG -> ORG; every other tag -> O;
- ``pii-dev/kb-ocr-ner-dev.jsonl`` (KB Europeana Newspapers OCR NER, CC0) except every 4th record (index
  % 4 == 3), which is held out for evaluation;
- synthetic modern news-like sentences generated here from templates with a fixed seed, names from
  Faker's (MIT) name lists and places and organisations listed below;
- any ``--train FILE`` an operator adds (CoNLL: token ... tag per line; or JSONL with ``tokens`` and
  ``ner_tags``, or ``text`` and ``spans`` of ``{"start", "end", "label"}``).

Never trained on: evaluation-only files (research-only licences; the model alone is measured on them by
``benchmarks/eval_name_model.py``) and ``text-nl/`` (CC BY-SA: a model trained on it would carry
share-alike terms). The training reads nothing but the files named above; it evaluates on the KB split it
holds out.

The rooms: :mod:`~anonymisation.training.corpora` (reading the gold corpora),
:mod:`~anonymisation.training.wordlists` and :mod:`~anonymisation.training.synthetic` (the synthetic
sentences), :mod:`~anonymisation.training.crf` (training), :mod:`~anonymisation.training.evaluation` and
:mod:`~anonymisation.training.cli` (the command).
"""

from __future__ import annotations

from anonymisation.training.cli import code_version, main, sha256
from anonymisation.training.corpora import (
    KB_FILE,
    LICENCES,
    TAG_MAP,
    VOC_GLOB,
    Example,
    from_tokens,
    kb_split,
    read_any,
    read_conll,
    read_jsonl,
    record_example,
)
from anonymisation.training.crf import CRF_PARAMS, add_examples, token_labels, train, training_sets
from anonymisation.training.evaluation import TokenScores, evaluate, print_results, score_groups
from anonymisation.training.synthetic import SEED, SYNTHETIC_SENTENCES, synthetic_examples

__all__ = [
    "CRF_PARAMS",
    "KB_FILE",
    "LICENCES",
    "SEED",
    "SYNTHETIC_SENTENCES",
    "TAG_MAP",
    "VOC_GLOB",
    "Example",
    "TokenScores",
    "add_examples",
    "code_version",
    "evaluate",
    "from_tokens",
    "kb_split",
    "main",
    "print_results",
    "read_any",
    "read_conll",
    "read_jsonl",
    "record_example",
    "score_groups",
    "sha256",
    "synthetic_examples",
    "token_labels",
    "train",
    "training_sets",
]
