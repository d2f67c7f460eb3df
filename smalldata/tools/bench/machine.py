"""The machine a run was measured on (printed with every table, kept in every JSON report)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("smalldata", "starlette", "uvicorn", "jinja2", "pydantic", "ua-parser", "ua-parser-rs",
            "maxminddb", "cachetools", "growthbook", "fake-useragent", "mmdb-writer")  # fmt: skip


def machine() -> dict[str, Any]:
    """CPU, cores, Python and the versions of the packages that matter to the figures."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {name: version(name) for name in PACKAGES},
        "wrk": _wrk_version(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _wrk_version() -> str | None:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else None


