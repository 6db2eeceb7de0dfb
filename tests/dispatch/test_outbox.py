"""The outbox delivers at least once: idempotent enqueue, exact backoff, dead letters, re-send after a crash."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.db import OutboxRow
from dispatch.outbox import (
    OutboxMessage,
    OutboxWorker,
    PermanentError,
    RetryableError,
    backoff_delay,
    enqueue,
    next_due,
)
from frontage.clock import ManualClock

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """A sender that records every message and fails as told: a list of exceptions, then successes."""

    channel = "test"

    def __init__(self, failures: list[Exception] | None = None, always: Exception | None = None):
        self.sent: list[OutboxMessage] = []
        self.failures = list(failures or [])
        self.always = always

    def send(self, message: OutboxMessage) -> dict:
        self.sent.append(message)
        if self.always is not None:
            raise self.always
        if self.failures:
            raise self.failures.pop(0)
        return {"ok": message.id}


def put(engine, clock, key: str, channel: str = "test", payload: dict | None = None) -> int:
    with Session(engine) as s, s.begin():
        row = enqueue(
            s, channel=channel, payload=payload or {"n": key}, idempotency_key=key, case_id=None, now=clock.now()
        )
        s.flush()
        return row.id


def get(engine, row_id: int) -> OutboxRow:
    with Session(engine) as s:
        row = s.get(OutboxRow, row_id)
        s.expunge(row)
        return row


def test_enqueue_same_key_twice_is_a_no_op(engine, clock):
    first = put(engine, clock, "remind/1/log", payload={"v": 1})
    second = put(engine, clock, "remind/1/log", payload={"v": 2})
    with Session(engine) as s, s.begin():  # and twice within one transaction
        a = enqueue(s, channel="test", payload={}, idempotency_key="k2", case_id=None, now=clock.now())
        b = enqueue(s, channel="test", payload={}, idempotency_key="k2", case_id=None, now=clock.now())
        assert a.id == b.id
    assert first == second
    assert get(engine, first).payload == {"v": 1}
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == 2


def test_enqueue_refuses_naive_time_and_empty_key(engine, clock):
    with Session(engine) as s:
        with pytest.raises(ValueError, match="timezone-aware"):
            enqueue(s, channel="t", payload={}, idempotency_key="k", case_id=None, now=dt.datetime(2024, 1, 1))
        with pytest.raises(ValueError, match="idempotency_key"):
            enqueue(s, channel="t", payload={}, idempotency_key="", case_id=None, now=clock.now())


def test_delivers_due_rows_oldest_first_and_reports_results(engine, clock):
    ids = [put(engine, clock, f"k{i}") for i in range(3)]
    late = put(engine, clock, "later")
    with Session(engine) as s, s.begin():
        s.get(OutboxRow, late).next_attempt_at = clock.now() + dt.timedelta(seconds=30)
    sender = Recorder()
    worker = OutboxWorker(engine, {"test": sender}, clock)
    assert worker.run_once() == 3
    assert [m.id for m in sender.sent] == ids
    row = get(engine, ids[0])
    assert (row.status, row.attempts, row.result, row.delivered_at) == ("delivered", 1, {"ok": ids[0]}, clock.now())
    assert next_due(engine) == clock.now() + dt.timedelta(seconds=30)
    clock.advance(30)
    assert worker.run_once() == 1
    assert next_due(engine) is None


def test_limit_and_unknown_channels(engine, clock):
    for i in range(5):
        put(engine, clock, f"k{i}")
    other = put(engine, clock, "other", channel="sms")
    worker = OutboxWorker(engine, {"test": Recorder()}, clock)
    assert worker.run_once(limit=2) == 2
    assert worker.run_once() == 3
    assert get(engine, other).status == "pending"  # not this worker's channel: left for another
    assert worker.next_due() is None
    assert next_due(engine) == clock.now()


def test_backoff_schedule_is_exact(engine, clock):
    row_id = put(engine, clock, "k")
    sender = Recorder(always=RetryableError("HTTP 503"))
    worker = OutboxWorker(engine, {"test": sender}, clock, base_delay_s=2.0, max_delay_s=60.0)
    delays = []
    for attempt in range(1, 9):
        assert worker.run_once() == 0
        row = get(engine, row_id)
        assert row.attempts == attempt and row.status == "pending"
        assert row.last_error == "retryable: HTTP 503"
        expected = backoff_delay(row_id, attempt, 2.0, 60.0)
        ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
        assert ceiling / 2 <= expected <= ceiling
        assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=expected)
        delays.append(expected)
        # Not a microsecond early...
        clock.set(row.next_attempt_at - dt.timedelta(microseconds=1))
        assert worker.run_once() == 0 and len(sender.sent) == attempt
        clock.set(row.next_attempt_at)
    assert max(delays) <= 60.0 and delays[-1] >= 30.0
    assert len(set(delays)) == len(delays)  # jittered


def test_backoff_without_jitter_doubles_up_to_the_cap(engine, clock):
    row_id = put(engine, clock, "k")
    worker = OutboxWorker(
        engine, {"test": Recorder(always=RetryableError("x"))}, clock, base_delay_s=2, max_delay_s=20, jitter=0
    )
    seen = []
    for _ in range(6):
        before = clock.now()
        worker.run_once()
        nxt = get(engine, row_id).next_attempt_at
        seen.append((nxt - before).total_seconds())
        clock.set(nxt)
    assert seen == [2, 4, 8, 16, 20, 20]


def test_jitter_spreads_rows_that_failed_together():
    delays = {backoff_delay(i, 3, 2.0, 600.0) for i in range(1, 50)}
    assert len(delays) == 49 and min(delays) >= 4.0 and max(delays) <= 8.0
    assert backoff_delay(7, 3, 2.0, 600.0) == backoff_delay(7, 3, 2.0, 600.0)


def test_dead_after_max_attempts(engine, clock):
    row_id = put(engine, clock, "k")
    sender = Recorder(always=RetryableError("connection refused"))
    worker = OutboxWorker(engine, {"test": sender}, clock, max_attempts=3)
    for _ in range(5):
        worker.run_once()
        clock.advance(3600)
    row = get(engine, row_id)
    assert (row.status, row.attempts, len(sender.sent)) == ("dead", 3, 3)
    assert "connection refused" in row.last_error
    assert next_due(engine) is None


def test_permanent_error_is_dead_at_once(engine, clock):
    row_id = put(engine, clock, "k")
    sender = Recorder(always=PermanentError("HTTP 400: bad address"))
    worker = OutboxWorker(engine, {"test": sender}, clock)
    assert worker.run_once() == 0
    row = get(engine, row_id)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "permanent: HTTP 400: bad address")


def test_a_crashing_sender_is_retried_not_fatal(engine, clock):
    row_id = put(engine, clock, "k")
    worker = OutboxWorker(engine, {"test": Recorder(failures=[KeyError("bug")])}, clock)
    assert worker.run_once() == 0
    assert "unexpected KeyError" in get(engine, row_id).last_error
    clock.set(get(engine, row_id).next_attempt_at)
    assert worker.run_once() == 1


def test_rolled_back_delivery_is_resent_after_the_lease(engine, clock):
    """The send succeeds but its transaction dies: the message goes out again, with the same key."""
    row_id = put(engine, clock, "escalate/1")
    sender = Recorder()
    crashes = [RuntimeError("power cut before commit")]

    def hook(session, row):
        row.result = {**row.result, "hooked": True}
        if crashes:
            raise crashes.pop()

    worker = OutboxWorker(engine, {"test": sender}, clock, lease_s=120, on_delivered=hook)
    assert worker.run_once() == 0
    row = get(engine, row_id)
    assert (row.status, row.attempts) == ("pending", 1)  # nothing of the delivery was recorded
    assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=120)
    assert worker.run_once() == 0 and len(sender.sent) == 1  # leased: not re-sent at once
    clock.advance(120)
    assert worker.run_once() == 1
    row = get(engine, row_id)
    assert (row.status, row.attempts, row.result) == ("delivered", 2, {"ok": row_id, "hooked": True})
    keys = [m.idempotency_key for m in sender.sent]
    assert keys == ["escalate/1", "escalate/1"]  # delivered twice; the receiver drops the repeat by key
    assert len(set(keys)) == 1


CRASHING_WORKER = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    from dispatch.db import make_engine
    from dispatch.outbox import OutboxWorker
    from frontage.clock import ManualClock

    class Sender:
        channel = "test"
        def send(self, message):
            with open(sys.argv[2], "a") as f:
                f.write(message.idempotency_key + "\\n")
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9 between the send and its commit

    clock = ManualClock(dt.datetime.fromisoformat(sys.argv[3]))
    OutboxWorker(make_engine(sys.argv[1]), {"test": Sender()}, clock, lease_s=60).run_once()
    """
)


def test_kill_9_between_send_and_commit_resends(engine, clock, tmp_path):
    row_id = put(engine, clock, "remind/7/webhook")
    received = tmp_path / "received.txt"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_WORKER,
            engine.url.render_as_string(hide_password=False),
            str(received),
            clock.now().isoformat(),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert received.read_text().split() == ["remind/7/webhook"]
    row = get(engine, row_id)
    assert (row.status, row.attempts) == ("pending", 1)

    sender = Recorder()
    worker = OutboxWorker(engine, {"test": sender}, clock)
    clock.advance(59)
    assert worker.run_once() == 0
    clock.advance(1)
    assert worker.run_once() == 1
    assert [m.idempotency_key for m in sender.sent] == ["remind/7/webhook"]
    assert get(engine, row_id).status == "delivered"


def test_concurrent_workers_never_both_claim_a_row(engine, clock):
    for i in range(120):
        put(engine, clock, f"k{i}")
    senders = [Recorder() for _ in range(4)]
    errors: list[BaseException] = []

    def work(sender: Recorder) -> None:
        try:
            worker = OutboxWorker(engine, {"test": sender}, clock)
            while worker.run_once(limit=5):
                pass
        except BaseException as e:  # surfaced below: a thread's exception would vanish
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    ids = [m.id for s in senders for m in s.sent]
    assert len(ids) == len(set(ids)) == 120


def test_a_message_that_keeps_crashing_the_worker_dies_at_max_attempts(engine, clock):
    """Each crash leaves an attempt claimed but unrecorded; max_attempts still ends the loop."""
    row_id = put(engine, clock, "poison")

    def crash(session, row):
        raise RuntimeError("process died")

    sender = Recorder()
    worker = OutboxWorker(engine, {"test": sender}, clock, max_attempts=2, lease_s=10, on_delivered=crash)
    for _ in range(4):
        worker.run_once()
        clock.advance(10)
    row = get(engine, row_id)
    assert (row.status, row.attempts, len(sender.sent)) == ("dead", 2, 2)
    assert "without a recorded outcome" in row.last_error


def test_next_due_is_none_on_an_empty_outbox(engine):
    assert next_due(engine) is None


def test_manual_clock_is_the_only_time(engine):
    """Replaying days of retries takes no wall time: every due time comes from the injected clock."""
    clock = ManualClock(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    row_id = put(engine, clock, "k")
    worker = OutboxWorker(engine, {"test": Recorder(always=RetryableError("down"))}, clock, max_delay_s=7200)
    for _ in range(120):
        worker.run_once()
        clock.set(next_due(engine))
    waited = sum((dt.timedelta(seconds=backoff_delay(row_id, n, 2.0, 7200.0)) for n in range(1, 121)), dt.timedelta())
    assert clock.now() - dt.datetime(2030, 1, 1, tzinfo=dt.UTC) == waited > dt.timedelta(days=5)
    assert get(engine, row_id).attempts == 120
