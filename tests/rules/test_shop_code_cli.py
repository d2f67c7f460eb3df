"""``smalldata check`` and ``smalldata try`` know the shop's own functions (docs/shop-code.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from smalldata.cli import main

ROOT = Path(__file__).resolve().parents[2]
CALLS: list[str] = []
NOT_A_FUNCTION = {"points": 3}
RULES = "rules:\n  - {id: gold, when: {loyalty.points: {gte: 1000}}, then: {greeting: Gold}}\n"


def loyalty(request: Request) -> dict[str, Any]:
    CALLS.append(request.url.path)
    return {"points": 5}


async def loyalty_async(request: Request) -> dict[str, Any]:
    return loyalty(request)


def _shop(tmp_path: Path, settings: str) -> list[str]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "rules.yaml").write_text(RULES)
    (tmp_path / "smalldata.yaml").write_text(settings)
    return ["--rules", str(tmp_path / "rules"), "--config", str(tmp_path / "smalldata.yaml")]


def _declared(source: str) -> str:
    return (f"timezone: Europe/Copenhagen\nsignals:\n  loyalty:\n    source: {source}\n"
            "    fields: {points: number, tier: text}\n")


def test_check_reports_a_misspelt_source_at_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _shop(tmp_path, _declared(f"{__name__}:loyalt"))
    assert main(["check", *files]) == 1
    out = capsys.readouterr().out
    assert f"smalldata.yaml:4:13: signals.loyalty.source: cannot import '{__name__}:loyalt'" in out
    assert "did you mean 'loyalty'?" in out


def test_check_reports_a_user_callable_in_a_module_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _shop(tmp_path, "user:\n  callable: myshop.auth:current_user\n" + _declared(f"{__name__}:loyalty"))
    assert main(["check", *files]) == 1
    assert "smalldata.yaml:2:13: user.callable: cannot import 'myshop.auth:current_user': there is no module " \
           "'myshop'" in capsys.readouterr().out


def test_check_reports_a_name_that_is_not_callable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _shop(tmp_path, _declared(f"{__name__}:NOT_A_FUNCTION"))
    assert main(["check", *files]) == 1
    assert f"signals.loyalty.source: '{__name__}:NOT_A_FUNCTION' is not callable (it is a dict)" \
           in capsys.readouterr().out


def test_check_warns_when_the_shops_module_fails_while_importing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "djangoish.py").write_text("raise RuntimeError('Apps aren\\'t loaded yet.')\n"
                                           "def loyalty(request):\n    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    files = _shop(tmp_path, _declared("djangoish:loyalty"))
    assert main(["check", *files]) == 0  # the app may import it once its framework is set up
    out = capsys.readouterr().out
    assert "warning: signals.loyalty.source: importing 'djangoish' failed: RuntimeError: Apps aren't loaded yet." in out
    assert "1 warning;" in out


@pytest.mark.parametrize("source", ["loyalty", "loyalty_async"])
def test_try_does_not_call_a_source_whose_fields_set_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    CALLS.clear()
    files = _shop(tmp_path, _declared(f"{__name__}:{source}"))  # the rules read points, not tier
    assert main(["try", *files, "--set", "loyalty.points=1200"]) == 0
    assert "Gold" in capsys.readouterr().out
    assert CALLS == []


def test_a_source_that_fails_in_try_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "unready.py").write_text(
        "def loyalty(request):\n"
        "    raise RuntimeError('Requested setting INSTALLED_APPS, but settings are not configured.')\n"
    )
    files = _shop(tmp_path, _declared("unready:loyalty"))
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "smalldata.cli", "try", *files], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        "smalldata: signals.loyalty.source unready:loyalty raised RuntimeError: Requested setting INSTALLED_APPS, "
        "but settings are not configured.; read as unknown for this page"
    ]
