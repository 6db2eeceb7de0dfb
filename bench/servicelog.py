"""Start `frontage run` as its own process for a test or benchmark, and find where it serves its API.

Started with `--api-port 0`, it picks a free port and says which in its log.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

API_LINE = re.compile(r"operator API and review page on (http://\S+)/")


def api_url(log: Path, timeout: float = 60.0) -> str:
    """Wait for the service's log line and return the API's base URL (the latest, after restarts)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = API_LINE.findall(log.read_text())
        if found:
            return found[-1]
        time.sleep(0.2)
    raise RuntimeError(f"the service never served its API:\n{log.read_text()[-3000:]}")


def start_service(cfg: str | Path, db: str, snapshots: str | Path, log: IO[str], weights: str | None = None,
                  extra: Sequence[str] = ()) -> subprocess.Popen:  # fmt: skip
    """`python -m frontage -v run` on `cfg` and the store `db`, its API on a free port, everything it says in `log`
    (unbuffered, so a test reads its lines as they come)."""
    cmd = [sys.executable, "-m", "frontage", "-v", "run", "--config", str(cfg), "--db", db, "--snapshots",
           str(snapshots), "--api-port", "0", *(["--weights", weights] if weights else []), *extra]  # fmt: skip
    return subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
