"""``python -m xportcn_async.sandbox``: serve the local sandbox until interrupted."""

import sys

from .cli import main

sys.exit(main())
