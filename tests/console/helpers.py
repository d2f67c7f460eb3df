"""What the console's tests share: a copy of the example shop's rules, its settings, an events file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from smalldata.tools.console import create_app

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "smalldata.yaml"
LOOPBACK = "http://127.0.0.1:8001"


def copy_rules(folder: Path) -> Path:
    """The example shop's rule files in ``folder`` (never the repository's own ``rules/``)."""
    shutil.copytree(ROOT / "rules", folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


def write_events(path: Path, *, converted: dict[str, int], visitors: int = 200,
                 experiment: str = "winter-hero") -> Path:
    """``visitors`` exposures per variant, of which ``converted[variant]`` convert (with an order each)."""
    lines: list[dict[str, Any]] = []
    for variant, conversions in converted.items():
        for n in range(visitors):
            visitor = f"{variant}-{n}"
            lines.append({"type": "exposure", "at": "2026-11-25T10:00:00+01:00", "visitor": visitor,
                          "experiment": experiment, "variant": variant, "rule": "winter-banner-test"})
            if n < conversions:
                lines.append({"type": "conversion", "at": "2026-11-25T10:05:00+01:00", "visitor": visitor,
                              "value": 450.0, "order_id": f"order-{visitor}"})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def console_app(rules: Path, events: Path | None = None, **options: Any) -> Any:
    """The console over ``rules`` with the example shop's settings (catalogue, opening hours, signals)."""
    return create_app(rules=rules, config=CONFIG, events=events, **options)
