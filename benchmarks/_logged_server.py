"""``retailor serve`` that also writes the runtime's INFO lines (how long the projections
took to rebuild or to load from a snapshot) to standard error, for benchmarks/scaleout.py.

    python benchmarks/_logged_server.py --data DIR --port PORT
"""

from __future__ import annotations

import logging
import sys

from retailor.cli import main

if __name__ == "__main__":
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    for name in ("retailor.runtime", "retailor.models.serving"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False
    sys.argv = ["retailor", "serve", *sys.argv[1:]]
    main()
