"""Shared fixtures: the real model weights and street stills, found the way `frontage demo` finds them.

Tests that need them skip with the reason when they are missing, except in CI (FRONTAGE_REQUIRE_ASSETS=1),
where a missing asset is a failure: the tests that matter must not skip there.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from frontage.assets import missing_assets_message, shared_weights

# Tests that measure real time or CPU (live RTSP cameras, kill -9 drills, benchmarks' smoke runs): they run on
# their own (`-m serial`), after the rest has run two at a time (`-n 2 -m "not serial"`), so nothing else
# competes with them for the two cores.
SERIAL = (
    "tests/detector/test_live.py", "tests/detector/test_reader_outages.py", "tests/detector/test_readers.py",
    "tests/test_kill9.py", "tests/test_live_service.py", "tests/test_live_traffic.py", "tests/bench/",
    "tests/frontage/test_threadcpu.py",
)  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        if Path(str(item.path)).relative_to(root).as_posix().startswith(SERIAL):
            item.add_marker(pytest.mark.serial)


def _missing(reason: str):
    if os.environ.get("FRONTAGE_REQUIRE_ASSETS") == "1":
        pytest.fail(f"required test asset missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def weights() -> str:
    path = os.environ.get("FRONTAGE_WEIGHTS") or (str(shared_weights()) if shared_weights() else None)
    if not path or not Path(path).is_file():
        _missing("real YOLO weights not found (set FRONTAGE_WEIGHTS or put shared/models beside the checkout)")
    return path


@pytest.fixture(scope="session")
def assets_ready(weights) -> None:
    msg = missing_assets_message()
    if msg:
        _missing(msg)


def missing_service(reason: str):
    """Skip when a real service the test needs is not installed; in CI (FRONTAGE_REQUIRE_SERVICES=1) fail."""
    if os.environ.get("FRONTAGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster on 127.0.0.1 for this test session (about a second to start)."""
    from bench.pgserver import postgres_bindir, throwaway_postgres

    if postgres_bindir() is None:
        missing_service("PostgreSQL server binaries not found (apt-get install postgresql)")
    with throwaway_postgres() as url:
        yield url


@contextmanager
def fresh_postgres_database(server: str) -> Iterator[str]:
    """A new, empty database on the throwaway cluster, dropped (connections and all) afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database of each kind the central store runs on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'frontage.db'}"
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture(scope="session")
def traffic_rendered(tmp_path_factory, assets_ready):
    """The busy-street scenarios (frontage.scenarios.catalog.TRAFFIC), rendered once per session."""
    from frontage.scenarios.catalog import SCENARIOS, TRAFFIC
    from tests.render_cache import render_once

    out = tmp_path_factory.mktemp("traffic")
    return {name: render_once(SCENARIOS[name], out) for name in TRAFFIC}
