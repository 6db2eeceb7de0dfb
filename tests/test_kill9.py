"""`kill -9` of a running `frontage run` at random points while cases move, ten times over.

The service runs on a simulated clock shared by every restart (street time 4x wall time) and is fed recorded
detections as a live camera, so reminders, deadlines and escalations happen while it is being killed. A real
Open311 dispatch server (the local one) takes the escalations. Afterwards no case, transition or escalation
may be lost or duplicated, and every escalation must have fired at its original deadline.
"""

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.servicelog import api_url
from dispatch.db import CaseEventRow, CaseRow, OutboxRow
from dispatch.open311_server import BackgroundServer, create_app

SPEED = 4.0
END_S = 240.0  # street seconds of recorded detections
FIX_WITHIN_S = 60.0
T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
SHOPS = {  # shop -> (box, first second present, last second present)
    "shop-a": ((20, 40, 180, 190), 5, 240),
    "shop-b": ((220, 40, 380, 190), 20, 110),
    "shop-c": ((420, 40, 580, 190), 50, 65),
    "shop-d": ((620, 40, 780, 190), 120, 240),
    "shop-e": ((820, 40, 980, 190), 150, 152),  # a short stop: never a case
}


def config(tmp: Path, city_url: str) -> Path:
    shops = []
    for i, shop in enumerate(SHOPS):
        x = 200 * i
        shops.append({
            "id": shop, "name": shop.title(), "address": f"{i + 1} Frontage Street",
            "responsible": {"name": f"Owner of {shop}"},
            "frontages": [{"camera_id": "cam1", "polygon": [[x, 100], [x + 200, 100], [x + 200, 300], [x, 300]]}],
        })  # fmt: skip
    cfg = {
        "cameras": [{"id": "cam1", "source": "feed.jsonl", "width": 1280, "height": 720}],
        "shops": shops,
        "rules": {
            "illegal_parking": {
                "classes": ["car"], "dwell_s": 5, "entry_debounce_s": 1, "exit_grace_s": 10, "repeat_window_s": 0,
                "deadline": {"remind_after_s": 0, "fix_within_s": FIX_WITHIN_S},
            },
            "out_of_store_trading": {"classes": ["chair"], "dwell_s": 60},
        },
        "dispatch": {"reminder_channels": ["log"], "open311_url": city_url, "poll_interval_s": 5},
    }  # fmt: skip
    feed = []
    for i in range(int(END_S) + 1):
        dets = [{"cls": "car", "conf": 0.9, "xyxy": list(b)} for b, a, z in SHOPS.values() if a <= i <= z]
        feed.append(json.dumps({"t": float(i), "camera_id": "cam1", "detections": dets}))
    (tmp / "feed.jsonl").write_text("\n".join(feed) + "\n")
    path = tmp / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start(cfg: Path, db: str, anchor: float, log) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "frontage", "-v", "run", "--config", str(cfg), "--db", db]
    cmd += ["--snapshots", str(cfg.parent / "snaps"), "--sim-start", T0.isoformat(), "--sim-anchor", str(anchor)]
    cmd += ["--sim-speed", str(SPEED), "--api-port", "0"]
    return subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.timeout(300)
def test_kill_minus_9_ten_times_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(20261128)
    db = f"sqlite:///{tmp_path / 'frontage.db'}"
    with BackgroundServer(create_app(str(tmp_path / "city.db"))) as city:
        cfg = config(tmp_path, city.url)
        anchor = time.time() + 2.0  # street time T0 two wall seconds from now
        end_wall = anchor + END_S / SPEED
        kills = sorted(anchor + rng.uniform(0, END_S / SPEED - 8) for _ in range(10))
        for i in range(1, len(kills)):  # at least 3 s between kills, so every restart gets to work
            kills[i] = max(kills[i], kills[i - 1] + 3.0)
        closed_a = False
        with (tmp_path / "service.log").open("w") as log:
            proc = start(cfg, db, anchor, log)
            for k in kills:
                while time.time() < k:
                    closed_a = closed_a or _close_request_of(city.url, db, "shop-a")
                    time.sleep(0.1)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc = start(cfg, db, anchor, log)
            while time.time() < end_wall + 20 / SPEED:  # let the last due times and polls pass
                closed_a = closed_a or _close_request_of(city.url, db, "shop-a")
                time.sleep(0.1)
            time.sleep(6 * 4 / SPEED)  # one more poll interval for shop-a's closure
            api = api_url(tmp_path / "service.log")
            assert httpx.get(f"{api}/healthz").status_code == 200  # the running service serves its API
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        requests = httpx.get(f"{city.url}/requests.json").json()

    log_text = (tmp_path / "service.log").read_text()
    assert log_text.count("restored") >= 5, "restarts must take open violations back from the store"
    engine = create_engine(db)
    with Session(engine) as s:
        cases = {c.shop_id: c for c in s.scalars(select(CaseRow))}
        all_cases = s.scalars(select(CaseRow)).all()
        events = s.scalars(select(CaseEventRow).order_by(CaseEventRow.id)).all()
        ledgers = {c.id: [e for e in events if e.case_id == c.id] for c in all_cases}
        outbox = s.scalars(select(OutboxRow)).all()

    # One case per parked car: none lost, none duplicated; the short stop opened none.
    assert sorted(c.shop_id for c in all_cases) == ["shop-a", "shop-b", "shop-c", "shop-d"], log_text[-3000:]
    assert closed_a, "the test could close shop-a's service request on the dispatch server"
    assert {k: c.state for k, c in cases.items()} == {
        "shop-a": "closed", "shop-b": "escalated", "shop-c": "resolved", "shop-d": "escalated"
    }  # fmt: skip

    # Every ledger is one unbroken chain with no repeated move.
    for case_id, events in ledgers.items():
        moves = [(e.from_state, e.to_state) for e in events if e.from_state != e.to_state]
        assert moves[0] == (None, "detected")
        assert all(a[1] == b[0] for a, b in zip(moves, moves[1:], strict=False)), moves
        assert len(moves) == len(set(moves)), f"case {case_id} repeated a move: {moves}"

    # Exactly one service request per escalated case, and the case holds its id.
    escalated = [c for c in all_cases if c.state in ("escalated", "closed")]
    assert len(requests) == len(escalated) == 3
    assert sorted(c.service_request_id for c in escalated) == sorted(r["service_request_id"] for r in requests)

    # Deadlines kept their times across the restarts: escalation exactly fix_within_s after the reminder.
    for c in escalated:
        at = {e.to_state: e.at for e in ledgers[c.id] if e.from_state != e.to_state}
        assert at["escalated"] - at["reminded"] == dt.timedelta(seconds=FIX_WITHIN_S)

    # Nothing left undelivered; one escalation message per escalated case.
    assert {o.status for o in outbox} == {"delivered"}
    assert sorted(o.case_id for o in outbox if o.channel == "open311") == sorted(c.id for c in escalated)


def _close_request_of(city: str, db: str, shop: str) -> bool:
    """Play the city: close the service request of `shop`'s case once it exists."""
    try:
        with Session(create_engine(db)) as s:
            srid = s.scalar(select(CaseRow.service_request_id).where(CaseRow.shop_id == shop))
    except Exception:  # the store may not exist yet
        return False
    if not srid:
        return False
    httpx.post(f"{city}/requests/{srid}/close", data={"status_notes": "inspectors cleared it"})
    return True
