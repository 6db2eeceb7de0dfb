"""Bodies of the evidence routes: the log of who saw an unredacted original."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from frontage.config import Role


class EvidenceViewOut(BaseModel):
    id: int
    case_id: int
    at: dt.datetime = Field(description="When the original was served (UTC, on the system's clock).")
    actor: str = Field(description="The token's name.")
    role: Role
    what: str = Field(
        description="What was seen: `original` (the unredacted frame), `report photo` or "
        "`inspection photo` (a citizen's or an inspector's photo of the case, as taken)."
    )


class EvidenceViewPage(BaseModel):
    items: list[EvidenceViewOut] = Field(description="Newest first.")
    total: int = Field(description="How many views match, in all pages.")
    limit: int
    offset: int
