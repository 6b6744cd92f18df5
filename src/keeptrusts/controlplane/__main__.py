"""`python -m keeptrusts.controlplane [--listen HOST:PORT] [--database URL]` is `kt api run`."""

import sys

from keeptrusts.cli_api import api_main

sys.exit(api_main(sys.argv[1:]))
