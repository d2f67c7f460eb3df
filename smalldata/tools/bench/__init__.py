"""``smalldata bench``: what smalldata costs, measured in the shop's own CI (docs/qa.md).

- :mod:`smalldata.tools.bench.command`: the shop's gate (its rules, settings, traffic and pages,
  budgets in ms, verdicts from interleaved rounds with confidence intervals);
- :mod:`smalldata.tools.bench.project`: smalldata's own suite and gate (``--check``, benchmarks/README.md);
- :mod:`smalldata.tools.bench.verdict`: budgets, the median over rounds and its interval.

The tools it needs beyond smalldata's own (User-Agent data, a load generator, GrowthBook for the
comparison) come with the ``bench`` extra: ``pip install 'smalldata[bench]'``.
"""

from __future__ import annotations

import importlib.util


class BenchUnavailable(RuntimeError):
    """A tool of the ``bench`` extra is not installed; the message says how to install it."""


def require(*modules: str) -> None:
    """Raise :class:`BenchUnavailable` naming the missing modules (without importing any of them)."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise BenchUnavailable(f"needs {', '.join(missing)}, from the bench extra: pip install 'smalldata[bench]'")
