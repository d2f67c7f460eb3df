"""A Jinja2 helper, so templates can write the decision server-side.

Install it once on your environment (with Starlette:
``templates = Jinja2Templates(...); install(templates.env)``), then in a
template rendered with ``request`` in its context::

    {% set sd = smalldata() %}
    <p data-smalldata-slot="greeting">{{ sd.greeting or "Welcome!" }}</p>
    <div data-smalldata-slot="banner:hero">{{ sd.banner("hero") }}</div>
    <input name="email" value="{{ sd.prefill("checkout", "email") }}">
    {{ sd.payload() }}   {# optional: the payload and client script here, instead of before </body> #}

Greeting, banner and chat texts are HTML-safe markup made by the engine (every
signal value in them was escaped), so they are marked safe; prefill values are
plain text and stay auto-escaped. Without a decision (no middleware, deferred
mode, smalldata failed) every helper returns an empty value.

The decision is made when first asked for (see :mod:`smalldata.delivery.lazy`): a
template rendered in a worker thread (a sync endpoint) waits for it; one rendered
on the event loop (in an async handler) needs ``await request.state.smalldata``
in the handler first — else it renders the empty values, and the client script
fills the slots from the payload the page still gets.
"""

from __future__ import annotations

from typing import Any, Protocol

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from smalldata.decision import Chat, Decision, Recommendation
from smalldata.delivery.lazy import decision_of
from smalldata.delivery.payload import PAGE_KEY


class PagePayload(Protocol):
    """The middleware's view of one page (at ``request.state``), which renders its payload on request."""

    def render_payload(self, nonce: str | None = None) -> str: ...


class SmallDataView:
    """What a template sees of one request's decision."""

    def __init__(self, decision: Decision | None, page: PagePayload | None = None) -> None:
        self.decision = decision
        self._page = page  # the middleware's view of this page, which can render the payload

    def payload(self, nonce: str | None = None) -> Markup:
        """The payload and client script tags, placed by the template (the middleware then adds none).

        ``nonce`` is the page's CSP script nonce, if it has one. Empty without a decision.
        """
        page = self._page
        return Markup(page.render_payload(nonce)) if self.decision is not None and page is not None else Markup("")

    def __bool__(self) -> bool:
        return self.decision is not None and bool(self.decision.slot_rules)

    @property
    def greeting(self) -> Markup:
        """The greeting as markup, or an empty string."""
        return Markup(self.decision.greeting or "") if self.decision else Markup("")

    def banner(self, slot: str) -> Markup:
        """The banner for ``slot`` as markup, or an empty string."""
        banner = self.decision.banners.get(slot) if self.decision else None
        return Markup(banner.html) if banner else Markup("")

    def prefill(self, form: str, field: str) -> str:
        """A prefill value (plain text; Jinja escapes it when autoescape is on)."""
        return self.decision.prefill.get(form, {}).get(field, "") if self.decision else ""

    @property
    def chat(self) -> Chat | None:
        return self.decision.chat if self.decision else None

    def recommendations(self, slot: str) -> Recommendation | None:
        return self.decision.recommendations.get(slot) if self.decision else None

    def has(self, slot: str) -> bool:
        """Whether a rule filled ``slot`` (``greeting``, ``banner:hero``, ``prefill:checkout``…)."""
        return bool(self.decision and slot in self.decision.slot_rules)


@pass_context
def smalldata(context: Context) -> SmallDataView:
    """The decision for the request in the template context (``request.state.smalldata``)."""
    request: Any = context.get("request")
    state = getattr(request, "scope", {}).get("state") or {}
    return SmallDataView(decision_of(state.get("smalldata")), state.get(PAGE_KEY))


def install(env: Environment) -> None:
    """Make ``smalldata()`` available to every template of ``env``."""
    env.globals["smalldata"] = smalldata


__all__ = ["SmallDataView", "install", "smalldata"]
