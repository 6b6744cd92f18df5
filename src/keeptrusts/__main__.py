"""`python -m keeptrusts ...` is `kt ...`."""

import sys

from keeptrusts.cli import main

sys.exit(main())
