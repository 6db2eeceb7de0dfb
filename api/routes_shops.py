"""The shop register over HTTP: list and search shops, one shop with its frontages and open cases, edits by
operators and admins with their history. A shop only the config describes (not imported yet) is listed too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import CurrentPrincipal, Principal, Staff
from api.context import AppContext, Ctx
from api.schemas import errors
from api.schemas_shops import FrontageOut, ResponsibleOut, ShopChangeOut, ShopDetailOut, ShopOut, ShopPage, ShopPatchIn
from dispatch.db import CaseRow
from dispatch.lifecycle import OPEN311_STATUS
from frontage.config import Role, Shop
from register import shops
from register.db import ShopRow
from register.shops import InvalidShop, ShopNotFound, ShopRecord

router = APIRouter(tags=["shops"])
OPEN_STATES = [s.value for s, status in OPEN311_STATUS.items() if status == "open"]
ShopId = Annotated[str, Path(max_length=100, description="The shop's id, as on its signboard.")]


def _open_counts(ctx: AppContext, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    with Session(ctx.engine) as s:
        rows = s.execute(
            select(CaseRow.shop_id, func.count())
            .where(CaseRow.state.in_(OPEN_STATES), CaseRow.shop_id.in_(ids))
            .group_by(CaseRow.shop_id)
        )
        return {shop_id: n for shop_id, n in rows}


def _config_shop(ctx: AppContext, shop_id: str) -> Shop | None:
    try:
        return ctx.cfg.shop(shop_id)
    except KeyError:
        return None


def _out(ctx: AppContext, r: ShopRecord, open_cases: int, on_register: bool) -> dict:
    configured = _config_shop(ctx, r.id)
    cameras = sorted({f.camera_id for f in configured.frontages}) if configured else []
    fields = r.model_dump(exclude={"contact_phone"})
    return fields | {
        "responsible": ResponsibleOut(kind=r.party_kind, name=r.party_name),
        "camera_ids": cameras,
        "open_cases": open_cases,
        "on_register": on_register,
    }


def _matches(r: ShopRecord, q: str, street: str, community: str) -> bool:
    """The register's search (register.shops.search) for a shop only the config holds."""
    text = q.strip().lower()
    if text and not any(text in v.lower() for v in (r.id, r.name, r.address, r.party_name)):
        return False
    return (not street or r.street == street) and (not community or r.community == community)


def _config_only(ctx: AppContext, who: Principal, q: str, street: str, community: str) -> list[ShopRecord]:
    """Configured shops the caller may see that are not on the register, matching the filters, by id."""
    visible = [s for s in ctx.cfg.shops if who.sees_shop(s.id)]
    listed = shops.registered(ctx.engine, [s.id for s in visible])
    records = [shops.config_record(s) for s in visible if s.id not in listed]
    return sorted((r for r in records if _matches(r, q, street, community)), key=lambda r: r.id)


@router.get("/shops", response_model=ShopPage, responses=errors(401), summary="Shops: search and list")
def list_shops(
    ctx: Ctx,
    who: CurrentPrincipal,
    q: Annotated[str, Query(max_length=200, description="Text in the id, name, address or party (any case).")] = "",
    street: Annotated[str, Query(max_length=100, description="Only this street (街道).")] = "",
    community: Annotated[str, Query(max_length=100, description="Only this community (社区).")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> ShopPage:
    """Merchants see only their own shop; everyone else sees the district. Shops only the config describes
    come first, then the register's, each by id."""
    extra = _config_only(ctx, who, q, street, community)
    own = [who.shop_id or ""] if who.role is Role.merchant else None
    page = extra[offset : offset + limit]
    total, registered = shops.search(
        ctx.engine, q, street, community, limit=limit - len(page), offset=max(0, offset - len(extra)), only_ids=own
    )
    counts = _open_counts(ctx, [r.id for r in page + registered])
    items = [ShopOut(**_out(ctx, r, counts.get(r.id, 0), False)) for r in page]
    items += [ShopOut(**_out(ctx, r, counts.get(r.id, 0), True)) for r in registered]
    if own is None:
        streets = sorted(set(shops.streets(ctx.engine)) | {r.street for r in extra if r.street})
    else:
        streets = sorted({r.street for r in [*extra, *registered] if r.street})
    return ShopPage(items=items, total=total + len(extra), limit=limit, offset=offset, streets=streets)


def _detail(ctx: AppContext, shop_id: str, who: Principal) -> ShopDetailOut:
    if not who.sees_shop(shop_id):
        raise HTTPException(404, f"no shop {shop_id!r}")
    configured = _config_shop(ctx, shop_id)
    with Session(ctx.engine) as s:
        row = s.get(ShopRow, shop_id)
        generation, updated_at = (row.signboard_generation, row.updated_at) if row else (0, None)
    record = shops.get(ctx.engine, shop_id) if row else None
    if record is None and configured is not None:
        record = shops.config_record(configured)
    if record is None:
        raise HTTPException(404, f"no shop {shop_id!r}")
    staff = who.role in (Role.admin, Role.operator)
    polygons = configured.frontages if configured else []
    frontages = [FrontageOut(camera_id=f.camera_id, polygon=f.polygon) for f in polygons]
    return ShopDetailOut(
        **_out(ctx, record, _open_counts(ctx, [shop_id]).get(shop_id, 0), row is not None),
        contact_phone=record.contact_phone if staff else None,
        frontages=frontages,
        signboard_generation=generation,
        updated_at=updated_at,
    )


@router.get("/shops/{shop_id}", response_model=ShopDetailOut, responses=errors(401, 404), summary="A shop")
def get_shop(shop_id: ShopId, ctx: Ctx, who: CurrentPrincipal) -> ShopDetailOut:
    """The register's fields, the config's frontages and the open cases. The contact phone is for operators and
    admins only; a merchant sees only their own shop (any other answers 404)."""
    return _detail(ctx, shop_id, who)


@router.patch(
    "/shops/{shop_id}",
    response_model=ShopDetailOut,
    responses=errors(400, 401, 403, 404, 413),
    summary="Change a shop's fields (operators and admins)",
)
def patch_shop(shop_id: ShopId, body: ShopPatchIn, ctx: Ctx, who: Staff) -> ShopDetailOut:
    """Only the fields sent change; the shop's history records each with the token holder's name. A shop only
    the config describes goes on the register first. The printed signboard code stays valid."""
    now = ctx.workflow.clock.now()
    configured = _config_shop(ctx, shop_id)
    if configured is not None:
        shops.ensure_registered(ctx.engine, configured, now)
    try:
        shops.edit(ctx.engine, shop_id, body.changes(), who.name, now)
    except ShopNotFound:
        raise HTTPException(404, f"no shop {shop_id!r}") from None
    except InvalidShop as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", field), "msg": msg, "input": None} for field, msg in exc.problems]
        ) from None
    return _detail(ctx, shop_id, who)


@router.get(
    "/shops/{shop_id}/history",
    response_model=list[ShopChangeOut],
    responses=errors(401, 403, 404),
    summary="Who changed what of a shop, and when (operators and admins)",
)
def shop_history(shop_id: ShopId, ctx: Ctx, who: Staff) -> list[ShopChangeOut]:
    """Oldest first: the import that created it, each re-import or edit that changed it, signboard revocations."""
    entries = shops.history(ctx.engine, shop_id)
    if not entries and _config_shop(ctx, shop_id) is None and shops.get(ctx.engine, shop_id) is None:
        raise HTTPException(404, f"no shop {shop_id!r}")
    return [ShopChangeOut(at=e.at, actor=e.actor, action=e.action, changes=e.changes) for e in entries]
