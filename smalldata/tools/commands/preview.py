"""``smalldata preview``: print a signed link that shows a page as an imagined visitor would see it.

The token itself is made and read by :mod:`smalldata.preview.links`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from smalldata.foundation.problems import ProblemsError, did_you_mean
from smalldata.foundation.remote import check_http_url
from smalldata.preview.links import PreviewSettings, make_preview_url, preview_keys
from smalldata.settings import Settings

EXIT_OK, EXIT_USAGE = 0, 2


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
    from smalldata.rules.imagine import parse_moment, parse_sets

    out, err = out or sys.stdout, err or sys.stderr
    preview = preview or PreviewSettings()
    try:
        overrides = parse_sets(sets, settings.signal_catalog)
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
        target, sets=overrides, at=moment, variants=forced, secret=preview_keys(preview, settings.state)[0],
        ttl_seconds=ttl, now=now, param=preview.param,
    )  # fmt: skip
    print(link, file=out)
    return EXIT_OK
