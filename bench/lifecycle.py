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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from bench.pgserver import throwaway_postgres
from dispatch.cases import CaseRecorder
from dispatch.db import CaseEventRow, CaseRow, make_engine
from dispatch.loop import DispatchLoop
from dispatch.notify import LogSender
from dispatch.open311 import Open311Sender
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


def latency(url: str, n: int, spread_s: float) -> list[float]:
    """Seconds from each deadline to the dispatch server storing its request (real clock, real HTTP).

    The dispatch server runs as its own process, as it does in a deployment (in-process, uvicorn and the
    client share one interpreter and every request pays tens of milliseconds)."""
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    city_url = f"http://127.0.0.1:{port}"
    city = subprocess.Popen([sys.executable, "-m", "dispatch.open311_server", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            try:
                httpx.get(f"{city_url}/services.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        cfg = config(n, fix_within_s=2.0, open311_url=city_url)
        engine = make_engine(url)
        clock = SystemClock()
        wf = Workflow(engine, cfg, clock)
        rec = CaseRecorder(engine, Path(tempfile.mkdtemp()), {}, workflow=wf)
        start = clock.now() + dt.timedelta(seconds=0.5)
        for i in range(n):  # deadlines spread over `spread_s` seconds
            rec.handle(event(EventType.opened, i, 10.0 + i * spread_s / n), start - dt.timedelta(seconds=10), None)
        loop = DispatchLoop(engine, cfg, clock, wf, senders={"log": LogSender(), "open311": Open311Sender(city_url)})
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                loop.step()
                stop.wait(0.2)  # the service's dispatch thread steps every 0.2 s

        th = threading.Thread(target=run, daemon=True)
        th.start()
        give_up = time.time() + spread_s + 30
        while time.time() < give_up:
            with Session(engine) as s:
                done = s.scalar(
                    select(text("count(*)")).select_from(CaseRow).where(CaseRow.service_request_id.is_not(None))
                )
            if done == n:
                break
            time.sleep(0.5)
        stop.set()
        th.join()
        with Session(engine) as s:
            due = {c.service_request_id: c.escalated_at for c in escalations(s)}
        reqs = httpx.get(f"{city_url}/requests.json").json()
        engine.dispose()
        return [(dt.datetime.fromisoformat(r["requested_datetime"]) - due[r["service_request_id"]]).total_seconds()
                for r in reqs]  # fmt: skip
    finally:
        city.terminate()
        city.wait(timeout=10)


@dataclass
class Escalation:
    service_request_id: str
    escalated_at: dt.datetime  # the deadline: the ledger's escalation entry is stamped with the due time


def escalations(s: Session) -> list[Escalation]:
    q = select(CaseRow.service_request_id, CaseEventRow.at).join(CaseEventRow, CaseEventRow.case_id == CaseRow.id)
    q = q.where(CaseEventRow.to_state == "escalated", CaseEventRow.from_state != "escalated")
    return [Escalation(srid, at) for srid, at in s.execute(q).all()]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--latency-cases", type=int, default=40)
    p.add_argument("--latency-spread", type=float, default=10.0, help="seconds over which the deadlines fall")
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
        print(f"deadline -> dispatch server holding the request, {a.latency_cases} deadlines over "
              f"{a.latency_spread:.0f} s, real HTTP to the local dispatch server:")  # fmt: skip
        for kind in rates:
            lat = latency(fresh(kind), a.latency_cases, a.latency_spread)
            med, worst = statistics.median(lat) * 1000, max(lat) * 1000
            print(f"  {kind:<11} median {med:6.0f} ms   max {worst:6.0f} ms   (n={len(lat)})")
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
