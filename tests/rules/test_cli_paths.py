"""The command line reads paths as a merchandiser means them: settings-relative rules, page URLs, safe example files."""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import pytest

from smalldata.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_check_with_a_settings_file_elsewhere_reads_its_rules_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "elsewhere"
    shop.mkdir()
    shutil.copytree(ROOT / "rules", shop / "rules", ignore=shutil.ignore_patterns("*.md"))
    shutil.copyfile(ROOT / "smalldata.yaml", shop / "smalldata.yaml")  # rules: rules
    monkeypatch.chdir(tmp_path)  # another folder, without rules of its own
    assert main(["check", "--config", str(shop / "smalldata.yaml")]) == 0
    assert "25 rules" in capsys.readouterr().out


def test_a_missing_rules_folder_names_the_path_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "smalldata.yaml").write_text("rules: regler\n")
    monkeypatch.chdir(ROOT)
    assert main(["check", "--config", str(tmp_path / "smalldata.yaml")]) == 1
    assert f"no such rules folder or file (looked for {tmp_path / 'regler'})" in capsys.readouterr().out


def test_try_url_without_a_leading_slash_tries_the_page_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    shop = ["--rules", str(ROOT / "rules"), "--config", str(ROOT / "smalldata.yaml")]
    assert main(["try", *shop, "--json", "--url", "pricing", "--at", "2026-11-25T10:00"]) == 0
    out, err = capsys.readouterr()
    assert "pricing-chat" in json.loads(out)["matched"]
    assert "--url pricing has no leading slash; trying the page /pricing" in err


def test_the_example_events_script_leaves_a_shops_events_file_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "smalldata-events.jsonl"
    live.write_text('{"type": "exposure", "visitor": "a real one"}\n')
    script = runpy.run_path(str(ROOT / "scripts" / "example_events.py"))
    with pytest.raises(SystemExit) as stopped:
        script["main"](str(live))
    assert stopped.value.code == 2
    assert "not overwritten" in capsys.readouterr().err
    assert live.read_text() == '{"type": "exposure", "visitor": "a real one"}\n'
    script["main"](str(live), force=True)
    assert "winter-hero" in live.read_text()
