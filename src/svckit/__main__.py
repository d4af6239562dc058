"""``python -m svckit``: the same as the ``svckit`` command."""

import sys

from svckit.cli import main

sys.exit(main())
