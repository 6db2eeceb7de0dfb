"""Fixtures for the delivery tests: a fresh SQLite store, a manual clock, cases, free ports and a real broker.

Services the tests start (mosquitto) skip when missing, except with FRONTAGE_REQUIRE_SERVICES=1 (CI), where a
missing service is a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dispatch.db import CaseRow, make_engine
from frontage.clock import ManualClock

T0 = dt.datetime(2024, 5, 6, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(db_url):
    """A fresh, migrated store: SQLite and a real PostgreSQL (see db_url in tests/conftest.py)."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def t0() -> dt.datetime:
    return T0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def _add_cases(engine, n: int, kind: str = "illegal_parking") -> list[int]:
    with Session(engine) as s, s.begin():
        rows = [
            CaseRow(
                violation_key=f"test/{kind}/{i}",
                camera_id="cam1",
                shop_id=f"shop-{i}",
                kind=kind,
                object_class="car",
                state="escalated",
                first_seen_at=T0,
                opened_at=T0,
                dwell_s=300.0,
                box=[1, 2, 3, 4],
            )
            for i in range(n)
        ]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.fixture
def add_cases():
    """`add_cases(engine, n, kind)`: n escalated cases, returning their ids (outbox rows reference them)."""
    return _add_cases


@pytest.fixture
def free_port():
    """`free_port()`: a port nothing listens on, for servers that are down now and come up later."""
    return _free_port


def missing_service(reason: str) -> None:
    if os.environ.get("FRONTAGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


class Mosquitto:
    """A real broker on 127.0.0.1:port, started and stopped by the test."""

    def __init__(self, binary: str, port: int):
        self.binary, self.port = binary, port
        self.dir = Path(tempfile.mkdtemp(prefix="frontage-mqtt-"))
        self.dir.chmod(0o755)  # mosquitto drops to its own user when started as root
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.conf.chmod(0o644)
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def mosquitto_factory():
    binary = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )
    if binary is None:
        missing_service("mosquitto binary not found (apt-get install -y mosquitto)")
    brokers: list[Mosquitto] = []

    def make(port: int | None = None) -> Mosquitto:
        broker = Mosquitto(binary, port or _free_port())
        brokers.append(broker)
        return broker

    yield make
    for b in brokers:
        b.cleanup()
