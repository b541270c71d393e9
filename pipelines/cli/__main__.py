"""``python -m pipelines.cli``: the ``corpusfabriek`` command without its console script."""

import sys

from pipelines.cli import main

if __name__ == "__main__":  # importing this module runs no command
    sys.exit(main())
