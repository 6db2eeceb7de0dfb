"""Bodies of the credit, list, stats and report routes. Public ones carry no personal data: shop names, streets
and scores only (no party names, contact people or phone numbers)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Standing = Literal["red", "black", "none"]


class ShopBrief(BaseModel):
    id: str
    name: str
    street: str


class PartySummary(BaseModel):
    party_id: str = Field(description="The responsible party (a shop id for a shop off the register).")
    party_name: str = Field(description="From the register; the party id when the register does not know it.")
    score: float = Field(description="As the last recompute left it.")
    standing: Standing = Field(description="red (commended), black, or none.")
    computed_at: dt.datetime
    shops: list[ShopBrief]


class PartyPage(BaseModel):
    items: list[PartySummary]
    total: int = Field(description="Parties matching the filters, over all pages.")
    limit: int
    offset: int


class ContributionOut(BaseModel):
    kind: str = Field(description="confirmed_violation, escalation, voluntary_fix, fix_time, repeat_offence, "
                      "inspection_passed, inspection_failed or citizen_report.")  # fmt: skip
    points: float
    case_id: int | None
    inspection_id: int | None
    at: dt.datetime = Field(description="When the fact happened (UTC).")
    note: str
    case_url: str | None = Field(description="The case's API path (same auth), null for an inspection.")


class PartyEventOut(BaseModel):
    id: int
    at: dt.datetime
    kind: Literal["entered_red", "left_red", "entered_black", "left_black"]
    score: float
    reason: str = Field(description="The threshold crossed and the contributions that weighed most.")


class PartyDetail(BaseModel):
    party_id: str
    party_name: str
    score: float = Field(description="Computed now from the ledger, with every contribution below.")
    standing: Standing = Field(description="The standing that score gives now.")
    listed_score: float | None = Field(description="The score the last recompute stored; null if never scored.")
    listed_standing: Standing | None = Field(description="The list the party is on since the last recompute.")
    computed_at: dt.datetime | None = Field(description="When the last recompute ran for this party.")
    base: float
    window_days: int
    red_at: float
    black_at: float
    shops: list[ShopBrief]
    contributions: list[ContributionOut] = Field(description="Every fact in the window, oldest first.")
    events: list[PartyEventOut] = Field(description="The party's list ledger, oldest first.")


class RecomputeOut(BaseModel):
    parties: int
    red: int
    black: int
    events: int = Field(description="Party-ledger events written: parties entering or leaving a list.")
    facts: int = Field(description="Ledger facts inside the window.")
    computed_at: dt.datetime


class PublicShop(BaseModel):
    name: str
    street: str


class PublicListEntry(BaseModel):
    shops: list[PublicShop] = Field(description="The party's shops (on the street asked for, if any).")
    score: float
    since: dt.datetime | None = Field(description="When the party entered this list.")


class PublicLists(BaseModel):
    red: list[PublicListEntry] = Field(description="红榜: commended, best first.")
    black: list[PublicListEntry] = Field(description="黑榜: worst first.")
    red_at: float
    black_at: float
    computed_at: dt.datetime | None = Field(description="When the lists were last recomputed; null if never.")


class StatsOut(BaseModel):
    from_: dt.datetime | None = Field(alias="from", description="Cases opened at or after this time (UTC).")
    to: dt.datetime | None = Field(description="Cases opened before this time (UTC).")
    street: str | None
    shop_id: str | None
    opened: int = Field(description="Every case opened in the period, confirmed or not.")
    confirmed: int = Field(description="Cases that reached detected (a citizen's: after an operator confirmed it) "
                           "and were not dismissed.")  # fmt: skip
    resolved_before_escalation: int
    escalated: int
    dismissed: int
    awaiting_confirmation: int = Field(description="Citizens' reports nobody has confirmed or rejected yet.")
    voluntary_fix_rate: float | None = Field(
        description="resolved_before_escalation / confirmed; null when nothing was confirmed."
    )
    median_time_to_fix_s: float | None = Field(description="Opening to fix, over the voluntary fixes; null if none.")
    by_kind: dict[str, int] = Field(description="Confirmed cases by kind.")
    by_source: dict[str, int] = Field(description="Confirmed cases by source (camera, citizen, inspector).")

    model_config = {"populate_by_name": True}
