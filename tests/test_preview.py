"""Signed preview links: round trip, tampering, expiry, key rotation, and the ``smalldata preview`` command."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from smalldata.foundation.asgi import make_scope
from smalldata.preview.links import (
    PARAM,
    Preview,
    PreviewSettings,
    _b64,
    _sign,
    make_preview_token,
    make_preview_url,
    preview_from_query,
    preview_keys,
    read_preview_token,
)
from smalldata.rules import Engine, load_ruleset
from smalldata.settings import Settings
from smalldata.signals.providers import signals_for
from smalldata.tools.commands.preview import preview_main

KEY, OTHER = b"k" * 32, b"o" * 32
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CPH = ZoneInfo("Europe/Copenhagen")
XMAS = datetime(2026, 12, 24, 18, 0, tzinfo=CPH)


def token(**changes: object) -> str:
    options: dict[str, object] = {"sets": {"geo.country": "SE", "basket.total": 400}, "at": XMAS,
                                  "variants": {"easter-banner": "b"}, "secret": KEY, "ttl_seconds": 3600,
                                  "now": NOW}  # fmt: skip
    options.update(changes)
    return make_preview_token(**options)  # type: ignore[arg-type]


def test_a_token_round_trips() -> None:
    preview = read_preview_token(token(), [KEY], NOW + timedelta(minutes=5))
    assert preview == Preview(overrides={"geo.country": "SE", "basket.total": 400}, at=XMAS,
                              variants={"easter-banner": "b"}, expires=NOW + timedelta(hours=1))
    assert preview is not None and preview.at is not None and preview.at.utcoffset() == timedelta(hours=1)


def flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: flip(t, 10), id="payload changed"),
        pytest.param(lambda t: flip(t, len(t) - 3), id="signature changed"),
        pytest.param(lambda t: t.rsplit(".", 1)[0] + ".", id="signature removed"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="unsigned"),
        pytest.param(lambda t: "v2" + t[2:], id="other version"),
        pytest.param(lambda t: t + "x" * 5000, id="too long"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "garbage", id="garbage"),
    ],
)
def test_a_tampered_token_is_ignored(tamper: object) -> None:
    assert read_preview_token(tamper(token()), [KEY], NOW) is None  # type: ignore[operator]


def test_a_payload_swapped_in_from_another_token_is_ignored() -> None:
    mine, theirs = token(), token(sets={"user.tier": "gold"})
    swapped = mine.split(".")[0] + "." + theirs.split(".")[1] + "." + mine.split(".")[2]
    assert read_preview_token(swapped, [KEY], NOW) is None


def test_an_expired_token_is_ignored() -> None:
    assert read_preview_token(token(), [KEY], NOW + timedelta(minutes=59)) is not None
    assert read_preview_token(token(), [KEY], NOW + timedelta(hours=1)) is None


def test_a_token_signed_with_another_key_is_ignored_and_rotation_keeps_old_links() -> None:
    assert read_preview_token(token(), [OTHER], NOW) is None
    assert read_preview_token(token(), [OTHER, KEY], NOW) is not None


@pytest.mark.parametrize("expires", [1e300, -1e300, 10**30])
def test_a_signed_token_with_an_expiry_out_of_range_is_ignored(expires: float) -> None:
    body = _b64(json.dumps({"s": {}, "x": {}, "a": None, "e": expires}).encode())
    signed = f"v1.{body}"
    assert read_preview_token(f"{signed}.{_sign(KEY, signed)}", [KEY], NOW) is None


def test_a_signed_token_naming_an_unknown_signal_is_ignored() -> None:
    assert read_preview_token(token(sets={"geo.planet": "mars"}), [KEY], NOW) is None


def test_the_url_keeps_its_query_and_replaces_an_old_token() -> None:
    url = make_preview_url("https://shop.example/pricing?utm_source=x&sd_preview=old", sets={}, at=None,
                           variants={}, secret=KEY, ttl_seconds=60, now=NOW)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "shop.example", "/pricing")
    assert query["utm_source"] == ["x"] and len(query[PARAM]) == 1
    assert read_preview_token(query[PARAM][0], [KEY], NOW) == Preview(expires=NOW + timedelta(seconds=60))


def test_the_middleware_finds_the_preview_in_the_query_string() -> None:
    url = make_preview_url("/pricing?a=1", sets={"geo.country": "SE"}, at=None, variants={}, secret=KEY,
                           ttl_seconds=60, now=NOW)
    query = urlsplit(url).query.encode()
    preview = preview_from_query(query, [KEY], NOW)
    assert preview is not None and preview.overrides == {"geo.country": "SE"}
    assert preview_from_query(b"a=1", [KEY], NOW) is None


def test_preview_keys_are_derived_so_a_cookie_key_never_signs_a_preview_directly() -> None:
    settings = PreviewSettings(secret_keys=("preview-secret-0123456789",))  # type: ignore[arg-type]
    (key,) = preview_keys(settings)
    assert key != b"preview-secret-0123456789" and len(key) == 32


RULES = """\
rules:
  - id: easter-banner-test
    experiment:
      key: easter-banner
      variants:
        - {name: a, weight: 50, then: {banner: {slot: hero, text: "Fra kun kr 69,-"}}}
        - {name: b, weight: 50, then: {banner: {slot: hero, text: "Til hele firmaet"}}}
  - id: swedes
    when: {geo.country: SE}
    then: {greeting: "Hej Sverige"}
  - id: christmas-eve
    when: {time.hour: {gte: 18}, time.month: 12}
    then: {banner: {slot: top, text: "Glædelig jul"}}
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.yaml").write_text(RULES)
    return tmp_path / "rules"


def run(rules: Path | None, *args: str, **options: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    sets = [a.split(" ", 1)[1] for a in args if a.startswith("--set ")]
    variants = [a.split(" ", 1)[1] for a in args if a.startswith("--variant ")]
    code = preview_main(url=str(options.pop("url", "/pricing")), sets=sets, variants=variants,
                        settings=Settings(), rules=rules, out=out, err=err, now=NOW, **options)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_the_command_prints_a_link_that_shows_the_imagined_visitor(rules: Path) -> None:
    preview_settings = PreviewSettings(base_url="https://shop.example",
                                       secret_keys=("preview-secret-0123456789",))  # type: ignore[arg-type]
    code, out, err = run(rules, "--set geo.country=SE", "--variant easter-banner=b", at="2026-12-24T18:00",
                         preview=preview_settings)
    assert (code, err) == (0, "")
    url = out.strip()
    assert url.startswith("https://shop.example/pricing?sd_preview=v1.")
    preview = preview_from_query(urlsplit(url).query, preview_keys(preview_settings), NOW)
    assert preview is not None and preview.at == XMAS
    # what the middleware does with it: overrides, a fixed clock and forced variants
    settings = Settings()
    signals = signals_for(make_scope(url), settings, now=preview.at, overrides=preview.overrides)
    decision = Engine(load_ruleset(rules, settings)).decide(signals, visitor_id="any",
                                                                        forced=preview.variants)
    assert decision.greeting == "Hej Sverige"
    assert decision.banners["hero"].html == "Til hele firmaet"
    assert decision.banners["top"].html == "Glædelig jul"
    assert [(e.experiment, e.variant, e.forced) for e in decision.exposures] == [("easter-banner", "b", True)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--set geo.contry=SE",), "unknown signal 'geo.contry' — did you mean 'geo.country'?"),
        (("--set geo.country",), "write SIGNAL=VALUE"),
        (("--variant easter-banner",), "write EXPERIMENT=VARIANT"),
        (("--variant easter-baner=b",), "no experiment 'easter-baner' in the rules — did you mean 'easter-banner'?"),
        (("--variant easter-banner=c",), "experiment 'easter-banner' has no variant 'c' (it has a, b, control)"),
    ],
)
def test_the_command_explains_mistakes(rules: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = run(rules, *args)
    assert code == 2 and out == ""
    assert message in err


def test_the_command_explains_a_bad_time(rules: Path) -> None:
    code, _, err = run(rules, at="christmas")
    assert code == 2 and "is not a time" in err


def test_without_a_base_url_the_link_is_a_path_for_any_host() -> None:
    code, out, _ = run(None, "--variant anything=b")
    assert code == 0 and out.startswith("/pricing?sd_preview=v1.")
