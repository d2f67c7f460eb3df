"""Requests per second behind a real server: uvicorn on 127.0.0.1, with and without ``SmallData``.

The page is rendered by Jinja2 on every request (about 2.5 ms, what a real shop page
costs to serve): the budget is set on it. The same ready 20 KB page that the
in-process rows use is measured too (``page="static"``): on a page that costs almost
nothing to serve, any per-request work is a large share, so that figure is reported
but not budgeted. Each variant runs in its own uvicorn process (one worker, with
uvloop and httptools when installed), loaded by ``wrk``
(``apt-get install wrk``) with a fixed number of connections for a fixed time,
cycling through requests drawn from the same traffic mix as the in-process
benchmark (paths, User-Agents, cookies, languages). On a 2-core machine the
server is pinned to one core and wrk to the other, so the load generator does
not steal the server's CPU. Both servers run for the whole measurement and are
loaded in turns (bare then smalldata, then the other way round); each turn gives
a ratio, and the figure is the median of the turns' ratios with its interval. Without wrk a small asyncio
generator (httpx, the same connections and time bound) stands in.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from smalldata.tools.bench.traffic import Request

ROOT = Path(__file__).resolve().parents[3]  # the folder holding the smalldata package
CONNECTIONS = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pin(core: int) -> list[str]:
    """``taskset -c core`` when there are at least two cores to split."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


@contextmanager
def serve(variant: str, rules: Path, config: Path, page: str = "rendered") -> Iterator[str]:
    """A uvicorn process serving the page app (``bare`` or ``smalldata``); yields its base URL."""
    port = free_port()
    env = {**os.environ, "BENCH_VARIANT": variant, "BENCH_PAGE": page, "BENCH_RULES": str(rules),
           "BENCH_CONFIG": str(config),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}  # fmt: skip
    command = [*_pin(0), sys.executable, "-m", "uvicorn", "--factory", "smalldata.tools.bench.server:create",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"uvicorn exited: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("uvicorn did not start in 30 s")


def lua_script(requests: list[Request], path: Path) -> Path:
    """A wrk script cycling through ``requests`` and printing a JSON summary line."""
    lines = ["local reqs = {}", "local i = 0", "init = function(args)"]
    for request in requests:
        target = request.path + ("?" + request.query if request.query else "")
        headers = ", ".join(f"[ {_lua(k.title())} ] = {_lua(v)}" for k, v in request.headers if k != "host")
        lines.append(f'  reqs[#reqs + 1] = wrk.format("GET", {_lua(target)}, {{{headers}}})')
    lines += [
        "end",
        "request = function()",
        "  i = i % #reqs + 1",
        "  return reqs[i]",
        "end",
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format("BENCHJSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, '
        '\\"status_errors\\": %d, \\"p50_us\\": %d, \\"p90_us\\": %d, \\"p99_us\\": %d, \\"max_us\\": %d}\\n", '
        "summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, "
        "latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _lua(text: str) -> str:
    return "[==[" + text + "]==]"


def wrk(url: str, script: Path, seconds: float) -> dict[str, Any]:
    command = [*_pin(1), "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(int(seconds), 1)}s", "--timeout", "5s",
               "-s", str(script), url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCHJSON "))
    data: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


async def _python_load(url: str, requests: list[Request], seconds: float) -> dict[str, Any]:
    """The fallback generator: ``CONNECTIONS`` keep-alive connections, each sending one request at a time."""
    import httpx

    latencies: list[int] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=5.0) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            n = offset
            while time.perf_counter() < deadline:
                request = requests[n % len(requests)]
                n += CONNECTIONS
                start = time.perf_counter_ns()
                response = await client.get(request.path, params=request.query or None,
                                            headers=[(k, v) for k, v in request.headers if k != "host"])  # fmt: skip
                latencies.append((time.perf_counter_ns() - start) // 1000)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(CONNECTIONS)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pick(q: float) -> int:
        return latencies[min(int(q * len(latencies)), len(latencies) - 1)] if latencies else 0

    return {"requests": len(latencies), "duration_us": int(elapsed * 1e6), "errors": 0, "status_errors": errors,
            "p50_us": pick(0.5), "p90_us": pick(0.9), "p99_us": pick(0.99), "max_us": latencies[-1] if latencies else 0,
            "rps": len(latencies) / elapsed}  # fmt: skip


def measure(
    rules: Path, config: Path, requests: list[Request], *, seconds: float, rounds: int, work: Path,
    page: str = "rendered",
) -> dict[str, Any]:
    """Both servers up at once, loaded in turns (``rounds`` turns, the order alternating); requests/s and ratio.

    Each turn's ratio compares two runs a second or two apart, so a slow spell of the machine
    falls on both; the figure is the median of the turns' ratios with its confidence interval.
    """
    from smalldata.tools.bench.verdict import median, median_interval

    generator = "wrk" if shutil.which("wrk") else "python-httpx"
    script = lua_script(requests, work / "mix.lua")
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "smalldata": []}
    with serve("bare", rules, config, page) as bare_url, serve("smalldata", rules, config, page) as sd_url:
        urls = {"bare": bare_url, "smalldata": sd_url}
        for url in urls.values():
            _load(generator, url, script, requests, 1.0)  # warm-up: imports, templates, caches
        for turn in range(rounds):
            for variant in ("bare", "smalldata") if turn % 2 == 0 else ("smalldata", "bare"):
                runs[variant].append(_load(generator, urls[variant], script, requests, seconds))
    summary: dict[str, Any] = {"page": page, "generator": generator, "connections": CONNECTIONS,
                               "seconds": seconds, "rounds": rounds, "pinned": bool(_pin(0))}  # fmt: skip
    for variant, results in runs.items():
        summary[variant] = {
            "rps": round(median([r["rps"] for r in results]), 1),
            "rps_runs": [round(r["rps"], 1) for r in results],
            "p50_ms": round(_mean(results, "p50_us") / 1000, 2),
            "p90_ms": round(_mean(results, "p90_us") / 1000, 2),
            "p99_ms": round(_mean(results, "p99_us") / 1000, 2),
            "max_ms": round(max(r["max_us"] for r in results) / 1000, 2),
            "errors": sum(r["errors"] + r["status_errors"] for r in results),
        }
    ratios = [sd["rps"] / bare["rps"] for sd, bare in zip(runs["smalldata"], runs["bare"], strict=True)]
    low, high = median_interval(ratios)
    summary["ratio_rounds"] = [round(r, 4) for r in ratios]
    summary["ratio_measured"] = round(median(ratios), 4)
    summary["ratio_interval"] = [round(low, 4), round(high, 4)]
    # smalldata adds work, so it cannot serve more than bare: a ratio above 1 is noise, read as 100 %
    summary["ratio"] = min(summary["ratio_measured"], 1.0)
    summary["cost"] = server_cost(summary["bare"]["rps"], summary["smalldata"]["rps"])
    return summary


def server_cost(bare_rps: float, smalldata_rps: float, share: float = 0.9) -> dict[str, float]:
    """What one request costs the (single-worker) server, and what keeping ``share`` of bare would allow.

    One worker serves requests one after another, so 1/rps is the server time
    per request. Keeping 90 % of the bare app's requests/s leaves smalldata
    1/0.9 - 1 = 11 % of the bare app's own cost per request: the faster the
    shop, the smaller the allowance.
    """
    bare_ms, smalldata_ms = 1000 / bare_rps, 1000 / smalldata_rps
    return {
        "bare_ms": round(bare_ms, 3),
        "smalldata_ms": round(smalldata_ms, 3),
        "overhead_ms": round(smalldata_ms - bare_ms, 3),
        "allowed_overhead_ms": round(bare_ms * (1 / share - 1), 3),
    }


def _load(generator: str, url: str, script: Path, requests: list[Request], seconds: float) -> dict[str, Any]:
    if generator == "wrk":
        return wrk(url, script, seconds)
    return asyncio.run(_python_load(url, requests, seconds))


def _mean(results: list[dict[str, Any]], key: str) -> float:
    return sum(float(r[key]) for r in results) / len(results)
