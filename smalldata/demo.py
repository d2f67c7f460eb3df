"""``smalldata demo``: run the example shop from the repository's ``examples/`` folder.

The shop is not part of the installed package (it is an example to read and
copy), so this finds ``examples/`` next to the ``smalldata`` package, which
works for a source checkout or an editable install.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class DemoNotFound(RuntimeError):
    """The example shop is not next to the installed package (e.g. installed from a wheel)."""


def load_app(**options: Any) -> Any:
    """The demo shop's ASGI app (``examples.shop.app:create_app(**options)``)."""
    if not (EXAMPLES / "shop" / "app.py").is_file():
        raise DemoNotFound(
            f"the demo shop was not found in {EXAMPLES}; run `smalldata demo` from a source checkout "
            "(git clone, then `pip install -e .`)"
        )
    root = str(EXAMPLES.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from examples.shop.app import create_app

    return create_app(**options)


def run(host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve the demo shop with uvicorn until interrupted."""
    import uvicorn

    app = load_app(**options)
    print(f"smalldata demo shop on http://{host}:{port}/  (rules: {options.get('rules') or 'rules/'})")
    uvicorn.run(app, host=host, port=port, log_level="info")


__all__ = ["DemoNotFound", "load_app", "run"]
