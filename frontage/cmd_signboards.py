"""`frontage signboards`: print the district's signboards as PDF, revoke one shop's code, or rotate the key."""

from __future__ import annotations

import argparse
import sys
import time

from frontage.assets import REPO_ROOT

EXIT_BAD_INPUT = 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add `frontage signboards` to the `frontage` parser."""
    p = sub.add_parser(
        "signboards",
        help="print signboards with their QR codes as PDF; revoke a shop's code; rotate the signing key",
        description="Print the 门前三包 signboards of one shop, one street or the whole district as a PDF "
        "(--out), or void printed codes: --revoke SHOP_ID (one shop) or --rotate-key (all of them).",
    )
    p.add_argument("--db", required=True, help="SQLAlchemy URL of the district store")
    p.add_argument(
        "--config",
        default=str(REPO_ROOT / "configs" / "district.yaml"),
        help="YAML config: district name, hotline, public URL, key (default: configs/district.yaml)",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--street", help="only this street's shops (街道)")
    which.add_argument("--shop", help="only this shop")
    p.add_argument("--out", help="write the PDF here")
    p.add_argument("--per-page", type=int, choices=(1, 4), default=1, help="signboards per A4 sheet (default 1)")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--revoke", metavar="SHOP_ID", help="void this shop's printed code (print it again after)")
    act.add_argument("--rotate-key", action="store_true", help="new signing key: voids EVERY printed code")
    p.add_argument("--actor", default="cli", help="who revokes, for the shop's history (default: cli)")
    p.set_defaults(func=cmd_signboards)


def cmd_signboards(a: argparse.Namespace) -> int:
    import datetime as dt

    from dispatch.db import make_engine
    from frontage.config import load_config
    from register.signboard_pdf import render_pdf, signboards_for
    from register.signboards import SignboardError, revoke, rotate_key

    if not (a.out or a.revoke or a.rotate_key):
        print("error: say what to do: --out FILE.pdf, --revoke SHOP_ID or --rotate-key", file=sys.stderr)
        return EXIT_BAD_INPUT
    if a.out and (a.revoke or a.rotate_key):
        print("error: --out prints; --revoke and --rotate-key void codes: one at a time", file=sys.stderr)
        return EXIT_BAD_INPUT
    cfg = load_config(a.config)
    engine = make_engine(a.db)
    now = dt.datetime.now(dt.UTC)
    try:
        if a.revoke:
            generation = revoke(engine, a.revoke, a.actor, now)
            print(f"revoked the printed code of shop {a.revoke}; its new signboard is generation {generation}")
            return 0
        if a.rotate_key:
            rotate_key(engine, now, cfg)
            print("rotated the signing key: every printed code is now invalid; print the signboards again")
            return 0
        t0 = time.perf_counter()
        boards = signboards_for(engine, cfg, street=a.street, shop_id=a.shop)
        if not boards:
            where = f"street {a.street!r}" if a.street else f"shop {a.shop!r}" if a.shop else "the store"
            print(f"error: no shops in {where}", file=sys.stderr)
            return EXIT_BAD_INPUT
        n = render_pdf(boards, a.out, per_page=a.per_page)
        print(f"wrote {n} signboard(s) to {a.out} in {time.perf_counter() - t0:.2f} s")
        return 0
    except SignboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot write {a.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()
