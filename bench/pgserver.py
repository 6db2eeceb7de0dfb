"""A throwaway PostgreSQL cluster on 127.0.0.1 (initdb + pg_ctl), for benchmarks and tests."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator


def postgres_bindir() -> str | None:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return bins[-1] if bins and os.path.exists(f"{bins[-1]}/initdb") else None


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Yield a SQLAlchemy URL prefix `postgresql+psycopg://postgres@127.0.0.1:PORT` (append `/dbname`)."""
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    root = tempfile.mkdtemp(prefix="frontage-pg-")  # not under a 0700 folder: the postgres user must enter it
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(root, "postgres", "postgres")

    def pg(cmd: str) -> None:
        full = ["su", "postgres", "-c", cmd] if as_root else ["bash", "-c", cmd]
        subprocess.run(full, check=True, capture_output=True, timeout=60)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        pg(f"{bindir}/initdb -D {root}/data -U postgres -A trust -E UTF8 --no-sync")
        pg(
            f"{bindir}/pg_ctl -D {root}/data -l {root}/log -w start "
            f"-o '-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=200'"
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg(f"{bindir}/pg_ctl -D {root}/data -m immediate stop")
        shutil.rmtree(root, ignore_errors=True)
