"""Bodies of the shop register's routes (/shops). The patch body's patterns say in the schema what
register.shops.ShopRecord checks (which gives the reasons in a 422), so a body the schema allows is one the
register accepts, and one it refuses is refused."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from frontage.config import Duty, ResponsibleKind

TEXT = r"^[^\x00-\x1f\x7f]*$"  # one line: no control characters
NONBLANK = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"  # and not only spaces
PARTY_ID = r"^[^\x00-\x1f\x7f/]*$"
PHONE = r"^$|^[+\- ]*(?:[0-9][+\- ]*){3,20}$"  # digits, spaces, + and -; 3 to 20 digits
StrictFloat = Annotated[float, Field(strict=True)]  # a JSON number; not true/false, not "1.5"


class ResponsibleOut(BaseModel):
    kind: ResponsibleKind
    name: str


class ShopOut(BaseModel):
    """A shop in a list: the register's fields that are not personal data, with what the cameras add."""

    id: str
    name: str
    address: str
    street: str = Field(description="Sub-district (街道).")
    community: str = Field(description="Community (社区).")
    lat: float | None
    lon: float | None
    party_id: str = Field(description="The responsible party (责任主体); several shops may share one.")
    party_name: str
    party_kind: ResponsibleKind
    responsible: ResponsibleOut = Field(description="The party, as before the register (kind and name).")
    contact_person: str = Field(description="The person responsible (责任人), printed on the signboard.")
    duties: list[Duty]
    camera_ids: list[str] = Field(description="Cameras that watch this shop's frontages (from the config).")
    open_cases: int = Field(description="Cases of this shop that are open in Open311 terms.")
    on_register: bool = Field(description="False for a shop only the config describes (not imported yet).")


class FrontageOut(BaseModel):
    camera_id: str
    polygon: list[tuple[float, float]] = Field(description="Pixel vertices in the camera's reference frame.")


class ShopDetailOut(ShopOut):
    contact_phone: str | None = Field(description="Contact phone; null unless the caller is an operator or admin.")
    frontages: list[FrontageOut] = Field(description="The config's frontage polygons of this shop.")
    signboard_generation: int = Field(description="Bumped each time the printed QR code is revoked.")
    updated_at: dt.datetime | None = Field(description="Last change on the register; null when not on it.")


class ShopPage(BaseModel):
    items: list[ShopOut]
    total: int = Field(description="Shops matching the filters, over all pages.")
    limit: int
    offset: int
    streets: list[str] = Field(description="Every street on the register the caller may see, for a filter.")


class ShopPatchIn(BaseModel):
    """The fields to change; those left out stay as they are. The id cannot change."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        None, min_length=1, max_length=200, json_schema_extra={"pattern": NONBLANK}, description="Shop name (店名)."
    )
    address: str = Field(
        None, max_length=300, json_schema_extra={"pattern": TEXT}, description="Street address (地址)."
    )
    street: str = Field(None, max_length=100, json_schema_extra={"pattern": TEXT}, description="Sub-district (街道).")
    community: str = Field(None, max_length=100, json_schema_extra={"pattern": TEXT}, description="Community (社区).")
    lat: StrictFloat | None = Field(None, ge=-90, le=90, description="Latitude (WGS 84); null clears it.")
    lon: StrictFloat | None = Field(None, ge=-180, le=180, description="Longitude (WGS 84); null clears it.")
    party_id: str = Field(
        None,
        max_length=100,
        json_schema_extra={"pattern": PARTY_ID},
        description="Responsible party id; empty: the shop itself.",
    )
    party_name: str = Field(
        None, max_length=200, json_schema_extra={"pattern": TEXT}, description="Party name; empty: the shop name."
    )
    party_kind: ResponsibleKind = Field(None, description="What kind of party answers for the shop.")
    contact_person: str = Field(
        None, max_length=100, json_schema_extra={"pattern": TEXT}, description="The person responsible (责任人)."
    )
    contact_phone: str = Field(
        None, max_length=40, json_schema_extra={"pattern": PHONE}, description="Digits, spaces, + and -."
    )
    duties: list[Duty] = Field(None, min_length=1, description="The duties of 门前三包 the party keeps.")

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as plain JSON values."""
        return self.model_dump(mode="json", exclude_unset=True)


class ShopChangeOut(BaseModel):
    at: dt.datetime
    actor: str = Field(description="Who: the token holder's name, the importer's actor, or config.")
    action: str = Field(description="import, edit, config, or a signboard action.")
    changes: dict[str, list[Any]] = Field(description="field -> [old, new]; old is null when the shop was created.")
