"""Bodies of the insights routes: the statistics page's summary, a camera's heat map, the district map's shops."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class SeriesOut(BaseModel):
    key: str = Field(description="The case kind or the source.")
    total: int
    counts: list[int] = Field(description="Confirmed cases opened on each day of `days`, in order.")


class RankedOut(BaseModel):
    id: str = Field(description="The shop's or the camera's id.")
    name: str | None = Field(description="Its name from the register or the config; null if neither knows it.")
    cases: int = Field(description="Confirmed cases opened in the period.")


class TimeToFixOut(BaseModel):
    fixes: int = Field(description="Confirmed cases of the period that were resolved (before any escalation).")
    median_s: float | None = Field(description="Resolution time minus opening time, median; null with no fixes.")
    p90_s: float | None = Field(description="The same, 90th percentile (linear interpolation).")


class SummaryOut(BaseModel):
    from_: dt.datetime = Field(alias="from", description="Cases opened at or after this time (UTC).")
    to: dt.datetime = Field(description="Cases opened before this time (UTC).")
    timezone: str = Field(description="The deployment's timezone: days run from its local midnight.")
    street: str | None
    camera_id: str | None
    shop_id: str | None
    days: list[dt.date] = Field(description="Every local day of the period, in order.")
    by_kind: list[SeriesOut] = Field(description="Confirmed cases per day, one series per kind that has any.")
    by_source: list[SeriesOut] = Field(description="Confirmed cases per day, one series per source that has any.")
    opened: int = Field(description="Every case opened in the period, confirmed or not.")
    confirmed: int = Field(description="Cases that reached detected and were not dismissed.")
    resolved_before_escalation: int
    escalated: int
    dismissed: int
    share_resolved_before_escalation: float | None = Field(
        description="resolved_before_escalation / confirmed; null when nothing was confirmed."
    )
    time_to_fix: TimeToFixOut
    top_shops: list[RankedOut] = Field(description="Most confirmed cases first; ties by id.")
    top_cameras: list[RankedOut] = Field(description="Most confirmed camera cases first; ties by id.")

    model_config = {"populate_by_name": True}


class HeatPointOut(BaseModel):
    case_id: int
    kind: str
    x: float = Field(description="Bottom-centre of the case's box, in the camera's frame pixels.")
    y: float
    opened_at: dt.datetime


class HeatmapOut(BaseModel):
    camera_id: str
    name: str | None = Field(description="The camera's name from the config.")
    width: int | None = Field(description="The camera's frame width from the config; null if it is not configured.")
    height: int | None
    from_: dt.datetime = Field(alias="from")
    to: dt.datetime
    total: int = Field(description="Cases of the period, dismissed ones left out.")
    points: list[HeatPointOut] = Field(description="The newest of them, at most 5000.")
    snapshot_url: str = Field(description="The camera's own latest frame (may answer 404).")
    fallback_snapshot_url: str | None = Field(
        description="The evidence snapshot of the camera's newest case, for when the camera has no frame to give."
    )

    model_config = {"populate_by_name": True}


class MapShopOut(BaseModel):
    shop_id: str
    name: str
    street: str
    lat: float
    lon: float
    party_id: str
    open_cases: int = Field(description="Cases not yet resolved, closed or dismissed.")
    score: float | None = Field(description="The party's credit score from the last recompute; null if none.")
    standing: str | None = Field(description="red (commended), black, or none; null if never scored.")
    cases_url: str = Field(description="The review page, filtered to this shop.")


class MapSettingsOut(BaseModel):
    tiles_url: str = Field(description="Tile URL template; empty: draw the shops on a plain background.")
    attribution: str
    center: tuple[float, float] | None = Field(description="[lat, lon] to open on; null: fit to the shops.")
    zoom: int


class ShopsMapOut(BaseModel):
    map: MapSettingsOut
    base: float = Field(description="A party's credit score with nothing in its window.")
    red_at: float = Field(description="Scores at or above this are on the red list (commended).")
    black_at: float = Field(description="Scores at or below this are on the black list.")
    shops: list[MapShopOut] = Field(description="Every shop with a position, by id.")
    unplaced: int = Field(description="Shops without a latitude and longitude, not on the map.")
