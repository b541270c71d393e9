"""Dagster definitions, jobs, sensors, run recovery and the ``corpusfabriek`` command line (the top layer)."""
