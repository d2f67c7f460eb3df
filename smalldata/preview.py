"""Signed preview links: see a page as an imagined visitor would, at an imagined time.

``smalldata preview --set geo.country=SE --at 2026-12-24T18:00 --variant easter-banner=b --url /pricing``
prints ``https://shop.example/pricing?sd_preview=<token>``. The token carries the
signal overrides, the moment and the forced experiment variants, an expiry, and
an HMAC-SHA256 signature::

    v1.<base64url(JSON payload)>.<base64url(HMAC-SHA256(key, "v1." + payload))>

The middleware applies a valid token as signal overrides, forced variants (their
exposures are tagged ``forced`` so reports leave them out) and a fixed clock. A
token that is unsigned, tampered with, expired, too large or malformed is
ignored: the visitor sees the normal page.

Keys: ``preview.secret_keys`` if set, else the visitor-cookie keys
(``state.secret_keys`` / ``$SMALLDATA_SECRET_KEYS``). Each is first derived
with HMAC for this one purpose, so a preview token can never pass as a cookie
or the other way round. The first key signs; all verify (rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from smalldata.preview_config import PARAM, PreviewSettings
from smalldata.problems import ProblemsError, did_you_mean
from smalldata.remote import check_http_url
from smalldata.settings import Settings
from smalldata.signals.catalog import BUILT_IN, Catalog

VERSION = "v1"
MAX_TOKEN = 4096
_PURPOSE = b"smalldata preview link v1"
EXIT_OK, EXIT_USAGE = 0, 2


@dataclass(frozen=True)
class Preview:
    """What a valid token asks for."""

    overrides: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    variants: dict[str, str] = field(default_factory=dict)
    expires: datetime | None = None


def preview_keys(preview: PreviewSettings, settings: Settings | None = None) -> tuple[bytes, ...]:
    """The keys that sign (first) and verify (all) preview tokens, derived for this purpose only."""
    if preview.secret_keys:
        raw = tuple(key.get_secret_value().encode("utf-8") for key in preview.secret_keys)
    else:
        raw = (settings or Settings()).state.signing_keys()
    return tuple(hmac.new(key, _PURPOSE, hashlib.sha256).digest() for key in raw)


# -- tokens ------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, signed: str) -> str:
    return _b64(hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest())


def make_preview_token(
    *,
    sets: Mapping[str, Any],
    at: datetime | None,
    variants: Mapping[str, str],
    secret: bytes,
    ttl_seconds: int,
    now: datetime | None = None,
) -> str:
    """A signed token; ``at`` must be time-zone aware (the shop's zone is kept in the offset)."""
    if at is not None and at.tzinfo is None:
        raise ValueError("the preview time needs a time zone")
    issued = now or datetime.now(UTC)
    payload = {
        "s": {name: _jsonable(value) for name, value in sets.items()},
        "a": at.isoformat() if at is not None else None,
        "x": dict(variants),
        "e": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    signed = f"{VERSION}.{body}"
    return f"{signed}.{_sign(secret, signed)}"


def _jsonable(value: Any) -> Any:
    """Dates typed on the command line travel as ISO text."""
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def make_preview_url(
    base_url: str,
    *,
    sets: Mapping[str, Any],
    at: datetime | None,
    variants: Mapping[str, str],
    secret: bytes,
    ttl_seconds: int,
    now: datetime | None = None,
    param: str = PARAM,
) -> str:
    """``base_url`` (absolute or a path, its query kept) with the signed token added as ``param``."""
    token = make_preview_token(sets=sets, at=at, variants=variants, secret=secret, ttl_seconds=ttl_seconds, now=now)
    parts = urlsplit(base_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    query.append((param, token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))


def read_preview_token(token: str | None, secrets: Iterable[bytes], now: datetime,
                       catalog: Catalog = BUILT_IN) -> Preview | None:
    """The preview a token asks for, or None when it is unsigned, tampered with, expired or malformed."""
    if not token or len(token) > MAX_TOKEN:
        return None
    version, _, rest = token.partition(".")
    body, _, signature = rest.partition(".")
    if version != VERSION or not body or not signature:
        return None
    signed = f"{version}.{body}"
    if not any(hmac.compare_digest(_sign(secret, signed), signature) for secret in secrets):
        return None
    try:
        payload = json.loads(_unb64(body))
        return _preview(payload, now, catalog)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError, RecursionError):
        return None  # signed but odd (an expiry past year 9999, say): no preview, never an error


def _preview(payload: Any, now: datetime, catalog: Catalog) -> Preview | None:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    expires = datetime.fromtimestamp(int(payload["e"]), UTC)
    if now >= expires:
        return None
    sets, variants, at = payload["s"], payload["x"], payload["a"]
    if not isinstance(sets, dict) or not all(catalog.resolve(name) is not None for name in sets):
        return None
    if not isinstance(variants, dict) or not all(isinstance(v, str) for v in variants.values()):
        return None
    moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    if moment is not None and moment.tzinfo is None:
        return None
    return Preview(overrides=dict(sets), at=moment, variants={str(k): v for k, v in variants.items()}, expires=expires)


def preview_from_query(query_string: bytes | str, secrets: Iterable[bytes], now: datetime,
                       param: str = PARAM, catalog: Catalog = BUILT_IN) -> Preview | None:
    """The preview in a request's query string (``scope["query_string"]``), if it carries a valid one."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    if param not in text:
        return None  # the common case costs one substring test
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key == param:
            return read_preview_token(value, secrets, now, catalog)
    return None


# -- the command -------------------------------------------------------------------------------


class _UsageError(Exception):
    pass


def parse_variants(items: Sequence[str], experiments: Mapping[str, Sequence[str]] | None = None) -> dict[str, str]:
    """``["easter-banner=b"]`` → ``{"easter-banner": "b"}``, checked against the rules when given."""
    variants: dict[str, str] = {}
    for item in items:
        key, sep, name = (part.strip() for part in item.partition("="))
        if not sep or not key or not name:
            raise _UsageError(f"--variant '{item}': write EXPERIMENT=VARIANT, e.g. easter-banner=b")
        if experiments is not None:
            if key not in experiments:
                hint = did_you_mean(key, list(experiments))
                raise _UsageError(f"--variant: no experiment '{key}' in the rules{hint}")
            names = [*experiments[key], "control"]
            if name not in names:
                raise _UsageError(f"--variant: experiment '{key}' has no variant '{name}' (it has {', '.join(names)})")
        variants[key] = name
    return variants


def _base_url(value: str) -> str:
    try:
        return check_http_url(value).rstrip("/")
    except ValueError as exc:
        raise _UsageError(f"--base-url: {exc}") from None


def rule_experiments(rules: str | Path, settings: Settings) -> dict[str, list[str]]:
    """Experiment keys and their variant names in a rules folder."""
    from smalldata.rules import load_ruleset

    ruleset = load_ruleset(rules, settings)
    return {
        rule.experiment.key: [arm.name for arm in rule.experiment.arms]
        for rule in ruleset.rules
        if rule.experiment is not None
    }


def preview_main(
    *,
    url: str | None,
    sets: Sequence[str] = (),
    at: str | None = None,
    variants: Sequence[str] = (),
    settings: Settings,
    preview: PreviewSettings | None = None,
    rules: str | Path | None = None,
    ttl_seconds: int | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """The ``smalldata preview`` verb: print a signed link; 2 on a usage error.

    ``url`` is a path (joined to ``base_url``, else ``preview.base_url`` when
    configured) or an absolute URL; ``at`` is read in the shop's time zone unless it has an offset;
    with ``rules`` the experiment and variant names are checked.
    """
    from smalldata.imagine import parse_moment, parse_sets

    out, err = out or sys.stdout, err or sys.stderr
    preview = preview or PreviewSettings()
    try:
        overrides = parse_sets(sets, settings.catalog)
        experiments = rule_experiments(rules, settings) if rules is not None and variants else None
        forced = parse_variants(variants, experiments)
        moment = parse_moment(at, settings) if at else None
        base = _base_url(base_url) if base_url is not None else preview.base_url
    except (_UsageError, ValueError) as exc:
        print(f"smalldata preview: {exc}", file=err)
        return EXIT_USAGE
    except ProblemsError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return EXIT_USAGE
    ttl = ttl_seconds if ttl_seconds is not None else preview.ttl_seconds
    if not 60 <= ttl <= 30 * 24 * 3600:
        print("smalldata preview: --ttl must be between 60 seconds and 30 days", file=err)
        return EXIT_USAGE
    target = url or "/"
    if not urlsplit(target).scheme and base:
        target = base + "/" + target.lstrip("/")
    link = make_preview_url(
        target, sets=overrides, at=moment, variants=forced, secret=preview_keys(preview, settings)[0],
        ttl_seconds=ttl, now=now, param=preview.param,
    )  # fmt: skip
    print(link, file=out)
    return EXIT_OK
