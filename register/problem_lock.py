"""One writer at a time per (shop, kind of problem), so "is a case open? else open one" cannot run twice at once
and leave two cases for one problem.

Within a process a striped lock serializes the API's worker threads; on PostgreSQL a transaction-scoped advisory
lock also serializes the processes of a central service (SQLite is one process's store).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

_STRIPES = [threading.Lock() for _ in range(64)]


def _key(shop_id: str, kind: str) -> int:
    """A stable signed 32-bit key (PostgreSQL's advisory locks take bigint; crc32 is the same in every process)."""
    value = zlib.crc32(f"frontage/problem/{shop_id}/{kind}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


@contextmanager
def problem_session(engine: Engine, shop_id: str, kind: str) -> Iterator[Session]:
    """A session in a transaction that holds the problem's lock until it has committed (or rolled back)."""
    key = _key(shop_id, kind)
    with _STRIPES[key % len(_STRIPES)], Session(engine) as s, s.begin():
        if engine.dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})  # released at commit
        yield s
