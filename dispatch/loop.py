"""The dispatch side of a running box: due reminders and escalations, outbox delivery, polling the city.

One `step()` does everything that is due at the clock's now; a service calls it about once a second, a replay
after every frame (on the recording's clock), a test whenever it moves its manual clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from dispatch.notify import LogSender, MqttSender, WebhookSender
from dispatch.open311 import Open311Client, Open311Sender
from dispatch.outbox import OutboxWorker, Sender
from dispatch.retention import RetentionTimer
from dispatch.workflow import ESCALATION_CHANNEL, Workflow
from frontage.clock import Clock
from frontage.config import Config

log = logging.getLogger(__name__)

LEASE_S = 30.0


def build_senders(cfg: Config) -> dict[str, Sender]:
    """One sender per configured reminder channel, plus the Open311 escalation channel."""
    d = cfg.dispatch
    senders: dict[str, Sender] = {ESCALATION_CHANNEL: Open311Sender(d.open311_url, api_key=d.open311_api_key)}
    for channel in d.reminder_channels:
        if channel == "log":
            senders["log"] = LogSender()
        elif channel == "webhook":
            senders["webhook"] = WebhookSender(d.webhook_secret, d.webhook_url)
        elif channel == "mqtt":
            senders["mqtt"] = MqttSender(d.mqtt_host, d.mqtt_port)
        else:
            raise ValueError(f"unknown reminder channel {channel!r} (log, webhook, mqtt)")
    return senders


@dataclass
class StepResult:
    fired: int = 0
    delivered: int = 0
    closed: int = 0
    purged: int = 0


class DispatchLoop:
    def __init__(
        self,
        engine: Engine,
        cfg: Config,
        clock: Clock,
        workflow: Workflow,
        senders: dict[str, Sender] | None = None,
        open311: Open311Client | None = None,
        snapshot_dir: Path | None = None,
    ):
        """With `snapshot_dir`, evidence of closed cases past `retention.evidence_days` is deleted on the way."""
        self.cfg, self.clock, self.workflow = cfg, clock, workflow
        self.retention = RetentionTimer(engine, snapshot_dir, cfg.retention, clock) if snapshot_dir else None
        # Every sender gives up within ~10 s (5 s connect + 5 s read), so a 30 s lease is never cut short by a
        # slow send, and a message whose sender died mid-send goes out again half a minute later, not in five.
        self.worker = OutboxWorker(
            engine,
            senders if senders is not None else build_senders(cfg),
            clock,
            on_delivered=workflow.on_delivered,
            lease_s=LEASE_S,
        )
        self.open311 = open311 or Open311Client(cfg.dispatch.open311_url, api_key=cfg.dispatch.open311_api_key)
        self._polled: dict[int, dt.datetime] = {}

    def step(self) -> StepResult:
        """Each part on its own: a failure in one (logged) never keeps the others from running."""
        r = StepResult()
        parts = [("fired", self.workflow.tick), ("delivered", self.worker.run_once), ("closed", self.poll_closures)]
        if self.retention is not None:
            parts.append(("purged", self.retention.step))
        for name, part in parts:
            try:
                setattr(r, name, part())
            except Exception:
                log.exception("dispatch step: %s failed; retrying on the next step", name)
        return r

    def poll_closures(self) -> int:
        """Ask the city platform about escalated cases, each at most once per poll interval."""
        now = self.clock.now()
        every = dt.timedelta(seconds=self.cfg.dispatch.poll_interval_s)
        closed = 0
        for case_id, srid in self.workflow.escalated_awaiting_closure():
            last = self._polled.get(case_id)
            if last is not None and now - last < every:
                continue
            self._polled[case_id] = now
            try:
                req = self.open311.get_request(srid)
            except Exception as exc:  # the platform being down or odd must not stop the box
                log.warning("polling request %s for case %s failed: %s", srid, case_id, exc)
                continue
            if str(req.get("status", "")).lower() == "closed":
                closed += self.workflow.dispatch_closed(case_id, req.get("status_notes") or "")
        return closed
