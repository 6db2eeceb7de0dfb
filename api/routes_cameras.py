"""A camera's baseline of permitted fixtures, its view and its ledger: what operators do when a camera moved or
a case shows something that belongs in the frontage.

Every baseline change is a new version in the store (dispatch.baselines) with a camera ledger entry, and then
the camera process is told to reload it (`CameraControl.baseline_changed`). Edits read the current version and
save on top of it in one transaction; a concurrent edit that got there first answers 409 (a removal by index)
or is simply redone on the new version (an addition).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi import Path as PathParam
from pydantic import ValidationError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.auth import Admin, Principal, Staff
from api.context import AppContext, Ctx, invalid, visible_case
from api.routes_cases import CaseId, detail
from api.schemas import (
    MAX_REASON,
    BaselineOut,
    BaselineVersionOut,
    BelongsIn,
    BelongsOut,
    CameraEventOut,
    FixtureIn,
    FixtureOut,
    ViewConfirmIn,
    ViewConfirmOut,
    errors,
)
from dispatch.baselines import (
    MAX_ACTOR,
    BaselineConflict,
    add_baseline,
    baseline_versions,
    camera_events,
    current_baseline,
    current_baseline_in,
    record_camera_event,
)
from dispatch.lifecycle import Actor, CaseState
from dispatch.workflow import ledger, transition
from frontage.config import Camera, Fixture

log = logging.getLogger(__name__)
router = APIRouter(tags=["cameras"])

CameraId = Annotated[str, PathParam(min_length=1, max_length=100, description="Camera id (from the config).")]
VIEW_CONFIRMED = "view_confirmed"
BELONGS_STATES = frozenset({CaseState.detected, CaseState.reminded, CaseState.dismissed})
ADD_RETRIES = 3  # an addition is redone on a baseline someone else just changed; that many times, then 409


def _conflict(description: str) -> dict[int | str, dict[str, Any]]:
    return {409: {**errors(409)[409], "description": description}}


def _camera(ctx: AppContext, camera_id: str) -> Camera:
    try:
        return ctx.cfg.camera(camera_id)
    except KeyError:
        raise HTTPException(404, f"no camera {camera_id!r}") from None


def _actor(who: Principal) -> str:
    return who.name[:MAX_ACTOR]


def baseline_out(ctx: AppContext, camera: Camera) -> BaselineOut:
    version, fixtures = current_baseline(ctx.engine, camera)
    versions = [
        BaselineVersionOut(version=0, at=None, actor="config", reason="the config's fixtures",
                           fixtures=len(camera.fixtures)),
        *(BaselineVersionOut(version=v.version, at=v.at, actor=v.actor, reason=v.reason, fixtures=v.fixtures)
          for v in baseline_versions(ctx.engine, camera.id)),
    ]  # fmt: skip
    return BaselineOut(
        camera_id=camera.id,
        version=version,
        fixtures=[FixtureOut(shop_id=f["shop_id"], polygon=f["polygon"], note=f.get("note", "")) for f in fixtures],
        versions=versions,
    )


def _reload(ctx: AppContext, camera_id: str) -> None:
    """Tell the camera process; the version is saved either way, and a restart loads it from the store."""
    if ctx.camera_control is None:
        return
    try:
        ctx.camera_control.baseline_changed(camera_id)
    except Exception:
        log.exception("camera %s: the camera process did not take the new baseline; it loads it on restart", camera_id)


def _edit(
    ctx: AppContext,
    camera: Camera,
    who: Principal,
    change: Callable[[int, list[dict[str, Any]]], list[dict[str, Any]]],
    reason: str,
    data: dict[str, Any],
    retries: int,
) -> int:
    """Read the current baseline, apply `change(version, fixtures)` and save it as the next version."""
    for attempt in range(retries + 1):
        try:
            with Session(ctx.engine) as s, s.begin():
                version, fixtures = current_baseline_in(s, camera)
                new = change(version, list(fixtures))
                saved = add_baseline(
                    s, camera.id, new, _actor(who), reason, ctx.workflow.clock.now(), based_on=version, data=data
                )
        except BaselineConflict as exc:
            if attempt < retries:
                continue
            raise HTTPException(409, f"{exc}; nothing was changed") from None
        except ValueError as exc:
            raise invalid(("body",), str(exc)) from None
        _reload(ctx, camera.id)
        return saved
    raise AssertionError("unreachable")


def _check_fixture(ctx: AppContext, camera: Camera, body: FixtureIn) -> dict[str, Any]:
    """The config's rules for a fixture, plus what only the API can know: the shop and the camera's frame."""
    try:
        shop = ctx.cfg.shop(body.shop_id)
    except KeyError:
        known = ", ".join(sorted(s.id for s in ctx.cfg.shops))
        raise invalid(("body", "shop_id"), f"unknown shop {body.shop_id!r} (known: {known})", body.shop_id) from None
    if camera.id not in {f.camera_id for f in shop.frontages}:
        raise invalid(("body", "shop_id"), f"shop {shop.id!r} has no frontage on camera {camera.id!r}", shop.id)
    outside = [[x, y] for x, y in body.polygon if not (0 <= x <= camera.width and 0 <= y <= camera.height)]
    if outside:
        raise invalid(
            ("body", "polygon"),
            f"points {outside[:5]} lie outside the {camera.width}x{camera.height} frame of camera {camera.id!r}",
        )
    try:
        fx = Fixture.model_validate({"shop_id": shop.id, "polygon": body.polygon, "note": body.note})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise invalid(("body", "polygon"), str(first.get("msg", "invalid")).removeprefix("Value error, ")) from None
    return {"shop_id": fx.shop_id, "polygon": _to_reference(ctx, camera.id, fx.polygon), "note": fx.note}


def _to_reference(ctx: AppContext, camera_id: str, polygon) -> list[list[float]]:
    """Fixtures are stored in the camera's reference view (the one its frontages were drawn on); what an operator
    marks is in the view as it is now, which a bumped camera has moved: the camera process maps it back."""
    to_ref = getattr(ctx.camera_control, "to_reference", None)
    pts = [(float(x), float(y)) for x, y in polygon]
    return [[x, y] for x, y in (to_ref(camera_id, pts) if to_ref is not None else pts)]


@router.get(
    "/cameras/{camera_id}/baseline",
    response_model=BaselineOut,
    responses=errors(401, 403, 404),
    summary="A camera's permitted fixtures: the current baseline version and every version's who and when",
)
def get_baseline(camera_id: CameraId, ctx: Ctx, who: Staff) -> BaselineOut:
    return baseline_out(ctx, _camera(ctx, camera_id))


@router.post(
    "/cameras/{camera_id}/baseline/fixtures",
    response_model=BaselineOut,
    status_code=201,
    responses={**errors(400, 401, 403, 404, 413), **_conflict("Concurrent edits kept the baseline changing; retry.")},
    summary="Add a permitted fixture to a camera's baseline (a new version)",
    description="422 when the shop is unknown or has no frontage on this camera, or when the polygon is not a "
    "simple polygon with an area inside the camera's frame; the reason names which.",
)
def add_fixture(camera_id: CameraId, body: Annotated[FixtureIn, Body()], ctx: Ctx, who: Staff) -> BaselineOut:
    camera = _camera(ctx, camera_id)
    fixture = _check_fixture(ctx, camera, body)
    reason = f"fixture added: {fixture['note'] or fixture['shop_id']}"
    _edit(ctx, camera, who, lambda _v, fxs: [*fxs, fixture], reason, {"added": fixture}, ADD_RETRIES)
    return baseline_out(ctx, camera)


@router.delete(
    "/cameras/{camera_id}/baseline/fixtures/{index}",
    response_model=BaselineOut,
    responses={
        **errors(401, 403),
        404: {**errors(404)[404], "description": "No such camera, or no fixture at that index now."},
        **_conflict("The baseline changed since it was read; reload it and check the index."),
    },
    summary="Remove a permitted fixture from a camera's baseline (a new version; admins only)",
)
def remove_fixture(
    camera_id: CameraId,
    index: Annotated[int, PathParam(ge=0, le=10_000, description="The fixture's index in the current version.")],
    ctx: Ctx,
    who: Admin,
    reason: Annotated[str, Query(max_length=MAX_REASON, description="Why (camera ledger).")] = "",
) -> BaselineOut:
    camera = _camera(ctx, camera_id)
    facts: dict[str, Any] = {"removed_index": index}  # the ledger entry is written after `drop` filled it in

    def drop(version: int, fixtures: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if index >= len(fixtures):
            raise HTTPException(404, f"camera {camera.id}'s baseline version {version} has no fixture {index} "
                                     f"(it has {len(fixtures)})")  # fmt: skip
        facts["removed"] = fixtures.pop(index)
        return fixtures

    text = reason.strip() or f"fixture {index} removed"
    _edit(ctx, camera, who, drop, text, facts, 0)
    return baseline_out(ctx, camera)


def _box_polygon(box: list[float], camera: Camera) -> list[list[float]] | None:
    """The case's xyxy box as a rectangle clipped to the frame, or None when nothing with an area is left."""
    if len(box) != 4:
        return None
    x1, x2 = sorted(min(max(float(v), 0.0), float(camera.width)) for v in (box[0], box[2]))
    y1, y2 = sorted(min(max(float(v), 0.0), float(camera.height)) for v in (box[1], box[3]))
    if (x2 - x1) * (y2 - y1) < 1.0:
        return None
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


def _mark_belongs(ctx: AppContext, case_id: int, who: Principal, note: str) -> tuple[str, int]:
    """In one transaction: the case's box as a new fixture version, and the case dismissed (or noted)."""
    now = ctx.workflow.clock.now()
    with Session(ctx.engine) as s, s.begin():
        case = visible_case(s, case_id, who)
        if case.source != "camera":
            raise HTTPException(409, f"case {case_id} came from a {case.source}, not a camera: it has no box to keep")
        state = CaseState(case.state)
        if state not in BELONGS_STATES:
            raise HTTPException(
                409,
                f"case {case_id} is {state.value}: it was treated as a real violation, so it cannot be marked as a "
                "permitted fixture; add the fixture to the camera's baseline instead",
            )
        try:
            camera = ctx.cfg.camera(case.camera_id)
        except KeyError:
            raise HTTPException(409, f"case {case_id}'s camera {case.camera_id!r} is no longer configured") from None
        try:
            ctx.cfg.shop(case.shop_id)
        except KeyError:
            raise HTTPException(409, f"case {case_id}'s shop {case.shop_id!r} is no longer configured") from None
        polygon = _box_polygon(list(case.box), camera)
        if polygon is None:
            raise HTTPException(409, f"case {case_id}'s box {case.box} has no area inside camera {camera.id}'s frame")
        fixture = {"shop_id": case.shop_id, "polygon": _to_reference(ctx, camera.id, polygon), "note": note}
        version, fixtures = current_baseline_in(s, camera)
        if any(f["shop_id"] == case.shop_id and f["polygon"] == polygon for f in fixtures):
            raise HTTPException(409, f"case {case_id}'s box is already a permitted fixture (baseline v{version})")
        saved = add_baseline(
            s, camera.id, [*fixtures, fixture], _actor(who), f"permitted fixture, marked from case {case_id}", now,
            based_on=version, data={"case_id": case_id, "added": fixture},
        )  # fmt: skip
        facts = {"by": who.name, "camera_id": camera.id, "baseline_version": saved}
        if state is CaseState.dismissed:
            note_text = f"marked as a permitted fixture (camera {camera.id} v{saved})"
            ledger(s, case, Actor.operator, note_text, now, **facts)
        else:
            transition(s, case, CaseState.dismissed, Actor.operator, "permitted fixture", now, **facts)
        return camera.id, saved


@router.post(
    "/cases/{case_id}/belongs",
    response_model=BelongsOut,
    tags=["cases"],
    responses={
        **errors(400, 401, 403, 404, 413),
        **_conflict(
            "The case was escalated, resolved or closed (a real violation, not a fixture), its box is "
            "already a fixture, its camera or shop left the config, or it changed meanwhile."
        ),
    },
    summary="This belongs here: the case's object becomes a permitted fixture, and the case is dismissed",
    description="Adds the case's box as a rectangle fixture of the case's shop to its camera's baseline (a new "
    "version) and dismisses the case ('permitted fixture') when it is detected or reminded; a case already "
    "dismissed only gets the fixture and a ledger note. Escalated, resolved and closed cases answer 409: they "
    "were handled as real violations. Operators and admins only.",
)
def case_belongs(case_id: CaseId, ctx: Ctx, who: Staff, body: Annotated[BelongsIn | None, Body()] = None) -> BelongsOut:
    note = (body.note.strip() if body else "") or f"marked from case {case_id}"
    for attempt in range(ADD_RETRIES + 1):
        try:
            camera_id, _ = _mark_belongs(ctx, case_id, who, note)
            break
        except (BaselineConflict, StaleDataError):
            if attempt == ADD_RETRIES:
                raise HTTPException(409, f"case {case_id} or its camera's baseline kept changing; retry") from None
    _reload(ctx, camera_id)
    with Session(ctx.engine) as s:
        case = detail(s, visible_case(s, case_id, who), ctx)
    return BelongsOut(case=case, baseline=baseline_out(ctx, ctx.cfg.camera(camera_id)))


@router.post(
    "/cameras/{camera_id}/view/confirm",
    response_model=ViewConfirmOut,
    responses={
        **errors(400, 401, 403, 404, 413),
        **_conflict("No camera process runs in this API process, or it has nothing to confirm for this camera."),
    },
    summary="Confirm a camera's new view (after a camera_moved alert): rules resume on it",
)
def confirm_view(
    camera_id: CameraId, ctx: Ctx, who: Staff, body: Annotated[ViewConfirmIn | None, Body()] = None
) -> ViewConfirmOut:
    camera = _camera(ctx, camera_id)
    if ctx.camera_control is None:
        raise HTTPException(
            409, f"no camera process runs in this API process; confirm camera {camera.id}'s view on the box that "
            "runs it (frontage run)",
        )  # fmt: skip
    try:
        answer = ctx.camera_control.confirm_view(camera.id, who.name)
    except (LookupError, ValueError) as exc:
        why = str(exc.args[0]) if exc.args else type(exc).__name__
        raise HTTPException(409, why if camera.id in why else f"camera {camera.id}: {why}") from None
    facts = _plain(answer) if isinstance(answer, dict) else {"answer": _plain(answer)}
    reason = (body.reason.strip() if body else "") or "operator confirmed the camera's new view"
    event_id = record_camera_event(
        ctx.engine, camera.id, VIEW_CONFIRMED, _actor(who), reason, ctx.workflow.clock.now(), {"answer": facts}
    )
    return ViewConfirmOut(camera_id=camera.id, confirmed_by=who.name, event_id=event_id, answer=facts)


def _plain(value: Any) -> Any:
    """The camera process's answer as plain JSON for the ledger and the response: numpy numbers become floats,
    times ISO text, non-finite numbers null, anything else its text; a surprise there must not cost a 500."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "__index__") and not isinstance(value, float):  # numpy integers stay integers
        try:
            return int(value.__index__())
        except TypeError:
            pass
    if isinstance(value, float) or hasattr(value, "__float__"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        return number if math.isfinite(number) else None
    return str(value)


@router.get(
    "/cameras/{camera_id}/events",
    response_model=list[CameraEventOut],
    responses=errors(401, 403, 404),
    summary="The camera ledger: view alerts, confirmations and baseline changes, newest first",
)
def list_camera_events(
    camera_id: CameraId,
    ctx: Ctx,
    who: Staff,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CameraEventOut]:
    camera = _camera(ctx, camera_id)
    return [
        CameraEventOut(id=e.id, camera_id=e.camera_id, at=e.at, kind=e.kind, actor=e.actor, reason=e.reason,
                       data=e.data)
        for e in camera_events(ctx.engine, camera.id, limit)
    ]  # fmt: skip
