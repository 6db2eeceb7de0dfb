"""Request and response bodies. Response models make /openapi.json describe exactly what clients get."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from dispatch.lifecycle import CaseState
from frontage.config import CaseKind, CaseSource, Role

MAX_REASON = 2000


class ErrorOut(BaseModel):
    """Every non-validation error: one human-readable reason."""

    detail: str = Field(description="Why the request was refused.")


class LedgerEntry(BaseModel):
    id: int
    at: dt.datetime = Field(description="When it happened (UTC, on the system's clock).")
    from_state: CaseState | None = Field(description="State before; null for the opening entry.")
    to_state: CaseState = Field(description="State after; equal to from_state for a note.")
    actor: str = Field(description="system, operator, merchant or dispatch.")
    reason: str
    data: dict[str, Any] = Field(description="Extra facts: who (`by`), an uploaded photo, a deadline...")


class CaseSummary(BaseModel):
    id: int
    camera_id: str
    shop_id: str
    shop_name: str | None = Field(description="From the config or the register; null if neither knows the shop.")
    kind: CaseKind
    source: CaseSource = Field(description="camera, citizen (a report from the shop's QR page) or inspector.")
    object_class: str
    state: CaseState
    open311_status: Literal["open", "closed"]
    first_seen_at: dt.datetime
    opened_at: dt.datetime
    cleared_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    updated_at: dt.datetime | None
    dwell_s: float
    box: list[float] = Field(description="The object's box [x1, y1, x2, y2] in camera pixels.")
    linked_case_id: int | None = Field(description="The earlier case this one repeats, if any.")
    service_request_id: str | None = Field(description="The city platform's request id once escalated.")
    snapshot_url: str | None = Field(description="Path of the evidence JPEG (same auth), null if there is none.")
    evidence_deleted_at: dt.datetime | None = Field(
        None, description="When the retention period deleted the evidence (snapshot_url is then null)."
    )
    evidence_deleted_after_days: int | None = Field(
        None, description="The retention period that deleted it: pages say 'evidence deleted after N days'."
    )


class CaseDetail(CaseSummary):
    remind_due_at: dt.datetime | None
    escalate_due_at: dt.datetime | None
    ledger: list[LedgerEntry] = Field(description="Every ledger entry, oldest first.")


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int = Field(description="Cases matching the filters, over all pages.")
    limit: int
    offset: int


# "Contains a character that is not whitespace", with ECMA-262's whitespace spelled out, so the schema's pattern
# (which clients and fuzzers evaluate) and this server's check agree on every character.
NOT_BLANK = r"[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"


def _not_blank(reason: str) -> str:
    if not re.search(NOT_BLANK, reason):
        raise ValueError("dismiss needs a reason (why is this not a violation?)")
    return reason


class _ActionBase(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteOrMoveIn(_ActionBase):
    """confirm, acknowledge (ledger notes), escalate, resolve (moves); the reason is optional."""

    action: Literal["confirm", "escalate", "resolve", "acknowledge"]
    reason: str = Field("", max_length=MAX_REASON, description="Why (optional); written into the ledger.")


class DismissIn(_ActionBase):
    """dismiss: an operator rejects a false positive, and must say why."""

    action: Literal["dismiss"]
    reason: Annotated[str, AfterValidator(_not_blank)] = Field(
        max_length=MAX_REASON,
        json_schema_extra={"minLength": 1, "pattern": NOT_BLANK},  # checked by _not_blank, with a clearer message
        description="Why this is not a violation; required, not blank.",
    )


ActionIn = Annotated[NoteOrMoveIn | DismissIn, Field(discriminator="action")]


ALERT_VIEW_STATES = frozenset({"moved", "tampered"})  # the view no longer shows what the rules were drawn on


class CameraOut(BaseModel):
    id: str
    name: str
    width: int | None
    height: int | None
    state: str = Field(description="What the camera reader reports (e.g. streaming, reconnecting); else unknown.")
    view_state: str | None = Field(
        None,
        description="Whether the camera still shows its reference view: ok, shifted (small, compensated), moved "
        "or tampered (rules suspended until an operator confirms the view); null when not reported.",
    )
    view_reason: str = Field("", description="Why the view state is what it is, in words.")
    view_since: dt.datetime | None = Field(None, description="Since when the view has been in that state.")
    view_shift_px: float | None = Field(None, description="How far the view has shifted from its reference, px.")
    baseline_version: int | None = Field(
        None, description="The fixture baseline version the camera process runs with (0: the config's)."
    )
    detail: dict[str, Any] = Field(description="Any further fields the camera reader reports.")


Coord = Annotated[float, Field(allow_inf_nan=False)]
MAX_NOTE = 500


class FixtureIn(BaseModel):
    """A permitted fixture to add to a camera's baseline: the shop's bench, a planter."""

    model_config = ConfigDict(extra="forbid")

    shop_id: str = Field(min_length=1, max_length=100, description="The shop it belongs to (with a frontage here).")
    polygon: list[tuple[Coord, Coord]] = Field(
        min_length=3,
        max_length=64,
        description="Its outline [[x, y], ...] in the camera's pixels: a simple polygon with an area, in the frame.",
    )
    note: str = Field("", max_length=MAX_NOTE, description="What it is (shown to operators).")


class FixtureOut(BaseModel):
    shop_id: str
    polygon: list[tuple[float, float]] = Field(description="Outline [[x, y], ...] in camera pixels.")
    note: str


class BaselineVersionOut(BaseModel):
    version: int = Field(description="0 is the config's own fixtures; stored versions count up from 1.")
    at: dt.datetime | None = Field(description="When it was saved; null for version 0 (the config).")
    actor: str = Field(description="Who saved it (the token holder); `config` for version 0.")
    reason: str
    fixtures: int = Field(description="How many fixtures that version holds.")


class BaselineOut(BaseModel):
    camera_id: str
    version: int = Field(description="The current version: the newest stored, else 0 (the config's).")
    fixtures: list[FixtureOut] = Field(description="The current version's fixtures; DELETE takes their index.")
    versions: list[BaselineVersionOut] = Field(description="Every version, oldest first, starting with 0.")


class BelongsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=MAX_NOTE, description='What the object is; default "marked from case N".')


class BelongsOut(BaseModel):
    case: CaseDetail = Field(description="The case after the move (dismissed, or noted when it already was).")
    baseline: BaselineOut = Field(description="The camera's baseline with the case's box as its newest fixture.")


class ViewConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=MAX_REASON, description="Why the new view is right (camera ledger).")


class ViewConfirmOut(BaseModel):
    camera_id: str
    confirmed_by: str = Field(description="The token holder, as written into the camera ledger.")
    event_id: int = Field(description="The camera ledger entry of this confirmation.")
    answer: dict[str, Any] = Field(description="What the camera process reports it did.")


class CameraEventOut(BaseModel):
    id: int
    camera_id: str
    at: dt.datetime
    kind: str = Field(description="view_reregistered, camera_moved, view_tampered, view_restored, view_confirmed, "
                      "baseline_changed...")  # fmt: skip
    actor: str = Field(description="system, or the token holder who did it.")
    reason: str
    data: dict[str, Any]


class MeOut(BaseModel):
    name: str = Field(description="The token holder, as written into the ledger.")
    role: Role
    shop_id: str | None = Field(description="The merchant's shop; null for operators and admins.")
    timezone: str = Field(description="The deployment's IANA timezone: pages show every time in it.")


class HealthOut(BaseModel):
    status: Literal["ok", "error"]
    database: str = Field(description="ok, or the reason the database check failed.")


_REASONS = {
    400: "The body could not be parsed (e.g. a broken multipart form).",
    401: "No token, or an unknown one; see WWW-Authenticate.",
    403: "The token's role may not do this.",
    404: "No such thing, or not visible to this token.",
    409: "The case's lifecycle refuses this move now, or the state changed meanwhile (the reason says which).",
    413: "The body or the upload is too large.",
    415: "The upload is not a JPEG or PNG image.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, all with the ErrorOut body."""
    return {code: {"model": ErrorOut, "description": _REASONS[code]} for code in codes}
