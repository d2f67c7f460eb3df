"""``smalldata console`` serves the example shop's rules on 127.0.0.1 (a copy of them, read as the shop reads them)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from smalldata.rules import check_ruleset
from smalldata.settings import load_settings
from smalldata.tools.console.words import all_rule_words
from tests.console.helpers import CONFIG, ROOT, copy_rules


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_command_serves_the_console_for_the_example_shop(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path / "rules")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "smalldata.cli", "console", "--rules", str(rules), "--config", str(CONFIG),
               "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "the console did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert "pricing-chat" in response.text
        page = httpx.get(f"http://127.0.0.1:{port}/try", params={"persona": "vip", "at": "2026-11-25T10:00"})
        assert "Hej Anna, godt at se dig igen" in page.text
    finally:
        server.terminate()
        server.wait(10)


def test_a_disabled_rule_is_listed_as_disabled(tmp_path: Path) -> None:
    settings = load_settings(CONFIG)
    ruleset, _ = check_ruleset(copy_rules(tmp_path / "rules"), settings)
    assert ruleset is not None
    first, *others = ruleset.rules
    ruleset.rules = tuple(others)
    ruleset.disabled = (first,)  # what the loader keeps of an `enabled: false` rule
    words, _ = all_rule_words(ruleset, {}, [])
    [shown] = [rule for rule in words if rule.id == first.id]
    assert not shown.enabled
    assert len(words) == len(others) + 1


def test_a_port_in_use_is_said_with_a_hint_of_port_and_nothing_announced(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path / "rules")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "smalldata.cli", "console", "--rules", str(rules), "--config", str(CONFIG),
                   "--port", str(port)]
        done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""  # no "on http://…" line for a console that is not there
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert f"--port {port + 1}" in done.stderr
    assert "Traceback" not in done.stderr
