"""``python -m tlkit``: the same as the ``tlkit`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
