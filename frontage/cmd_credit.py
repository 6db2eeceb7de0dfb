"""`frontage credit recompute|explain` and `frontage report`: credit scores, red/black lists and the monthly
report from the command line, against any store (`--db`)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def _cfg(path: str | None):
    from frontage.config import load_config, parse_config

    return load_config(path) if path else parse_config({}, "<defaults>")


def _at(value: dt.datetime | None) -> dt.datetime:
    return value or dt.datetime.now(dt.UTC)


def _time(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r} (e.g. 2026-12-01T08:00:00+08:00)") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} needs a UTC offset (Z or +08:00)")
    return when.astimezone(dt.UTC)


def cmd_recompute(a: argparse.Namespace) -> int:
    from dispatch.db import make_engine
    from register.lists import recompute

    cfg = _cfg(a.config)
    engine = make_engine(a.db)
    try:
        summary = recompute(engine, cfg, _at(a.at))
    finally:
        engine.dispose()
    print(f"credit recomputed: {summary}")
    return 0


def cmd_explain(a: argparse.Namespace) -> int:
    from dispatch.db import make_engine
    from register.credit import standing
    from register.lists import explain

    cfg = _cfg(a.config)
    engine = make_engine(a.db)
    try:
        s = explain(engine, cfg, a.party, _at(a.at))
    finally:
        engine.dispose()
    credit = cfg.district.credit
    print(f"party {s.party_id}: score {s.score:g} ({standing(s.score, credit)}; red at {credit.red_at:g}, "
          f"black at {credit.black_at:g}, base {credit.base:g}, last {credit.window_days} days)")  # fmt: skip
    for c in s.contributions:
        ref = f"case {c.case_id}" if c.case_id is not None else f"inspection {c.inspection_id}"
        print(f"  {c.at.isoformat(timespec='minutes')}  {c.points:+7.2f}  {c.kind:<20} {ref:<16} {c.note}")
    if not s.contributions:
        print("  nothing in the window")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from dispatch.db import make_engine
    from register.monthly import build_report, month_bounds, report_csv, report_pdf

    out = Path(a.out)
    kind = out.suffix.lower()
    if kind not in (".csv", ".pdf"):
        print(f"error: --out must end in .csv or .pdf, got {out.name!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    cfg = _cfg(a.config)
    try:
        month_bounds(a.month, cfg.tz)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = make_engine(a.db)
    try:
        report = build_report(engine, cfg, a.month, a.street, _at(a.at))
    finally:
        engine.dispose()
    if kind == ".csv":
        out.write_text(report_csv(report), encoding="utf-8-sig")  # the BOM lets spreadsheet apps read Chinese
    else:
        out.write_bytes(report_pdf(report))
    st = report.stats
    rate = "—" if st.voluntary_fix_rate is None else f"{100 * st.voluntary_fix_rate:.1f}%"
    print(f"{out}: {a.month} {report.scope}: {st.confirmed} confirmed case(s), voluntary-fix rate {rate}, "
          f"{len(report.red)} red, {len(report.black)} black")  # fmt: skip
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True, help="SQLAlchemy URL of the store (sqlite:///… or postgresql+psycopg://…)")
    p.add_argument("--config", help="Config file (weights, window, thresholds, timezone); default: built-in defaults")
    p.add_argument("--at", type=_time, help="Compute as of this time (ISO 8601 with offset; default: now)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the `frontage` parser."""
    c = sub.add_parser("credit", help="Credit scores and red/black lists")
    csub = c.add_subparsers(dest="credit_command", required=True)
    r = csub.add_parser("recompute", help="Recompute every party's score and list standing")
    _common(r)
    r.set_defaults(func=cmd_recompute)
    e = csub.add_parser("explain", help="One party's score, contribution by contribution")
    e.add_argument("party", help="The responsible party's id (a shop id for a shop off the register)")
    _common(e)
    e.set_defaults(func=cmd_explain)
    m = sub.add_parser("report", help="The monthly report (voluntary-fix rate, cases, lists) as CSV or PDF")
    m.add_argument("--month", required=True, help="YYYY-MM, in the config's timezone")
    m.add_argument("--street", help="Only this street (default: the whole district)")
    m.add_argument("--out", required=True, help="report.csv or report.pdf")
    _common(m)
    m.set_defaults(func=cmd_report)
