"""The camera ledger and each camera's baseline of permitted fixtures, in the store.

A baseline is the list of things that belong in a camera's frontages (a shop's bench, a planter): objects on
them never open a case. Version 0 is the config's own `cameras[].fixtures` and is never stored, so a config
edit still shows until someone changes the baseline; every change writes a whole new version (last + 1) with
who, when and why, and a "baseline_changed" entry in the camera ledger in the same transaction, so the ledger
never misses a version and no version lacks its ledger entry.

Nothing here reads the clock: callers pass the time (the injected clock's), like the case workflow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.db import CameraBaselineRow, CameraEventRow
from frontage.config import Camera, Fixture

BASELINE_CHANGED = "baseline_changed"
MAX_KIND, MAX_ACTOR, MAX_CAMERA_ID = 40, 100, 100  # the columns' lengths: PostgreSQL refuses longer, SQLite not


class BaselineConflict(RuntimeError):
    """The camera's baseline changed between reading it and saving the edit; read it again and redo the edit."""


@dataclass(frozen=True)
class CameraEvent:
    """One camera ledger entry."""

    id: int
    camera_id: str
    at: dt.datetime
    kind: str
    actor: str
    reason: str
    data: dict[str, Any]


@dataclass(frozen=True)
class BaselineVersion:
    """Who saved one baseline version, when and why (the fixtures themselves come from `latest_baseline`)."""

    version: int
    at: dt.datetime
    actor: str
    reason: str
    fixtures: int


def _check_text(name: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")


def _check_time(at: dt.datetime) -> None:
    if not isinstance(at, dt.datetime) or at.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime (the injected clock's now)")


def validate_fixtures(fixtures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fixtures checked by the config's own rules (`Fixture`) and in plain JSON form
    ({shop_id, polygon: [[x, y], ...], note}); ValueError names the first bad one's index and why."""
    if not isinstance(fixtures, list):
        raise ValueError("fixtures must be a list")
    out = []
    for i, raw in enumerate(fixtures):
        try:
            fx = Fixture.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
            raise ValueError(f"fixtures[{i}]{'.' + where if where else ''}: {msg}") from None
        out.append({"shop_id": fx.shop_id, "polygon": [[float(x), float(y)] for x, y in fx.polygon], "note": fx.note})
    return out


def add_camera_event(
    session: Session,
    camera_id: str,
    kind: str,
    actor: str,
    reason: str,
    at: dt.datetime,
    data: dict[str, Any] | None = None,
) -> CameraEventRow:
    """A camera ledger entry in the caller's transaction (for moves that must land together with it)."""
    _check_text("camera_id", camera_id, MAX_CAMERA_ID)
    _check_text("kind", kind, MAX_KIND)
    _check_text("actor", actor, MAX_ACTOR)
    _check_time(at)
    row = CameraEventRow(camera_id=camera_id, at=at, kind=kind, actor=actor, reason=reason or "", data=data or {})
    session.add(row)
    return row


def record_camera_event(
    engine: Engine,
    camera_id: str,
    kind: str,
    actor: str,
    reason: str,
    at: dt.datetime,
    data: dict[str, Any] | None = None,
) -> int:
    """Write one camera ledger entry ("camera_moved", "view_confirmed"...); returns its id."""
    with Session(engine) as s, s.begin():
        row = add_camera_event(s, camera_id, kind, actor, reason, at, data)
        s.flush()
        return row.id


def camera_events(engine: Engine, camera_id: str, limit: int = 100) -> list[CameraEvent]:
    """The camera's ledger, newest first (ties in time by the order they were written)."""
    with Session(engine) as s:
        rows = s.scalars(
            select(CameraEventRow)
            .where(CameraEventRow.camera_id == camera_id)
            .order_by(CameraEventRow.at.desc(), CameraEventRow.id.desc())
            .limit(limit)
        )
        return [CameraEvent(r.id, r.camera_id, r.at, r.kind, r.actor, r.reason, dict(r.data or {})) for r in rows]


def _latest_version(session: Session, camera_id: str) -> int:
    found = session.scalar(select(func.max(CameraBaselineRow.version)).where(CameraBaselineRow.camera_id == camera_id))
    return int(found or 0)


def _latest(session: Session, camera_id: str) -> tuple[int, list[dict[str, Any]]] | None:
    row = session.scalar(
        select(CameraBaselineRow)
        .where(CameraBaselineRow.camera_id == camera_id)
        .order_by(CameraBaselineRow.version.desc())
        .limit(1)
    )
    return None if row is None else (row.version, [dict(f) for f in row.fixtures])


def latest_baseline(engine: Engine, camera_id: str) -> tuple[int, list[dict[str, Any]]] | None:
    """The newest stored (version, fixtures), or None when only the config's version 0 exists."""
    with Session(engine) as s:
        return _latest(s, camera_id)


def config_fixtures(camera: Camera) -> list[dict[str, Any]]:
    """Version 0: the config's fixtures, in the stored form."""
    return validate_fixtures([f.model_dump() for f in camera.fixtures])


def current_baseline(engine: Engine, camera: Camera) -> tuple[int, list[dict[str, Any]]]:
    """What the camera should run with: the newest stored version, else the config's (version 0)."""
    with Session(engine) as s:
        return current_baseline_in(s, camera)


def current_baseline_in(session: Session, camera: Camera) -> tuple[int, list[dict[str, Any]]]:
    """`current_baseline` read in the caller's transaction (to edit it and save the result in the same one)."""
    return _latest(session, camera.id) or (0, config_fixtures(camera))


def baseline_versions(engine: Engine, camera_id: str) -> list[BaselineVersion]:
    """Every stored version, oldest first (version 0, the config's, is not among them)."""
    with Session(engine) as s:
        rows = s.scalars(
            select(CameraBaselineRow)
            .where(CameraBaselineRow.camera_id == camera_id)
            .order_by(CameraBaselineRow.version)
        )
        return [BaselineVersion(r.version, r.at, r.actor, r.reason, len(r.fixtures)) for r in rows]


def add_baseline(
    session: Session,
    camera_id: str,
    fixtures: list[dict[str, Any]],
    actor: str,
    reason: str,
    at: dt.datetime,
    *,
    based_on: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """`save_baseline` in the caller's transaction (a case dismissed as a permitted fixture lands with it)."""
    _check_text("camera_id", camera_id, MAX_CAMERA_ID)
    _check_text("actor", actor, MAX_ACTOR)
    _check_time(at)
    clean = validate_fixtures(fixtures)
    last = _latest_version(session, camera_id)
    if based_on is not None and last != based_on:
        raise BaselineConflict(f"camera {camera_id}'s baseline is at version {last} now, not {based_on}; reload it")
    version = last + 1
    session.add(
        CameraBaselineRow(camera_id=camera_id, version=version, fixtures=clean, actor=actor, at=at, reason=reason)
    )
    add_camera_event(
        session,
        camera_id,
        BASELINE_CHANGED,
        actor,
        reason,
        at,
        {**(data or {}), "version": version, "fixtures": len(clean)},
    )
    try:
        session.flush()  # a concurrent writer of the same version fails here, on the unique (camera, version)
    except IntegrityError:
        raise BaselineConflict(f"camera {camera_id}'s baseline version {version} was saved by someone else") from None
    return version


def save_baseline(
    engine: Engine,
    camera_id: str,
    fixtures: list[dict[str, Any]],
    actor: str,
    reason: str,
    at: dt.datetime,
    *,
    based_on: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Store `fixtures` as the camera's next baseline version and note it in the camera ledger; returns the
    version. ValueError (nothing saved) when a fixture breaks the config's rules; BaselineConflict when
    `based_on` is given and the stored baseline moved past it, or a concurrent save took the version."""
    with Session(engine) as s, s.begin():
        return add_baseline(s, camera_id, fixtures, actor, reason, at, based_on=based_on, data=data)
