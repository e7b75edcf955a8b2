"""``python -m s2s_invad``: the command line (see :mod:`s2s_invad.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
