"""Retention: the evidence of a case goes N days after the case closed; the case and its ledger stay.

`retention.evidence_days` (config) counts from the case's closing: its last move into a final state (resolved,
closed by the city, dismissed) in the ledger. What goes: the annotated snapshot and the unannotated original
(only files inside the snapshot folder, nothing else there). What stays: the case row, its ledger, its box, the
evidence of open cases and of cases closed more recently. The deletion is a ledger entry, and the case keeps
`evidence_deleted_at`, so pages can say "evidence deleted after N days". Files go first, then the row is marked:
a crash between the two leaves a case whose files are gone and which the next run marks.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dispatch.case_evidence import evidence_files
from dispatch.db import CaseEventRow, CaseRow
from dispatch.lifecycle import Actor, CaseState
from dispatch.workflow import ledger
from frontage.clock import Clock
from frontage.config import RetentionConfig

log = logging.getLogger(__name__)

FINAL = (CaseState.resolved.value, CaseState.closed.value, CaseState.dismissed.value)
BATCH = 200  # cases per run: a first run over years of cases never holds the store for long


@dataclass(frozen=True)
class Purged:
    case_id: int
    closed_at: dt.datetime
    files: tuple[str, ...]


def due_cases(session: Session, cutoff: dt.datetime, limit: int = BATCH) -> list[tuple[int, dt.datetime]]:
    """Cases closed before `cutoff` whose evidence is still there: (case id, closing time), oldest first."""
    closed = (
        select(CaseEventRow.case_id, func.max(CaseEventRow.at).label("closed_at"))
        .where(
            CaseEventRow.to_state.in_(FINAL),
            or_(CaseEventRow.from_state.is_(None), CaseEventRow.from_state != CaseEventRow.to_state),
        )
        .group_by(CaseEventRow.case_id)
        .subquery()
    )
    rows = session.execute(
        select(CaseRow.id, closed.c.closed_at)
        .join(closed, closed.c.case_id == CaseRow.id)
        .where(
            CaseRow.state.in_(FINAL),
            CaseRow.evidence_deleted_at.is_(None),
            or_(CaseRow.snapshot.is_not(None), CaseRow.evidence.is_not(None)),
            closed.c.closed_at < cutoff,
        )
        .order_by(closed.c.closed_at, CaseRow.id)
        .limit(limit)
    ).all()
    return [(int(case_id), at if at.tzinfo else at.replace(tzinfo=dt.UTC)) for case_id, at in rows]


def purge_evidence(engine: Engine, snapshot_dir: Path, days: int, now: dt.datetime) -> list[Purged]:
    """Delete the evidence of cases closed more than `days` days before `now` (0: keep forever)."""
    if days <= 0:
        return []
    root = Path(snapshot_dir)
    with Session(engine) as s:
        due = due_cases(s, now - dt.timedelta(days=days))
    done: list[Purged] = []
    for case_id, closed_at in due:
        try:
            done.append(_purge_one(engine, root, case_id, closed_at, days, now))
        except StaleDataError:  # moved meanwhile: the next run looks again
            continue
        except OSError as exc:  # a file that will not go: the case stays marked as holding evidence
            log.error("case %s: evidence not deleted: %s", case_id, exc)
    return done


def _purge_one(engine: Engine, root: Path, case_id: int, closed_at: dt.datetime, days: int, now: dt.datetime) -> Purged:
    with Session(engine) as s, s.begin():
        row = s.get(CaseRow, case_id)
        assert row is not None
        files = evidence_files(row, root)
        for f in files:
            f.unlink(missing_ok=True)
        names = tuple(f.name for f in files)
        row.evidence_deleted_at = now
        row.snapshot = None
        row.evidence = {"deleted_after_days": days}
        ledger(s, row, Actor.system, f"evidence deleted after {days} days (retention): {len(names)} file(s)", now,
               retention_days=days, closed_at=closed_at.isoformat(), files=list(names))  # fmt: skip
    return Purged(case_id, closed_at, names)


class RetentionTimer:
    """Runs purge_evidence at most once per `check_every_s` of the injected clock (the dispatch loop's step)."""

    def __init__(self, engine: Engine, snapshot_dir: Path, cfg: RetentionConfig, clock: Clock):
        self.engine, self.snapshot_dir, self.cfg, self.clock = engine, Path(snapshot_dir), cfg, clock
        self._next: dt.datetime | None = None

    def step(self) -> int:
        now = self.clock.now()
        if self.cfg.evidence_days <= 0 or (self._next is not None and now < self._next):
            return 0
        self._next = now + dt.timedelta(seconds=self.cfg.check_every_s)
        purged = purge_evidence(self.engine, self.snapshot_dir, self.cfg.evidence_days, now)
        if purged:
            log.info("retention: evidence of %d closed case(s) deleted", len(purged))
        return len(purged)
