"""The monthly report: month bounds in the config's timezone, the numbers on a seeded ledger (the voluntary-fix
rate known by hand), per street, the CSV with formula cells defused, and a PDF that pypdfium2 opens; the same
through `frontage report` and `frontage credit`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
from sqlalchemy.orm import Session

from dispatch.db import make_engine
from frontage.cli import main
from frontage.config import parse_config
from register.lists import recompute
from register.monthly import build_report, month_bounds, report_csv, report_pdf, safe_cell
from tests.register.credit_seed import P1_NOW, T0, H, add_case, add_shop, seed_party_p1

CFG = parse_config({"district": {"name": "Huangpu"}})  # timezone Asia/Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with Session(eng) as s, s.begin():
        seed_party_p1(s)  # Nanjing Rd: 4 confirmed, 3 fixed before escalation (2 h, 5 h, 100 h), 1 escalated
        add_shop(s, "f1", "=HYPERLINK(\"http://evil\")", street="Fuxing Rd", name="@SUM(A1:A9)",
                 party_name="-2+3")  # fmt: skip
        add_case(s, "f1", [("detected", T0), ("reminded", T0), ("escalated", T0 + 30 * H)], kind="out_of_store_trading")
        # the month's edges in Shanghai: 30 Nov 23:30 local is November, 1 Dec 00:10 local is not
        last = dt.datetime(2026, 11, 30, 23, 30, tzinfo=SHANGHAI)
        add_case(s, "f1", [("detected", last), ("resolved", last + H / 2)], kind="litter", source="inspector")
        add_case(s, "f1", [("detected", dt.datetime(2026, 12, 1, 0, 10, tzinfo=SHANGHAI))])
        # October 31 at 23:00 in Shanghai is 15:00 UTC: not November
        add_case(s, "f1", [("detected", dt.datetime(2026, 10, 31, 23, 0, tzinfo=SHANGHAI))])
    recompute(eng, CFG, P1_NOW)  # p1 scores 62.25 (black); the Fuxing Rd party 100 - 4 - 12 = 84 (none)
    yield eng
    eng.dispose()


def test_month_bounds_follow_the_timezone():
    assert month_bounds("2026-11", SHANGHAI) == (
        dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC), dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC)
    )
    assert month_bounds("2026-12", ZoneInfo("UTC")) == (
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    )
    for bad in ("2026-13", "2026-1", "26-11", "2026-11-01", "", "9999-12", "1969-12", "0001-01", "abcd-ef"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            month_bounds(bad, SHANGHAI)


def test_district_numbers(engine):
    r = build_report(engine, CFG, "2026-11", None, P1_NOW)
    st = r.stats
    # Nanjing Rd: 6 cases (4 confirmed, 3 fixed, 1 escalated, 1 dismissed, 1 awaiting); Fuxing Rd: 2 in November
    assert (st.opened, st.confirmed, st.resolved_before_escalation, st.escalated) == (8, 6, 4, 2)
    assert (st.dismissed, st.awaiting_confirmation) == (1, 1)
    assert st.voluntary_fix_rate == 4 / 6
    assert st.median_time_to_fix_s == 3.5 * 3600  # fixes after 0.5, 2, 5 and 100 hours
    assert st.by_kind == {"illegal_parking": 3, "litter": 2, "out_of_store_trading": 1}
    assert st.by_source == {"camera": 4, "citizen": 1, "inspector": 1}
    assert [e.party_id for e in r.black] == ["p1"] and r.red == []
    assert r.scope == "Huangpu"


def test_street_numbers(engine):
    r = build_report(engine, CFG, "2026-11", "Fuxing Rd", P1_NOW)
    assert (r.stats.confirmed, r.stats.resolved_before_escalation, r.stats.voluntary_fix_rate) == (2, 1, 0.5)
    assert r.black == [] and r.scope == "Fuxing Rd"
    empty = build_report(engine, CFG, "2026-09", None, P1_NOW)
    assert (empty.stats.confirmed, empty.stats.voluntary_fix_rate, empty.stats.median_time_to_fix_s) == (0, None, None)


def test_csv_rows_and_formula_cells_defused(engine):
    recompute(engine, parse_config({"district": {"credit": {"black_at": 90}}}), P1_NOW)  # Fuxing Rd's party too
    text = report_csv(build_report(engine, CFG, "2026-11", None, P1_NOW))
    rows = list(csv.DictReader(io.StringIO(text)))
    got = {(r["section"], r["item"]): r["value"] for r in rows}
    assert got[("report", "month")] == "2026-11"
    assert got[("summary", "confirmed")] == "6"
    assert got[("summary", "voluntary_fix_rate")] == "0.6667"
    assert got[("summary", "median_time_to_fix_h")] == "3.5"
    assert got[("cases_by_kind", "piled_materials")] == "0"
    assert got[("cases_by_source", "inspector")] == "1"
    black = [r for r in rows if r["section"] == "black_list"]
    assert [(r["item"], r["value"]) for r in black] == [("p1", "62.25"), ("'=HYPERLINK(\"http://evil\")", "84.0")]
    assert (black[1]["label_zh"], black[1]["shops"], black[1]["street"]) == ("'-2+3", "'@SUM(A1:A9)", "Fuxing Rd")
    assert "13800000000" not in text and "Zhang San" not in text  # no phone, no contact person
    assert [safe_cell(v) for v in ("-1+1", "+x", "\tx", "ok", -3.5, None)] == ["'-1+1", "'+x", "'\tx", "ok", -3.5, ""]


def test_pdf_opens_and_holds_the_month(engine):
    pdf = report_pdf(build_report(engine, CFG, "2026-11", "Nanjing Rd", P1_NOW))
    doc = pypdfium2.PdfDocument(pdf)
    try:
        text = "".join(page.get_textpage().get_text_range() for page in doc)
        assert len(doc) >= 1
    finally:
        doc.close()
    assert "Month 2026-11" in text
    assert "Nanjing Rd" in text and "Party p1" in text and "62.25" in text
    assert "75.0%" in text  # 3 of the street's 4 confirmed cases fixed before escalation


def test_report_and_credit_commands(engine, tmp_path, capsys):
    db = str(engine.url)
    out_csv, out_pdf = tmp_path / "nov.csv", tmp_path / "nov.pdf"
    at = ["--at", P1_NOW.isoformat()]
    assert main(["report", "--month", "2026-11", "--db", db, "--out", str(out_csv), *at]) == 0
    assert out_csv.read_text(encoding="utf-8-sig").startswith("section,item,label_zh")
    assert main(["report", "--month", "2026-11", "--street", "Nanjing Rd", "--db", db, "--out", str(out_pdf)]) == 0
    assert out_pdf.read_bytes().startswith(b"%PDF")
    assert "voluntary-fix rate 75.0%" in capsys.readouterr().out

    assert main(["report", "--month", "2026-13", "--db", db, "--out", str(out_csv)]) == 2
    assert "month must be YYYY-MM" in capsys.readouterr().err
    assert main(["report", "--month", "2026-11", "--db", db, "--out", str(tmp_path / "r.xlsx")]) == 2
    assert "--out must end in .csv or .pdf" in capsys.readouterr().err

    assert main(["credit", "recompute", "--db", db, *at]) == 0
    assert "2 parties (0 red, 1 black)" in capsys.readouterr().out
    assert main(["credit", "explain", "p1", "--db", db, *at]) == 0
    out = capsys.readouterr().out
    assert out.startswith("party p1: score 62.25 (black;") and "escalation" in out and "inspection 2" in out
    with pytest.raises(SystemExit):
        main(["credit", "recompute", "--db", db, "--at", "yesterday"])
    assert "not an ISO 8601 time" in capsys.readouterr().err


def test_each_month_shows_the_lists_as_they_stood_at_its_end(engine):
    """p1 is on the black list from 12 November (the fixture's recompute). A lenient threshold on 3 December
    takes it off: November's report still names it, December's does not, and a report asked for in the middle
    of a month shows the lists as they stand then."""
    december = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
    recompute(engine, parse_config({"district": {"credit": {"black_at": 50}}}), december)
    later = dt.datetime(2027, 1, 10, tzinfo=dt.UTC)
    assert [e.party_id for e in build_report(engine, CFG, "2026-11", None, later).black] == ["p1"]
    assert build_report(engine, CFG, "2026-12", None, later).black == []
    assert build_report(engine, CFG, "2026-10", None, later).black == []  # not on it yet at October's end
    assert [e.party_id for e in build_report(engine, CFG, "2026-12", None, december - H).black] == ["p1"]
