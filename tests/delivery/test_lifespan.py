"""smalldata starts and stops with the server, also around an app that does not speak the lifespan protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smalldata.app import Overrides
from smalldata.middleware import SmallData
from smalldata.settings import Settings


class Sink:
    """An event sink that remembers being closed (pending events are written at shutdown)."""

    def __init__(self) -> None:
        self.closed = False

    def emit(self, event: Any) -> None:
        return None

    async def aclose(self) -> None:
        self.closed = True

    def stats(self) -> dict[str, int]:
        return {}


async def no_lifespan(scope: Any, receive: Any, send: Any) -> None:
    """Like Django's ASGI handler: anything but HTTP raises before a message is read."""
    if scope["type"] != "http":
        raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")


async def run_lifespan(app: Any) -> list[str]:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    return sent


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    (tmp_path / "greetings.yaml").write_text(
        "rules:\n  - id: hello\n    when: {page.path: {starts_with: /}}\n    then: {greeting: Hello}\n"
    )
    return tmp_path


async def test_around_an_app_without_lifespan_smalldata_answers_it_and_closes_its_parts_at_shutdown(
    rules: Path,
) -> None:
    sink = Sink()
    app = SmallData(no_lifespan, rules=rules, settings=Settings(), overrides=Overrides(events=sink))
    assert await run_lifespan(app) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert sink.closed


async def test_an_apps_own_failing_startup_still_reaches_the_server(rules: Path) -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("the shop's start-up failed")

    with pytest.raises(RuntimeError, match="start-up failed"):
        await run_lifespan(SmallData(failing, rules=rules, settings=Settings(), overrides=Overrides(events=Sink())))
