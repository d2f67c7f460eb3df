"""``python -m examples.django_shop [port]``: prepare the database and serve the Django shop with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from examples.django_shop.seed import prepare

if __name__ == "__main__":
    prepare()
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    print(f"the Django shop on http://127.0.0.1:{port} (log in as anna / hygge-2026)")
    uvicorn.run("examples.django_shop.asgi:application", port=port, proxy_headers=False)
