"""How long printing a district's signboards takes: `frontage signboards` for N shops, timed in parts.

    python -m bench.signboards [--shops 1000] [--per-page 1] [--db URL] [--out signboards.pdf]

It fills a fresh store (SQLite in a temporary folder unless --db names one) with N shops, then times reading
the shops and signing their codes, and drawing and writing the PDF, and prints both and the file's size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from dispatch.db import make_engine
from frontage.config import parse_config
from register.db import ShopRow
from register.signboard_pdf import render_pdf, signboards_for

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def fill(engine, n: int) -> None:
    rows = [
        dict(id=f"shop-{i:05d}", name=f"老王面馆 第{i}号店", address=f"解放路{i}号", street=f"街道{i % 12}",
             community=f"社区{i % 40}", lat=None, lon=None, party_id=f"party-{i // 2}", party_name="王氏餐饮",
             party_kind="merchant", contact_person="王建国", contact_phone="13800000000",
             duties=["sanitation", "order", "greenery"], signboard_generation=0, created_at=T0, updated_at=T0)
        for i in range(n)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(ShopRow), rows)


def _cpu() -> float:
    """CPU seconds of this process and its finished workers: the number the machine's load does not change."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shops", type=int, default=1000)
    p.add_argument("--per-page", type=int, choices=(1, 4), default=1)
    p.add_argument("--db", help="SQLAlchemy URL of an empty store (default: SQLite in a temporary folder)")
    p.add_argument("--out", help="keep the PDF here (default: a temporary file)")
    a = p.parse_args(argv)
    cfg = parse_config({"district": {"public_url": "https://shops.example.cn", "name": "示范区"}})
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(a.db or f"sqlite:///{Path(tmp) / 'bench.db'}")
        fill(engine, a.shops)
        out = Path(a.out) if a.out else Path(tmp) / "signboards.pdf"
        t0, cpu0 = time.perf_counter(), _cpu()
        boards = signboards_for(engine, cfg)
        t1 = time.perf_counter()
        render_pdf(boards, out, per_page=a.per_page)
        t2, cpu2 = time.perf_counter(), _cpu()
        size = out.stat().st_size
        engine.dispose()
    print(f"{len(boards)} signboards, {a.per_page} per page, {engine.url.drivername}: read and sign {t1 - t0:.2f} s, "
          f"draw and write {t2 - t1:.2f} s, total {t2 - t0:.2f} s wall, {cpu2 - cpu0:.2f} s CPU (workers included) "
          f"on {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {size / 1e6:.1f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
