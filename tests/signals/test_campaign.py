"""campaign.*: where the visit came from, kept for the whole visit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from .helpers import request, settings

LANDING = "https://shop.example/sale?utm_source=newsletter&utm_medium=email&utm_campaign=winter"


def test_utm_parameters_referrer_and_landing_path() -> None:
    signals = request(LANDING, headers={"referer": "https://mail.google.com/mail/u/0/"})
    assert signals.namespace("campaign") == {
        "campaign.source": "newsletter",
        "campaign.medium": "email",
        "campaign.name": "winter",
        "campaign.referrer_domain": "mail.google.com",
        "campaign.landing_path": "/sale",
        "campaign.email": True,
    }


def test_no_campaign_parameters_is_unknown_and_not_from_email() -> None:
    signals = request("https://shop.example/")
    assert signals.get("campaign.source") is None
    assert signals.get("campaign.email") is False


@pytest.mark.parametrize(
    ("referer", "domain"),
    [
        ("https://www.Google.com/search?q=x", "www.google.com"),
        ("https://shop.example/products/1", None),  # our own site is not a referrer
        ("https://shop.example:8443/x", None),
        ("not a url", None),
        ("http://[::1", None),  # malformed
        ("", None),
    ],
)
def test_referrer_domain_ignores_our_own_host_and_garbage(referer: str, domain: str | None) -> None:
    signals = request("https://shop.example/", headers={"referer": referer})
    assert signals.get("campaign.referrer_domain") == domain


def test_a_configured_parameter_also_means_email() -> None:
    config = settings(campaign={"email_params": ["mc_cid"]})
    assert request("/?mc_cid=abc", config=config).get("campaign.email") is True
    assert request("/?utm_medium=Newsletter").get("campaign.email") is True
    assert request("/?utm_medium=cpc").get("campaign.email") is False


def test_the_visits_stored_campaign_wins_over_this_request() -> None:
    stored = {"source": "newsletter", "medium": "email", "landing_path": "/sale", "email": True}
    visitor = SimpleNamespace(campaign=stored)
    signals = request("/checkout?utm_source=other", visitor=visitor)
    assert signals.get("campaign.source") == "newsletter"
    assert signals.get("campaign.landing_path") == "/sale"
    assert signals.get("campaign.referrer_domain") is None
