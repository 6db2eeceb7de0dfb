"""`kill -9` of a running `frontage run` ten times while cars wait out their dwell and cases move.

The service runs on a simulated clock shared by every restart (street time 4x wall time) and is fed recorded
detections as a live camera, so dwell, reminders, deadlines and escalations happen while it is being killed.
Four of the kills land inside a car's dwell window, before its case opens; the rest at random. A real Open311
dispatch server (the local one) takes the escalations. Afterwards no case, transition or escalation may be lost
or duplicated, every escalation must have fired at its original deadline, and every case must have opened
within the dwell checkpoint interval of the time it opens at when nothing is killed: a restart loses no dwell.
"""

import datetime as dt
import functools
import json
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.servicelog import api_url, start_service
from dispatch.db import CaseEventRow, CaseRow, OutboxRow
from dispatch.open311_server import BackgroundServer, create_app

SPEED = 4.0
END_S = 280.0  # street seconds of recorded detections
FIX_WITHIN_S = 60.0
DWELL_S = 20.0
GRACE_S = 32.0  # street seconds: a restart (about 1-3 wall seconds, 4-12 street seconds) is well inside it
CHECKPOINT_S = 1.0  # wall seconds between dwell checkpoints
T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
SHOPS = {  # shop -> (box, first second present, last second present)
    "shop-a": ((20, 40, 180, 190), 5, 280),
    "shop-b": ((220, 40, 380, 190), 45, 110),
    "shop-c": ((420, 40, 580, 190), 85, 125),
    "shop-d": ((620, 40, 780, 190), 150, 280),
    "shop-e": ((820, 40, 980, 190), 200, 210),  # a short stop: never a case
}
IN_DWELL = (16.0, 56.0, 96.0, 161.0)  # street seconds: in the middle of the dwell windows of shop-a, -b, -c, -d
# Nobody can see a car arrive while the process is down: no kill in the 20 street seconds before an arrival
# (a restart takes 1-3 wall seconds), so every car's dwell is one the service could have seen begin.
ARRIVALS = sorted(first for _, first, _ in SHOPS.values())


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
                "classes": ["car"], "dwell_s": DWELL_S, "entry_debounce_s": 1, "exit_grace_s": GRACE_S,
                "repeat_window_s": 0, "deadline": {"remind_after_s": 0, "fix_within_s": FIX_WITHIN_S},
            },
            "out_of_store_trading": {"classes": ["chair"], "dwell_s": 60},
        },
        "dispatch": {"reminder_channels": ["log"], "open311_url": city_url, "poll_interval_s": 5},
        "dwell_checkpoint_s": CHECKPOINT_S,
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
    sim = ["--sim-start", T0.isoformat(), "--sim-anchor", str(anchor), "--sim-speed", str(SPEED)]
    return start_service(cfg, db, cfg.parent / "snaps", log, extra=sim)


@pytest.mark.timeout(300)
def test_kill_minus_9_ten_times_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(20261128)
    db = f"sqlite:///{tmp_path / 'frontage.db'}"
    with BackgroundServer(create_app(str(tmp_path / "city.db"))) as city:
        cfg = config(tmp_path, city.url)
        anchor = time.time() + 5.0  # street time T0 five wall seconds from now: the first start is done by then
        end_wall = anchor + END_S / SPEED
        kills = [anchor + t / SPEED for t in IN_DWELL]
        while len(kills) < 10:  # six more at random, at least 3 s from any other, so every restart gets to work
            street = rng.uniform(0, END_S - 32)
            k = anchor + street / SPEED
            if all(abs(k - other) >= 3.0 for other in kills) and not any(0 <= a - street <= 20 for a in ARRIVALS):
                kills.append(k)
        kills.sort()
        closed_a = False
        with (tmp_path / "service.log").open("w") as log:
            proc = start(cfg, db, anchor, log)
            for k in kills:
                while time.time() < k:
                    closed_a = closed_a or _close_request_of(city.url, db, "shop-a")
                    time.sleep(0.25)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc = start(cfg, db, anchor, log)
            while time.time() < end_wall + 20 / SPEED:  # let the last due times and polls pass
                closed_a = closed_a or _close_request_of(city.url, db, "shop-a")
                time.sleep(0.25)
            time.sleep(6 * 4 / SPEED)  # one more poll interval for shop-a's closure
            api = api_url(tmp_path / "service.log")
            assert httpx.get(f"{api}/healthz").status_code == 200  # the running service serves its API
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        requests = httpx.get(f"{city.url}/requests.json").json()

    log_text = (tmp_path / "service.log").read_text()
    assert log_text.count("restored") >= 5, "restarts must take open violations back from the store"
    dwell_restores = re.findall(r"restored the dwell of ([1-9]\d*) object", log_text)
    assert len(dwell_restores) >= 4, "kills inside dwell windows must hand the dwell back"
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

    # A restart loses no dwell: each case opens within the checkpoint interval of its undisturbed opening time.
    for shop, case in cases.items():
        undisturbed = T0 + dt.timedelta(seconds=SHOPS[shop][1] + DWELL_S)
        assert abs((case.opened_at - undisturbed).total_seconds()) <= CHECKPOINT_S * SPEED, (shop, case.opened_at)

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


@functools.cache
def _engine(db: str):
    return create_engine(db)


def _close_request_of(city: str, db: str, shop: str) -> bool:
    """Play the city: close the service request of `shop`'s case once it exists."""
    try:
        with Session(_engine(db)) as s:
            srid = s.scalar(select(CaseRow.service_request_id).where(CaseRow.shop_id == shop))
    except Exception:  # the store may not exist yet
        return False
    if not srid:
        return False
    httpx.post(f"{city}/requests/{srid}/close", data={"status_notes": "inspectors cleared it"})
    return True
