"""docs/qa.md's CI jobs: every `smalldata` command they run passes in a copy of the example shop's folder."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "qa.md"


def ci_commands() -> list[list[str]]:
    """The `smalldata …` lines of the doc's YAML blocks (GitHub Actions `run:` and GitLab `script:` items)."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    found = []
    for block in blocks:
        for line in block.splitlines():
            match = re.match(r"\s*-\s+(?:run:\s+)?(smalldata .*)$", line)
            if match:
                found.append(shlex.split(match.group(1)))
    return found


@pytest.fixture(scope="module")
def shop_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    shutil.copytree(ROOT / "rules", folder / "rules")
    shutil.copy(ROOT / "smalldata.yaml", folder / "smalldata.yaml")
    shutil.copytree(ROOT / "examples", folder / "examples")  # the shop's own loyalty source
    return folder


def test_both_ci_jobs_run_check_test_and_bench() -> None:
    verbs = [command[1] for command in ci_commands()]

    assert verbs == ["check", "test", "bench"] * 2


@pytest.mark.parametrize("command", ci_commands()[:3], ids=lambda c: " ".join(c[:2]))
def test_ci_job_command_passes_on_the_example_shop(command: list[str], shop_copy: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's smalldata, as pip would install it
    result = subprocess.run([sys.executable, "-m", "smalldata.cli", *command[1:]], cwd=shop_copy, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    if command[1] == "bench":
        assert re.search(r"the shop's gate: rules \(\d+ rules, \d+ rule tests\)", result.stdout)
        assert (shop_copy / "bench.xml").read_text().count("<testcase") == 2
        assert (shop_copy / "bench.md").read_text().startswith("### smalldata bench: every budget holds")
