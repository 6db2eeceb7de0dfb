"""Prometheus metrics in a registry per app (tests build many apps; a global registry would reject the second).

Case and outbox gauges are read from the database at scrape time, so they are right whichever process wrote
the rows (the camera service, the outbox worker or this API).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.metrics_credit import VoluntaryFixCollector
from api.schemas import ALERT_VIEW_STATES
from dispatch.db import CaseRow, OutboxRow
from dispatch.lifecycle import CaseState
from dispatch.outbox import DEAD, PENDING
from frontage.config import CaseKind, CaseSource
from frontage.threadcpu import thread_cpu_seconds


class StoreCollector(Collector):
    """Cases by state, kind and source (every combination, zeros included, so series never vanish) and outbox
    backlog."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with Session(self.engine) as s:
            cases = dict(
                ((state, kind, source), n)
                for state, kind, source, n in s.execute(
                    select(CaseRow.state, CaseRow.kind, CaseRow.source, func.count()).group_by(
                        CaseRow.state, CaseRow.kind, CaseRow.source
                    )
                )
            )
            outbox = dict(
                s.execute(
                    select(OutboxRow.status, func.count())
                    .where(OutboxRow.status.in_([PENDING, DEAD]))
                    .group_by(OutboxRow.status)
                ).all()
            )
        g = GaugeMetricFamily(
            "frontage_cases",
            "Cases in the store by lifecycle state, kind and source.",
            labels=["state", "kind", "source"],
        )
        for state in CaseState:
            for kind in CaseKind:
                for source in CaseSource:
                    key = (state.value, kind.value, source.value)
                    g.add_metric(list(key), cases.get(key, 0))
        yield g
        o = GaugeMetricFamily("frontage_outbox_messages", "Outbox messages not delivered yet.", labels=["status"])
        for status in (PENDING, DEAD):
            o.add_metric([status], outbox.get(status, 0))
        yield o


class CameraCollector(Collector):
    """Per-camera gauges from the service's live camera status: every numeric field becomes
    `frontage_camera_<field>{camera=...}` (frames in, decoded, inferred, skipped by the gate, lag, reconnects,
    view_shift_px, baseline_version), plus `frontage_camera_up` (1 when online) and `frontage_camera_view_alert`
    (1 when the view state is moved or tampered: an alert rule needs no string matching)."""

    def __init__(self, camera_status: Callable[[], list[dict[str, Any]]]):
        self.camera_status = camera_status

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        up = GaugeMetricFamily("frontage_camera_up", "1 when the camera delivers frames.", labels=["camera"])
        alert = GaugeMetricFamily(
            "frontage_camera_view_alert",
            "1 when the camera moved or was tampered with: its rules are suspended until the view is confirmed.",
            labels=["camera"],
        )
        for entry in self.camera_status():
            cam = str(entry.get("id", entry.get("camera_id", "")))
            up.add_metric([cam], 1.0 if entry.get("state") == "online" else 0.0)
            alert.add_metric([cam], 1.0 if entry.get("view_state") in ALERT_VIEW_STATES else 0.0)
            for key, value in entry.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                name = "frontage_camera_" + "".join(c if c.isalnum() else "_" for c in key)
                fam = families.setdefault(name, GaugeMetricFamily(name, f"Camera {key}.", labels=["camera"]))
                fam.add_metric([cam], float(value))
        yield up
        yield alert
        yield from families.values()


class ThreadCpuCollector(Collector):
    """CPU seconds per thread group (readers, main loop, inference workers, dispatch, API), from the kernel."""

    def collect(self) -> Iterator[Metric]:
        fam = CounterMetricFamily(
            "frontage_thread_cpu_seconds", "CPU seconds by thread group of this process.", labels=["threads"]
        )
        for name, seconds in sorted(thread_cpu_seconds().items()):
            fam.add_metric([name], seconds)
        yield fam


def make_registry(
    engine: Engine, camera_status: Callable[[], list[dict[str, Any]]] | None = None
) -> tuple[CollectorRegistry, Counter]:
    registry = CollectorRegistry()
    registry.register(StoreCollector(engine))
    registry.register(VoluntaryFixCollector(engine))  # the voluntary-fix rate per street (api/metrics_credit.py)
    ProcessCollector(registry=registry)  # process CPU seconds and resident memory
    registry.register(ThreadCpuCollector())
    if camera_status is not None:
        registry.register(CameraCollector(camera_status))
    requests = Counter(
        "frontage_api_requests",
        "API requests by method, route template and response status.",
        ["method", "route", "status"],
        registry=registry,
    )
    return registry, requests
