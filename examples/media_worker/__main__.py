"""``python -m examples.media_worker``: the worker takes the bundled sample end to end."""

import sys

from examples.media_worker.demo import main

sys.exit(main())
