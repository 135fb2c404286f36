"""`python -m lrcplan`: the command line."""

import sys

from lrcplan.cli import main

sys.exit(main())
