"""Citizen reports on SQLite and PostgreSQL: a report becomes a `reported` case that runs like a camera case once
an operator confirms it; repeats of an open problem are linked, not multiplied; limits per client and per shop
answer 429 until the window has passed, and every attempt past the limit counts, refused photos too; the text is
stored verbatim and the client only as a keyed digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.db import CaseEventRow, CaseRow, OutboxRow, make_engine
from dispatch.directory import ShopCard
from dispatch.lifecycle import CaseState, TransitionRefused
from dispatch.workflow import Action, Actor, Workflow
from frontage.clock import ManualClock
from frontage.config import ReportLimits, parse_config
from register.db import CitizenReportRow
from register.ratelimit import SlidingWindows
from register.reports import (
    CODE_ALPHABET,
    CODE_LENGTH,
    RateLimiter,
    ReportCategory,
    ReportRefused,
    normalize_code,
    report_status,
    submit_report,
)
from register.signboards import signing_key

S = CaseState
T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
DAY = 86400
SHOPS = {
    "reg-1": ShopCard(id="reg-1", name="Corner Store", address="9 Side St", party_name="Zhao Lei"),
    "reg-2": ShopCard(id="reg-2", name="Bakery", address="11 Side St", party_name="Qian Mei"),
}
CFG = {
    "dispatch": {"reminder_channels": ["log"]},
    "district": {
        "reports": {"per_client": 2, "per_shop": 3, "window_s": 600, "max_text": 200},
        "report_deadline": {"remind_after_s": 0, "fix_within_s": DAY},
    },
}
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)> & 堆物'


def photo(seed: int = 0) -> bytes:
    img = cv2.GaussianBlur(np.random.default_rng(seed).integers(0, 255, (120, 160, 3), dtype=np.uint8), (5, 5), 2)
    return cv2.imencode(".png", img)[1].tobytes()


class District:
    """A store, a clock, a workflow that finds the register's shops, a snapshot folder and a rate limiter."""

    def __init__(self, tmp_path, url: str, cfg: dict = CFG):
        self.cfg = parse_config(cfg)
        self.clock = ManualClock(T0)
        self.engine = make_engine(url)
        self.wf = Workflow(self.engine, self.cfg, self.clock, shops=SHOPS.get)
        self.snaps = tmp_path / "snaps"
        self.limiter = RateLimiter(self.cfg.district.reports)

    def report(self, shop="reg-1", category="litter", description="bags of rubbish", contact="", client="10.0.0.1",
               image: bytes | None = None):  # fmt: skip
        return submit_report(
            self.engine, self.wf, self.cfg, shop_id=shop, category=category, description=description,
            contact=contact, photo=photo() if image is None else image, client=client, snapshot_dir=self.snaps,
            now=self.clock.now(), limiter=self.limiter,
        )  # fmt: skip

    def at(self, seconds: float) -> None:
        self.clock.set(T0 + dt.timedelta(seconds=seconds))
        self.wf.tick()

    def case(self, case_id: int) -> CaseRow:
        with Session(self.engine) as s:
            row = s.get(CaseRow, case_id)
            s.expunge(row)
            return row

    def cases(self) -> list[CaseRow]:
        with Session(self.engine) as s:
            rows = list(s.scalars(select(CaseRow).order_by(CaseRow.id)))
            s.expunge_all()
            return rows

    def ledger(self, case_id: int) -> list[CaseEventRow]:
        with Session(self.engine) as s:
            rows = list(
                s.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id))
            )
            s.expunge_all()
            return rows

    def reports(self) -> list[CitizenReportRow]:
        with Session(self.engine) as s:
            rows = list(s.scalars(select(CitizenReportRow).order_by(CitizenReportRow.id)))
            s.expunge_all()
            return rows

    def outbox(self) -> list[str]:
        with Session(self.engine) as s:
            return list(s.scalars(select(OutboxRow.channel).order_by(OutboxRow.id)))


@pytest.fixture
def district(tmp_path, db_url):
    d = District(tmp_path, db_url)
    yield d
    d.engine.dispose()


def camera_case(d: District, shop="reg-1", kind="illegal_parking") -> int:
    """An open case a camera opened (what a citizen's report of the same problem joins)."""
    with Session(d.engine) as s, s.begin():
        now = d.clock.now()
        row = CaseRow(violation_key=f"cam1/{kind}/1", camera_id="cam1", shop_id=shop, kind=kind, source="camera",
                      object_class="car", state="detected", first_seen_at=now, opened_at=now, dwell_s=60.0,
                      box=[1, 2, 3, 4], snapshot="cam1.jpg", updated_at=now)  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


def test_a_report_opens_a_reported_citizen_case_with_its_photo_and_verbatim_text(district):
    receipt = district.report(description=XSS, contact="138 0000 0000", client="203.0.113.9")
    assert not receipt.duplicate
    assert len(receipt.tracking_code) == CODE_LENGTH and set(receipt.tracking_code) <= set(CODE_ALPHABET)
    case = district.case(receipt.case_id)
    assert (case.state, case.source, case.kind, case.shop_id, case.camera_id) == ("reported", "citizen", "litter",
                                                                                   "reg-1", "")  # fmt: skip
    assert case.remind_due_at is None and district.outbox() == []  # nobody is reminded before an operator confirms
    stored = district.snaps / case.snapshot
    assert case.snapshot.startswith("reports/") and stored.read_bytes()[:3] == b"\xff\xd8\xff"
    (report,) = district.reports()
    assert report.description == XSS  # verbatim: escaping is each page's job when it shows it
    assert report.contact == "138 0000 0000" and report.case_id == case.id and report.photo == case.snapshot
    # neither the address nor its plain SHA-256 (a sweep of IPv4 reverses that): an HMAC under the district's key
    key = hmac.new(signing_key(district.engine, district.cfg), b"frontage-client", hashlib.sha256).digest()
    assert report.client == hmac.new(key, b"203.0.113.9", hashlib.sha256).hexdigest() and len(report.client) == 64
    assert report.client != hashlib.sha256(b"203.0.113.9").hexdigest() and "203.0.113.9" not in report.client
    opening = district.ledger(case.id)[0]
    assert (opening.to_state, opening.actor) == ("reported", "citizen")
    assert opening.data["report"] == receipt.tracking_code and "138" not in str(opening.data)  # no contact in ledger


def test_a_second_report_of_the_same_open_problem_is_linked_not_a_new_case(district):
    first = district.report(client="10.0.0.1")
    second = district.report(client="10.0.0.2", description="still there")
    assert second.duplicate and second.case_id == first.case_id
    assert len(district.cases()) == 1
    note = district.ledger(first.case_id)[-1]
    assert note.reason == f"citizen report {second.tracking_code} linked" and note.from_state == note.to_state
    other_kind = district.report(client="10.0.0.3", category="piled_materials")
    other_shop = district.report(shop="reg-2", client="10.0.0.3")
    assert not other_kind.duplicate and not other_shop.duplicate and len(district.cases()) == 3


def test_a_report_of_what_a_camera_already_caught_joins_the_camera_case(district):
    cam = camera_case(district)
    receipt = district.report(category="illegal_parking")
    assert receipt.duplicate and receipt.case_id == cam and district.case(cam).snapshot == "cam1.jpg"


def test_once_the_case_is_closed_a_new_report_opens_a_new_case(district):
    first = district.report()
    district.wf.act(first.case_id, Action.dismiss, Actor.operator, "it was the bin lorry")
    again = district.report(client="10.0.0.9")
    assert not again.duplicate and again.case_id != first.case_id


def test_confirmed_it_reminds_and_escalates_exactly_like_a_camera_case(district):
    receipt = district.report()
    with pytest.raises(TransitionRefused):
        district.wf.act(receipt.case_id, Action.resolve, Actor.citizen)
    district.at(3600)
    assert district.case(receipt.case_id).state == S.reported  # waits for an operator, however long
    district.wf.act(receipt.case_id, Action.confirm, Actor.operator, "photo shows the bags")
    case = district.case(receipt.case_id)
    assert case.state == S.detected and case.remind_due_at == T0 + dt.timedelta(seconds=3600)
    district.at(3600)  # the workflow's tick sends the reminder (report_deadline: at once)
    assert district.case(receipt.case_id).state == S.reminded and district.outbox() == ["log"]
    district.at(3600 + DAY - 1)
    assert district.case(receipt.case_id).state == S.reminded
    district.at(3600 + DAY)
    assert district.case(receipt.case_id).state == S.escalated and district.outbox() == ["log", "open311"]
    status = report_status(district.engine, receipt.tracking_code)
    assert (status["state"], status["open311_status"]) == ("escalated", "open")


def test_an_operator_dismisses_a_false_report(district):
    receipt = district.report()
    district.wf.act(receipt.case_id, Action.dismiss, Actor.operator, "nothing there")
    district.at(2 * DAY)
    assert district.case(receipt.case_id).state == S.dismissed and district.outbox() == []
    assert report_status(district.engine, receipt.tracking_code)["open311_status"] == "closed"


def test_rate_limit_per_client_answers_429_until_the_window_has_passed(district):
    district.report(client="10.0.0.7", category="litter")
    district.clock.advance(100)
    district.report(client="10.0.0.7", category="other", shop="reg-2")
    district.clock.advance(100)
    with pytest.raises(ReportRefused) as info:
        district.report(client="10.0.0.7", shop="reg-2", category="piled_materials")
    assert info.value.status == 429 and "too many reports from you" in info.value.reason
    assert info.value.retry_after_s == pytest.approx(400)  # the first report leaves the 600 s window then
    district.report(client="10.0.0.8", shop="reg-2", category="piled_materials")  # someone else may
    district.clock.advance(399)
    with pytest.raises(ReportRefused):
        district.report(client="10.0.0.7", shop="reg-2", category="piled_materials")
    district.clock.advance(1)
    assert district.report(client="10.0.0.7", shop="reg-2", category="piled_materials").duplicate


def test_rate_limit_per_shop_answers_429_and_other_shops_still_take_reports(district):
    for i in range(3):
        district.report(client=f"10.1.0.{i}")
    with pytest.raises(ReportRefused) as info:
        district.report(client="10.1.0.99")
    assert info.value.status == 429 and "this shop" in info.value.reason and info.value.retry_after_s == 600
    assert not district.report(shop="reg-2", client="10.1.0.99").duplicate
    district.clock.advance(600)
    assert district.report(client="10.1.0.99").duplicate


BAD = [
    ({"category": "fireworks"}, 422, "unknown category"),
    ({"description": "x" * 201}, 422, "over 200 characters"),
    ({"contact": "y" * 201}, 422, "contact over"),
    ({"category": "other", "description": "   "}, 422, "describe the problem"),
    ({"shop": "nowhere"}, 404, "no such shop"),
    ({"image": b""}, 422, "photo of the problem is required"),
    ({"image": b"GIF89a\x01\x00\x01\x00"}, 415, "JPEG, PNG or WebP"),
    ({"image": cv2.imencode(".png", np.zeros((100, 100, 3), np.uint8))[1].tobytes()}, 422, "blank"),
]


def test_bad_reports_are_refused_with_a_reason_and_leave_nothing_behind(district):
    # one store for all (a fresh PostgreSQL database per case costs a second), one client each (no 429 between them)
    for i, (kwargs, status, why) in enumerate(BAD):
        with pytest.raises(ReportRefused) as info:
            district.report(**{"client": f"10.9.0.{i}", **kwargs})
        assert (info.value.status, why in info.value.reason) == (status, True), (kwargs, info.value.reason)
    assert district.cases() == [] and district.reports() == []
    assert not list(district.snaps.glob("**/*.jpg"))
    # refused before the limit check (bad fields): free; past it (the photo refusals) each one counted
    assert len(district.limiter.clients) == 3


def test_refused_photos_count_against_the_limit_and_the_limit_stops_decoding(district, monkeypatch):
    blank = cv2.imencode(".png", np.zeros((100, 100, 3), np.uint8))[1].tobytes()
    for _ in range(2):  # per_client: 2
        with pytest.raises(ReportRefused) as info:
            district.report(client="10.6.6.6", image=blank)
        assert (info.value.status, "blank" in info.value.reason) == (422, True)
    decoded = []
    monkeypatch.setattr("register.reports.clean_photo", lambda data, limits: decoded.append(data))
    with pytest.raises(ReportRefused) as info:
        district.report(client="10.6.6.6", image=blank)
    assert info.value.status == 429 and "too many reports from you" in info.value.reason
    assert decoded == []  # refused before its photo was looked at
    assert district.reports() == [] and district.cases() == []


def test_status_is_public_safe_and_the_code_reads_aloud(district):
    receipt = district.report(contact="me@example.org", description="secret detail")
    code = receipt.tracking_code
    spoken = f"{code[:5].lower()} - {code[5:].lower()}"
    status = report_status(district.engine, spoken, lambda shop_id: SHOPS[shop_id].name)
    assert status == {
        "tracking_code": code, "category": "litter", "shop_id": "reg-1", "shop_name": "Corner Store",
        "received_at": T0, "state": "reported", "open311_status": "open", "updated_at": T0, "duplicate": False,
    }  # fmt: skip
    assert report_status(district.engine, "ABCDEFGHJK") is None
    assert report_status(district.engine, "<script>") is None and report_status(district.engine, "") is None


def test_normalize_code_and_categories():
    assert normalize_code("abcde-fghjk") == "ABCDEFGHJK"
    assert normalize_code("ABCDEFGHJ0") is None  # 0 is not in the alphabet (no O/0 mix-ups)
    assert normalize_code("ABC") is None
    assert {c.value for c in ReportCategory} == {"piled_materials", "out_of_store_trading", "illegal_parking",
                                                 "litter", "other"}  # fmt: skip


def test_sliding_windows_forget_clients_whose_window_ran_out():
    win = SlidingWindows(limit=1, window_s=10, sweep_every=3)
    for i in range(3):
        win.add(f"c{i}", T0)
    assert len(win) == 3  # a sweep keeps whoever is still inside the window
    later = T0 + dt.timedelta(seconds=11)
    for i in range(3, 6):
        win.add(f"c{i}", later)
    assert len(win) == 3  # c0..c2 swept out; memory follows the clients of one window
    assert win.retry_after("c3", later) == 10 and win.retry_after("c0", later) == 0
    with pytest.raises(ValueError):
        SlidingWindows(limit=0, window_s=10)


def test_the_limiter_takes_the_configured_limits():
    lim = RateLimiter(ReportLimits(per_client=1, per_shop=5, window_s=60))
    lim.record("a", "s", T0)
    with pytest.raises(ReportRefused) as info:
        lim.check("a", "s", T0 + dt.timedelta(seconds=59))
    assert info.value.retry_after_s == pytest.approx(1) and "1 in 1 minutes" in info.value.reason
    lim.check("a", "s", T0 + dt.timedelta(seconds=60))


def test_simultaneous_attempts_cannot_slip_past_the_limit():
    lim = RateLimiter(ReportLimits(per_client=2, per_shop=100, window_s=60))
    barrier = threading.Barrier(8)

    def attempt(_: int) -> bool:
        barrier.wait()
        try:
            lim.admit("a", "s", T0)
        except ReportRefused:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(attempt, range(8))) == [False] * 6 + [True] * 2


def test_simultaneous_reports_of_one_problem_open_one_case(district):
    """API worker threads (and, on PostgreSQL, processes) race on "is a case open? else open one"."""
    district.limiter = RateLimiter(ReportLimits(per_client=2, per_shop=6, window_s=600))  # six reports of one shop
    barrier = threading.Barrier(6)

    def send(i: int):
        barrier.wait()
        return district.report(client=f"10.2.0.{i}")

    with ThreadPoolExecutor(6) as pool:
        receipts = list(pool.map(send, range(6)))
    assert len({r.case_id for r in receipts}) == 1 and len(district.cases()) == 1
    assert sorted(r.duplicate for r in receipts) == [False] + [True] * 5
