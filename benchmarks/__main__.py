"""``python -m benchmarks``: the benchmark suite (benchmarks/suite.py); ``--quick`` for a
run of a few minutes, ``--help`` for the options."""

import sys

from benchmarks.suite import main

sys.exit(main())
