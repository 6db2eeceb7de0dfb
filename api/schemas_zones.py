"""Bodies of the zone editor's API: a camera's frontage polygons by version, their check, YAML and snapshots."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from register.frontages import MAX_FRONTAGES, MAX_NOTE, MAX_POINTS

MAX_COORD = 1e7  # far outside any frame: the frame check names the vertex; beyond this it is not a coordinate
MAX_VERSION = 2**31 - 1
MAX_YAML = 60_000  # characters; the request body limit (64 KiB) holds it

Coordinate = Annotated[float, Field(ge=-MAX_COORD, le=MAX_COORD, allow_inf_nan=False, strict=True)]  # no true for 1
PointXY = Annotated[list[Coordinate], Field(min_length=2, max_length=2, description="[x, y] in camera pixels.")]


class ZoneFrontage(BaseModel):
    """One shop's frontage polygon on the camera."""

    model_config = ConfigDict(extra="forbid")

    shop_id: str = Field(min_length=1, max_length=100, description="The shop (from the config or the register).")
    polygon: list[PointXY] = Field(
        min_length=3,
        max_length=MAX_POINTS,
        description="Vertices [x, y] in the camera's frame (pixels, origin top left), in order around the polygon.",
    )
    allow_overlap: StrictBool = Field(False, description="This polygon may overlap another shop's frontage.")


class ZonesCheckIn(BaseModel):
    """What to check; `note` and `base_version` may come along (the body the editor will save) and are ignored."""

    model_config = ConfigDict(extra="forbid")

    frontages: list[ZoneFrontage] = Field(max_length=MAX_FRONTAGES, description="The camera's frontages, all of them.")
    note: str = Field("", max_length=MAX_NOTE, description="Ignored here.")
    base_version: int | None = Field(None, ge=1, le=MAX_VERSION, description="Ignored here.")


class ZonesSaveIn(ZonesCheckIn):
    note: str = Field("", max_length=MAX_NOTE, description="Why (kept with the version and in the camera ledger).")
    base_version: int = Field(  # type: ignore[assignment]
        ge=1,
        le=MAX_VERSION,
        description="The version the edit started from; 409 when another version was saved since.",
    )


class ZonesYamlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(max_length=MAX_YAML, description="YAML in the config's format: shops[].frontages[].")
    note: str = Field("", max_length=MAX_NOTE, description="Why (kept with the version and in the camera ledger).")
    base_version: int | None = Field(
        None, ge=1, le=MAX_VERSION, description="When given: 409 unless it is still the latest version."
    )


class ZonesOut(BaseModel):
    camera_id: str
    version: int = Field(description="1 is the config's frontages; each saved edit is the next number.")
    width: int = Field(description="The camera's frame width in pixels: the polygons' coordinate frame.")
    height: int = Field(description="The camera's frame height in pixels.")
    author: str = Field(description="Who saved this version ('config' for version 1).")
    at: dt.datetime = Field(description="When it was saved.")
    note: str
    frontages: list[ZoneFrontage]


class ZoneVersionOut(BaseModel):
    version: int
    author: str
    at: dt.datetime
    note: str
    frontages: int = Field(description="How many frontage polygons the version holds.")


class ZoneProblemOut(BaseModel):
    """A frontage that breaks the config's rules, and where."""

    shop_id: str
    index: int = Field(description="Its position in the list of frontages sent.")
    where: str = Field(description="'vertex 3', 'edges 0 and 2', 'overlap with entry 1', 'shop_id' or 'polygon'.")
    reason: str
    point: list[float] | None = Field(
        description="[x, y] to show: the vertex, where two edges cross, a point inside an overlap; null if none."
    )
    vertex: int | None = Field(description="The vertex meant, when one is.")


class ZonesCheckOut(BaseModel):
    ok: bool = Field(description="True when the frontages could be saved as they are.")
    problems: list[ZoneProblemOut]


class SnapshotOut(BaseModel):
    camera_id: str
    at: dt.datetime = Field(description="When it was received.")
    width: int
    height: int
    bytes: int
