"""Where a `frontage run` started with `--api-port 0` serves its API: it says so in its log."""

from __future__ import annotations

import re
import time
from pathlib import Path

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
