"""Dagster definitions, resources, partitions, sensors, jobs and the ``corpusfabriek`` command line."""
