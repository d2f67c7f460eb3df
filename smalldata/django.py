"""Django glue: the customer and the basket from Django, the decision in views and templates.

smalldata wraps Django's ASGI application from the outside (``asgi.py``)::

    application = SmallData(get_asgi_application(), rules="rules/", config="smalldata.yaml", skip=skip())

and three lines inside Django make it see what Django knows (``settings.py``)::

    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "smalldata.django.SmallDataMiddleware", ...]
    TEMPLATES[0]["OPTIONS"]["libraries"] = {"smalldata": "smalldata.django"}

and ``smalldata.yaml`` names the callables: ``user: {callable: "smalldata.django:customer"}``,
``basket: {callable: "myshop.basket:basket"}`` (a function of yours under :func:`request_hook`).

**Why a Django middleware.** Django's ``ASGIRequest`` keeps ``request.scope`` as the very
dict the outer ASGI middleware passed in, so :class:`SmallDataMiddleware` puts the Django
request into that scope (at :data:`REQUEST_KEY`) and smalldata's callables find it there.
The customer is then read from ``request.user``, which Django's ``AuthenticationMiddleware``
loads once and caches, and which ``login()``/``logout()`` replace: a decision made when the
response starts sees a login (or a basket change) made by the view of that same request,
and costs no query when the view read ``request.user`` too (the customer's groups are one).
The alternative, reading the session cookie with a ``SessionStore`` before Django runs,
would repeat Django's session and user queries on every page and see the customer as they
were *before* the request (the basket banner one page late after a login).

**Async-safe.** Django's ORM may not run on the event loop. Every callable made with
:func:`request_hook` is a coroutine function (smalldata awaits it) that runs your plain Django
function with ``sync_to_async(thread_sensitive=True)``: in the thread Django's own sync views
and middleware of that request use, with the same database connection. An ``async def``
function is awaited as it is. A sync view or template that reads the decision before the
response starts waits for it with ``async_to_sync``, which lets the waiting thread run those
callables meanwhile (a plain wait would hold them off until their timeout).

**Where the middleware sits.** Anywhere after ``SessionMiddleware`` and
``AuthenticationMiddleware`` (so ``request.user`` exists when a view reads
``request.smalldata``); its place relative to ``GZipMiddleware``, ``CsrfViewMiddleware`` and
the others does not matter, as it changes neither the request nor the response. Without it,
``customer`` and every hook raise :class:`MissingMiddleware` (logged by smalldata, at most
once a minute) and pages are decided from the other signals.

**Templates.** ``{% load smalldata %}`` then ``{% smalldata_slot "greeting" %}`` (or
``"banner:hero"``) writes a slot's content server-side, so the page shows it without
``client.js``; ``{% smalldata_prefill "checkout" "email" %}`` writes a prefill value
(escaped). Greeting and banner texts are markup made by the engine, in which every signal
value was escaped. Sync views read ``request.smalldata`` (a :class:`~smalldata.jinja.SmallDataView`:
``.greeting``, ``.banner(slot)``, ``.prefill(form, field)``, ``.has(slot)``, ``.decision``),
async views ``await request.asmalldata()`` (as Django's ``request.auser()``).

smalldata runs only under ASGI: under WSGI the middleware does nothing and the tags are empty.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

try:
    from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
    from django import template
    from django.conf import settings
    from django.utils.functional import SimpleLazyObject
except ImportError as error:  # pragma: no cover - exercised only without Django
    raise ImportError(
        "smalldata.django needs Django: pip install 'smalldata[django]'"
    ) from error

from smalldata.decision import Decision, Slot
from smalldata.delivery.lazy import LazyDecision, decision_of
from smalldata.delivery.payload import PAGE_KEY
from smalldata.jinja import SmallDataView
from smalldata.middleware import DEFAULT_SKIP

logger = logging.getLogger("smalldata.django")

#: Where :class:`SmallDataMiddleware` leaves the Django request in the ASGI scope.
REQUEST_KEY = "smalldata.django.request"

T = TypeVar("T")


class MissingMiddleware(RuntimeError):
    """A hook found no Django request in the scope: ``SmallDataMiddleware`` is not in ``MIDDLEWARE``."""


class SmallDataMiddleware:
    """Django middleware: shares the Django request with smalldata and gives views ``request.smalldata``.

    It reads and changes nothing else: the response goes out exactly as the views made it.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self._acall(request)
        share(request)
        return self.get_response(request)

    async def _acall(self, request: Any) -> Any:
        share(request)
        return await self.get_response(request)


def share(request: Any) -> None:
    """Put ``request`` into its ASGI scope (where smalldata's callables find it) and set ``request.smalldata``."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return  # WSGI: smalldata is not around this request
    scope[REQUEST_KEY] = request
    # lazy: a view that never reads it does not make smalldata decide early
    request.smalldata = SimpleLazyObject(lambda: view_of(request))
    request.asmalldata = functools.partial(aview_of, request)


def view_of(request: Any) -> SmallDataView:
    """The decision for a Django request, as templates see it (empty without one).

    The first read decides the page if nothing has yet (see ``request.smalldata``).
    """
    scope = getattr(request, "scope", None)
    state = scope.get("state") if isinstance(scope, dict) else None
    if not isinstance(state, Mapping):
        return SmallDataView(None)
    return SmallDataView(_decision(state.get("smalldata")), state.get(PAGE_KEY))


async def aview_of(request: Any) -> SmallDataView:
    """:func:`view_of` for async views (``view = await request.asmalldata()``): decides now if nobody has."""
    scope = getattr(request, "scope", None)
    state = scope.get("state") if isinstance(scope, dict) else None
    if not isinstance(state, Mapping):
        return SmallDataView(None)
    value = state.get("smalldata")
    decision = await value if isinstance(value, LazyDecision) else decision_of(value)
    return SmallDataView(decision, state.get(PAGE_KEY))


def _decision(value: Any) -> Decision | None:
    """The decision, waited for the way Django's sync code waits for async code.

    A sync view or template runs in Django's thread for the request, and the hooks run their
    Django code in that same thread. ``async_to_sync`` lets the waiting thread run them while
    it waits; a plain wait from it would block them until their timeout.
    """
    if not isinstance(value, LazyDecision):
        return decision_of(value)
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a worker thread
        awaited: Decision | None = async_to_sync(_awaited)(value)
        return awaited
    return value.get()  # on the loop: the decision if made (an async view awaits it first)


async def _awaited(lazy: LazyDecision) -> Decision | None:
    return await lazy


def django_request(request: Any) -> Any:
    """The Django request behind what smalldata hands a callable (a Starlette ``Request`` or a scope), or None."""
    scope = getattr(request, "scope", request)
    return scope.get(REQUEST_KEY) if isinstance(scope, Mapping) else None


def request_hook(function: Callable[[Any], T | Awaitable[T]]) -> Callable[[Any], Awaitable[T]]:
    """Make a function of a Django ``HttpRequest`` a smalldata callable (``user.callable``, ``basket.callable``).

    The result is a coroutine function (smalldata awaits it on the event loop, within the
    callable's ``timeout_ms``): it finds the Django request shared by
    :class:`SmallDataMiddleware` and runs ``function(request)`` in Django's thread for that
    request (an ``async def`` function is awaited instead). What ``function`` returns is
    what the setting takes (``docs/shop-code.md``): for a basket ``{"items": [{"sku",
    "quantity", "price", "category", "name"}, ...], "total": ..., "currency": ...}``, ``{}``
    or None for an empty one. Without a Django request it raises :class:`MissingMiddleware`,
    which smalldata logs (once a minute at most) and reads as "unknown".
    """
    # Django's own thread for this request (its database connection), unless the function is async
    call: Callable[[Any], Awaitable[Any]] = (
        function if inspect.iscoroutinefunction(function) else sync_to_async(function, thread_sensitive=True)
    )

    @functools.wraps(function)
    async def hook(request: Any) -> T:
        found = django_request(request)
        if found is None:
            raise MissingMiddleware("found no Django request: add 'smalldata.django.SmallDataMiddleware' to "
                                    "MIDDLEWARE (after AuthenticationMiddleware)")
        result: T = await call(found)
        return result

    return hook


def customer_of(request: Any) -> dict[str, Any]:
    """The logged-in customer of a Django request: id, first name, name, e-mail and group names.

    ``{"logged_in": False}`` for an anonymous visitor. Reads ``request.user`` as the view
    left it (after a ``login()`` or ``logout()`` in this request); without
    ``AuthenticationMiddleware`` there is none, and the customer is unknown.
    """
    user = getattr(request, "user", None)
    if user is None:
        raise MissingMiddleware("request.user is missing: add Django's AuthenticationMiddleware to MIDDLEWARE")
    if not user.is_authenticated:
        return {"logged_in": False}
    groups = getattr(user, "groups", None)
    return {
        "logged_in": True,
        "id": str(user.pk),
        "first_name": getattr(user, "first_name", "") or None,
        "name": (user.get_full_name() if hasattr(user, "get_full_name") else "") or None,
        "email": getattr(user, "email", "") or None,
        "groups": sorted(groups.values_list("name", flat=True)) if groups is not None else [],
    }


#: ``user: {callable: "smalldata.django:customer"}``: the Django customer as ``user.*`` signals.
customer = request_hook(customer_of)


def skip() -> tuple[str, ...]:
    """smalldata's default skips plus Django's ``STATIC_URL`` and ``MEDIA_URL`` (files are never pages).

    Call it in ``asgi.py`` after ``get_asgi_application()`` (the settings are loaded then).
    """
    paths = [*DEFAULT_SKIP]
    for url in (getattr(settings, "STATIC_URL", None), getattr(settings, "MEDIA_URL", None)):
        if not url or "://" in url or url.startswith("//"):
            continue  # none, or served by another host
        path = "/" + str(url).strip("/") + "/"
        if path != "//" and path not in paths:
            paths.append(path)
    return tuple(paths)


# -- template tags: {% load smalldata %} with TEMPLATES OPTIONS libraries {"smalldata": "smalldata.django"} -----

register = template.Library()


def smalldata_slot(context: Any, slot: str) -> Any:
    """A slot's content: ``"greeting"`` or ``"banner:<slot>"`` (engine-made markup), else empty."""
    view = _view(context)
    if slot == Slot.GREETING:
        return view.greeting
    if slot.startswith(Slot.BANNER):
        return view.banner(slot.removeprefix(Slot.BANNER))
    return ""


def smalldata_prefill(context: Any, form: str, field: str) -> str:
    """A prefill value of ``form`` (plain text: Django escapes it)."""
    return _view(context).prefill(form, field)


def _view(context: Any) -> SmallDataView:
    """The request's view (``request.smalldata``, waited for once per request), else a fresh one."""
    request = getattr(context, "request", None)
    shared = getattr(request, "smalldata", None)
    return shared if isinstance(shared, SmallDataView) else view_of(request)


register.simple_tag(smalldata_slot, takes_context=True)
register.simple_tag(smalldata_prefill, takes_context=True)


__all__ = ["REQUEST_KEY", "MissingMiddleware", "SmallDataMiddleware", "aview_of", "customer", "customer_of",
           "django_request", "register", "request_hook", "skip", "view_of"]
