"""The ``smalldata`` console script (``python -m smalldata.cli`` runs it too); the commands live in
:mod:`smalldata.tools.cli`."""

from __future__ import annotations

import sys

from smalldata.tools.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
