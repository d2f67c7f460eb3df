"""What every page handler shares: the console, the interface language, rendering, and checked forms."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from smalldata.tools.console.state import Console
from smalldata.tools.console.texts import LANGUAGES, best_language, texts

LANGUAGE_COOKIE = "smalldata_console_lang"
MAX_FORM = 8 * 1024 * 1024  # a rule file (2 MB, the loader's limit) form-encoded, and a few fields
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NAV = (("rules", "/"), ("try", "/try"), ("edit", "/edit"), ("tests", "/tests"), ("preview", "/preview"),
       ("experiments", "/experiments"))  # fmt: skip

_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
templates = Jinja2Templates(env=_environment)


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def language(request: Request) -> str:
    """The interface language: ``?lang=``, then the one chosen before (a cookie), then the browser's."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if asked in LANGUAGES:
            return str(asked)
    return best_language(request.headers.get("accept-language", ""))


def render(request: Request, template: str, page: str, *, status_code: int = 200, **context: Any) -> Response:
    """A page in the interface language, with the navigation and the CSRF token its forms carry."""
    lang = language(request)
    state = console(request)
    links = {code: str(request.url.include_query_params(lang=code)) for code in LANGUAGES}
    response = templates.TemplateResponse(request, template, {
        "t": texts(lang), "lang": lang, "page": page, "nav": NAV, "language_links": links,
        "csrf": state.csrf, "rules_path": str(state.workspace.root), **context,
    }, status_code=status_code)  # fmt: skip
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="strict", httponly=True)
    return response


async def form_of(request: Request) -> dict[str, str]:
    """The posted form, when it carries this console's CSRF token (else 403: it was made elsewhere).

    The console's forms post plain ``application/x-www-form-urlencoded`` fields (no
    files), read here without a multipart parser.
    """
    body = await request.body()
    if len(body) > MAX_FORM:
        raise HTTPException(413, texts(language(request))["too_large"])
    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    offered = form.get("csrf") or request.headers.get("x-csrf-token") or ""
    if not hmac.compare_digest(offered.encode(), console(request).csrf.encode()):
        raise HTTPException(403, texts(language(request))["csrf_refused"])
    return form


def refuse_without_token(request: Request) -> None:
    """403 for a JSON post without the CSRF header (the live check sends it)."""
    offered = request.headers.get("x-csrf-token", "")
    if not hmac.compare_digest(offered.encode(), console(request).csrf.encode()):
        raise HTTPException(403, texts(language(request))["csrf_refused"])
