"""Dwell checkpoints: what the zone engine knows of the objects in the frontages, saved every few seconds.

Open cases come back from the cases table; what has no case yet lives only in the zone engine's memory. A
truck three seconds short of its dwell when the box restarts must not start from zero, and a car that left a
minute before the restart must not have its absence wiped out (its case would escalate instead of clearing).
The service saves `ZoneEngine.checkpoint()` here on a timer and hands it back on start; times are stored as
wall times and turned into seconds from the new process's start on the way back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dispatch.db import CaseRow, DwellCheckpointRow
from frontage.config import RuleKind
from zones.dwell import DwellState

Dwelling = tuple[str, RuleKind, DwellState]  # (camera id, rule, state)


def save_dwelling(engine: Engine, camera_ids: Iterable[str], dwelling: Sequence[Dwelling], start: dt.datetime,
                  now: dt.datetime) -> None:  # fmt: skip
    """Replace this box's checkpoint (its cameras only: other boxes may share a central store) in one transaction."""
    cams = list(camera_ids)
    with Session(engine) as s, s.begin():
        s.execute(delete(DwellCheckpointRow).where(DwellCheckpointRow.camera_id.in_(cams)))
        s.add_all(
            DwellCheckpointRow(
                violation_key=st.key,
                camera_id=cam,
                kind=kind.value,
                shop_id=st.shop_id,
                object_class=st.object_class,
                box=list(st.box),
                first_seen_at=start + dt.timedelta(seconds=st.first_seen_t),
                last_seen_at=start + dt.timedelta(seconds=st.last_seen_t),
                still_s=st.still_s,
                opened=st.opened,
                absent_s=st.absent_s,
                saved_at=now,
            )
            for cam, kind, st in dwelling
        )


def load_dwelling(engine: Engine, camera_ids: Iterable[str], start: dt.datetime) -> list[Dwelling]:
    """The last checkpoint of these cameras, in seconds from `start`. An object whose case opened after the
    checkpoint comes back as an open case seen at that checkpoint (absent 0)."""
    cams = list(camera_ids)
    with Session(engine) as s:
        rows = s.scalars(select(DwellCheckpointRow).where(DwellCheckpointRow.camera_id.in_(cams))).all()
        opened = set(s.scalars(select(CaseRow.violation_key).where(
            CaseRow.violation_key.in_([r.violation_key for r in rows])))) if rows else set()  # fmt: skip
    return [
        (
            r.camera_id,
            RuleKind(r.kind),
            DwellState(
                key=r.violation_key,
                shop_id=r.shop_id,
                object_class=r.object_class,
                box=tuple(r.box),
                first_seen_t=(r.first_seen_at - start).total_seconds(),
                last_seen_t=(r.last_seen_at - start).total_seconds(),
                still_s=r.still_s,
                opened=r.opened or r.violation_key in opened,
                absent_s=r.absent_s if r.opened else 0.0,
            ),
        )
        for r in rows
    ]
