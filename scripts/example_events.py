"""Write an example events file, to try ``smalldata report`` without a running shop.

    python scripts/example_events.py [OUTPUT.jsonl] [--force]     (default: smalldata-events.jsonl)

An existing file other than this script's own example (the demo shop's live events, say) is
left alone unless ``--force`` is given: the script says so and exits with 2.

The file has the shape the shop writes (``smalldata/events/log.py``): an exposure per visitor and
variant of two experiments of the example shop, orders from some of those visitors after they saw
their variant, and one exposure from a preview link. ``smalldata report smalldata-events.jsonl``
then prints the report the merchandiser's reference shows (docs/rules-reference.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: experiment → rule, and per variant (visitors, of whom converted)
EXPERIMENTS: dict[str, tuple[str, dict[str, tuple[int, int]]]] = {
    "easter-banner": ("easter-banner-test", {"a": (150, 8), "b": (150, 5)}),
    "winter-hero": ("winter-banner-test", {"control": (382, 9), "a": (1837, 55), "b": (1781, 83)}),
}
VERSION = "d317e24078c4"


def events() -> list[dict[str, object]]:
    """The events, in the order a shop would write them (exposures before the orders that follow)."""
    written: list[dict[str, object]] = []
    orders: list[dict[str, object]] = []
    for experiment, (rule, variants) in EXPERIMENTS.items():
        for variant, (visitors, converted) in variants.items():
            for n in range(visitors):
                visitor = f"{experiment}-{variant}-{n:04d}"
                minute = n % 600
                written.append({"type": "exposure", "at": _at(minute), "visitor": visitor, "experiment": experiment,
                                "variant": variant, "rule": rule, "version": VERSION, "forced": False})  # fmt: skip
                if n < converted:
                    orders.append({"type": "conversion", "at": _at(minute + 30), "visitor": visitor,
                                   "value": float(249 + (n * 37) % 900), "currency": "DKK",
                                   "order_id": f"A-{len(orders) + 1:05d}"})  # fmt: skip
    written.append({"type": "exposure", "at": _at(5), "visitor": "preview-visitor", "experiment": "winter-hero",
                    "variant": "b", "rule": "winter-banner-test", "version": VERSION, "forced": True})  # fmt: skip
    return written + orders


def _at(minute: int) -> str:
    return f"2026-12-0{1 + minute // 600}T{8 + (minute % 600) // 60:02d}:{minute % 60:02d}:00Z"


def main(output: str = "smalldata-events.jsonl", *, force: bool = False) -> Path:
    """Write the events to ``output``; an existing file with other events only with ``force``."""
    path = Path(output)
    text = "".join(json.dumps(event) + "\n" for event in events())
    if not force and path.exists() and path.read_text(encoding="utf-8", errors="replace") != text:
        print(f"{path} exists and holds other events (a shop's own?); not overwritten. Give another file name, "
              f"or add --force to replace it.", file=sys.stderr)
        raise SystemExit(2)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}: try it with smalldata report {path}")
    return path


if __name__ == "__main__":
    names = [argument for argument in sys.argv[1:] if argument != "--force"]
    main(*names[:1], force="--force" in sys.argv[1:])
