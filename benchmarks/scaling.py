"""``python -m benchmarks.scaling``: requests/s with 1 and 2 uvicorn workers, cookie store and Redis store.

Self-contained: it serves a page rendered by Jinja2 on every request (what a shop page costs)
under ``SmallData`` with the shipped ``rules/`` and the example shop's settings, once per store
(``cookie``; ``redis``: a ``redis-server`` it starts on loopback) and worker count, and loads it
with ``wrk`` on loopback. The visitors are returning ones (cookies collected from the server
first, so every Redis page is a read and a write) with one in ten new. Prints a Markdown table;
``--json PATH`` writes the figures.

The load generator shares the machine: on 2 cores, 2 workers and wrk compete for them, so
the 2-worker figure understates what 2 cores serving only the shop would give. Run it on
the machine the shop runs on, with nothing else busy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CONNECTIONS = 32
VISITORS = 200

_TEMPLATE = """<!doctype html><html lang="da"><head><meta charset="utf-8"><title>{{ title }}</title></head><body>
<nav>{% for c in categories %}<a href="/category/{{ c }}">{{ c|title }}</a>{% endfor %}</nav>
<main>{% for p in products %}<article class="card"><h3>{{ p.name }}</h3><p class="price">{{ '%.2f'|format(p.price) }}
kr.</p>{% for t in p.tags %}<span>{{ t }}</span>{% endfor %}</article>{% endfor %}</main></body></html>"""


def create() -> Any:
    """The app uvicorn serves (``--factory benchmarks.scaling:create``): configured by ``SCALING_CONFIG``."""
    import jinja2
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from smalldata.middleware import SmallData
    from smalldata.settings import load_settings

    template = jinja2.Environment(autoescape=True).from_string(_TEMPLATE)
    items = [{"name": f"Product {n}", "price": n * 1.5, "tags": ["new", "eco"]} for n in range(200)]
    categories = ["kitchen", "living", "garden", "lighting", "textiles"]

    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse(template.render(title="Nordisk Hjem", categories=categories, products=items))

    settings = load_settings(os.environ["SCALING_CONFIG"])
    return SmallData(Starlette(routes=[Route("/{path:path}", page)]), settings=settings)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start in 30 s")


@contextmanager
def _running(command: list[str], port: int, what: str, env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(port, process, what)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _config(folder: Path, store: str) -> Path:
    """The example shop's settings with ``state.store`` set (paths made absolute)."""
    import yaml

    data = yaml.safe_load((REPO / "smalldata.yaml").read_text())
    data["rules"] = str(REPO / data.get("rules", "rules"))
    data.setdefault("state", {})["store"] = store
    data["events"] = {"sink": "none"}  # the event log is not what is measured here
    for section in ("catalogue", "catalog"):
        if isinstance(data.get(section), dict) and "path" in data[section]:
            data[section]["path"] = str(REPO / data[section]["path"])
    path = folder / f"settings-{store.split(':')[0]}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _cookies(url: str) -> list[str]:
    """Cookie headers of ``VISITORS`` returning visitors, collected from the server itself."""
    import httpx

    jars = []
    with httpx.Client(base_url=url) as client:
        for _ in range(VISITORS):
            response = client.get("/", headers={"cookie": "sd_consent=all"})
            cookies = [header.split(";", 1)[0] for header in response.headers.get_list("set-cookie")]
            jars.append("; ".join(["sd_consent=all", *cookies]))
    return jars


def _script(cookies: list[str], path: Path) -> Path:
    """A wrk script: returning visitors' pages, one in ten a new visitor's."""
    lines = ["local reqs = {}"]
    for index, cookie in enumerate(cookies):
        lines.append(f'reqs[#reqs + 1] = wrk.format("GET", "/p/{index % 20}", {{["Cookie"] = "{cookie}"}})')
        if index % 10 == 0:
            lines.append('reqs[#reqs + 1] = wrk.format("GET", "/", {["Cookie"] = "sd_consent=all"})')
    lines += ["local i = 0", "request = function()", "  i = i % #reqs + 1", "  return reqs[i]", "end",
              "done = function(summary, latency, requests)",
              '  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %f, \\"errors\\": %d, '
              '\\"status\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d}\\n", summary.requests, summary.duration / 1e6, '
              "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, "
              "summary.errors.status, latency:percentile(50), latency:percentile(99)))",
              "end"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def _wrk(url: str, script: Path, seconds: int) -> dict[str, Any]:
    done = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
                           url], capture_output=True, text=True, check=True)  # fmt: skip
    match = re.search(r"^JSON (.*)$", done.stdout, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(match.group(1))
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def run(seconds: int, workers: list[int]) -> list[dict[str, Any]]:
    """Every (store, workers) combination measured once, after a warm-up."""
    if shutil.which("wrk") is None or shutil.which("redis-server") is None:
        raise SystemExit("this benchmark needs wrk and redis-server (apt-get install wrk redis-server)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="smalldata-scaling-") as work:
        folder = Path(work)
        redis_port = _free_port()
        redis = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                 "no", "--dir", work]  # fmt: skip
        with _running(redis, redis_port, "redis-server"):
            for store in ("cookie", f"redis://127.0.0.1:{redis_port}/0"):
                config = _config(folder, store)
                for count in workers:
                    port = _free_port()
                    env = {**os.environ, "SCALING_CONFIG": str(config), "PYTHONPATH": str(REPO),
                           "SMALLDATA_SECRET_KEYS": "scaling-benchmark-key-0123456789"}  # fmt: skip
                    server = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.scaling:create", "--port",
                              str(port), "--workers", str(count), "--log-level", "warning", "--no-access-log"]
                    with _running(server, port, "uvicorn", env):
                        url = f"http://127.0.0.1:{port}"
                        time.sleep(1.0 if count > 1 else 0.2)  # every worker up
                        script = _script(_cookies(url), folder / "load.lua")
                        _wrk(url, script, 2)  # warm-up
                        figures = _wrk(url, script, seconds)
                    rows.append({"store": store.split(":")[0], "workers": count, **figures})
                    print(f"{rows[-1]['store']:>6} {count} worker(s): {figures['rps']:,.0f} requests/s, "
                          f"p50 {figures['p50_us'] / 1000:.1f} ms, errors {figures['errors'] + figures['status']}",
                          flush=True)  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="load per combination (default 10)")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts (default 1,2)")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    rows = run(args.seconds, [int(n) for n in args.workers.split(",")])
    print(f"\n{os.cpu_count()} cores; wrk -c{CONNECTIONS} on the same machine\n")
    print("| store | workers | requests/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['store']} | {row['workers']} | {row['rps']:,.0f} | {row['p50_us'] / 1000:.1f} "
              f"| {row['p99_us'] / 1000:.1f} | {row['errors'] + row['status']} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
