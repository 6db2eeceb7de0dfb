"""A merchant marks a case fixed with a photo. The photo is checked by its bytes, not by what the client claims,
stored under a name we choose, and removed again if the lifecycle refuses the move."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from sqlalchemy.orm import Session

from api.auth import CurrentPrincipal
from api.context import Ctx, visible_case
from api.routes_cases import CaseId, act
from api.schemas import MAX_REASON, CaseDetail, errors
from dispatch.workflow import Action
from frontage.config import Role
from register.photos import store_photo

router = APIRouter(tags=["cases"])

MAGIC = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}


def sniff(head: bytes) -> str | None:
    """The image type from its magic bytes, or None."""
    return next((ext for magic, ext in MAGIC.items() if head.startswith(magic)), None)


@router.post(
    "/cases/{case_id}/fixed",
    response_model=CaseDetail,
    responses=errors(400, 401, 403, 404, 409, 413, 415),
    summary="Merchant: the frontage is cleared, here is a photo",
    description="Multipart form with a `photo` (JPEG or PNG, at most api.max_upload_bytes) and an optional "
    "`reason`. Resolves the case; the stored photo's name goes into the ledger.",
)
def post_fixed(
    case_id: CaseId,
    photo: Annotated[UploadFile, File(description="A JPEG or PNG photo of the cleared frontage.")],
    ctx: Ctx,
    who: CurrentPrincipal,
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
) -> CaseDetail:
    if who.role in (Role.operator, Role.inspector):
        raise HTTPException(403, "only the merchant (or an admin) marks a case fixed")
    with Session(ctx.engine) as s:
        visible_case(s, case_id, who)
    limit = ctx.cfg.api.max_upload_bytes
    data = photo.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"photo over {limit} bytes")
    ext = sniff(data[:8])
    if ext is None:
        raise HTTPException(415, "photo must be a JPEG or PNG image (checked by its content)")
    path = store_photo(ctx.upload_dir, f"case-{case_id:06d}-fixed", data, ext)
    try:
        return act(ctx, case_id, who, Action.resolve, reason or "fixed, photo uploaded", photo=path.name)
    except HTTPException:
        path.unlink(missing_ok=True)
        raise
