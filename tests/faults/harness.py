"""The real parts the fault suite runs and breaks: redis-server, the CRM, the GeoIP file, the rules, uvicorn.

:class:`Shop` starts uvicorn with two workers (``tests.faults.app:create_app``) on a free
loopback port, in front of a real ``redis-server`` that keeps its data in an append-only
file (so it can be killed with ``SIGKILL`` and restarted on the same port without losing
what it had acknowledged), the loopback CRM of :mod:`tests.faults.crm`, a GeoIP City
database built with ``mmdb-writer``, a rules folder and an events file, all in one
temporary folder. Its methods are the faults: each is what an operator or a flaky
machine does to a running shop.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml

try:  # the repository root on sys.path (python -m pytest)
    from tests.geoip import RECORDS, build_city_mmdb
    from tests.redis_server import free_port, start_redis
except ImportError:  # tests/ on sys.path (pytest's default rootdir insertion)
    from geoip import RECORDS, build_city_mmdb  # type: ignore[no-redef]
    from redis_server import free_port, start_redis  # type: ignore[no-redef]

from .crm import Crm

REPO = Path(__file__).resolve().parents[2]
SECRET = "faults-secret-key-0123456789"
HEALTH_TOKEN = "faults-health-token-0123456789"
ORDERS_TOKEN = "faults-orders-token-0123456789"  # the order service's, for POST /_smalldata/conversions
REDIS_OPTIONS = ("--appendonly", "yes", "--appendfsync", "always")
START_SECONDS = 30.0

RULES = """\
rules:
  - id: pricing-chat
    description: The capped invitation the bursts aim at
    when: {{page.path: {{starts_with: /pricing}}}}
    then:
      chat: {{message: "Questions about our prices?", after_seconds: 20}}
    cap: {{max: 1, per: day}}
  - id: named-greeting
    priority: 20
    when: {{user.first_name: {{exists: true}}}}
    then: {{greeting: "Hej {{user.first_name}}"}}
  - id: welcome-back
    priority: 10
    when: {{visitor.returning: true}}
    then: {{greeting: "Welcome back"}}
  - id: country-banner
    when: {{geo.country: {{exists: true}}}}
    then: {{banner: {{slot: hero, text: "From {{geo.country}}"}}}}
  - id: layout-test
    when: {{page.path: {{starts_with: /pages/}}}}
    experiment:
      key: layout
      variants:
        - {{name: a, weight: 50, then: {{banner: {{slot: side, text: "Layout A"}}}}}}
        - {{name: b, weight: 50, then: {{banner: {{slot: side, text: "Layout B"}}}}}}
  - id: sale-banner
    description: A banner capped once a day (no browser-side cap holds a banner)
    when: {{page.path: {{starts_with: /pages/sale}}}}
    then: {{banner: {{slot: sale, text: "Sale today"}}}}
    cap: {{max: 1, per: day}}
  - id: rules-version
    when: {{page.path: {{starts_with: /}}}}
    then: {{banner: {{slot: version, text: "rules {version}"}}}}
"""
BROKEN_RULES = "rules:\n  - id: half-saved\n    when: {page.path: {starts_with: /pri\n"


def rules(version: str) -> str:
    """The suite's rules; the ``version`` banner on every page tells which file a worker serves."""
    return RULES.format(version=version)


def _records(country: str) -> list[tuple[str, dict[str, Any]]]:
    """The test database's records with the London network moved to ``country``."""
    network, london = RECORDS[0]
    return [(network, {**london, "country": {"iso_code": country}}), *RECORDS[1:]]


class Shop:
    """Everything the suite serves from, in ``folder``; :meth:`start` it, :meth:`stop` it."""

    def __init__(self, folder: Path, crm: Crm) -> None:
        self.folder = folder
        self.crm = crm
        self.rules_dir = folder / "rules"
        self.rules_file = self.rules_dir / "shop.yaml"
        self.geoip = folder / "City.mmdb"
        self.geoip_gb = build_city_mmdb(folder / "City-GB.mmdb", records=_records("GB"))
        self.geoip_dk = build_city_mmdb(folder / "City-DK.mmdb", records=_records("DK"))
        self.events_file = folder / "events.jsonl"
        self.log_file = folder / "uvicorn.log"
        self.redis_dir = folder / "redis"
        self.redis_port = 0
        self.url = ""
        self.pids: list[int] = []  # the workers, as started
        self.store = StoreWatch(self.log_file)
        self._redis: subprocess.Popen[bytes] | None = None
        self._server: subprocess.Popen[bytes] | None = None

    # -- the whole shop ---------------------------------------------------------------------

    def start(self) -> None:
        self.rules_dir.mkdir()
        self.redis_dir.mkdir()
        self.rules_file.write_text(rules("v1"))
        shutil.copyfile(self.geoip_gb, self.geoip)
        self._redis, self.redis_port = start_redis(str(self.redis_dir), None, REDIS_OPTIONS)
        config = self.folder / "smalldata.yaml"
        config.write_text(yaml.safe_dump(self._settings()))
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO), "FAULTS_CONFIG": str(config),
               "SMALLDATA_SECRET_KEYS": SECRET, "SMALLDATA_HEALTH_TOKEN": HEALTH_TOKEN,
               "SMALLDATA_CONVERSIONS_TOKEN": ORDERS_TOKEN}  # fmt: skip
        command = [sys.executable, "-m", "uvicorn", "--factory", "tests.faults.app:create_app", "--workers", "2",
                   "--host", "127.0.0.1", "--port", str(port), "--no-proxy-headers", "--log-level", "warning",
                   "--no-access-log", "--timeout-graceful-shutdown", "5"]  # fmt: skip
        with self.log_file.open("wb") as log:
            self._server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        self.pids = self._wait_for_workers()

    def _settings(self) -> dict[str, Any]:
        return {
            "timezone": "Europe/Copenhagen",
            "rules": str(self.rules_dir),
            "trusted_proxies": ["127.0.0.1"],  # the suite sends X-Forwarded-For: a London address
            "geo": {"database": str(self.geoip)},
            "user": {"callable": "tests.faults.app:current_user", "profile_url": self.crm.url, "timeout_ms": 50,
                     "call_timeout_ms": 500, "cache_seconds": 1, "failures_before_pause": 10, "pause_seconds": 0.5},
            "state": {"store": f"redis://127.0.0.1:{self.redis_port}/0"},  # the shipped timeouts
            "events": {"path": str(self.events_file), "flush_seconds": 0.2, "browser_conversions": True},
        }

    def _wait_for_workers(self) -> list[int]:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self._server is not None
            if self._server.poll() is not None:
                raise RuntimeError(f"uvicorn exited:\n{self.log()[-3000:]}")
            workers = self.workers()
            if len(workers) == 2 and self._answers():
                return workers
            time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not start two workers in {START_SECONDS:.0f} s:\n{self.log()[-3000:]}")

    def _answers(self) -> bool:
        try:
            return httpx.get(self.url + "/_smalldata/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Stop uvicorn (gracefully: the workers write their pending events) and redis-server."""
        for process in (self._server, self._redis):
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self) -> str:
        """What uvicorn and the workers wrote (warnings and errors: smalldata logs there)."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    # -- the workers ------------------------------------------------------------------------

    def workers(self) -> list[int]:
        """The pids of uvicorn's worker processes now (a crashed worker is replaced by a new pid)."""
        assert self._server is not None
        pid = self._server.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return sorted(int(child) for child in children if "spawn_main" in _cmdline(int(child)))

    def rss_mb(self) -> dict[int, float]:
        """Resident memory of each worker, in MB (``VmRSS`` of ``/proc/<pid>/status``)."""
        found = {}
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found[pid] = int(line.split()[1]) / 1024
        return found

    def health(self) -> dict[str, Any]:
        """The health endpoint's details (one worker's: whichever answers)."""
        response = httpx.get(self.url + "/_smalldata/health", headers={"authorization": f"Bearer {HEALTH_TOKEN}"},
                             timeout=5)  # fmt: skip
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    # -- redis ------------------------------------------------------------------------------

    def redis(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=5)

    def kill_redis(self) -> None:
        """``kill -9`` the redis-server: every worker's next call to it fails."""
        assert self._redis is not None
        self._redis.send_signal(signal.SIGKILL)
        self._redis.wait()

    def restart_redis(self) -> None:
        """Start redis-server again on its port and folder (it reads back its append-only file)."""
        self._redis, _ = start_redis(str(self.redis_dir), self.redis_port, REDIS_OPTIONS)

    # -- files an operator changes ----------------------------------------------------------

    def write_rules(self, text: str) -> None:
        """Edit the rule file in place, as an editor without atomic saves does."""
        self.rules_file.write_text(text)

    def replace_rules(self, text: str) -> None:
        """Replace the rule file by a rename, as a deploy does."""
        new = self.rules_dir / ".shop.yaml.new"  # a dot file: never read as rules
        new.write_text(text)
        os.replace(new, self.rules_file)

    def delete_rules(self) -> None:
        self.rules_file.unlink()

    def copy_geoip(self, source: Path, size: int | None = None) -> None:
        """``cp source City.mmdb``: the served file rewritten in place (same inode); cut short after
        ``size`` bytes, as a killed ``cp`` or a full disk leaves it."""
        with self.geoip.open("wb") as out:
            out.write(source.read_bytes()[:size])

    def truncate_geoip(self) -> None:
        """``truncate -s 0 City.mmdb`` on the served file."""
        os.truncate(self.geoip, 0)

    def rename_geoip(self, source: Path) -> None:
        """A new database moved over the served one (a new inode, as ``geoipupdate`` does)."""
        new = self.folder / "City.mmdb.new"
        shutil.copyfile(source, new)
        os.replace(new, self.geoip)


class StoreWatch:
    """Is a worker serving without Redis right now? Read from what the workers log.

    A worker that cannot reach Redis (killed, or one reply slower than ``redis_timeout_ms``,
    which a busy event loop alone can cause) logs "visitor store unavailable", serves from the
    cookie for a few seconds, then logs "visitor store is back". While it does, parallel pages
    of one visitor may each show a capped invitation that Redis did not count: the invitation
    carries its cap, and the visitor's browser holds it. The log line is written before such a
    page is sent, so asking on its arrival is never too late.
    """

    LINGER = 0.5  # seconds after a change that still count as away: answers decided just before it

    def __init__(self, log: Path) -> None:
        self.log = log
        self.outages = 0
        self.recoveries = 0
        self._offset = 0
        self._partial = b""
        self._changed = -math.inf

    def away(self) -> bool:
        self._read()
        return self.outages > self.recoveries or time.monotonic() - self._changed < self.LINGER

    def _read(self) -> None:
        with self.log.open("rb") as log:
            log.seek(self._offset)
            data = log.read()
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            if b"visitor store unavailable" in line:
                self.outages += 1
                self._changed = time.monotonic()
            elif b"visitor store is back" in line:
                self.recoveries += 1
                self._changed = time.monotonic()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
