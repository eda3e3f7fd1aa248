"""`python -m virtwire` is the `virtwire` command."""

import sys

from virtwire.tools.cli import main

sys.exit(main())
