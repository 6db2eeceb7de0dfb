"""Durable at-least-once delivery: messages are rows first and network calls second.

A caller writes an outbox row in the same transaction as the case change that causes it, so a crash can never
lose a reminder or an escalation. `OutboxWorker` delivers due rows one by one:

    claim (short transaction)   attempts += 1, next_attempt_at = now + lease
    send  (no transaction)      the network call
    finish (short transaction)  delivered / backoff / dead, plus the `on_delivered` hook

A crash between send and finish leaves the row pending with its lease as due time, so it is sent again once the
lease runs out: at least once, never lost. Receivers drop repeats by the idempotency key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dispatch.db import OutboxRow
from frontage.clock import Clock

log = logging.getLogger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


class RetryableError(Exception):
    """The receiver may accept the message later: timeouts, 5xx, 408/429, refused or dropped connections."""


class PermanentError(Exception):
    """Sending again cannot help: a 4xx, a bad payload, a missing address."""


@dataclass(frozen=True)
class OutboxMessage:
    """What a sender sees of a row: a detached snapshot, so senders never touch the session."""

    id: int
    channel: str
    case_id: int | None
    payload: dict[str, Any] = field(hash=False)
    idempotency_key: str
    attempts: int  # sends started so far, this one included


class Sender(Protocol):
    channel: str

    def send(self, message: OutboxMessage) -> dict:
        """Deliver once; return a JSON-able result or raise RetryableError / PermanentError."""
        ...


DeliveredHook = Callable[[Session, OutboxRow], None]


def enqueue(
    session: Session,
    *,
    channel: str,
    payload: dict,
    idempotency_key: str,
    case_id: int | None,
    now: dt.datetime,
) -> OutboxRow:
    """Add a message unless its idempotency key is known; either way return the row (caller commits)."""
    if now.tzinfo is None:
        raise ValueError("enqueue needs a timezone-aware `now`")
    if not idempotency_key:
        raise ValueError("enqueue needs a non-empty idempotency_key")
    existing = session.scalar(select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    values = dict(
        idempotency_key=idempotency_key,
        channel=channel,
        case_id=case_id,
        payload=payload,
        status=PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        last_error="",
        result={},
    )
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        # A concurrent writer with the same key may have won since the select: let the database decide.
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        session.execute(insert(OutboxRow).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"]))
        q = select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key)
        return session.scalars(q.execution_options(populate_existing=True)).one()
    row = OutboxRow(**values)
    session.add(row)
    session.flush()
    return row


def backoff_delay(row_id: int, attempt: int, base_s: float, max_s: float, jitter: float = 0.5) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    Exponential (base, 2*base, 4*base, ...) capped at `max_s`; the last `jitter` share of it is scaled by a
    fraction derived from (row id, attempt), so rows that failed together spread out, yet tests know the exact
    schedule.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    ceiling = min(max_s, base_s * 2.0 ** min(attempt - 1, 60))
    digest = hashlib.blake2b(f"{row_id}:{attempt}".encode(), digest_size=8).digest()
    frac = int.from_bytes(digest, "big") / 2.0**64
    return ceiling * (1.0 - jitter) + ceiling * jitter * frac


def next_due(engine: Engine, channels: Iterable[str] | None = None) -> dt.datetime | None:
    """When the earliest pending row falls due (a leased row counts at its lease end); None when nothing waits."""
    q = select(func.min(OutboxRow.next_attempt_at)).where(OutboxRow.status == PENDING)
    if channels is not None:
        q = q.where(OutboxRow.channel.in_(list(channels)))
    with Session(engine) as s:
        when = s.scalar(q)
    if isinstance(when, str):  # func.min on SQLite may lose the column type in some versions
        when = dt.datetime.fromisoformat(when)
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


class OutboxWorker:
    """Delivers due outbox rows through the channel's sender; see the module docstring for the crash story."""

    def __init__(
        self,
        engine: Engine,
        senders: dict[str, Sender],
        clock: Clock,
        *,
        base_delay_s: float = 2.0,
        max_delay_s: float = 600.0,
        max_attempts: int | None = None,
        jitter: float = 0.5,
        lease_s: float = 300.0,
        on_delivered: DeliveredHook | None = None,
    ):
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.engine = engine
        self.senders = dict(senders)
        self.clock = clock
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_attempts = max_attempts
        self.jitter = jitter
        self.lease_s = lease_s
        self.on_delivered = on_delivered

    def run_once(self, limit: int = 100) -> int:
        """Try every due row once (at most `limit`), most overdue first; return how many were delivered."""
        delivered = 0
        tried: set[int] = set()
        while len(tried) < limit:
            msg = self._claim(tried)
            if msg is None:
                break
            tried.add(msg.id)
            if self._deliver(msg):
                delivered += 1
        return delivered

    def next_due(self) -> dt.datetime | None:
        return next_due(self.engine, self.senders)

    def _claim(self, skip: set[int]) -> OutboxMessage | None:
        """Lease the most overdue row not yet tried; None when nothing is due."""
        for _ in range(100):  # bounded: only lost compare-and-set races loop
            now = self.clock.now()
            with Session(self.engine) as s, s.begin():
                q = (
                    select(OutboxRow)
                    .where(
                        OutboxRow.status == PENDING,
                        OutboxRow.next_attempt_at <= now,
                        OutboxRow.channel.in_(list(self.senders)),
                    )
                    .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                    .limit(1)
                )
                if skip:
                    q = q.where(OutboxRow.id.not_in(skip))
                if s.get_bind().dialect.name == "postgresql":
                    q = q.with_for_update(skip_locked=True)
                row = s.scalar(q)
                if row is None:
                    return None
                row_id = row.id
                if self.max_attempts is not None and row.attempts >= self.max_attempts:
                    # Claimed that often without a recorded outcome (crashes mid-send): stop the loop here.
                    row.status = DEAD
                    row.last_error = f"gave up: {row.attempts} attempt(s) without a recorded outcome"
                    log.warning("outbox %s (%s) dead: %s", row.id, row.channel, row.last_error)
                    skip.add(row_id)
                    continue
                # Compare-and-set: on SQLite (no row locks) another worker may have claimed it meanwhile.
                claimed = s.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id == row.id, OutboxRow.status == PENDING, OutboxRow.attempts == row.attempts)
                    .values(attempts=row.attempts + 1, next_attempt_at=now + dt.timedelta(seconds=self.lease_s))
                    .execution_options(synchronize_session=False)
                ).rowcount
                if claimed == 1:
                    return OutboxMessage(
                        id=row.id,
                        channel=row.channel,
                        case_id=row.case_id,
                        payload=dict(row.payload or {}),
                        idempotency_key=row.idempotency_key,
                        attempts=row.attempts + 1,
                    )
            skip.add(row_id)
        return None

    def _deliver(self, msg: OutboxMessage) -> bool:
        sender = self.senders[msg.channel]
        try:
            result = sender.send(msg)
        except PermanentError as e:
            self._fail(msg, f"permanent: {e}", dead=True)
            return False
        except RetryableError as e:
            self._fail(msg, f"retryable: {e}", dead=False)
            return False
        except Exception as e:  # a sender bug: retry with backoff, max_attempts bounds it
            log.exception("outbox %s: sender %s crashed", msg.id, msg.channel)
            self._fail(msg, f"unexpected {type(e).__name__}: {e}", dead=False)
            return False
        try:
            with Session(self.engine) as s, s.begin():
                row = s.get(OutboxRow, msg.id)
                if row is None or row.status != PENDING:
                    log.warning("outbox %s is no longer pending (another worker?); result dropped", msg.id)
                    return False
                row.status = DELIVERED
                row.delivered_at = self.clock.now()
                row.result = json.loads(json.dumps(result or {}, default=str))  # never fails the commit
                row.last_error = ""
                if self.on_delivered is not None:
                    self.on_delivered(s, row)
        except Exception:
            # The message went out but its record did not: the lease runs out and it is sent again.
            log.exception("outbox %s: recording the delivery failed; it will be re-sent", msg.id)
            return False
        return True

    def _fail(self, msg: OutboxMessage, error: str, *, dead: bool) -> None:
        now = self.clock.now()
        give_up = dead or (self.max_attempts is not None and msg.attempts >= self.max_attempts)
        with Session(self.engine) as s, s.begin():
            row = s.get(OutboxRow, msg.id)
            if row is None or row.status != PENDING or row.attempts != msg.attempts:
                return
            row.last_error = error[:2000]
            if give_up:
                row.status = DEAD
                log.warning("outbox %s (%s) dead after %d attempt(s): %s", msg.id, msg.channel, msg.attempts, error)
            else:
                delay = backoff_delay(msg.id, msg.attempts, self.base_delay_s, self.max_delay_s, self.jitter)
                row.next_attempt_at = now + dt.timedelta(seconds=delay)
                log.info(
                    "outbox %s (%s) attempt %d failed, retry in %.1f s: %s",
                    msg.id,
                    msg.channel,
                    msg.attempts,
                    delay,
                    error,
                )
