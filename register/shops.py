"""The shop register: one validated record shape (`ShopRecord`) for the city's ledger import, API edits and the
config's shops, and the functions that write it with its history, search it and hand shops to the workflow.

Writes are idempotent by shop id: a record equal to the stored row writes nothing, and every created or changed
row writes one history entry {field: [old, new]}. `upsert` loads the existing rows in a few queries and writes in
bulk, so the district's 21,728 shops import in seconds on SQLite and PostgreSQL (bench/shops_import.py)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dispatch.directory import ShopCard, ShopLookup
from frontage.config import Config, Duty, ResponsibleKind, Shop
from register.db import ShopHistoryRow, ShopRow

log = logging.getLogger(__name__)

CHUNK = 1000  # rows per bulk statement and ids per IN (...) list: well under every driver's parameter limit
_PHONE = re.compile(r"^[0-9+\- ]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(max_length: int, description: str, default: str | None = "") -> Any:
    if default is None:
        return Field(min_length=1, max_length=max_length, description=description)
    return Field(default, max_length=max_length, description=description)


class ShopRecord(BaseModel):
    """A shop as the register holds it: what the ledger import, an API edit and a config shop all produce."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = _text(100, "Unique shop (responsible unit) id, as on its signboard.", None)
    name: str = _text(200, "Shop name (店名).", None)
    address: str = _text(300, "Street address (地址), sent with escalations.")
    street: str = _text(100, "Sub-district (街道) the shop belongs to.")
    community: str = _text(100, "Community (社区) within the street.")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude of the frontage (WGS 84).")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude of the frontage (WGS 84).")
    party_id: str = _text(
        100,
        "The responsible party (责任主体) answering for the shop; several shops may share one. Default: the "
        "shop id (the shop answers for itself).",
    )
    party_name: str = _text(200, "Name of the responsible party (责任主体). Default: the shop name.")
    party_kind: ResponsibleKind = Field(ResponsibleKind.merchant, description="What kind of party it is.")
    contact_person: str = _text(100, "The person responsible (责任人), printed on the signboard.")
    contact_phone: str = _text(40, "Contact phone (联系电话): digits, spaces, + and -. Staff only, never public.")
    duties: list[Duty] = Field(
        default_factory=lambda: list(Duty),
        min_length=1,
        description="The duties of 门前三包 the party keeps (sanitation, order, greenery); default all three.",
    )

    @field_validator("id", "party_id", mode="before")
    @classmethod
    def _id_chars(cls, v: Any) -> Any:
        if isinstance(v, str) and (_CONTROL.search(v) or "/" in v):
            raise ValueError("must not contain '/' or control characters")
        return v

    @field_validator("name", "address", "street", "community", "party_name", "contact_person", mode="before")
    @classmethod
    def _no_control(cls, v: Any) -> Any:
        if isinstance(v, str) and _CONTROL.search(v):
            raise ValueError("must not contain control characters (line breaks, tabs)")
        return v

    @field_validator("contact_phone", mode="before")
    @classmethod
    def _phone(cls, v: Any) -> Any:
        """Checked as given (before spaces are trimmed): a tab or a line break is not part of a number."""
        if not isinstance(v, str):
            return v
        if not _PHONE.match(v):
            raise ValueError("a phone number holds only digits, spaces, + and -")
        if v and not 3 <= sum(c.isdigit() for c in v) <= 20:
            raise ValueError("a phone number has 3 to 20 digits")
        return v

    @field_validator("duties")
    @classmethod
    def _canonical_duties(cls, v: list[Duty]) -> list[Duty]:
        """In the signboard's order, each once: the same duties always compare equal."""
        return [d for d in Duty if d in v]

    @model_validator(mode="after")
    def _defaults(self) -> ShopRecord:
        if not self.party_id:
            object.__setattr__(self, "party_id", self.id)
        if not self.party_name:
            object.__setattr__(self, "party_name", self.name)
        return self

    def columns(self) -> dict[str, Any]:
        """The record as ShopRow column values (enums as their stored text)."""
        return self.model_dump(mode="json")


FIELDS: tuple[str, ...] = tuple(ShopRecord.model_fields)
EDITABLE: frozenset[str] = frozenset(FIELDS) - {"id"}


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Change:
    """One entry of a shop's history."""

    at: dt.datetime
    actor: str
    action: str
    changes: dict[str, list[Any]]


class ShopNotFound(KeyError):
    """No shop with that id on the register."""


class InvalidShop(ValueError):
    """A record or an edit that ShopRecord refuses: `problems` lists (field, reason)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {why}" if f else why for f, why in problems))


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, reason) pairs from pydantic's errors, without its URLs and with the offending value."""
    out = []
    for e in exc.errors():
        field = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append((field, msg))
    return out


def _row_values(row: Any) -> dict[str, Any]:
    return {f: getattr(row, f) for f in FIELDS}


def _diff(old: dict[str, Any] | None, new: dict[str, Any], fields: Iterable[str]) -> dict[str, list[Any]]:
    if old is None:  # a new shop: what it was created with (nothing for fields left empty)
        return {f: [None, new[f]] for f in fields if new[f] not in (None, "")}
    return {f: [old[f], new[f]] for f in fields if old[f] != new[f]}


def _existing(session: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of these ids, as plain column dicts (no ORM objects: 21,728 of them would be slow)."""
    cols = [getattr(ShopRow, f) for f in FIELDS]
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        for row in session.execute(select(*cols).where(ShopRow.id.in_(chunk))):
            out[row.id] = _row_values(row)
    return out


def upsert(
    session: Session,
    records: Sequence[ShopRecord],
    actor: str,
    now: dt.datetime,
    action: str = "import",
    only: Collection[str] | None = None,
) -> Counts:
    """Create or update shops by id, in the caller's transaction. `only`: the fields these records speak for
    (a ledger without a phone column keeps the stored phones); new shops take defaults for the others."""
    return _upsert(session, records, actor, now, action, only)[0]


def _upsert(
    session: Session,
    records: Sequence[ShopRecord],
    actor: str,
    now: dt.datetime,
    action: str,
    only: Collection[str] | None,
) -> tuple[Counts, list[dict[str, Any]]]:
    fields = [f for f in FIELDS if f != "id" and (only is None or f in only)]
    seen: set[str] = set()
    for r in records:
        if r.id in seen:
            raise InvalidShop([("id", f"duplicate id {r.id!r}")])
        seen.add(r.id)
    existing = _existing(session, [r.id for r in records])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for r in records:
        new = r.columns()
        old = existing.get(r.id)
        if old is None:
            inserts.append({**new, "signboard_generation": 0, "created_at": now, "updated_at": now})
            changes = _diff(None, new, [f for f in FIELDS if f != "id"])
        else:
            changes = _diff(old, new, fields)
            if not changes:
                continue
            updates.append({"id": r.id, **{f: v[1] for f, v in changes.items()}, "updated_at": now})
        history.append({"shop_id": r.id, "at": now, "actor": actor, "action": action, "changes": changes})
    _bulk(session, insert(ShopRow), inserts)
    for group in _by_keys(updates).values():  # one executemany per set of changed columns
        _bulk(session, update(ShopRow), group)
    _bulk(session, insert(ShopHistoryRow), history)
    return Counts(len(inserts), len(updates), len(records) - len(inserts) - len(updates)), history


def _by_keys(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    out: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(tuple(sorted(row)), []).append(row)
    return out


def _bulk(session: Session, stmt: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        session.execute(stmt, rows[i : i + CHUNK])


def get(engine: Engine, shop_id: str) -> ShopRecord | None:
    with Session(engine) as s:
        row = s.get(ShopRow, shop_id)
        return None if row is None else ShopRecord.model_validate(_row_values(row))


def edit(engine: Engine, shop_id: str, changes: dict[str, Any], actor: str, now: dt.datetime) -> dict[str, list]:
    """Apply an edit of some fields, validated as a whole record; returns what changed (empty: nothing did).
    ShopNotFound when the shop is not on the register, InvalidShop when the result is not a valid shop."""
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidShop([(f, "the id cannot be changed" if f == "id" else "unknown field") for f in unknown])
    with Session(engine) as s, s.begin():
        row = s.get(ShopRow, shop_id, with_for_update=True)
        if row is None:
            raise ShopNotFound(shop_id)
        merged = {**_row_values(row), **changes}
        if "party_id" in changes and not changes["party_id"]:
            merged["party_id"] = shop_id
        try:
            record = ShopRecord.model_validate(merged)
        except ValidationError as exc:
            raise InvalidShop(problems_of(exc)) from None
        _, written = _upsert(s, [record], actor, now, "edit", set(changes))
        return written[0]["changes"] if written else {}


def history(engine: Engine, shop_id: str) -> list[Change]:
    """Every change of the shop, oldest first."""
    with Session(engine) as s:
        rows = s.scalars(select(ShopHistoryRow).where(ShopHistoryRow.shop_id == shop_id).order_by(ShopHistoryRow.id))
        return [Change(r.at, r.actor, r.action, dict(r.changes)) for r in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    engine: Engine,
    q: str = "",
    street: str = "",
    community: str = "",
    limit: int = 50,
    offset: int = 0,
    only_ids: Collection[str] | None = None,
) -> tuple[int, list[ShopRecord]]:
    """Shops whose id, name, address or party name contains `q` (any case), in a street and community, by id.
    `only_ids` narrows to those shops (a merchant's own). Returns (total matching, the page)."""
    q, street, community = (v.replace("\x00", "") for v in (q, street, community))  # PostgreSQL refuses NUL
    cond = []
    if q.strip():
        pattern = f"%{_escape_like(q.strip().lower())}%"
        cond.append(or_(*(func.lower(c).like(pattern, escape="\\")
                          for c in (ShopRow.id, ShopRow.name, ShopRow.address, ShopRow.party_name))))  # fmt: skip
    if street:
        cond.append(ShopRow.street == street)
    if community:
        cond.append(ShopRow.community == community)
    if only_ids is not None:
        cond.append(ShopRow.id.in_(list(only_ids)))
    cols = [getattr(ShopRow, f) for f in FIELDS]
    with Session(engine) as s:
        total = s.scalar(select(func.count()).select_from(ShopRow).where(*cond)) or 0
        rows = s.execute(select(*cols).where(*cond).order_by(ShopRow.id).limit(limit).offset(offset))
        return total, [ShopRecord.model_validate(_row_values(r)) for r in rows]


def streets(engine: Engine) -> list[str]:
    """Every street on the register, for a filter."""
    with Session(engine) as s:
        return [v for v in s.scalars(select(ShopRow.street).distinct().order_by(ShopRow.street)) if v]


def registered(engine: Engine, ids: Collection[str]) -> set[str]:
    """Which of these shop ids are on the register."""
    found: set[str] = set()
    ids = list(ids)
    with Session(engine) as s:
        for i in range(0, len(ids), CHUNK):
            found |= set(s.scalars(select(ShopRow.id).where(ShopRow.id.in_(ids[i : i + CHUNK]))))
    return found


def card(record: ShopRecord) -> ShopCard:
    return ShopCard(
        id=record.id,
        name=record.name,
        address=record.address,
        lat=record.lat,
        lon=record.lon,
        party_kind=record.party_kind.value,
        party_name=record.party_name,
        party_id=record.party_id,
    )


def shop_lookup(engine: Engine) -> ShopLookup:
    """For Workflow(shops=...): the card of a shop only the register knows, None for an unknown id."""

    def lookup(shop_id: str) -> ShopCard | None:
        record = get(engine, shop_id)
        return None if record is None else card(record)

    return lookup


CONFIG_FIELDS = frozenset({"name", "address", "lat", "lon", "party_name", "party_kind", "contact_phone"})


def config_record(shop: Shop) -> ShopRecord:
    """A config shop as a register record (its party is the shop itself)."""
    values: dict[str, Any] = {
        "id": shop.id,
        "name": shop.name,
        "address": shop.address,
        "lat": shop.lat,
        "lon": shop.lon,
        "party_name": shop.responsible.name,
        "party_kind": shop.responsible.kind,
        "contact_phone": shop.responsible.contact.phone,
    }
    try:
        return ShopRecord.model_validate(values)
    except ValidationError as exc:
        if any(f == "contact_phone" for f, _ in problems_of(exc)):
            log.warning("shop %s: config phone %r is not a phone number; not put on the register", shop.id,
                        shop.responsible.contact.phone)  # fmt: skip
            return ShopRecord.model_validate({**values, "contact_phone": ""})
        raise


def register_config_shops(engine: Engine, cfg: Config, now: dt.datetime) -> Counts:
    """Put every configured shop that is not on the register yet on it (actor "config"). A shop already there
    keeps what the register holds: the city's import and operators' edits are never undone by an edge box's
    config at its next start. A config shop the register cannot hold (an id with "/", a name over 200
    characters) is left off with a warning; its cameras still watch it."""
    records = []
    for shop in cfg.shops:
        try:
            records.append(config_record(shop))
        except ValidationError as exc:
            log.warning("shop %s: not put on the register: %s", shop.id, "; ".join(f"{f}: {r}" for f, r in
                                                                                    problems_of(exc)))  # fmt: skip
    with Session(engine) as s, s.begin():
        known = set(s.scalars(select(ShopRow.id).where(ShopRow.id.in_([r.id for r in records]))))
        new = [r for r in records if r.id not in known]
        added = upsert(s, new, "config", now, action="config", only=CONFIG_FIELDS)
        return Counts(added.created, 0, len(records) - len(new))


def ensure_registered(engine: Engine, shop: Shop, now: dt.datetime) -> bool:
    """Put one configured shop on the register if it is not there yet (before an edit); True when it was added."""
    with Session(engine) as s, s.begin():
        if s.get(ShopRow, shop.id) is not None:
            return False
        upsert(s, [config_record(shop)], "config", now, action="config", only=CONFIG_FIELDS)
        return True


def party_of(session: Session, shop_id: str) -> str:
    """The shop's responsible party on the register; the shop id when the shop is not on it."""
    return session.scalar(select(ShopRow.party_id).where(ShopRow.id == shop_id)) or shop_id
