"""Partitions: every registered source is a dynamic partition key, added without a code change."""

from __future__ import annotations

from dagster import DynamicPartitionsDefinition

#: One partition per registered source id; the registry sensor and ``corpusfabriek run`` add keys.
source_partitions = DynamicPartitionsDefinition(name="sources")
