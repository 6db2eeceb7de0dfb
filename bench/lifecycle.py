"""Lifecycle engine benchmarks, SQLite and PostgreSQL side by side in one run (medians of repeats).

    python bench/lifecycle.py [--cases 1000] [--repeats 3] [--latency-cases 40]

1. Throughput: N cases through their whole life on an injected clock: opened by the camera (ledger +
   due time), reminded (ledger + outbox message), then half resolved by the camera and half escalated at their
   deadline (ledger + outbox). Reported as cases per second, each case counting its three moves.
2. Deadline -> dispatch latency: cases whose deadlines fall due over a few seconds of real time, a dispatch
   loop stepping as in `frontage run`, and the real local Open311 server over HTTP. Reported: from each
   deadline to the moment the server stored the service request, median and maximum.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from bench.pgserver import throwaway_postgres
from dispatch.cases import CaseRecorder
from dispatch.db import CaseRow, make_engine
from dispatch.loop import DispatchLoop
from dispatch.notify import LogSender
from dispatch.open311 import Open311Sender
from dispatch.open311_server import BackgroundServer, create_app
from dispatch.workflow import Workflow
from frontage.clock import ManualClock, SystemClock
from frontage.config import RuleKind, parse_config
from zones.dwell import EventType, ViolationEvent

T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)


def config(n_shops: int, fix_within_s: float, open311_url: str = "http://127.0.0.1:9") -> object:
    shops = [
        {"id": f"s{i}", "name": f"Shop {i}", "address": f"{i} Main St", "responsible": {"name": f"Owner {i}"},
         "frontages": [{"camera_id": "cam1", "polygon": [[0, 0], [10, 0], [10, 10]], "allow_overlap": True}]}
        for i in range(n_shops)
    ]  # fmt: skip
    return parse_config({
        "cameras": [{"id": "cam1"}],
        "shops": shops,
        "rules": {
            "illegal_parking": {"classes": ["car"], "dwell_s": 10, "repeat_window_s": 0,
                                "deadline": {"remind_after_s": 0, "fix_within_s": fix_within_s}},
            "out_of_store_trading": {"classes": ["chair"], "dwell_s": 10},
        },
        "dispatch": {"reminder_channels": ["log"], "open311_url": open311_url, "poll_interval_s": 3600},
    })  # fmt: skip


def event(kind: EventType, i: int, t: float) -> ViolationEvent:
    cleared = t if kind is EventType.cleared else None
    return ViolationEvent(
        kind, f"bench/{i}", "cam1", f"s{i}", RuleKind.illegal_parking, "car", 0.0, t, (1, 1, 5, 5), t, 10.0, cleared
    )


def throughput(url: str, n: int) -> float:
    cfg = config(n, fix_within_s=100)
    engine = make_engine(url)
    clock = ManualClock(T0)
    wf = Workflow(engine, cfg, clock)
    rec = CaseRecorder(engine, Path(tempfile.mkdtemp()), {}, workflow=wf)
    t_start = time.perf_counter()
    for i in range(n):
        rec.handle(event(EventType.opened, i, 10.0), T0, None)
    clock.set(T0 + dt.timedelta(seconds=10))
    wf.tick()  # reminders
    for i in range(0, n, 2):
        rec.handle(event(EventType.cleared, i, 50.0), T0, None)  # half resolved by the camera
    clock.set(T0 + dt.timedelta(seconds=110))
    wf.tick()  # the other half escalate
    elapsed = time.perf_counter() - t_start
    with Session(engine) as s:
        states = dict(s.execute(text("SELECT state, count(*) FROM cases GROUP BY state")).all())
    assert states == {"resolved": (n + 1) // 2, "escalated": n // 2}, states
    engine.dispose()
    return n / elapsed


def latency(url: str, n: int) -> list[float]:
    """Seconds from each deadline to the dispatch server storing its request (real clock, real HTTP)."""
    with BackgroundServer(create_app(None)) as city:
        cfg = config(n, fix_within_s=2.0, open311_url=city.url)
        engine = make_engine(url)
        clock = SystemClock()
        wf = Workflow(engine, cfg, clock)
        rec = CaseRecorder(engine, Path(tempfile.mkdtemp()), {}, workflow=wf)
        start = clock.now() + dt.timedelta(seconds=0.5)
        for i in range(n):  # deadlines spread over about four seconds
            rec.handle(event(EventType.opened, i, 10.0 + i * 4.0 / n), start - dt.timedelta(seconds=10), None)
        loop = DispatchLoop(engine, cfg, clock, wf, senders={"log": LogSender(), "open311": Open311Sender(city.url)})
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                loop.step()
                stop.wait(0.2)  # the service's dispatch thread steps every 0.2 s

        th = threading.Thread(target=run, daemon=True)
        th.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            with Session(engine) as s:
                done = s.scalar(
                    select(text("count(*)")).select_from(CaseRow).where(CaseRow.service_request_id.is_not(None))
                )
            if done == n:
                break
            time.sleep(0.2)
        stop.set()
        th.join()
        with Session(engine) as s:
            due = {}
            for c in s.scalars(select(CaseRow)):
                esc = [e for e in wf_ledger(s, c.id) if e[0] == "escalated"]
                due[c.service_request_id] = esc[0][1]
        out = []
        for req in city.app.state.store.list(None, None):
            out.append((req["requested_datetime"] - due[str(req["id"])]).total_seconds())
        engine.dispose()
        return out


def wf_ledger(s: Session, case_id: int) -> list[tuple[str, dt.datetime]]:
    from dispatch.db import CaseEventRow

    rows = s.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id))
    return [(r.to_state, r.at) for r in rows]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--latency-cases", type=int, default=40)
    a = p.parse_args()
    with throwaway_postgres() as pg:
        admin = create_engine(f"{pg}/postgres", isolation_level="AUTOCOMMIT")

        def fresh(kind: str) -> str:
            if kind == "sqlite":
                return f"sqlite:///{tempfile.mkdtemp()}/bench.db"
            name = f"b_{uuid.uuid4().hex[:10]}"
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            return f"{pg}/{name}"

        rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
        for _ in range(a.repeats):  # interleaved, so both see the same machine noise
            for kind in rates:
                rates[kind].append(throughput(fresh(kind), a.cases))
        print(f"lifecycle throughput, {a.cases} cases x 3 moves each, median of {a.repeats}:")
        for kind, vals in rates.items():
            print(
                f"  {kind:<11} {statistics.median(vals):8.0f} cases/s   (runs: {', '.join(f'{v:.0f}' for v in vals)})"
            )
        ratio = statistics.median(rates["sqlite"]) / statistics.median(rates["postgresql"])
        print(f"  ratio sqlite/postgresql: {ratio:.2f}")
        print(f"deadline -> dispatch server holding the request, {a.latency_cases} cases, real HTTP:")
        for kind in rates:
            lat = latency(fresh(kind), a.latency_cases)
            med, worst = statistics.median(lat) * 1000, max(lat) * 1000
            print(f"  {kind:<11} median {med:6.0f} ms   max {worst:6.0f} ms   (n={len(lat)})")
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
