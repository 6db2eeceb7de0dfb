"""Reminders by log line and signed webhook, against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy.orm import Session

from dispatch.db import OutboxRow
from dispatch.notify import (
    LogSender,
    WebhookSender,
    reminder_payload,
    reminder_topic,
    sign,
    verify_signature,
)
from dispatch.outbox import OutboxMessage, OutboxWorker, PermanentError, RetryableError, backoff_delay, enqueue

SECRET = "s3cret-shared-with-the-merchant-app"


class Receiver:
    """A merchant's webhook endpoint: verifies the signature, drops repeats by Idempotency-Key."""

    def __init__(self, port: int = 0, status: int = 200, delay_s: float = 0.0):
        self.status, self.delay_s = status, delay_s
        self.requests: list[dict] = []
        self.accepted: dict[str, dict] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                valid = verify_signature(SECRET, body, self.headers.get("X-Frontage-Signature"))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "valid": valid})
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status = receiver.status if valid else 401
                if status == 200:
                    receiver.accepted.setdefault(self.headers["Idempotency-Key"], json.loads(body))
                out = json.dumps({"status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/frontage"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


T0 = dt.datetime(2024, 5, 6, 9, 0, tzinfo=dt.UTC)


def reminder(url: str) -> dict:
    case = {"id": 42, "kind": "illegal_parking", "object_class": "car", "opened_at": T0}
    shop = {
        "id": "shop-7",
        "name": "Lucky Noodles",
        "address": "12 Market St",
        "responsible": {"kind": "merchant", "name": "Mr. Li"},
    }
    payload = reminder_payload(case, shop, "illegal_parking", T0 + dt.timedelta(minutes=10), "http://box/cases/42.jpg")
    return {**payload, "url": url}


def enqueue_one(engine, clock, payload: dict, key: str = "remind/42/webhook") -> int:
    with Session(engine) as s, s.begin():
        row = enqueue(s, channel="webhook", payload=payload, idempotency_key=key, case_id=None, now=clock.now())
        s.flush()
        return row.id


def row_of(engine, row_id: int) -> OutboxRow:
    with Session(engine) as s:
        row = s.get(OutboxRow, row_id)
        s.expunge(row)
        return row


def test_reminder_payload_carries_what_the_party_needs():
    p = reminder("http://x")
    assert p["case"] == {"id": 42, "kind": "illegal_parking", "object_class": "car", "opened_at": T0.isoformat()}
    assert p["shop"]["responsible_party"] == {"kind": "merchant", "name": "Mr. Li"}
    assert p["shop"]["address"] == "12 Market St"
    assert p["deadline"] == "2024-05-06T09:10:00+00:00"
    assert p["rule"] == "illegal_parking" and p["snapshot_url"] == "http://box/cases/42.jpg"
    assert reminder_topic("shop-7") == "frontage/reminders/shop-7"
    assert reminder_topic("a/b+#") == "frontage/reminders/a_b__"


def test_signature_round_trip_and_tampering():
    body = b'{"case":1}'
    header = sign(SECRET, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature(SECRET, body, header)
    assert verify_signature(SECRET.encode(), body, header)
    assert not verify_signature(SECRET, body + b" ", header)
    assert not verify_signature("other", body, header)
    assert not verify_signature(SECRET, body, None)
    assert not verify_signature(SECRET, body, header.removeprefix("sha256="))


def test_log_sender_writes_one_structured_line(caplog):
    msg = OutboxMessage(1, "log", 42, reminder("http://unused"), "remind/42/log", 1)
    with caplog.at_level(logging.INFO, logger="frontage.reminders"):
        assert LogSender().send(msg) == {"logged": True}
    lines = [r for r in caplog.records if r.name == "frontage.reminders"]
    assert len(lines) == 1
    data = json.loads(lines[0].getMessage().removeprefix("reminder "))
    assert data["idempotency_key"] == "remind/42/log" and data["shop"]["id"] == "shop-7"


def test_signed_webhook_is_delivered(engine, clock, receiver):
    clock.set(T0)
    payload = reminder(receiver.url)
    row_id = enqueue_one(engine, clock, payload)
    sender = WebhookSender(SECRET, clock=clock)
    assert OutboxWorker(engine, {"webhook": sender}, clock).run_once() == 1
    [req] = receiver.requests
    assert req["valid"]
    assert req["headers"]["Idempotency-Key"] == "remind/42/webhook"
    assert req["headers"]["X-Frontage-Timestamp"] == T0.isoformat()
    assert req["headers"]["Content-Type"] == "application/json"
    body = json.loads(req["body"])
    assert "url" not in body and body["case"]["id"] == 42 and body["deadline"] == payload["deadline"]
    row = row_of(engine, row_id)
    assert row.status == "delivered" and row.result == {"url": receiver.url, "status": 200}
    sender.close()


def test_receiver_down_then_back(engine, clock, free_port):
    clock.set(T0)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    row_id = enqueue_one(engine, clock, reminder(url))
    worker = OutboxWorker(engine, {"webhook": WebhookSender(SECRET, clock=clock)}, clock, base_delay_s=2.0)
    assert worker.run_once() == 0
    row = row_of(engine, row_id)
    assert row.status == "pending" and row.attempts == 1 and "ConnectError" in row.last_error
    assert row.next_attempt_at == T0 + dt.timedelta(seconds=backoff_delay(row_id, 1, 2.0, 600.0))
    clock.set(row.next_attempt_at)
    assert worker.run_once() == 0  # still down
    assert row_of(engine, row_id).attempts == 2
    receiver = Receiver(port=port)
    try:
        assert worker.run_once() == 0  # back, but the backoff has not elapsed
        clock.set(row_of(engine, row_id).next_attempt_at)
        assert worker.run_once() == 1
        assert len(receiver.requests) == 1 and receiver.requests[0]["valid"]
        assert row_of(engine, row_id).attempts == 3
    finally:
        receiver.stop()


def test_bad_request_is_dead_and_server_errors_retry(engine, clock):
    bad, flaky = Receiver(status=400), Receiver(status=503)
    try:
        dead_id = enqueue_one(engine, clock, reminder(bad.url), key="a")
        retry_id = enqueue_one(engine, clock, reminder(flaky.url), key="b")
        worker = OutboxWorker(engine, {"webhook": WebhookSender(SECRET, clock=clock)}, clock)
        assert worker.run_once() == 0
        dead, retry = row_of(engine, dead_id), row_of(engine, retry_id)
        assert dead.status == "dead" and "HTTP 400" in dead.last_error
        assert retry.status == "pending" and "HTTP 503" in retry.last_error
    finally:
        bad.stop()
        flaky.stop()


def test_timeout_is_retryable_and_missing_url_permanent(clock):
    slow = Receiver(delay_s=1.0)
    try:
        sender = WebhookSender(SECRET, clock=clock, read_timeout=0.2)
        msg = OutboxMessage(1, "webhook", 1, reminder(slow.url), "k", 1)
        with pytest.raises(RetryableError, match="ReadTimeout"):
            sender.send(msg)
    finally:
        slow.stop()
    with pytest.raises(PermanentError, match="no webhook URL"):
        WebhookSender(SECRET, clock=clock).send(OutboxMessage(2, "webhook", 1, {"case": {}}, "k2", 1))
    with pytest.raises(PermanentError, match="bad webhook URL"):
        WebhookSender(SECRET, clock=clock).send(OutboxMessage(3, "webhook", 1, {"url": "ftp://x/y"}, "k3", 1))
    with pytest.raises(ValueError, match="secret"):
        WebhookSender("")


def test_default_url_and_duplicate_delivery_is_dropped_by_key(engine, clock, receiver):
    sender = WebhookSender(SECRET, default_url=receiver.url, clock=clock)
    msg = OutboxMessage(1, "webhook", 42, {"case": {"id": 42}}, "remind/42/webhook", 1)
    sender.send(msg)
    sender.send(msg)  # an at-least-once repeat
    assert len(receiver.requests) == 2 and list(receiver.accepted) == ["remind/42/webhook"]
