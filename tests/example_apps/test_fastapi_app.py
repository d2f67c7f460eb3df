"""The FastAPI integration example works as its docstring says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the FastAPI example needs the fastapi package")

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from examples.fastapi_app import create_app
from smalldata.events import NullSink


def test_fastapi_page_is_personalised_and_json_reads_the_decision() -> None:
    with TestClient(create_app(events=NullSink())) as client:
        page = client.get("/", headers={"accept-language": "en"})
        assert page.status_code == 200
        assert 'id="smalldata"' in page.text
        assert "Welcome to Nordisk Hjem" in page.text  # written server-side from request.state
        assert page.headers["cache-control"] == "private"
        api = client.get("/api/greeting", headers={"accept-language": "en"})
        assert api.json() == {"greeting": "Welcome to Nordisk Hjem"}
        assert "smalldata" not in api.text.replace('"greeting"', "")  # JSON untouched


def test_fastapi_endpoints_live_under_the_prefix() -> None:
    with TestClient(create_app(events=NullSink())) as client:
        assert client.get("/_smalldata/health").json()["status"] == "ok"
