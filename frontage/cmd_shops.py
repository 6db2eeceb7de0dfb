"""`frontage shops import|list`: load the city's shop ledger into the register, and look shops up in it.

The column names the import accepts (English and the ledger's Chinese) are in register/importer.py."""

from __future__ import annotations

import argparse
import sys
import time

EXIT_BAD_INPUT = 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add `frontage shops` to the `frontage` parser."""
    p = sub.add_parser("shops", help="the district's shop register: import the ledger (CSV/XLSX), list shops")
    ops = p.add_subparsers(dest="shops_command", required=True, metavar="{import,list}")
    imp = ops.add_parser(
        "import",
        help="import the shop ledger (CSV or XLSX); nothing is imported if any row is bad",
        description="Import the city's shop ledger into the register, idempotent by shop id. Every bad row is "
        "reported with its line and reason, and then nothing is imported (exit status 2).",
    )
    imp.add_argument("file", help="the ledger: FILE.csv (UTF-8) or FILE.xlsx, English or Chinese column names")
    imp.add_argument("--db", required=True, help="SQLAlchemy URL of the district store (PostgreSQL or SQLite)")
    imp.add_argument("--actor", default="import", help="who imports, for each shop's history (default: import)")
    imp.add_argument("--max-errors", type=int, default=50, help="bad rows to print at most (default 50)")
    imp.set_defaults(func=cmd_import)
    ls = ops.add_parser("list", help="list or search the register's shops")
    ls.add_argument("--db", required=True, help="SQLAlchemy URL of the district store")
    ls.add_argument("--q", default="", help="text in the id, name, address or party name (any case)")
    ls.add_argument("--street", default="", help="only this street (街道)")
    ls.add_argument("--community", default="", help="only this community (社区)")
    ls.add_argument("--limit", type=int, default=50, help="shops to print at most (default 50)")
    ls.set_defaults(func=cmd_list)


def cmd_import(a: argparse.Namespace) -> int:
    from dispatch.db import make_engine
    from frontage.clock import SystemClock
    from register.importer import LedgerError, import_ledger

    engine = make_engine(a.db)
    t0 = time.perf_counter()
    try:
        ledger, counts = import_ledger(engine, a.file, a.actor, SystemClock().now())
    except LedgerError as exc:
        print(exc.report(cap=max(1, a.max_errors)), file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()
    took = time.perf_counter() - t0
    print(f"{a.file}: {len(ledger.records)} shops in {took:.2f} s: {counts.created} created, {counts.updated} "
          f"updated, {counts.unchanged} unchanged")  # fmt: skip
    return 0


def cmd_list(a: argparse.Namespace) -> int:
    from dispatch.db import make_engine
    from register.shops import search

    engine = make_engine(a.db)
    try:
        total, rows = search(engine, a.q, a.street, a.community, limit=max(0, a.limit))
    finally:
        engine.dispose()
    for r in rows:
        print("\t".join((r.id, r.name, r.street, r.community, r.address, r.party_name)))
    print(f"{len(rows)} of {total} shops", file=sys.stderr)
    return 0
