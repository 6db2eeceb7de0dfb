"""Reminder channels behind the outbox's Sender interface: a log line, a signed webhook, an MQTT message.

Every channel raises RetryableError for trouble that may pass (timeouts, 5xx, unreachable peers) and
PermanentError for trouble that will not (4xx, a missing address), so the outbox decides retries in one place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import uuid
from typing import Any

import httpx
import paho.mqtt.client as mqtt

from dispatch.outbox import OutboxMessage, PermanentError, RetryableError
from frontage.clock import Clock, SystemClock

reminder_log = logging.getLogger("frontage.reminders")

SIGNATURE_HEADER = "X-Frontage-Signature"
TIMESTAMP_HEADER = "X-Frontage-Timestamp"
TOPIC_PREFIX = "frontage/reminders"


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a reminder; use aware UTC times")
        return value.isoformat()
    return value


def reminder_payload(case: dict, shop: dict, rule: str, deadline: dt.datetime, snapshot_url: str) -> dict:
    """The reminder every channel carries: what, where, which rule, fixed by when, and the evidence link."""
    responsible = shop.get("responsible") or shop.get("responsible_party") or {}
    return {
        "type": "reminder",
        "case": {
            "id": case["id"],
            "kind": case["kind"],
            "object_class": case.get("object_class", ""),
            "opened_at": _iso(case["opened_at"]),
        },
        "shop": {
            "id": shop["id"],
            "name": shop.get("name", ""),
            "address": shop.get("address", ""),
            "responsible_party": responsible,
        },
        "rule": rule,
        "deadline": _iso(deadline),
        "snapshot_url": snapshot_url,
    }


def reminder_topic(party_id: str, prefix: str = TOPIC_PREFIX) -> str:
    """`frontage/reminders/<party>`; MQTT wildcards and separators in the id would change the topic's meaning."""
    clean = "".join("_" if c in "/+#\x00" else c for c in party_id)
    return f"{prefix.rstrip('/')}/{clean}"


def _body(payload: dict, drop: str) -> bytes:
    try:
        data = {k: v for k, v in payload.items() if k != drop}
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    except (TypeError, ValueError) as e:
        raise PermanentError(f"payload is not JSON-serialisable: {e}") from e


class LogSender:
    """The embedded default: one JSON line per reminder on logger `frontage.reminders`."""

    channel = "log"

    def send(self, message: OutboxMessage) -> dict:
        line = {"outbox_id": message.id, "idempotency_key": message.idempotency_key, **message.payload}
        reminder_log.info("reminder %s", json.dumps(line, ensure_ascii=False, sort_keys=True, default=str))
        return {"logged": True}


def sign(secret: str | bytes, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """For receivers: does `X-Frontage-Signature` match the raw body? Constant-time comparison."""
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def _classify_status(resp: httpx.Response, what: str) -> None:
    code = resp.status_code
    if 200 <= code < 300:
        return
    text = resp.text[:300]
    if code in (408, 425, 429) or code >= 500:
        raise RetryableError(f"{what}: HTTP {code}: {text}")
    raise PermanentError(f"{what}: HTTP {code}: {text}")


class WebhookSender:
    """POSTs the reminder as JSON, signed with HMAC-SHA256 so the receiver knows it came from this box."""

    channel = "webhook"

    def __init__(
        self,
        secret: str | bytes,
        default_url: str = "",
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
    ):
        if not secret:
            raise ValueError("a webhook secret is required: unsigned reminders could be forged")
        self.secret = secret
        self.default_url = default_url
        self.clock = clock or SystemClock()
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, message: OutboxMessage) -> dict:
        url = message.payload.get("url") or self.default_url
        if not url:
            raise PermanentError("no webhook URL in the payload and no default configured")
        body = _body(message.payload, drop="url")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body),
            TIMESTAMP_HEADER: self.clock.now().isoformat(),
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            resp = self.client.post(url, content=body, headers=headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
            raise PermanentError(f"bad webhook URL {url!r}: {e}") from e
        except httpx.HTTPError as e:  # timeouts, refused and dropped connections
            raise RetryableError(f"webhook {url}: {type(e).__name__}: {e}") from e
        _classify_status(resp, f"webhook {url}")
        return {"url": url, "status": resp.status_code}

    def close(self) -> None:
        self.client.close()


class MqttSender:
    """Publishes QoS 1 and waits for the broker's PUBACK; one connection, rebuilt whenever it drops."""

    channel = "mqtt"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        connect_timeout: float = 5.0,
        publish_timeout: float = 5.0,
        keepalive: int = 60,
    ):
        self.host, self.port = host, port
        self.client_id = client_id or f"frontage-{uuid.uuid4().hex[:12]}"
        self.username, self.password = username, password
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self.keepalive = keepalive
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()  # belongs to the current client; replaced with it
        self._lock = threading.Lock()

    def _connect(self) -> mqtt.Client:
        if self._client is not None and self._connected.is_set():
            return self._client
        self._drop()
        connected, answered, refusal = threading.Event(), threading.Event(), []

        def on_connect(client, userdata, flags, reason_code, properties) -> None:
            if reason_code.is_failure:
                refusal.append(str(reason_code))
            else:
                connected.set()
            answered.set()

        def on_disconnect(client, userdata, flags, reason_code, properties) -> None:
            connected.clear()  # only this client's flag: a late callback of an old client changes nothing

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, reconnect_on_failure=False)
        client.connect_timeout = self.connect_timeout
        if self.username:
            client.username_pw_set(self.username, self.password)
        client.on_connect, client.on_disconnect = on_connect, on_disconnect
        try:
            client.connect(self.host, self.port, keepalive=self.keepalive)
        except OSError as e:  # refused, unreachable, DNS, timeout
            raise RetryableError(f"MQTT broker {self.host}:{self.port} unreachable: {e}") from e
        client.loop_start()
        if not answered.wait(self.connect_timeout) or not connected.is_set():
            client.disconnect()
            client.loop_stop()
            why = f"refused the connection: {refusal[0]}" if refusal else "did not accept the connection in time"
            raise RetryableError(f"MQTT broker {self.host}:{self.port} {why}")
        self._client, self._connected = client, connected
        return client

    def _drop(self) -> None:
        """Forget the connection; messages paho still queued with it are the outbox's to resend."""
        client, self._client = self._client, None
        self._connected = threading.Event()
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def send(self, message: OutboxMessage) -> dict:
        topic = message.payload.get("topic")
        if not topic or not isinstance(topic, str) or any(c in topic for c in "+#"):
            raise PermanentError(f"bad or missing MQTT topic {topic!r}")
        body = json.loads(_body(message.payload, drop="topic"))
        body["idempotency_key"] = message.idempotency_key  # MQTT 3.1.1 has no headers; receivers dedupe on this
        data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
        with self._lock:
            client = self._connect()
            try:
                info = client.publish(topic, data, qos=1)
            except ValueError as e:  # topic too long, bad UTF-8
                raise PermanentError(f"MQTT publish to {topic!r} refused: {e}") from e
            try:
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    raise RuntimeError(mqtt.error_string(info.rc))
                info.wait_for_publish(self.publish_timeout)
                if not info.is_published():
                    raise RuntimeError(f"no PUBACK within {self.publish_timeout} s")
            except (RuntimeError, ValueError) as e:
                self._drop()
                raise RetryableError(f"MQTT publish to {topic} failed: {e}") from e
            return {"topic": topic, "mid": info.mid}

    def close(self) -> None:
        with self._lock:
            self._drop()
