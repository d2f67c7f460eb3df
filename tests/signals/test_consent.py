"""The consent.* signals: the site's consent cookie and Global Privacy Control."""

from __future__ import annotations

import pytest

from smalldata.foundation.asgi import make_scope
from smalldata.signals.consent import Consent
from smalldata.signals.request import Request
from smalldata.state import ConsentSettings

from .helpers import WEDNESDAY_MORNING

DEFAULT = ConsentSettings()
REQUIRED = ConsentSettings(required=True)
COOKIEBOT = ConsentSettings(cookie="CookieConsent", accepted=("preferences",), required=True)
CB_YES = "{stamp:%27x%3D%3D%27%2Cnecessary:true%2Cpreferences:true%2Cmarketing:false}"
CB_NO = "{stamp:%27x%3D%3D%27%2Cnecessary:true%2Cpreferences:false%2Cmarketing:false}"


@pytest.mark.parametrize(
    ("headers", "cookies", "config", "allowed"),
    [
        pytest.param({}, {}, DEFAULT, True, id="no-cookie-consent-not-required"),
        pytest.param({}, {}, REQUIRED, False, id="no-cookie-consent-required"),
        pytest.param({}, {"sd_consent": "yes"}, REQUIRED, True, id="accepted"),
        pytest.param({}, {"sd_consent": "ALL"}, REQUIRED, True, id="accepted-any-case"),
        pytest.param({}, {"sd_consent": "no"}, DEFAULT, False, id="refused"),
        pytest.param({}, {"sd_consent": ""}, DEFAULT, False, id="empty-cookie"),
        pytest.param({}, {"sd_consent": "necessary"}, DEFAULT, False, id="necessary-only"),
        pytest.param({}, {"sd_consent": "necessary,all"}, DEFAULT, True, id="word-list"),
        pytest.param({}, {"sd_consent": "necessary:1,marketing:0"}, DEFAULT, False, id="flags-no"),
        pytest.param({}, {"sd_consent": "\udcff\x00" * 3000}, DEFAULT, False, id="garbage"),
        pytest.param({}, {"CookieConsent": CB_YES}, COOKIEBOT, True, id="cookiebot-yes"),
        pytest.param({}, {"CookieConsent": CB_NO}, COOKIEBOT, False, id="cookiebot-no"),
        pytest.param({"sec-gpc": "1"}, {}, DEFAULT, False, id="gpc"),
        pytest.param({"sec-gpc": "1"}, {"sd_consent": "yes"}, DEFAULT, False, id="gpc-beats-cookie"),
        pytest.param({"sec-gpc": "0"}, {}, DEFAULT, True, id="gpc-off"),
        pytest.param({"sec-gpc": "yes"}, {}, DEFAULT, True, id="gpc-malformed"),
        pytest.param(
            {"sec-gpc": "1"}, {}, ConsentSettings(honour_gpc=False), True, id="gpc-not-honoured"
        ),
    ],
)
def test_consent(
    headers: dict[str, str], cookies: dict[str, str], config: ConsentSettings, allowed: bool
) -> None:
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    scope = make_scope("/", headers={**headers, **({"cookie": cookie} if cookie else {})})
    request = Request(scope, WEDNESDAY_MORNING)
    consent = Consent(config)

    assert consent.allows(request) is allowed
    assert consent.signals(request, None) == {  # type: ignore[arg-type]
        "consent.personalisation": allowed,
        "consent.storage": allowed,
    }
