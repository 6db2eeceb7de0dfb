"""Reminders over MQTT through a real mosquitto broker on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import queue

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy.orm import Session

from dispatch.db import OutboxRow
from dispatch.notify import MqttSender, reminder_payload, reminder_topic
from dispatch.outbox import OutboxMessage, OutboxWorker, PermanentError, RetryableError, enqueue


class Subscriber:
    """The responsible party's app: subscribed to its own reminder topic."""

    def __init__(self, port: int, topic: str):
        self.messages: queue.Queue[tuple[str, dict]] = queue.Queue()
        subscribed = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"party-{port}-{len(topic)}-{id(self)}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.put(rcs)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, json.loads(m.payload)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        rcs = subscribed.get(timeout=5)
        assert not rcs[0].is_failure

    def get(self, timeout: float = 5.0) -> tuple[str, dict]:
        return self.messages.get(timeout=timeout)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def payload(party: str) -> dict:
    now = dt.datetime(2024, 5, 6, 9, 0, tzinfo=dt.UTC)
    case = {"id": 9, "kind": "out_of_store_trading", "object_class": "chair", "opened_at": now}
    shop = {"id": party, "name": "Corner Fruit", "address": "3 Bridge Rd", "responsible": {"name": "Ms. Wang"}}
    body = reminder_payload(case, shop, "out_of_store_trading", now + dt.timedelta(minutes=10), "http://box/9.jpg")
    return {**body, "topic": reminder_topic(party)}


def enqueue_one(engine, clock, body: dict, key: str) -> int:
    with Session(engine) as s, s.begin():
        row = enqueue(s, channel="mqtt", payload=body, idempotency_key=key, case_id=None, now=clock.now())
        s.flush()
        return row.id


def status(engine, row_id: int) -> tuple[str, int, str]:
    with Session(engine) as s:
        row = s.get(OutboxRow, row_id)
        return row.status, row.attempts, row.last_error


def test_reminder_reaches_the_party_topic(engine, clock, mosquitto_factory):
    broker = mosquitto_factory().start()
    party = Subscriber(broker.port, "frontage/reminders/shop-3")
    other = Subscriber(broker.port, "frontage/reminders/shop-4")
    sender = MqttSender("127.0.0.1", broker.port, publish_timeout=5)
    try:
        row_id = enqueue_one(engine, clock, payload("shop-3"), "remind/9/mqtt")
        assert OutboxWorker(engine, {"mqtt": sender}, clock).run_once() == 1
        topic, body = party.get()
        assert topic == "frontage/reminders/shop-3"
        assert body["idempotency_key"] == "remind/9/mqtt"
        assert body["case"]["id"] == 9 and body["shop"]["responsible_party"] == {"name": "Ms. Wang"}
        assert "topic" not in body and body["deadline"] == "2024-05-06T09:10:00+00:00"
        assert status(engine, row_id)[0] == "delivered"
        # One connection serves many reminders.
        first = sender._client
        enqueue_one(engine, clock, payload("shop-3"), "remind/10/mqtt")
        assert OutboxWorker(engine, {"mqtt": sender}, clock).run_once() == 1
        assert party.get()[1]["idempotency_key"] == "remind/10/mqtt"
        assert sender._client is first
        with pytest.raises(queue.Empty):
            other.get(timeout=0.2)
    finally:
        party.stop()
        other.stop()
        sender.close()


def test_broker_down_then_up(engine, clock, mosquitto_factory):
    broker = mosquitto_factory()  # configured, not started
    sender = MqttSender("127.0.0.1", broker.port, connect_timeout=1, publish_timeout=3)
    worker = OutboxWorker(engine, {"mqtt": sender}, clock, base_delay_s=2)
    row_id = enqueue_one(engine, clock, payload("shop-5"), "remind/5/mqtt")
    try:
        with pytest.raises(RetryableError, match="unreachable"):
            sender.send(OutboxMessage(0, "mqtt", None, payload("shop-5"), "probe", 1))
        assert worker.run_once() == 0
        state, attempts, error = status(engine, row_id)
        assert (state, attempts) == ("pending", 1) and "unreachable" in error

        broker.start()
        party = Subscriber(broker.port, "frontage/reminders/#")
        clock.set(worker.next_due())
        assert worker.run_once() == 1
        topic, body = party.get()
        assert topic == "frontage/reminders/shop-5" and body["idempotency_key"] == "remind/5/mqtt"
        party.stop()

        # The broker restarts under a live connection: the sender reconnects (a retry at most).
        broker.stop()
        broker.start()
        party = Subscriber(broker.port, "frontage/reminders/#")
        row2 = enqueue_one(engine, clock, payload("shop-5"), "remind/6/mqtt")
        for _ in range(5):
            if worker.run_once():
                break
            clock.set(worker.next_due())
        state, attempts, _ = status(engine, row2)
        assert state == "delivered" and attempts <= 2
        assert party.get()[1]["idempotency_key"] == "remind/6/mqtt"
        party.stop()
    finally:
        sender.close()


def test_bad_topic_is_permanent():
    sender = MqttSender("127.0.0.1", 1)
    for topic in (None, "", "frontage/reminders/#"):
        with pytest.raises(PermanentError, match="topic"):
            sender.send(OutboxMessage(1, "mqtt", None, {"topic": topic}, "k", 1))
