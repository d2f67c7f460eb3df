"""The Jinja2 helper writes the decision server-side, escaping what is not already markup."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from jinja2 import Environment

from smalldata.decision import Banner, Decision
from smalldata.jinja import install

TEMPLATE = (
    "{% set sd = smalldata() %}"
    "<p>{{ sd.greeting }}</p><div>{{ sd.banner('hero') }}</div>"
    "<input value=\"{{ sd.prefill('checkout', 'name') }}\">{{ sd.has('greeting') }}"
)


def render(decision: Decision | None) -> str:
    env = Environment(autoescape=True)
    install(env)
    request = SimpleNamespace(scope={"state": {"smalldata": decision} if decision else {}})
    return env.from_string(TEMPLATE).render(request=request)


def test_greeting_and_banner_are_written_as_the_engines_safe_markup() -> None:
    decision = Decision(
        greeting="Hi &lt;b&gt;Mette&lt;/b&gt;",
        banners={"hero": Banner(rule="r", slot="hero", html="Sale &amp; more")},
        slot_rules={"greeting": "g", "banner:hero": "r"},
    )
    html = render(decision)
    assert "<p>Hi &lt;b&gt;Mette&lt;/b&gt;</p>" in html
    assert "<div>Sale &amp; more</div>" in html
    assert html.endswith("True")


def test_prefill_values_are_escaped_as_plain_text() -> None:
    decision = Decision(prefill={"checkout": {"name": '"><script>x</script>'}})
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in render(decision)


@pytest.mark.parametrize("decision", [None], ids=["no decision"])
def test_without_a_decision_every_helper_is_empty(decision: Decision | None) -> None:
    assert render(decision) == '<p></p><div></div><input value="">False'
