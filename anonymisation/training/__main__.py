"""``python -m anonymisation.training``: see :mod:`anonymisation.training.cli`."""

from anonymisation.training.cli import main

raise SystemExit(main())
