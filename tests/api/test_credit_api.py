"""The credit API on a hand-made ledger: roles, the party list and one party's explanation, recompute, the
public lists without personal data, /stats with a known voluntary-fix rate (SQLite and PostgreSQL), the monthly
report, /metrics, and the /credit page in a real headless Chromium."""

from __future__ import annotations

import csv
import io
import json

import pypdfium2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from dispatch.db import make_engine
from dispatch.workflow import Workflow
from frontage.clock import ManualClock
from frontage.config import parse_config
from register.lists import recompute
from tests.browser_helpers import chromium, open_page
from tests.register.credit_seed import P1_NOW, T0, H, add_case, add_inspection, add_shop, seed_party_p1

TOKENS = {
    "admin": "admin-token-0123456789abcdef",
    "operator": "operator-token-0123456789abcdef",
    "merchant": "merchant-token-0123456789abcdef",
    "inspector": "inspector-token-0123456789abcdef",
}
CFG = parse_config({
    "cameras": [{"id": "cam1", "width": 640, "height": 360}],
    "shops": [{"id": "s1", "name": "Noodle House", "responsible": {"name": "Li"},
               "frontages": [{"camera_id": "cam1", "polygon": [[0, 200], [300, 200], [300, 350], [0, 350]]}]}],
    "api": {"tokens": [
        {"name": "ada", "role": "admin", "token": TOKENS["admin"]},
        {"name": "otto", "role": "operator", "token": TOKENS["operator"]},
        {"name": "li", "role": "merchant", "shop_id": "s1", "token": TOKENS["merchant"]},
        {"name": "ines", "role": "inspector", "token": TOKENS["inspector"]},
    ]},
    "district": {"name": "Huangpu", "credit": {"red_at": 104}},
})  # fmt: skip
EVIL = '<img src=x onerror="document.title=\'pwned\'">'


def auth(who: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"} if who else {}


def seed(engine) -> None:
    """p1 (Nanjing Rd, 62.25, black); g (Fuxing Rd, two passed inspections: 104, red); e (a shop named like
    markup, 100, none); four parties with nothing (100)."""
    with Session(engine) as s, s.begin():
        seed_party_p1(s)
        add_shop(s, "g1", "g", street="Fuxing Rd", name="Green Tea 100%")
        add_inspection(s, "g1", T0 + H, True)
        add_inspection(s, "g1", T0 + 2 * H, True)
        add_shop(s, "e1", "e", street="Fuxing Rd", name=EVIL, party_name=EVIL)
        for i in range(4):
            add_shop(s, f"n{i}", f"n{i}", street="Wukang Rd")
    recompute(engine, CFG, P1_NOW)


def make_app(engine, tmp_path):
    wf = Workflow(engine, CFG, ManualClock(P1_NOW))
    return create_app(CFG, engine, wf, snapshot_dir=tmp_path / "snaps", upload_dir=tmp_path / "uploads")


@pytest.fixture
def client(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    seed(engine)
    with TestClient(make_app(engine, tmp_path)) as c:
        yield c
    engine.dispose()


ROLES = ["admin", "operator", "merchant", "inspector", None]
EXPECTED = {  # (method, path): statuses for admin, operator, merchant, inspector, no token
    ("GET", "/credit/parties"): (200, 200, 403, 403, 401),
    ("GET", "/credit/parties/p1"): (200, 200, 403, 403, 401),
    ("POST", "/credit/recompute"): (200, 403, 403, 403, 401),
    ("GET", "/public/lists"): (200, 200, 200, 200, 200),
    ("GET", "/stats"): (200, 200, 403, 403, 401),
    ("GET", "/reports/monthly.csv?month=2026-11"): (200, 200, 403, 403, 401),
    ("GET", "/reports/monthly.pdf?month=2026-11"): (200, 200, 403, 403, 401),
    ("GET", "/credit"): (200, 200, 200, 200, 200),  # the page holds no data
}


def test_roles(client):
    got = {
        key: tuple(client.request(key[0], key[1], headers=auth(who)).status_code for who in ROLES) for key in EXPECTED
    }
    assert got == EXPECTED


def test_party_list_filters_search_and_pages(client):
    page = client.get("/credit/parties", headers=auth("operator")).json()
    assert page["total"] == 7
    assert [(p["party_id"], p["score"], p["standing"]) for p in page["items"][:2]] == [
        ("p1", 62.25, "black"), ("e", 100.0, "none")
    ]
    assert page["items"][0]["shops"] == [
        {"id": "s1", "name": "Shop s1", "street": "Nanjing Rd"}, {"id": "s2", "name": "Shop s2", "street": "Nanjing Rd"}
    ]
    assert page["items"][0]["party_name"] == "Party p1"

    def ids(query: str) -> list[str]:
        return [p["party_id"] for p in client.get(f"/credit/parties?{query}", headers=auth("admin")).json()["items"]]

    assert ids("standing=red") == ["g"]
    assert ids("standing=black") == ["p1"]
    assert ids("street=Fuxing%20Rd") == ["e", "g"]
    assert ids("street=Fuxing%20Rd&order=best") == ["g", "e"]
    assert ids("q=GREEN") == ["g"]  # a shop's name, any case
    assert ids("q=100%25") == ["g"]  # a literal %, not a wildcard
    assert ids("q=party%20p") == ["p1"]  # the party's name
    assert ids("q=n3") == ["n3"]
    assert ids("q=_") == []  # a literal underscore
    second = client.get("/credit/parties?limit=3&offset=3", headers=auth("admin")).json()
    assert (second["total"], len(second["items"]), second["offset"]) == (7, 3, 3)
    for bad in ("standing=purple", "limit=0", "limit=201", "offset=-1", "q=", "order=up", "street=" + "x" * 101):
        r = client.get(f"/credit/parties?{bad}", headers=auth("admin"))
        assert r.status_code == 422, bad


def test_party_explained_with_cases_and_events(client):
    p = client.get("/credit/parties/p1", headers=auth("operator")).json()
    assert (p["score"], p["standing"], p["listed_score"], p["listed_standing"]) == (62.25, "black", 62.25, "black")
    assert (p["base"], p["window_days"], p["red_at"], p["black_at"]) == (100.0, 365, 104.0, 80.0)
    assert sum(c["points"] for c in p["contributions"]) == 62.25 - 100
    esc = next(c for c in p["contributions"] if c["kind"] == "escalation")
    assert esc["case_url"] == f"/cases/{esc['case_id']}" and esc["at"].startswith("2026-11-03T02:00")
    assert client.get(esc["case_url"], headers=auth("operator")).json()["state"] == "escalated"
    insp = [c for c in p["contributions"] if c["inspection_id"] is not None]
    assert [(c["kind"], c["case_url"]) for c in insp] == [("inspection_passed", None), ("inspection_failed", None)]
    assert [(e["kind"], e["score"]) for e in p["events"]] == [("entered_black", 62.25)]
    assert "black_at 80" in p["events"][0]["reason"]

    r = client.get("/credit/parties/nobody", headers=auth("operator"))
    assert (r.status_code, r.json()) == (404, {"detail": "no party nobody"})
    assert client.get("/credit/parties/" + "x" * 101, headers=auth("operator")).status_code == 422
    assert client.get("/credit/parties/p%001", headers=auth("operator")).status_code == 422  # NUL: PostgreSQL refuses


def test_recompute_writes_list_changes(client, tmp_path):
    first = client.post("/credit/recompute", headers=auth("admin")).json()
    assert (first["parties"], first["red"], first["black"], first["events"]) == (7, 1, 1, 0)
    assert first["computed_at"].startswith("2026-11-12T02:00")
    engine = client.app.state.ctx.engine
    with Session(engine) as s, s.begin():
        add_case(s, "g1", [("detected", T0 + 3 * H)])  # g: 104 - 4 = 100, off the red list
    again = client.post("/credit/recompute", headers=auth("admin")).json()
    assert (again["red"], again["events"]) == (0, 1)
    events = client.get("/credit/parties/g", headers=auth("admin")).json()["events"]
    assert [e["kind"] for e in events] == ["entered_red", "left_red"]
    assert client.post("/credit/recompute", headers=auth("operator")).status_code == 403


def test_public_lists_hold_no_personal_data(client):
    r = client.get("/public/lists")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=60"
    body = r.json()
    assert body["red"] == [
        {"shops": [{"name": "Green Tea 100%", "street": "Fuxing Rd"}], "score": 104.0,
         "since": P1_NOW.isoformat().replace("+00:00", "Z")}
    ]  # fmt: skip
    assert [e["score"] for e in body["black"]] == [62.25]
    assert {s["name"] for s in body["black"][0]["shops"]} == {"Shop s1", "Shop s2"}
    assert (body["red_at"], body["black_at"]) == (104.0, 80.0)
    text = r.text
    for personal in ("13800000000", "Zhang San", "Party p1", "p1", "contact", "phone", "party"):
        assert personal not in text
    assert client.get("/public/lists?street=Nanjing%20Rd").json()["red"] == []


def test_monthly_report_downloads(client):
    r = client.get("/reports/monthly.csv?month=2026-11&street=Nanjing%20Rd", headers=auth("operator"))
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="frontage-report-2026-11-street.csv"'
    rows = {(x["section"], x["item"]): x["value"] for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
    assert rows[("summary", "voluntary_fix_rate")] == "0.75" and rows[("report", "scope")] == "Nanjing Rd"
    pdf = client.get("/reports/monthly.pdf?month=2026-11", headers=auth("admin"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    doc = pypdfium2.PdfDocument(pdf.content)
    try:
        text = "".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()
    assert "Month 2026-11" in text and "Huangpu" in text
    for bad in ("month=2026-13", "month=9999-12", "month=2026-1", "", "month=2026-11&street="):
        assert client.get(f"/reports/monthly.csv?{bad}", headers=auth("admin")).status_code == 422, bad


def test_metrics_voluntary_fix_counters(client):
    text = client.get("/metrics", headers=auth("operator")).text
    # Nanjing Rd: 4 confirmed, 3 fixed, 1 escalated, all settled
    assert 'frontage_cases_confirmed_total{street="Nanjing Rd"} 4.0' in text
    assert 'frontage_cases_fixed_voluntarily_total{street="Nanjing Rd"} 3.0' in text
    assert 'frontage_cases_confirmed_open{street="Nanjing Rd"} 0.0' in text
    assert 'frontage_voluntary_fix_ratio{street=""} 0.75' in text
    engine = client.app.state.ctx.engine
    with Session(engine) as s, s.begin():
        add_case(s, "g1", [("detected", T0)])  # confirmed, still open: not settled yet
        add_case(s, "cfg-only", [("detected", T0), ("resolved", T0 + H)])  # a shop off the register
    text = client.get("/metrics", headers=auth("operator")).text
    assert 'frontage_cases_confirmed_open{street="Fuxing Rd"} 1.0' in text
    assert 'frontage_cases_confirmed_total{street="Fuxing Rd"} 0.0' in text
    assert 'frontage_cases_fixed_voluntarily_total{street="unregistered"} 1.0' in text
    assert 'frontage_voluntary_fix_ratio{street=""} 0.6666666666666666' in text  # 4 of 6


@pytest.fixture
def db_client(db_url, tmp_path):
    engine = make_engine(db_url)
    with Session(engine) as s, s.begin():
        seed_party_p1(s)  # Nanjing Rd, opened 2 Nov: 4 confirmed, 3 fixed (2 h, 5 h, 100 h), 1 escalated
        add_shop(s, "f1", "f", street="Fuxing Rd")
        add_case(s, "f1", [("detected", T0 + 24 * H), ("resolved", T0 + 25 * H)], source="inspector")
        add_case(s, "f1", [("reported", T0 + 24 * H), ("detected", T0 + 26 * H)], kind="litter", source="citizen")
        add_case(s, "f1", [("detected", T0 + 30 * 24 * H), ("reminded", T0 + 30 * 24 * H)])  # 2 December
    with TestClient(make_app(engine, tmp_path)) as c:
        yield c
    engine.dispose()


def test_stats_known_rate(db_client):
    def stats(query: str = "") -> dict:
        r = db_client.get(f"/stats?{query}", headers=auth("operator"))
        assert r.status_code == 200, r.text
        return r.json()

    every = stats()
    counts = (every["opened"], every["confirmed"], every["resolved_before_escalation"], every["escalated"])
    assert counts == (9, 7, 4, 1)
    assert every["voluntary_fix_rate"] == 4 / 7
    assert every["median_time_to_fix_s"] == 3.5 * 3600  # 1, 2, 5, 100 h
    assert every["by_source"] == {"camera": 4, "citizen": 2, "inspector": 1}
    assert every["by_kind"] == {"illegal_parking": 5, "litter": 2}
    assert (every["from"], every["to"], every["dismissed"], every["awaiting_confirmation"]) == (None, None, 1, 1)

    nov = stats("from=2026-11-01T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00")
    assert (nov["confirmed"], nov["resolved_before_escalation"], nov["voluntary_fix_rate"]) == (6, 4, 4 / 6)
    assert nov["from"] == "2026-10-31T16:00:00Z"
    street = stats("street=Fuxing%20Rd")
    assert (street["confirmed"], street["resolved_before_escalation"], street["voluntary_fix_rate"]) == (3, 1, 1 / 3)
    shop = stats("shop_id=s2")  # the citizen's litter case (fixed) and a report nobody confirmed
    assert (shop["opened"], shop["confirmed"], shop["voluntary_fix_rate"], shop["median_time_to_fix_s"]) == (
        2, 1, 1.0, 5 * 3600
    )  # fmt: skip
    empty = stats("from=2027-01-01T00:00:00Z")
    assert (empty["confirmed"], empty["voluntary_fix_rate"], empty["median_time_to_fix_s"]) == (0, None, None)

    backwards = stats("from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z")  # an empty period, not an error
    assert (backwards["opened"], backwards["voluntary_fix_rate"]) == (0, None)
    for bad in ("from=2026-11-01", "from=yesterday", "to=0.5", "shop_id=", "shop_id=s%001", "street=" + "x" * 101):
        assert db_client.get(f"/stats?{bad}", headers=auth("operator")).status_code == 422, bad


# --- the page, in a real browser ---------------------------------------------------------------------------


def test_credit_page_in_chromium(tmp_path, serve, require_service):
    with chromium(require_service) as browser:
        from playwright.sync_api import expect

        engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        seed(engine)
        live = serve(make_app(engine, tmp_path))
        page, problems = open_page(browser, (1440, 1000))
        page.goto(f"{live.url}/credit")
        page.fill("#token", TOKENS["admin"])
        page.click("#login-form button[type=submit]")

        expect(page.locator("#red ol li")).to_have_count(1)
        expect(page.locator("#red ol li")).to_have_text("Green Tea 100% · 104")
        expect(page.locator("#black ol li")).to_have_text("Shop s1, Shop s2 · 62.25")
        rows = page.locator("#scores tbody tr")
        expect(rows).to_have_count(7)
        expect(page.locator("#who")).to_have_text("ada (admin)")
        evil = page.locator("#scores tbody tr[data-party-id='e']")
        expect(evil).to_contain_text(EVIL)  # shown as text, never as markup
        assert page.locator("#scores img").count() == 0

        page.fill("#q", "green")
        page.click("#filter button[type=submit]")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Fuxing Rd")
        page.fill("#q", "")
        page.select_option("#standing", "black")
        page.click("#filter button[type=submit]")
        expect(rows).to_have_count(1)
        rows.first.click()

        expect(page.locator("#explain-title")).to_have_text("Party p1 · 62.25 (black)")
        contributions = page.locator("#contributions tbody tr")
        expect(contributions).to_have_count(15)
        escalation = contributions.filter(has_text="Escalated")
        expect(escalation).to_contain_text("-8")
        escalation.locator("a.case-link").click()
        expect(page.locator("#case-title")).to_contain_text("escalated")
        expect(page.locator("#case-ledger li")).to_have_count(3)
        expect(page.locator("#events tbody tr")).to_have_count(1)
        expect(page.locator("#events tbody")).to_contain_text("black_at 80")

        page.click("#recompute")
        expect(page.locator("#status")).to_have_text("Recomputed 7 parties: 1 red, 1 black, 0 list change(s).")
        assert page.title() != "pwned"
        page.screenshot(path=str(tmp_path / "credit.png"), full_page=True)
    engine.dispose()
    assert problems == []
    assert json.loads(json.dumps(problems)) == []
