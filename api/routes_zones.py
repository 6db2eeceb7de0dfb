"""The zone editor's API: each camera's frontage polygons by version, checked by the config's own rules before
anything is saved, exported to and imported from YAML in the config's format, and the cameras' latest frames to
draw them on.

Camera processes take the zones from here over HTTP (frontage.zone_sync polls `GET /cameras/{id}/zones`) and
push their frames here (`PUT /cameras/{id}/snapshot.jpg`), so one central service can hold the zones of a whole
district while the cameras run on their own boxes. Admins edit; operators read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from PIL import Image
from pydantic import ValidationError

from api.auth import Admin, Principal, Staff
from api.context import AppContext, Ctx
from api.routes_cameras import _actor, _conflict
from api.schemas import errors
from api.schemas_zones import (
    MAX_VERSION,
    MAX_YAML,
    SnapshotOut,
    ZoneFrontage,
    ZoneProblemOut,
    ZonesCheckIn,
    ZonesCheckOut,
    ZonesOut,
    ZonesSaveIn,
    ZonesYamlIn,
    ZoneVersionOut,
)
from frontage.config import Camera
from frontage.polygons import Problem
from register import frontages as store

router = APIRouter(tags=["zones"])

CameraId = Annotated[str, PathParam(min_length=1, max_length=100, description="Camera id (from the config).")]
Version = Annotated[int, PathParam(ge=1, le=MAX_VERSION, description="A zone version of the camera.")]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
SNAPSHOT_MAX_PIXELS = 16_000_000


def _camera(ctx: AppContext, camera_id: str) -> Camera:
    try:
        return ctx.cfg.camera(camera_id)
    except KeyError:
        known = ", ".join(sorted(c.id for c in ctx.cfg.cameras)) or "none: this service's config lists no cameras"
        raise HTTPException(404, f"no camera {camera_id!r} (known: {known})") from None


def _now(ctx: AppContext) -> dt.datetime:
    return ctx.workflow.clock.now()


def _out(camera: Camera, zv: store.ZoneVersion) -> ZonesOut:
    return ZonesOut(
        camera_id=camera.id, version=zv.version, width=camera.width, height=camera.height, author=zv.author,
        at=zv.at, note=zv.note, frontages=[ZoneFrontage.model_validate(f) for f in zv.frontages],
    )  # fmt: skip


def _latest(ctx: AppContext, camera: Camera) -> store.ZoneVersion:
    """The latest version; version 1 from the config the first time a camera is asked for."""
    return store.ensure(ctx.engine, ctx.cfg, camera.id, _now(ctx))


def _problem_out(p: Problem) -> ZoneProblemOut:
    return ZoneProblemOut(shop_id=p.shop_id, index=p.index, where=p.where, reason=p.reason,
                          point=list(p.point) if p.point else None, vertex=p.vertex)  # fmt: skip


def _problems_422(problems: list[Problem], prefix: tuple[str | int, ...] = ("body", "frontages"),
                  paths: list[tuple[str | int, ...]] | None = None) -> RequestValidationError:  # fmt: skip
    """Every problem as one error of FastAPI's 422, its loc at the shop entry and the vertex where one is meant."""
    out = []
    for p in problems:
        base = (*prefix, *(paths[p.index] if paths else (p.index,)))
        if p.where == "shop_id":
            loc = (*base, "shop_id") if not paths else (*prefix, *paths[p.index][:2], "id")
        else:
            loc = (*base, "polygon", *(() if p.vertex is None else (p.vertex,)))
        at = f" (at {p.point[0]:g}, {p.point[1]:g})" if p.point else ""
        out.append({"type": "value_error", "loc": loc, "msg": f"shop {p.shop_id!r}, {p.where}: {p.reason}{at}"})
    return RequestValidationError(out)


def _save(ctx: AppContext, camera: Camera, frontages: list[dict[str, Any]], who: Principal, note: str,
          based_on: int | None, paths: list[tuple[str | int, ...]] | None = None,
          prefix: tuple[str | int, ...] = ("body", "frontages")) -> ZonesOut:  # fmt: skip
    _latest(ctx, camera)  # version 1 exists before anything is saved on top of it
    shops = store.known_shops(ctx.engine, ctx.cfg)
    try:
        n = store.save(ctx.engine, camera, frontages, _actor(who), note.strip(), _now(ctx), based_on=based_on,
                       shops=shops)  # fmt: skip
    except store.ZoneProblems as exc:
        raise _problems_422(exc.problems, prefix, paths) from None
    except store.ZoneConflict as exc:
        raise HTTPException(409, f"{exc}; nothing was saved") from None
    saved = store.version(ctx.engine, camera.id, n)
    assert saved is not None
    return _out(camera, saved)


@router.get(
    "/cameras/{camera_id}/zones",
    response_model=ZonesOut,
    responses=errors(401, 403, 404),
    summary="A camera's frontage polygons, latest version (what its camera process runs)",
)
def get_zones(camera_id: CameraId, ctx: Ctx, who: Staff) -> ZonesOut:
    camera = _camera(ctx, camera_id)
    return _out(camera, _latest(ctx, camera))


@router.get(
    "/cameras/{camera_id}/zones/versions",
    response_model=list[ZoneVersionOut],
    responses=errors(401, 403, 404),
    summary="Every zone version of a camera, newest first: who saved it, when and why",
)
def list_zone_versions(camera_id: CameraId, ctx: Ctx, who: Staff) -> list[ZoneVersionOut]:
    camera = _camera(ctx, camera_id)
    _latest(ctx, camera)
    return [ZoneVersionOut(version=v.version, author=v.author, at=v.at, note=v.note, frontages=v.frontages)
            for v in store.history(ctx.engine, camera.id)]  # fmt: skip


@router.get(
    "/cameras/{camera_id}/zones/{version:int}",
    response_model=ZonesOut,
    responses=errors(401, 403, 404),
    summary="One zone version of a camera",
)
def get_zone_version(camera_id: CameraId, version: Version, ctx: Ctx, who: Staff) -> ZonesOut:
    camera = _camera(ctx, camera_id)
    latest = _latest(ctx, camera)
    found = store.version(ctx.engine, camera.id, version)
    if found is None:
        raise HTTPException(404, f"camera {camera.id} has no zones version {version} (latest: {latest.version})")
    return _out(camera, found)


@router.post(
    "/cameras/{camera_id}/zones/check",
    response_model=ZonesCheckOut,
    responses=errors(400, 401, 403, 404, 413),
    summary="Check frontages by the config's rules without saving (admins)",
    description="Self-intersection, vertices outside the frame, one polygon per shop, overlap between shops, "
    "unknown shops. Each problem names the entry, the vertex or edges, and a point to show.",
)
def check_zones(camera_id: CameraId, body: Annotated[ZonesCheckIn, Body()], ctx: Ctx, who: Admin) -> ZonesCheckOut:
    camera = _camera(ctx, camera_id)
    frontages = store.normalize(f.model_dump() for f in body.frontages)
    problems = store.check(camera, frontages, store.known_shops(ctx.engine, ctx.cfg))
    return ZonesCheckOut(ok=not problems, problems=[_problem_out(p) for p in problems])


@router.put(
    "/cameras/{camera_id}/zones",
    response_model=ZonesOut,
    status_code=201,
    responses={**errors(400, 401, 403, 404, 413), **_conflict("Another version was saved since base_version.")},
    summary="Save a camera's frontages as its next zone version (admins)",
    description="All of the camera's frontages, checked like the config's (422 names the entry and vertex of "
    "each problem; nothing is saved). The camera process picks the new version up within zones.poll_s; open "
    "cases whose object no longer stands in its shop's new frontage clear ('frontage redrawn').",
)
def put_zones(camera_id: CameraId, body: Annotated[ZonesSaveIn, Body()], ctx: Ctx, who: Admin) -> ZonesOut:
    camera = _camera(ctx, camera_id)
    frontages = [f.model_dump() for f in body.frontages]
    return _save(ctx, camera, frontages, who, body.note, body.base_version)


YAML_EXAMPLE = (
    "shops:\n- id: shop-a\n  frontages:\n  - camera_id: cam1\n    polygon:\n    - [20, 200]\n    - [300, 200]\n"
    "    - [300, 350]\n"
)


@router.get(
    "/cameras/{camera_id}/zones.yaml",
    response_class=Response,
    # the schema of the YAML document itself (a client that reads YAML, schemathesis among them, sees an object)
    responses={200: {"content": {"application/yaml": {"schema": {"type": "object"}, "example": YAML_EXAMPLE}},
                     "description": "The version as the shops: part of a config."},
               **errors(401, 403, 404)},  # fmt: skip
    summary="Export a camera's zones (the latest, or ?version=N) as YAML in the config's format",
)
def export_zones(
    camera_id: CameraId,
    ctx: Ctx,
    who: Staff,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION, description="Default: the latest.")] = None,
) -> Response:
    camera = _camera(ctx, camera_id)
    latest = _latest(ctx, camera)
    zv = latest if version is None else store.version(ctx.engine, camera.id, version)
    if zv is None:
        raise HTTPException(404, f"camera {camera.id} has no zones version {version} (latest: {latest.version})")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", camera.id)
    return Response(store.to_yaml(zv), media_type="application/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="zones-{name}-v{zv.version}.yaml"'})


async def _yaml_body(
    request: Request,
    note: Annotated[str, Query(max_length=500, description="With a YAML body: why (the version's note).")] = "",
    base_version: Annotated[int | None, Query(ge=1, le=MAX_VERSION,
                                              description="With a YAML body: 409 unless still the latest.")] = None,
) -> tuple[str, str, int | None]:  # fmt: skip
    """(yaml, note, base_version) from a YAML body (note and base_version in the query) or a JSON one."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if kind == "application/json":
        try:
            body = ZonesYamlIn.model_validate(json.loads(raw))
        except ValueError as exc:  # broken JSON, or a JSON body that is not {yaml, note, base_version}
            errs = exc.errors() if isinstance(exc, ValidationError) else [
                {"type": "json_invalid", "loc": (), "msg": f"JSON decode error: {exc}"}]  # fmt: skip
            raise RequestValidationError([{**e, "loc": ("body", *e.get("loc", ()))} for e in errs]) from None
        return body.yaml, body.note, body.base_version
    if kind not in YAML_TYPES:
        raise HTTPException(415, f"send the YAML as application/yaml (or JSON {{yaml, note, base_version}}), not "
                                 f"{kind or 'no content type'}")  # fmt: skip
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": "YAML must be UTF-8"}]) from None
    if len(text) > MAX_YAML:
        raise RequestValidationError([{"type": "value_error", "loc": ("body",),
                                       "msg": f"YAML longer than {MAX_YAML} characters"}])  # fmt: skip
    return text, note, base_version


_YAML_BODY = {
    "required": True,
    "content": {
        "application/yaml": {"schema": {"type": "string", "maxLength": MAX_YAML}, "example": YAML_EXAMPLE},
        "application/json": {"schema": ZonesYamlIn.model_json_schema()},
    },
}


@router.post(
    "/cameras/{camera_id}/zones.yaml",
    response_model=ZonesOut,
    status_code=201,
    responses={**errors(400, 401, 403, 404, 413), **_conflict("Another version was saved since base_version."),
               415: {**errors(415)[415], "description": "Neither YAML nor JSON."}},  # fmt: skip
    openapi_extra={"requestBody": _YAML_BODY},
    summary="Import zones from YAML in the config's format as the camera's next version (admins)",
    description="The body: YAML (application/yaml; `note` and `base_version` in the query) or JSON {yaml, note, "
    "base_version}. The YAML holds `shops: [{id, frontages: [{camera_id, polygon, allow_overlap}]}]`, a whole "
    "config file too: only this camera's frontages are taken, other fields are passed over. Checked like an "
    "edit: 422 names the place in the YAML.",
)
def import_zones(
    camera_id: CameraId,
    ctx: Ctx,
    who: Admin,
    body: Annotated[tuple[str, str, int | None], Depends(_yaml_body)],
) -> ZonesOut:
    camera = _camera(ctx, camera_id)
    text, why, base = body
    try:
        frontages, paths = store.from_yaml(text, camera.id)
    except store.YamlProblem as exc:
        raise RequestValidationError([{"type": "value_error", "loc": ("body", "yaml", *exc.loc),
                                       "msg": exc.msg}]) from None  # fmt: skip
    return _save(ctx, camera, frontages, who, why or f"imported from YAML ({len(frontages)} frontages)", base,
                 paths, ("body", "yaml"))  # fmt: skip


# -- the cameras' latest frames --------------------------------------------------------------------------------


def _snapshot_path(ctx: AppContext, camera_id: str) -> Path:
    """Where a camera's latest frame is kept: a name we make (the id's safe part and a digest of it)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", camera_id)[:60]
    digest = hashlib.sha256(camera_id.encode()).hexdigest()[:10]
    return ctx.upload_dir / "cameras" / f"{safe}-{digest}.jpg"


async def _raw(request: Request) -> bytes:
    return await request.body()


@router.put(
    "/cameras/{camera_id}/snapshot.jpg",
    response_model=SnapshotOut,
    responses={**errors(401, 403, 404, 413), 415: {**errors(415)[415], "description": "Not a JPEG (by content)."}},
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}},
    summary="A camera process pushes the camera's latest frame (admins: the camera process's token)",
    description="The body is the JPEG itself, of the camera's configured frame size (the polygons' frame): 422 "
    "otherwise, 415 when it is not a JPEG by its content.",
)
def put_snapshot(camera_id: CameraId, ctx: Ctx, who: Admin, data: Annotated[bytes, Depends(_raw)]) -> SnapshotOut:
    camera = _camera(ctx, camera_id)
    limit = ctx.cfg.api.max_upload_bytes
    if len(data) > limit:
        raise HTTPException(413, f"snapshot over {limit} bytes (api.max_upload_bytes)")
    if not data.startswith(b"\xff\xd8\xff"):
        raise HTTPException(415, "the snapshot must be a JPEG image (checked by its content)")
    size = _jpeg_size(data)
    if size is None:
        raise _bad_snapshot("the snapshot cannot be read as a JPEG image")
    if size != (camera.width, camera.height):
        raise _bad_snapshot(f"the snapshot is {size[0]}x{size[1]} pixels; camera {camera.id}'s frame (the polygons' "
                            f"coordinates) is {camera.width}x{camera.height}")  # fmt: skip
    path = _snapshot_path(ctx, camera.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{uuid.uuid4().hex[:12]}.part")
    tmp.write_bytes(data)
    at = _now(ctx)
    os.utime(tmp, (at.timestamp(), at.timestamp()))  # when it came, on the service's clock
    tmp.replace(path)
    return SnapshotOut(camera_id=camera.id, at=at, width=size[0], height=size[1], bytes=len(data))


def _bad_snapshot(msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": msg}])


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The JPEG's size once it decodes whole (its header first: a few bytes must not claim gigapixels)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, size = img.format, img.size
    except Exception:  # PIL raises many kinds for broken headers; any of them means "not a JPEG"
        return None
    if fmt != "JPEG" or size[0] * size[1] > SNAPSHOT_MAX_PIXELS:
        return None
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_2)
    return None if pixels is None or pixels.size == 0 else (int(size[0]), int(size[1]))


@router.get(
    "/cameras/{camera_id}/snapshot.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The camera's latest pushed frame."},
               **errors(401, 403, 404)},  # fmt: skip
    summary="A camera's latest frame, as its camera process pushed it (to draw the frontages on)",
)
def get_camera_snapshot(camera_id: CameraId, ctx: Ctx, who: Staff) -> Response:
    camera = _camera(ctx, camera_id)
    path = _snapshot_path(ctx, camera.id)
    try:
        data, mtime = path.read_bytes(), path.stat().st_mtime
    except OSError:
        raise HTTPException(404, f"no snapshot of camera {camera.id} yet: its camera process (frontage run) pushes "
                                 "one every zones.snapshot_every_s once it has a frame") from None  # fmt: skip
    at = dt.datetime.fromtimestamp(mtime, dt.UTC)
    return Response(data, media_type="image/jpeg", headers={
        "Cache-Control": "private, no-store", "X-Captured-At": at.isoformat(),
        "Last-Modified": at.strftime("%a, %d %b %Y %H:%M:%S GMT")})  # fmt: skip
