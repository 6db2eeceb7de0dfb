"""More cases for the insights tests, on top of the API tests' district world (tests/api/conftest.py): cases on
other days, one across midnight UTC, one fixed after an hour, at ground points away from the seeded ones, one on a
camera the config does not describe (cam3: no frame size, no snapshot); and
positions and credit standings for the shops, so the district map has three shops in three colours.

The world's cases open on 2026-03-02 at 16:00 in Shanghai (08:00 UTC). With these, the confirmed cases per LOCAL
day are 02-27: 1, 02-28: 1, 03-01: 2, 03-02: 8; by UTC day 03-01 would have 3 (x3 opens at 17:00 UTC on 03-01,
01:00 on 03-02 in Shanghai).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from dispatch.cases import CaseRecorder
from dispatch.workflow import Workflow
from frontage.clock import ManualClock
from frontage.config import RuleKind
from register.db import CreditScoreRow, ShopRow
from register.shops import shop_lookup
from tests.api.conftest import CFG, POLYGONS, T0
from zones.dwell import EventType, ViolationEvent

UTC = dt.UTC
P, G = RuleKind.illegal_parking, RuleKind.out_of_store_trading
# name: (shop, camera, kind, class, opened at (UTC), box, fixed after seconds or None); in time order
EXTRA = {
    "x1": ("shop-a", "cam1", P, "car", dt.datetime(2026, 2, 27, 2, 0, tzinfo=UTC), (440, 150, 560, 250), None),
    "x2": ("shop-a", "cam1", G, "chair", dt.datetime(2026, 2, 28, 3, 0, tzinfo=UTC), (430, 160, 570, 250), 3600),
    "x5": ("shop-b", "cam3", P, "car", dt.datetime(2026, 3, 1, 2, 0, tzinfo=UTC), (600, 300, 700, 400), None),
    "x4": ("shop-b", "cam2", P, "car", dt.datetime(2026, 3, 1, 15, 30, tzinfo=UTC), (400, 200, 520, 300), None),
    "x3": ("shop-a", "cam1", P, "car", dt.datetime(2026, 3, 1, 17, 0, tzinfo=UTC), (200, 100, 260, 180), None),
}
HEAT_POINTS = {(500.0, 250.0), (230.0, 180.0), (120.0, 330.0)}  # cam1's ground points (the seeded ones: 120, 330)
# Where the shops stand, and their parties' standing: three shops, three colours either way.
PLACES = {"shop-a": (51.9600, 7.6300), "shop-b": (51.9630, 7.6360), "shop-r": (51.9575, 7.6265)}
CREDIT = {"shop-b": (112.0, "red"), "party-r": (70.0, "black")}  # shop-a keeps its computed score (below base)


def seed_cases(world) -> dict[str, int]:
    """The EXTRA cases, opened on their own clock (the world's stands after them), without snapshots."""
    clock = ManualClock(dt.datetime(2026, 2, 26, tzinfo=UTC))
    wf = Workflow(world.engine, CFG, clock, shops=shop_lookup(world.engine))
    rec = CaseRecorder(world.engine, world.root / "extra-snapshots", POLYGONS, workflow=wf)
    ids = {}
    for name, (shop, cam, kind, cls, at, box, fixed_after) in EXTRA.items():
        clock.set(at)
        t = (at - T0).total_seconds()
        key = f"extra/{name}"
        ids[name] = rec.handle(ViolationEvent(EventType.opened, key, cam, shop, kind, cls, t - 30, t, box, 30.0,
                                              opened_t=t), T0, None)  # fmt: skip
        if fixed_after is not None:
            clock.advance(fixed_after)
            gone = ViolationEvent(EventType.cleared, key, cam, shop, kind, cls, t - 30, t + fixed_after, box,
                                  fixed_after, opened_t=t, cleared_t=t + fixed_after - 5)  # fmt: skip
            rec.handle(gone, T0, None)
    return ids


def place_shops(world) -> None:
    with Session(world.engine) as s, s.begin():
        for shop_id, (lat, lon) in PLACES.items():
            s.execute(update(ShopRow).where(ShopRow.id == shop_id).values(lat=lat, lon=lon))
        for party, (score, standing) in CREDIT.items():
            scored = update(CreditScoreRow).where(CreditScoreRow.party_id == party)
            s.execute(scored.values(score=score, standing=standing))
