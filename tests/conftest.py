"""Shared fixtures: the real model weights and street stills, found the way `frontage demo` finds them.

Tests that need them skip with the reason when they are missing, except in CI (FRONTAGE_REQUIRE_ASSETS=1),
where a missing asset is a failure: the tests that matter must not skip there.
"""

import os
from pathlib import Path

import pytest

from frontage.assets import missing_assets_message, shared_weights


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
    """A throwaway PostgreSQL cluster on 127.0.0.1 for this test session (initdb + pg_ctl, about a second)."""
    import glob
    import shutil
    import socket
    import subprocess

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not bins or not os.path.exists(f"{bins[-1]}/initdb"):
        missing_service("PostgreSQL server binaries not found (apt-get install postgresql)")
    bindir = bins[-1]
    import tempfile

    root = tempfile.mkdtemp(prefix="frontage-pg-")  # not under pytest's 0700 tmp: the postgres user must enter it
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(root, "postgres", "postgres")

    def pg(cmd: str) -> None:
        full = ["su", "postgres", "-c", cmd] if as_root else ["bash", "-c", cmd]
        subprocess.run(full, check=True, capture_output=True, timeout=60)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pg(f"{bindir}/initdb -D {root}/data -U postgres -A trust -E UTF8 --no-sync")
    pg(
        f"{bindir}/pg_ctl -D {root}/data -l {root}/log -w start "
        f"-o '-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200'"
    )
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    pg(f"{bindir}/pg_ctl -D {root}/data -m immediate stop")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database of each kind the central store runs on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'frontage.db'}"
        return
    import uuid

    from sqlalchemy import create_engine, text

    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{server}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
