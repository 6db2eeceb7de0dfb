"""Each camera's frontage polygons, versioned in the store: what the zone editor saves and `frontage run` runs.

Version 1 of a camera is the config's frontages on it, put here the first time the camera is asked for (or on
start). From then on the store wins over the config for that camera; each edit writes a whole new version (last
+ 1) with its author, time and note, and a `zones_changed` entry in the camera ledger in the same transaction.
An edit is checked by the config's own rules (frontage.polygons) before anything is written, and names where
each problem is. An edit based on a version that is no longer the latest is refused (`ZoneConflict`), so two
editors never silently overwrite each other.

Nothing here reads the clock: callers pass the time.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.baselines import MAX_ACTOR, MAX_CAMERA_ID, add_camera_event
from frontage.config import Camera, Config
from frontage.polygons import Outline, Problem, check_frontages
from register.db import ShopRow, ZoneVersionRow

ZONES_CHANGED = "zones_changed"
CONFIG_AUTHOR = "config"
MAX_FRONTAGES = 200  # per camera: a street view holds a few dozen shops at most
MAX_POINTS = 500  # per polygon
MAX_NOTE = 500


class ZoneConflict(RuntimeError):
    """The camera's zones changed since the edit began (someone else saved); reload and redo the edit."""


class ZoneProblems(ValueError):
    """An edit that breaks the config's rules; nothing was saved. `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"frontages[{first.index}] (shop {first.shop_id!r}) {first.where}: {first.reason}{more}")


@dataclass(frozen=True)
class ZoneVersion:
    """One stored version of a camera's frontages: [{shop_id, polygon: [[x, y], ...], allow_overlap}]."""

    camera_id: str
    version: int
    frontages: list[dict[str, Any]]
    author: str
    at: dt.datetime
    note: str

    def polygons(self) -> list[tuple[str, list[tuple[float, float]]]]:
        """(shop, points) of each frontage, as the zone engine takes them."""
        return [(f["shop_id"], [(float(x), float(y)) for x, y in f["polygon"]]) for f in self.frontages]


@dataclass(frozen=True)
class ZoneVersionInfo:
    """Who saved one version, when and why (without the polygons)."""

    version: int
    author: str
    at: dt.datetime
    note: str
    frontages: int


def normalize(frontages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plain stored form of a list of frontages ({shop_id, polygon, allow_overlap} dicts); ValueError when
    the shape itself is wrong (the geometry is `check`'s)."""
    items = list(frontages)
    if len(items) > MAX_FRONTAGES:
        raise ValueError(f"at most {MAX_FRONTAGES} frontages per camera, got {len(items)}")
    out = []
    for i, f in enumerate(items):
        if not isinstance(f, dict):
            raise ValueError(f"frontages[{i}] must be an object with shop_id and polygon")
        shop_id, polygon = f.get("shop_id"), f.get("polygon")
        if not isinstance(shop_id, str) or not shop_id or len(shop_id) > 100:
            raise ValueError(f"frontages[{i}].shop_id must be a shop id (1-100 characters)")
        if not isinstance(polygon, list | tuple) or len(polygon) > MAX_POINTS:
            raise ValueError(f"frontages[{i}].polygon must be a list of at most {MAX_POINTS} [x, y] points")
        pts = []
        for k, p in enumerate(polygon):
            if not isinstance(p, list | tuple) or len(p) != 2 or not all(_number(v) for v in p):
                raise ValueError(f"frontages[{i}].polygon[{k}] must be [x, y] with finite numbers")
            pts.append([float(p[0]), float(p[1])])
        out.append({"shop_id": shop_id, "polygon": pts, "allow_overlap": bool(f.get("allow_overlap", False))})
    return out


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check(camera: Camera, frontages: list[dict[str, Any]], known_shops: Collection[str] | None) -> list[Problem]:
    """The config's rules for one camera's frontages (normalized), with the shops they may belong to."""
    outlines = [Outline(f["shop_id"], f["polygon"], f.get("allow_overlap", False)) for f in frontages]
    return check_frontages(camera.width, camera.height, outlines, known_shops)


def known_shops(engine: Engine, cfg: Config) -> set[str]:
    """The shops a frontage may belong to: the config's and the register's."""
    with Session(engine) as s:
        return {s_.id for s_ in cfg.shops} | set(s.scalars(select(ShopRow.id)))


def config_frontages(cfg: Config, camera_id: str) -> list[dict[str, Any]]:
    """Version 1: the config's frontages on the camera, in the stored form."""
    return normalize(
        {"shop_id": shop.id, "polygon": [list(p) for p in fr.polygon], "allow_overlap": fr.allow_overlap}
        for shop in cfg.shops
        for fr in shop.frontages
        if fr.camera_id == camera_id
    )


def _row(r: ZoneVersionRow) -> ZoneVersion:
    return ZoneVersion(r.camera_id, r.version, [dict(f) for f in r.frontages], r.author, r.at, r.note or "")


def latest(engine: Engine, camera_id: str) -> ZoneVersion | None:
    """The newest stored version, or None when the camera has none yet."""
    with Session(engine) as s:
        return _latest_in(s, camera_id)


def _latest_in(session: Session, camera_id: str) -> ZoneVersion | None:
    row = session.scalar(
        select(ZoneVersionRow).where(ZoneVersionRow.camera_id == camera_id).order_by(ZoneVersionRow.version.desc())
    )
    return None if row is None else _row(row)


def version(engine: Engine, camera_id: str, n: int) -> ZoneVersion | None:
    with Session(engine) as s:
        row = s.scalar(
            select(ZoneVersionRow).where(ZoneVersionRow.camera_id == camera_id, ZoneVersionRow.version == n)
        )
        return None if row is None else _row(row)


def history(engine: Engine, camera_id: str) -> list[ZoneVersionInfo]:
    """Every stored version, newest first."""
    with Session(engine) as s:
        rows = s.scalars(
            select(ZoneVersionRow).where(ZoneVersionRow.camera_id == camera_id).order_by(ZoneVersionRow.version.desc())
        )
        return [ZoneVersionInfo(r.version, r.author, r.at, r.note or "", len(r.frontages)) for r in rows]


def _check_meta(camera_id: str, author: str, note: str, at: dt.datetime) -> None:
    if not camera_id or len(camera_id) > MAX_CAMERA_ID:
        raise ValueError(f"camera_id must be 1-{MAX_CAMERA_ID} characters")
    if not author or len(author) > MAX_ACTOR:
        raise ValueError(f"author must be 1-{MAX_ACTOR} characters")
    if len(note) > MAX_NOTE:
        raise ValueError(f"note is longer than {MAX_NOTE} characters")
    if not isinstance(at, dt.datetime) or at.tzinfo is None:
        raise ValueError("at must be a timezone-aware datetime (the injected clock's now)")


def ensure(engine: Engine, cfg: Config, camera_id: str, at: dt.datetime) -> ZoneVersion:
    """The camera's latest version; version 1 from the config first when it has none (concurrent callers agree
    on one version 1)."""
    found = latest(engine, camera_id)
    if found is not None:
        return found
    try:
        with Session(engine) as s, s.begin():
            s.add(ZoneVersionRow(camera_id=camera_id, version=1, frontages=config_frontages(cfg, camera_id),
                                 author=CONFIG_AUTHOR, at=at, note="the config's frontages"))  # fmt: skip
    except IntegrityError:
        pass  # another caller put version 1 there first
    found = latest(engine, camera_id)
    assert found is not None
    return found


def seed_from_config(engine: Engine, cfg: Config, at: dt.datetime) -> dict[str, ZoneVersion]:
    """On start: every configured camera's latest version, version 1 from the config where there is none."""
    return {cam.id: ensure(engine, cfg, cam.id, at) for cam in cfg.cameras}


def save(
    engine: Engine,
    camera: Camera,
    frontages: Iterable[dict[str, Any]],
    author: str,
    note: str,
    at: dt.datetime,
    *,
    based_on: int | None = None,
    shops: Collection[str] | None = None,
) -> int:
    """Store `frontages` as the camera's next version, with a `zones_changed` camera ledger entry; returns the
    version. ZoneProblems (nothing saved) when they break the config's rules (`shops`: the shops they may
    belong to); ZoneConflict when `based_on` is not the latest version, or a concurrent save took the number."""
    _check_meta(camera.id, author, note, at)
    clean = normalize(frontages)
    problems = check(camera, clean, shops)
    if problems:
        raise ZoneProblems(problems)
    with Session(engine) as s, s.begin():
        last = s.scalar(select(func.max(ZoneVersionRow.version)).where(ZoneVersionRow.camera_id == camera.id)) or 0
        if based_on is not None and last != based_on:
            raise ZoneConflict(f"camera {camera.id}'s zones are at version {last} now, not {based_on}: someone else "
                               "saved meanwhile; reload them and redo the edit")  # fmt: skip
        before = _latest_in(s, camera.id)
        n = last + 1
        s.add(ZoneVersionRow(camera_id=camera.id, version=n, frontages=clean, author=author, at=at, note=note))
        add_camera_event(s, camera.id, ZONES_CHANGED, author, note or f"zones version {n} saved", at,
                         {"version": n, "based_on": last, "frontages": len(clean),
                          "changed_shops": changed_shops(before.frontages if before else [], clean)})  # fmt: skip
        try:
            s.flush()
        except IntegrityError:
            raise ZoneConflict(f"camera {camera.id}'s zones version {n} was saved by someone else; reload") from None
    return n


def changed_shops(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """The shops whose frontage on the camera was added, removed or redrawn."""
    a = {f["shop_id"]: (f["polygon"], f.get("allow_overlap", False)) for f in old}
    b = {f["shop_id"]: (f["polygon"], f.get("allow_overlap", False)) for f in new}
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
