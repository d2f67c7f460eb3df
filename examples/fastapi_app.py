"""smalldata in a FastAPI app: one ``add_middleware`` line, the decision in handlers and JSON.

Run it from the repository root::

    uvicorn examples.fastapi_app:app --reload

Every HTML page gets the payload and the client script; a handler that needs the
decision awaits ``request.state.smalldata`` (it is made when first asked for) and
uses what it needs (here: the greeting, in the page and as JSON).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware

from smalldata import EventSink, Overrides
from smalldata.decision import Decision
from smalldata.middleware import SmallData

RULES = Path(__file__).resolve().parent.parent / "rules"


def create_app(rules: str | Path = RULES, events: EventSink | None = None, **options: Any) -> FastAPI:
    """A tiny FastAPI shop personalised by the rules in ``rules`` (``events``: where its events go)."""
    app = FastAPI(title="smalldata + FastAPI")
    # Added first = inside GZip: smalldata edits the page, then GZip compresses it.
    app.add_middleware(SmallData, rules=rules, overrides=Overrides(events=events), **options)
    app.add_middleware(GZipMiddleware)

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> str:
        decision: Decision | None = await request.state.smalldata
        greeting = decision.greeting if decision and decision.greeting else "Welcome"
        # The greeting is HTML-safe markup made by the engine; anything else must be escaped.
        return (
            "<!doctype html><html><body>"
            f'<p data-smalldata-slot="greeting">{greeting}</p>'
            "<h1>FastAPI shop</h1></body></html>"
        )

    @app.get("/api/greeting")
    async def api_greeting(request: Request) -> dict[str, str | None]:
        decision: Decision | None = await request.state.smalldata
        return {"greeting": decision.greeting if decision else None}

    return app


app = create_app()
