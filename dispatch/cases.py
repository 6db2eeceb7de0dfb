"""Turn violation events into stored cases with evidence snapshots."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from detector.types import Detection
from dispatch.db import CaseRow
from dispatch.evidence import boxes_of, draw_evidence, evidence_record, privacy_classes, write_jpeg
from dispatch.lifecycle import Actor, CaseState
from dispatch.workflow import ledger
from zones.dwell import EventType, ViolationEvent
from zones.routing import Route, route_case

if TYPE_CHECKING:
    from dispatch.workflow import Workflow

log = logging.getLogger(__name__)

KIND_LABEL = {"illegal_parking": "illegal parking", "out_of_store_trading": "out-of-store trading"}


class CaseRecorder:
    """Writes one case per violation: opened -> stored with a snapshot; cleared -> `cleared_at` and resolved.

    Violation keys come from the zone engine (which prefixes them per run, or per recording for a replay) and are
    unique in the store, so a replayed event never makes a second case; the later events of a violation whose case
    was already there (a recording replayed again) are not applied twice either. Each new or cleared case also
    moves through the lifecycle (ledger, reminder and escalation times) in the same transaction.
    """

    def __init__(
        self,
        engine: Engine,
        snapshot_dir: Path,
        polygons: Mapping[tuple[str, str], Sequence[tuple[float, float]]],
        workflow: Workflow,
        find_privacy: Callable[[np.ndarray], Sequence[Detection]] | None = None,
    ):
        """`find_privacy(image)`: people and vehicles on a case's frame where the rules' detections leave them
        out (dispatch.evidence.privacy_finder); None when the detector reports them with every frame."""
        self.engine = engine
        self.snapshot_dir = Path(snapshot_dir)
        self.polygons = polygons
        self.workflow = workflow
        self.find_privacy = find_privacy
        self.people_classes, self.vehicle_classes = privacy_classes(workflow.cfg)
        self.case_ids: list[int] = []
        self._replayed: set[str] = set()  # violations whose case an earlier run of the same recording recorded

    def handle(
        self,
        ev: ViolationEvent,
        start: dt.datetime,
        image: np.ndarray | None,
        detections: Sequence[Detection] | None = None,
    ) -> int | None:
        """Apply one event; `start` is the wall time of t=0, `image` the frame the event came from and
        `detections` what the model found on it (None: not known, so its evidence is never shown unredacted to
        anyone but staff; see dispatch.privacy).

        The evidence JPEGs are written first, outside the transaction: a full disk costs the snapshot, never the
        case. A case another writer moved meanwhile (the dispatch thread) is read again and the event re-applied.
        """
        snapshot, evidence = None, None
        if image is not None and ev.type is EventType.opened:
            snapshot, evidence = self._snapshot(ev, image, detections)
        route = self._route(ev, image)
        for attempt in range(3):
            try:
                return self._apply(ev, start, snapshot, evidence, route)
            except StaleDataError:
                if attempt == 2:
                    raise
        return None

    def _route(self, ev: ViolationEvent, image: np.ndarray | None) -> Route | None:
        """Routing (zones.routing): the party that answers for the objects of a case that opens, on its frame."""
        if ev.type is not EventType.opened:
            return None
        return route_case(self.workflow.cfg.routing, image, ev.object_class, (ev.box, *ev.others), ev.shop_id,
                          ev.camera_id)  # fmt: skip

    def _apply(
        self, ev: ViolationEvent, start: dt.datetime, snapshot: Path | None, evidence: dict | None,
        route: Route | None = None,
    ) -> int | None:  # fmt: skip
        key = ev.key
        with Session(self.engine) as s, s.begin():
            row = s.scalar(select(CaseRow).where(CaseRow.violation_key == key))
            if ev.type is EventType.opened:
                if row is not None:
                    self._replayed.add(key)
                    self.case_ids.append(row.id)
                    return row.id  # replayed event: the case exists already
                row = CaseRow(
                    violation_key=key,
                    camera_id=ev.camera_id,
                    shop_id=ev.shop_id,
                    kind=ev.kind.value,
                    object_class=ev.object_class,
                    state=CaseState.detected.value,
                    first_seen_at=start + dt.timedelta(seconds=ev.first_seen_t),
                    opened_at=start + dt.timedelta(seconds=ev.opened_t if ev.opened_t is not None else ev.t),
                    dwell_s=ev.dwell_s,
                    box=list(ev.box),
                    snapshot=str(snapshot) if snapshot else None,
                    evidence=evidence,
                )
                s.add(row)
                s.flush()
                self.case_ids.append(row.id)
                self.workflow.case_opened(s, row, row.opened_at, route)
            elif row is None:
                log.warning("event %s for unknown violation %s ignored", ev.type, key)
                return None
            elif key in self._replayed and (ev.type is EventType.joined or row.cleared_at is not None):
                return row.id  # already in the ledger from the first replay
            elif ev.type is EventType.joined:
                at = start + dt.timedelta(seconds=ev.opened_t if ev.opened_t is not None else ev.t)
                x0, y0, x1, y1 = (round(v) for v in ev.box)
                ledger(s, row, Actor.system, f"one more {ev.object_class} at ({x0}, {y0}, {x1}, {y1}) joins this case",
                       at, box=list(ev.box), object_class=ev.object_class)  # fmt: skip
            elif ev.type is EventType.cleared:
                row.cleared_at = start + dt.timedelta(seconds=ev.cleared_t if ev.cleared_t is not None else ev.t)
                row.dwell_s = ev.dwell_s
                self.workflow.case_cleared(s, row, start + dt.timedelta(seconds=ev.t), ev.reason)
            return row.id

    def _snapshot(
        self, ev: ViolationEvent, image: np.ndarray, detections: Sequence[Detection] | None
    ) -> tuple[Path | None, dict | None]:
        """The annotated snapshot (staff's evidence, as always) and, beside it, the unannotated original with the
        boxes that redact it: the original keeps the camera's pixels (nothing burnt in over a plate, a face or the
        subject), and each audience's rendering draws the annotation over its own redaction."""
        objects = f" +{len(ev.others)} more" if ev.others else ""
        lines = [
            f"{KIND_LABEL.get(ev.kind.value, ev.kind.value)}: {ev.object_class}{objects}  shop {ev.shop_id}",
            f"dwell {ev.dwell_s:.0f} s  camera {ev.camera_id}  t={ev.t:.1f} s",
        ]
        poly = self.polygons.get((ev.shop_id, ev.camera_id), [])
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ev.key)
        try:
            annotated = draw_evidence(image, poly, ev.box, lines, ev.others)
            snapshot = write_jpeg(self.snapshot_dir / f"{stem}.jpg", annotated)
        except OSError as exc:
            log.error("evidence snapshot for %s not written: %s", ev.key, exc)
            return None, None
        people, vehicles = self._privacy_boxes(image, detections)
        try:
            original = write_jpeg(self.snapshot_dir / f"{stem}.orig.jpg", image, quality=92)
        except OSError as exc:
            log.error("original evidence frame for %s not written: %s", ev.key, exc)
            return snapshot, None
        size = (image.shape[1], image.shape[0])
        subjects = [ev.box, *ev.others]
        return snapshot, evidence_record(str(original), size, subjects, people, vehicles, poly, lines)

    def _privacy_boxes(
        self, image: np.ndarray, detections: Sequence[Detection] | None
    ) -> tuple[list[list[float]] | None, list[list[float]] | None]:
        """People's and vehicles' boxes on the case's frame: from its detections where the detector reports
        those classes with every frame, the others from one look of the model (find_privacy). None: unknown."""
        if detections is None:
            return None, None
        reported = self.workflow.cfg.rule_classes()
        found = list(detections)
        if self.find_privacy is not None and not (self.people_classes | self.vehicle_classes) <= reported:
            try:
                found += [d for d in self.find_privacy(image) if d.cls not in reported]
                reported = reported | self.people_classes | self.vehicle_classes
            except Exception:  # no boxes: the evidence is then shown blurred whole to whoever must not see people
                log.exception("people and vehicles on a case's frame not found")
        people = boxes_of(found, self.people_classes) if self.people_classes <= reported else None
        vehicles = boxes_of(found, self.vehicle_classes) if self.vehicle_classes <= reported else None
        return people, vehicles

    def rows(self) -> list[CaseRow]:
        with Session(self.engine) as s:
            rows = s.scalars(select(CaseRow).where(CaseRow.id.in_(self.case_ids)).order_by(CaseRow.id)).all()
            s.expunge_all()
            return list(rows)
