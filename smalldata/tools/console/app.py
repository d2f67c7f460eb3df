"""The console application: its pages, its files, and the guard in front of them."""

from __future__ import annotations

import errno
import getpass
import os
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from smalldata.catalogue import open_catalogue
from smalldata.recommend import CatalogueRecommender
from smalldata.settings import Settings, load_settings
from smalldata.signals.clock import system_clock
from smalldata.tools.console.guard import ConsoleGuard, is_loopback
from smalldata.tools.console.pages.common import render
from smalldata.tools.console.pages.edit import check_text, create_file, editor_page, files_page, save_file
from smalldata.tools.console.pages.history import history_page, restore_version
from smalldata.tools.console.pages.results import experiments_page, tests_page
from smalldata.tools.console.pages.rules import rules_page, toggle_rule
from smalldata.tools.console.pages.trying import preview_page, try_page
from smalldata.tools.console.state import Console
from smalldata.tools.console.workspace import Workspace

STATIC = Path(__file__).resolve().parent / "static"
DEFAULT_PORT = 8001  # beside `smalldata demo` on 8000


def create_app(
    *,
    rules: str | Path | None = None,
    config: str | Path | None = None,
    settings: Settings | None = None,
    events: str | Path | None = None,
    host: str = "127.0.0.1",
    token: str | None = None,
    clock: Callable[[], datetime] | None = None,
    author: str | None = None,
    token_label: str | None = None,
) -> Starlette:
    """The console over a rules folder (default: the settings' ``rules``), for a server bound to ``host``.

    ``settings`` are used as given, else read from ``config`` (default
    ``smalldata.yaml`` when present). Relative paths in them (the rules, the
    catalogue, the events file) start at the folder of ``config``, as in the shop. ``events`` is
    the JSON-lines file the experiments page reads (default: ``events.path`` of a
    file sink). On an address other than loopback every page needs ``token``;
    without one, every page is refused. ``author`` is the name the history keeps with
    each save (default: ``$SMALLDATA_CONSOLE_AUTHOR``, else the system user's name); on
    an address that needs the token, whoever holds it saves as ``token_label`` (default
    "token").
    """
    if settings is None:
        settings = load_settings(config)
    base = Path(config).parent if config is not None else Path.cwd()
    catalogue = open_catalogue(settings.catalogue, base=base)
    console = Console(
        workspace=Workspace(rules if rules is not None else base / settings.rules, settings),
        settings=settings,
        events=_events_file(events, settings, base),
        recommender=CatalogueRecommender(catalogue, settings.recommender) if catalogue is not None else None,
        clock=clock or system_clock,
        author=author or (token_label or "token" if token and not is_loopback(host) else default_author()),
    )
    routes = [
        Route("/", rules_page),
        Route("/toggle", toggle_rule, methods=["POST"]),
        Route("/try", try_page),
        Route("/preview", preview_page),
        Route("/edit", files_page),
        Route("/edit", create_file, methods=["POST"]),
        Route("/edit/{name:path}", editor_page),
        Route("/edit/{name:path}", save_file, methods=["POST"]),
        Route("/check", check_text, methods=["POST"]),
        Route("/history/{name:path}", history_page),
        Route("/history/{name:path}", restore_version, methods=["POST"]),
        Route("/tests", tests_page),
        Route("/experiments", experiments_page),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(ConsoleGuard, token=token, loopback=is_loopback(host))]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: _error_page})
    app.state.console = console
    return app


def default_author() -> str:
    """``$SMALLDATA_CONSOLE_AUTHOR``, else the system user's name (who started the console), else "console"."""
    named = os.environ.get("SMALLDATA_CONSOLE_AUTHOR", "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in a bare container
        return "console"


def _events_file(events: str | Path | None, settings: Settings, base: Path) -> Path | None:
    if events is not None:
        return Path(events)
    if settings.events.sink != "file":
        return None
    path = Path(settings.events.path)
    return path if path.is_absolute() else base / path


async def _error_page(request: Request, exc: Exception) -> Response:
    """A refusal or a page that is not there, as a console page (plain text for files and the live check)."""
    status, detail = (exc.status_code, exc.detail) if isinstance(exc, HTTPException) else (500, "")
    if request.url.path.startswith(("/static/", "/check")):
        return PlainTextResponse(detail, status_code=status)
    return render(request, "error.html", "", status_code=status, status=status, detail=detail)


def run(
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    rules: str | Path | None = None,
    config: str | Path | None = None,
    settings: Settings | None = None,
    events: str | Path | None = None,
    token: str | None = None,
    author: str | None = None,
    token_label: str | None = None,
) -> None:
    """Serve the console with uvicorn until interrupted (the arguments are :func:`create_app`'s).

    Raises :class:`PortInUse` before saying anything when the port is taken.
    """
    import uvicorn

    app = create_app(rules=rules, config=config, settings=settings, events=events, host=host, token=token,
                     author=author, token_label=token_label)
    listening = listen(host, port)  # bound before the address is announced: a taken port is said as such
    shown = f"[{host}]" if ":" in host else host
    print(f"smalldata console on http://{shown}:{port}/  (rules: {app.state.console.workspace.root})")
    if token:
        print("  open it once with ?token=<the token>; the browser then keeps it")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
    server.run(sockets=[listening])


class PortInUse(OSError):
    """The console's port is taken by another program (another console, the demo shop…)."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening; :class:`PortInUse` naming another port to try."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart need not wait
    try:
        listening.bind((host, port))
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(exc.errno, f"port {port} on {host} is already in use (another console, or the demo "
                                       f"shop?); start the console on another one, e.g. --port {port + 1}") from None
        raise
    listening.set_inheritable(True)
    return listening
