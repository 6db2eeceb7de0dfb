"""Credit recompute at district scale, SQLite and PostgreSQL side by side.

    python -m bench.credit [--parties 21728] [--events 100000] [--days 400]

Seeds a register of `--parties` responsible parties (about one in ten with a second shop) and a ledger of
`--events` events: case transitions (camera cases fixed, escalated and closed, or dismissed; citizens' reports
confirmed and fixed or left unconfirmed; inspectors' cases) and inspections, spread over `--days` days (the
default window is 365, so some have expired). All by bulk inserts. Then it times:

- recompute, the first time (every party scored, every list entry written as an event) and again (steady
  state: scores replaced, no list changes);
- explain for one party (its facts only);
- the lists (what /public/lists serves), /stats over everything, and the /metrics street tallies;
- the monthly report's data and its PDF.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.pgserver import throwaway_postgres
from dispatch.db import CaseEventRow, CaseRow, make_engine
from frontage.config import parse_config
from register.db import InspectionRow, ShopRow
from register.lists import explain, lists, recompute
from register.monthly import build_report, report_pdf
from register.stats import case_stats, street_tallies

NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
STREETS = [f"街道{i:02d} Street {i}" for i in range(12)]
H = dt.timedelta(hours=1)
# (source, kind, moves as (state, hours after opening)); chosen at random with these weights
STORIES: list[tuple[int, str, str, list[tuple[str, float]]]] = [
    (40, "camera", "illegal_parking", [("detected", 0), ("reminded", 0.1), ("resolved", 1.5)]),
    (12, "camera", "out_of_store_trading", [("detected", 0), ("reminded", 0.2), ("escalated", 24.2), ("closed", 72)]),
    (10, "camera", "illegal_parking", [("detected", 0), ("dismissed", 0.3)]),
    (15, "citizen", "litter", [("reported", 0), ("detected", 2), ("reminded", 2), ("resolved", 20)]),
    (5, "citizen", "piled_materials", [("reported", 0)]),
    (8, "inspector", "inspection_failed", [("detected", 0), ("reminded", 0), ("resolved", 30)]),
]


def seed(engine: Engine, parties: int, events: int, days: int, rng: random.Random) -> tuple[int, int, int]:
    """Bulk-insert the register and the ledger; returns (shops, cases, ledger events)."""
    shops = []
    for p in range(parties):
        for k in range(2 if p % 10 == 0 else 1):
            street = STREETS[p % len(STREETS)]
            shops.append(dict(
                id=f"shop-{p:05d}-{k}", name=f"门店 Shop {p}-{k}", address=f"{p} {street}", street=street,
                community=f"社区{p % 40}", lat=31.2 + p * 1e-6, lon=121.4, party_id=f"party-{p:05d}",
                party_name=f"Party {p}", party_kind="merchant", contact_person="张三", contact_phone="13800000000",
                duties=["sanitation", "order", "greenery"], signboard_generation=0, created_at=NOW, updated_at=NOW,
            ))  # fmt: skip
    shop_ids = [s["id"] for s in shops]
    weights = [w for w, *_ in STORIES]
    case_rows, event_rows, inspection_rows = [], [], []
    written = 0
    inspections = events // 20
    case_id = 0
    while written < events - inspections:
        _, source, kind, moves = rng.choices(STORIES, weights)[0]
        case_id += 1
        shop = rng.choice(shop_ids)
        opened = NOW - dt.timedelta(hours=rng.uniform(1, days * 24))
        linked = rng.randrange(1, case_id) if source == "camera" and case_id > 10 and rng.random() < 0.05 else None
        last = moves[-1]
        case_rows.append(dict(
            id=case_id, violation_key=f"bench/{case_id}", camera_id="cam1" if source == "camera" else "",
            shop_id=shop, kind=kind, source=source, object_class="car", state=last[0], first_seen_at=opened,
            opened_at=opened, dwell_s=60.0, box=[0, 0, 1, 1], linked_case_id=linked,
            updated_at=opened + last[1] * H, version=1,
        ))  # fmt: skip
        before = None
        for state, hours in moves:
            event_rows.append(dict(case_id=case_id, at=opened + hours * H, from_state=before, to_state=state,
                                   actor="system", reason="bench", data={}))  # fmt: skip
            before = state
        written += len(moves)
    for _ in range(inspections):
        passed = rng.random() < 0.7
        inspection_rows.append(dict(
            shop_id=rng.choice(shop_ids), inspector="bench", at=NOW - dt.timedelta(hours=rng.uniform(1, days * 24)),
            results={"order": "pass" if passed else "fail"}, passed=passed, note="", resolved=[],
        ))  # fmt: skip
    with Session(engine) as s, s.begin():
        for table, rows in ((ShopRow, shops), (CaseRow, case_rows), (CaseEventRow, event_rows),
                            (InspectionRow, inspection_rows)):  # fmt: skip
            for i in range(0, len(rows), 5000):
                s.execute(insert(table), rows[i : i + 5000])
    if engine.dialect.name == "postgresql":  # explicit ids: move the sequence on, then fresh statistics
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
            conn.execute(text("ANALYZE"))
    return len(shops), len(case_rows), len(event_rows) + len(inspection_rows)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(url: str, parties: int, events: int, days: int) -> dict[str, float | str]:
    engine = make_engine(url)
    cfg = parse_config({"district": {"name": "bench"}})
    t_seed, (n_shops, n_cases, n_events) = timed(lambda: seed(engine, parties, events, days, random.Random(7)))
    out: dict[str, float | str] = {"seed": t_seed}
    out["first recompute"], first = timed(lambda: recompute(engine, cfg, NOW))
    out["again"], again = timed(lambda: recompute(engine, cfg, NOW + H))
    with Session(engine) as s:
        busiest = s.execute(
            select(ShopRow.party_id, func.count()).join(CaseRow, CaseRow.shop_id == ShopRow.id)
            .group_by(ShopRow.party_id).order_by(func.count().desc()).limit(1)
        ).one()[0]  # fmt: skip
    out["explain one party"], _ = timed(lambda: explain(engine, cfg, busiest, NOW))
    out["lists"], _ = timed(lambda: lists(engine))

    def stats():
        with Session(engine) as s:
            return case_stats(s)

    def tallies():
        with Session(engine) as s:
            return street_tallies(s)

    out["/stats (all)"], _ = timed(stats)
    out["/metrics tallies"], _ = timed(tallies)
    out["month report"], report = timed(lambda: build_report(engine, cfg, "2026-11", None, NOW))
    out["month PDF"], _ = timed(lambda: report_pdf(report))
    out["what"] = (f"{n_shops} shops, {first.parties} parties, {n_cases} cases, {n_events} ledger events "
                   f"({first.facts} facts in the window); first run {first.red} red, {first.black} black, "
                   f"{first.events} list events; again {again.events}")  # fmt: skip
    engine.dispose()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parties", type=int, default=21728)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--days", type=int, default=400, help="the ledger's span back from now")
    a = p.parse_args()
    results: dict[str, dict[str, float | str]] = {}
    results["sqlite"] = run(f"sqlite:///{tempfile.mkdtemp()}/bench.db", a.parties, a.events, a.days)
    with throwaway_postgres() as pg:
        admin = create_engine(f"{pg}/postgres", isolation_level="AUTOCOMMIT")
        name = f"b_{uuid.uuid4().hex[:10]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        results["postgresql"] = run(f"{pg}/{name}", a.parties, a.events, a.days)
        admin.dispose()
    print(f"credit at district scale: {results['sqlite']['what']}")
    keys = [k for k in results["sqlite"] if k != "what"]
    print(f"  {'':<20} {'sqlite':>9} {'postgresql':>11}")
    for k in keys:
        print(f"  {k:<20} {results['sqlite'][k]:8.2f}s {results['postgresql'][k]:10.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
