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

import yaml
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
MAX_FRONTAGES = 100  # per camera: a street view holds a few dozen shops at most
MAX_POINTS = 100  # per polygon: a frontage is drawn with a handful
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


class ShapeError(ValueError):
    """A frontage whose shape is wrong before any geometry: `loc` is where within it ("polygon", 3)."""

    def __init__(self, loc: tuple[str | int, ...], msg: str):
        super().__init__(msg)
        self.loc, self.msg = loc, msg


def plain(f: Any) -> dict[str, Any]:
    """One frontage in the stored form {shop_id, polygon: [[x, y], ...], allow_overlap}; ShapeError when its
    shape is wrong (the geometry is `check`'s)."""
    if not isinstance(f, dict):
        raise ShapeError((), "must be a mapping with shop_id and polygon")
    shop_id, polygon, allow = f.get("shop_id"), f.get("polygon"), f.get("allow_overlap", False)
    if not isinstance(shop_id, str) or not 1 <= len(shop_id) <= 100:
        raise ShapeError(("shop_id",), "must be a shop id (1-100 characters)")
    if not isinstance(polygon, list | tuple) or len(polygon) > MAX_POINTS:
        raise ShapeError(("polygon",), f"must be a list of at most {MAX_POINTS} [x, y] points")
    pts = []
    for k, p in enumerate(polygon):
        if not isinstance(p, list | tuple) or len(p) != 2 or not all(_number(v) for v in p):
            raise ShapeError(("polygon", k), "must be [x, y] with finite numbers")
        pts.append([float(p[0]), float(p[1])])
    if not isinstance(allow, bool):
        raise ShapeError(("allow_overlap",), "must be true or false")
    return {"shop_id": shop_id, "polygon": pts, "allow_overlap": allow}


def normalize(frontages: Iterable[Any]) -> list[dict[str, Any]]:
    """The plain stored form of a list of frontages; ValueError naming the first one whose shape is wrong."""
    items = list(frontages)
    if len(items) > MAX_FRONTAGES:
        raise ValueError(f"at most {MAX_FRONTAGES} frontages per camera, got {len(items)}")
    out = []
    for i, f in enumerate(items):
        try:
            out.append(plain(f))
        except ShapeError as exc:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.loc)
            raise ValueError(f"frontages[{i}]{where} {exc.msg}") from None
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


# -- YAML in the config's own format ---------------------------------------------------------------------------


class YamlProblem(ValueError):
    """YAML that is not zones in the config's format: `loc` is the path in it (("shops", 0, "frontages", 1))."""

    def __init__(self, loc: tuple[str | int, ...], msg: str):
        super().__init__(msg)
        self.loc, self.msg = loc, msg


MAX_YAML_SHOPS = 50_000
MAX_YAML_DEPTH = 16  # a config nests 6 deep; PyYAML's scanner is quadratic in the depth, its composer recursive
_OPENS = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
          yaml.FlowSequenceStartToken)  # fmt: skip
_CLOSES = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _load(text: str) -> Any:
    """yaml.safe_load of text from a request, within bounds. Its tokens first: no anchors or aliases (a few
    hundred aliases of a list of aliases make a 30 KB document that takes minutes to walk) and no nesting deeper
    than MAX_YAML_DEPTH; then no YAML error, oversized number or recursion escapes as anything but YamlProblem."""
    depth = 0
    try:
        for tok in yaml.scan(text, Loader=yaml.SafeLoader):
            at = f" at line {tok.start_mark.line + 1}, column {tok.start_mark.column + 1}"
            if isinstance(tok, yaml.AliasToken | yaml.AnchorToken):
                raise YamlProblem((), f"anchors and aliases (& and *) are not taken{at}: write each frontage out")
            depth += isinstance(tok, _OPENS) - isinstance(tok, _CLOSES)
            if depth > MAX_YAML_DEPTH:
                raise YamlProblem((), f"nested deeper than {MAX_YAML_DEPTH} levels{at}")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise YamlProblem((), f"YAML syntax error{where}: {getattr(exc, 'problem', None) or exc}") from None
    except YamlProblem:
        raise
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more digits than Python converts
        raise YamlProblem((), f"YAML that cannot be read: {exc}") from None


def to_yaml(zv: ZoneVersion) -> str:
    """The version as the `shops:` part of a config (id and frontages on this camera): what `from_yaml` reads
    back, and what can be pasted into a config file beside the shops' other fields."""
    shops: dict[str, list[dict[str, Any]]] = {}
    for f in zv.frontages:
        fr: dict[str, Any] = {"camera_id": zv.camera_id, "polygon": [[_short(x), _short(y)] for x, y in f["polygon"]]}
        if f.get("allow_overlap"):
            fr["allow_overlap"] = True
        shops.setdefault(f["shop_id"], []).append(fr)
    head = [f"# frontages of camera {zv.camera_id}, zones version {zv.version}, saved by {zv.author} at "
            f"{zv.at.isoformat()}"]  # fmt: skip
    if zv.note:
        head.append(f"# note: {zv.note}")
    head = ["".join(c if c.isprintable() else " " for c in line) for line in head]
    body = yaml.safe_dump({"shops": [{"id": k, "frontages": v} for k, v in shops.items()]}, sort_keys=False,
                          allow_unicode=True, default_flow_style=None, width=120)  # fmt: skip
    return "\n".join(head) + "\n" + body


def _short(v: float) -> int | float:
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def from_yaml(text: str, camera_id: str) -> tuple[list[dict[str, Any]], list[tuple[str | int, ...]]]:
    """The camera's frontages in YAML of the config's format (`shops: [{id, frontages: [{camera_id, polygon,
    allow_overlap}]}]`, a whole config file too: other fields and other cameras' frontages are passed over), and
    each one's path in the YAML. YamlProblem says where the YAML is not that."""
    data = _load(text)
    if not isinstance(data, dict) or not isinstance(data.get("shops"), list):
        raise YamlProblem((), "expected a mapping with a shops: list (the config's format)")
    shops = data["shops"]
    if len(shops) > MAX_YAML_SHOPS:
        raise YamlProblem(("shops",), f"more than {MAX_YAML_SHOPS} shops")
    out: list[dict[str, Any]] = []
    paths: list[tuple[str | int, ...]] = []
    for si, shop in enumerate(shops):
        if not isinstance(shop, dict) or not isinstance(shop.get("id"), str) or not shop["id"]:
            raise YamlProblem(("shops", si), "expected a shop with an id")
        frontages = shop.get("frontages", [])
        if not isinstance(frontages, list):
            raise YamlProblem(("shops", si, "frontages"), "expected a list of frontages")
        for fi, fr in enumerate(frontages):
            path: tuple[str | int, ...] = ("shops", si, "frontages", fi)
            if not isinstance(fr, dict):
                raise YamlProblem(path, "expected a frontage with camera_id and polygon")
            unknown = sorted(str(k) for k in fr if k not in ("camera_id", "polygon", "allow_overlap"))
            if unknown:
                raise YamlProblem((*path, unknown[0]), f"unknown field {unknown[0]!r} (a frontage has camera_id, "
                                  "polygon and allow_overlap)")  # fmt: skip
            if fr.get("camera_id") != camera_id:
                continue
            try:
                item = {"shop_id": shop["id"], "polygon": fr.get("polygon"),
                        "allow_overlap": fr.get("allow_overlap", False)}  # fmt: skip
                out.append(plain(item))
            except ShapeError as exc:
                loc = ("shops", si, "id") if exc.loc == ("shop_id",) else (*path, *exc.loc)
                raise YamlProblem(loc, exc.msg) from None
            paths.append(path)
            if len(out) > MAX_FRONTAGES:
                raise YamlProblem(path, f"more than {MAX_FRONTAGES} frontages on camera {camera_id}")
    if not out:
        raise YamlProblem(("shops",), f"no frontage on camera {camera_id!r} in it")
    return out, paths
