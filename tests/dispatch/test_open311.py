"""Escalation over Open311 GeoReport v2 against the real local dispatch server, with and without faults."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.db import CaseRow, OutboxRow
from dispatch.open311 import Open311Client, Open311Sender, form_fields
from dispatch.open311_server import BackgroundServer, FaultPlan, FaultProxy, create_app
from dispatch.outbox import OutboxMessage, OutboxWorker, PermanentError, RetryableError, enqueue

ROOT = Path(__file__).resolve().parents[2]


def escalation(case_id: int, kind: str = "illegal_parking") -> dict:
    """Shaped like the workflow's escalation payload."""
    return {
        "service_code": kind,
        "service_name": "Illegal parking in a shop frontage",
        "description": f"car in the frontage of shop-{case_id}, reminded and not cleared",
        "address_string": f"{case_id} Market St",
        "lat": 31.2304,
        "long": 121.4737,
        "media_url": f"http://box.local/cases/{case_id}/snapshot.jpg",
        "attribute": {"case_id": str(case_id), "shop_id": f"shop-{case_id}"},
    }


def msg(case_id: int, key: str | None = None, **over) -> OutboxMessage:
    return OutboxMessage(case_id, "open311", case_id, {**escalation(case_id), **over}, key or f"escalate/{case_id}", 1)


@pytest.fixture
def server(tmp_path):
    with BackgroundServer(create_app(str(tmp_path / "open311.db"))) as srv:
        yield srv


@pytest.fixture(scope="module")
def shared_server():
    """One in-memory server for the many bad-body cases: none of them may store anything."""
    with BackgroundServer(create_app()) as srv:
        yield srv


def all_requests(url: str) -> list[dict]:
    resp = httpx.get(f"{url}/requests.json", timeout=5)
    resp.raise_for_status()
    return resp.json()


def test_services_are_the_case_kinds(server):
    from frontage.config import CaseKind

    codes = {s["service_code"] for s in httpx.get(f"{server.url}/services.json").json()}
    assert codes == {k.value for k in CaseKind}  # every case that can escalate has a service to go to


def test_post_creates_exactly_one_request_and_repeats_return_it(server):
    sender = Open311Sender(server.url)
    result = sender.send(msg(1))
    srid = result["service_request_id"]
    assert result == {"service_request_id": srid} and srid
    assert sender.send(msg(1)) == result  # same Idempotency-Key
    assert sender.send(msg(1, key="another-key")) == result  # same attribute[case_id]
    other = sender.send(msg(2))["service_request_id"]
    assert other != srid
    reqs = all_requests(server.url)
    assert [(r["service_request_id"], r["attributes"]["case_id"]) for r in reqs] == [(srid, "1"), (other, "2")]
    first = reqs[0]
    assert first["media_url"] == "http://box.local/cases/1/snapshot.jpg"
    assert (first["lat"], first["long"], first["address"]) == (31.2304, 121.4737, "1 Market St")
    assert first["attributes"] == {"case_id": "1", "shop_id": "shop-1"} and first["status"] == "open"
    sender.close()


def test_polling_sees_the_city_close_it(server):
    srid = Open311Sender(server.url).send(msg(7))["service_request_id"]
    client = Open311Client(server.url)
    req = client.get_request(srid)
    assert req["status"] == "open" and req["service_request_id"] == srid
    resp = httpx.post(f"{server.url}/requests/{srid}/close", data={"status_notes": "car towed"})
    assert resp.status_code == 200
    req = client.get_request(srid)
    assert (req["status"], req["status_notes"]) == ("closed", "car towed")
    assert dt.datetime.fromisoformat(req["updated_datetime"]) >= dt.datetime.fromisoformat(req["requested_datetime"])
    assert [r["service_request_id"] for r in httpx.get(f"{server.url}/requests.json?status=closed").json()] == [srid]
    assert httpx.get(f"{server.url}/requests.json?status=open").json() == []
    with pytest.raises(PermanentError, match="404.*no service request"):
        client.get_request("999")


def test_requests_survive_a_restart(tmp_path):
    db = str(tmp_path / "dispatch.db")
    with BackgroundServer(create_app(db)) as srv:
        srid = Open311Sender(srv.url).send(msg(3))["service_request_id"]
    with BackgroundServer(create_app(db)) as srv:
        assert Open311Client(srv.url).get_request(srid)["attributes"]["case_id"] == "3"
        assert Open311Sender(srv.url).send(msg(3))["service_request_id"] == srid  # still idempotent


def test_client_errors_are_permanent_with_the_servers_reason(server):
    sender = Open311Sender(server.url)
    with pytest.raises(PermanentError, match="HTTP 400: service_code 'graffiti' is not a service"):
        sender.send(msg(4, service_code="graffiti"))
    with pytest.raises(PermanentError, match="a location is required"):
        sender.send(msg(5, address_string="", lat=None, long=None))
    with pytest.raises(PermanentError, match="no service_code"):
        form_fields({"description": "x"}, 1)
    assert form_fields({"rule": "out_of_store_trading", "address_string": "a"}, 9) == {
        "service_code": "out_of_store_trading",
        "address_string": "a",
        "attribute[case_id]": "9",
    }


def post(url: str, **kw) -> httpx.Response:
    return httpx.post(f"{url}/requests.json", timeout=5, **kw)


GOOD = {"service_code": "illegal_parking", "address_string": "1 Main St"}
BAD_BODIES = [
    ({"data": {}}, "service_code is required"),
    ({"data": {**GOOD, "service_code": "nope"}}, "not a service"),
    ({"data": {"service_code": "illegal_parking"}}, "a location is required"),
    ({"data": {**GOOD, "lat": "north", "long": "1"}}, "lat must be a number"),
    ({"data": {**GOOD, "lat": "91", "long": "1"}}, "lat must be within"),
    ({"data": {**GOOD, "lat": "nan", "long": "1"}}, "lat must be within"),
    ({"data": {**GOOD, "lat": "1"}}, "lat and long must be given together"),
    ({"data": {**GOOD, "media_url": "javascript:alert(1)"}}, "media_url must be an http"),
    ({"data": {**GOOD, "description": "x" * 5000}}, "description is too long"),
    ({"data": {**GOOD, "description": "a\x00b"}}, "NUL"),
    ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, "not valid JSON"),
    ({"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}}, "must be an object"),
    ({"content": b"\xff\xfe\x00", "headers": {"Content-Type": "application/json"}}, "not valid JSON"),
    ({"json": {**GOOD, "attribute": "case 1"}}, "'attribute' must be an object"),
    ({"json": {**GOOD, "description": {"nested": 1}}}, "description must be a string"),
    ({"json": {**GOOD, "lat": True, "long": 1}}, "lat must be a string"),
    ({"content": b"\x00\x01garbage", "headers": {"Content-Type": "application/octet-stream"}}, "unsupported content"),
    (
        {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
        "service_code is required|unreadable form body",
    ),
    ({"content": b"x" * 300_000, "headers": {"Content-Type": "application/json"}}, "too large"),
]


@pytest.mark.parametrize(("kw", "reason"), BAD_BODIES, ids=[r for _, r in BAD_BODIES])
def test_bad_bodies_get_400_with_a_reason(shared_server, kw, reason):
    resp = post(shared_server.url, **kw)
    assert resp.status_code == 400, resp.text
    [err] = resp.json()
    assert err["code"] == 400
    assert re.search(reason, err["description"]), err["description"]
    assert all_requests(shared_server.url) == []


def test_json_bodies_and_odd_paths(server):
    resp = post(server.url, json={**GOOD, "attribute": {"case_id": "77"}})
    assert resp.status_code == 201
    srid = resp.json()[0]["service_request_id"]
    assert httpx.get(f"{server.url}/requests/{srid}.json").json()[0]["attributes"] == {"case_id": "77"}
    for path, code in (
        ("/requests/abc.json", 404),
        ("/requests/99999999999999999999999.json", 404),
        ("/requests.json?status=pending", 400),
        ("/nothing-here", 404),
    ):
        resp = httpx.get(server.url + path)
        assert resp.status_code == code and resp.json()[0]["description"], path
    assert httpx.post(f"{server.url}/requests/12345/close").status_code == 404
    assert httpx.post(f"{server.url}/requests/x/close").status_code == 404
    assert httpx.post(f"{server.url}/requests/{srid}/close", json=[1]).status_code == 400
    assert httpx.get(f"{server.url}/requests/{srid}.json").json()[0]["status"] == "open"


@pytest.mark.parametrize("kind", ["503", "slow", "drop", "drop_after"])
def test_each_fault_is_retryable(server, kind):
    with FaultProxy("127.0.0.1", server.port, FaultPlan(rate=1.0, kinds=(kind,), slow_s=0.6)) as proxy:
        sender = Open311Sender(proxy.url, read_timeout=0.3)
        with pytest.raises(RetryableError):
            sender.send(msg(11))
        stored = [r for r in all_requests(server.url) if r["attributes"]["case_id"] == "11"]
        assert len(stored) == (1 if kind in ("slow", "drop_after") else 0)  # processed, answer lost
        proxy.plan = FaultPlan(rate=0.0)
        # Recovery with an ordinary timeout: the 0.3 s one only had to be shorter than the 0.6 s stall, and on a
        # loaded 2-core box an honest answer can take longer than that.
        srid = Open311Sender(proxy.url, read_timeout=5).send(msg(11))["service_request_id"]
        assert len([r for r in all_requests(server.url) if r["service_request_id"] == srid]) == 1
        assert proxy.counts[kind] == 1 and proxy.counts["ok"] == 1


def test_fault_plan_is_deterministic():
    a = FaultProxy("127.0.0.1", 1, FaultPlan(rate=0.5, seed=3))
    b = FaultProxy("127.0.0.1", 1, FaultPlan(rate=0.5, seed=3))
    seq = [a._decide() for _ in range(200)]
    assert seq == [b._decide() for _ in range(200)]
    assert 70 < 200 - seq.count("ok") < 130 and set(seq) == {"ok", "503", "slow", "drop", "drop_after"}
    with pytest.raises(ValueError):
        FaultPlan(rate=2)


def test_escalations_survive_a_faulty_platform(engine, clock, add_cases, tmp_path):
    """~Half of all requests fail (503, stalls, drops before and after processing); after recovery every case
    has exactly one service request and knows its id."""
    started = time.monotonic()
    case_ids = add_cases(engine, 30)
    with Session(engine) as s, s.begin():
        for cid in case_ids:
            key = f"escalate/{cid}"
            enqueue(s, channel="open311", payload=escalation(cid), idempotency_key=key, case_id=cid, now=clock.now())

    def remember(session: Session, row: OutboxRow) -> None:
        session.get(CaseRow, row.case_id).service_request_id = row.result["service_request_id"]

    app = create_app(str(tmp_path / "city.db"))
    with (
        BackgroundServer(app) as city,
        FaultProxy("127.0.0.1", city.port, FaultPlan(rate=0.5, seed=11, slow_s=0.5)) as proxy,
    ):
        sender = Open311Sender(proxy.url, connect_timeout=1.0, read_timeout=0.25)
        worker = OutboxWorker(engine, {"open311": sender}, clock, base_delay_s=2, max_delay_s=60, on_delivered=remember)

        def drive(until: dt.datetime | None) -> None:
            """A service loop on the manual clock: wake when the next row is due, deliver, repeat."""
            for _ in range(1000):
                due = worker.next_due()
                if due is None or (until is not None and due >= until):
                    return
                clock.set(max(due, clock.now()))
                worker.run_once()
            raise AssertionError("outbox did not drain")

        drive(until=clock.now() + dt.timedelta(seconds=20))  # the bad spell: 20 s on the clock
        faulty = sum(v for k, v in proxy.counts.items() if k != "ok")
        with Session(engine) as s:
            left = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending"))
        proxy.plan = FaultPlan(rate=0.0)  # recovery
        drive(until=None)
        assert worker.next_due() is None

        requests = all_requests(city.url)
        with Session(engine) as s:
            rows = s.scalars(select(OutboxRow).order_by(OutboxRow.case_id)).all()
            cases = {c.id: c for c in s.scalars(select(CaseRow))}
        by_case = {}
        for r in requests:
            by_case.setdefault(int(r["attributes"]["case_id"]), []).append(r["service_request_id"])
        assert sorted(by_case) == case_ids and all(len(v) == 1 for v in by_case.values())
        assert len(requests) == 30
        for row in rows:
            assert row.status == "delivered"
            assert row.result["service_request_id"] == by_case[row.case_id][0]
            assert cases[row.case_id].service_request_id == by_case[row.case_id][0]

    assert faulty >= 20 and left > 0, (proxy.counts, left)  # the faults left work for after recovery
    assert all(proxy.counts[k] > 0 for k in ("503", "slow", "drop", "drop_after")), proxy.counts
    assert sum(r.attempts for r in rows) > 30  # faults really cost retries
    assert app.state.store.replays > 0  # processed-then-dropped POSTs came again and were recognised
    assert time.monotonic() - started < 20


def test_runs_as_a_module_and_keeps_its_file(tmp_path, free_port):
    db, port = tmp_path / "cli.db", free_port()
    cmd = [sys.executable, "-m", "dispatch.open311_server", "--port", str(port), "--db", str(db)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/services.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < end, proc.stderr.read().decode()[-2000:]
                time.sleep(0.05)
        srid = Open311Sender(url).send(msg(21))["service_request_id"]
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()
    with BackgroundServer(create_app(str(db))) as srv:
        assert Open311Client(srv.url).get_request(srid)["attributes"]["case_id"] == "21"
