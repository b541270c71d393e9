"""``python -m anonymisation.training``: see :mod:`anonymisation.training.cli`."""

from anonymisation.training.cli import main

if __name__ == "__main__":  # importing this module (as the import checks do) must not train
    raise SystemExit(main())
