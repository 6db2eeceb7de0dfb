"""The register's tables, on the same store (and the same Alembic history, migration 0005) as the cases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, UTCDateTime


class ShopRow(Base):
    """One responsible unit on the district's ledger (门前三包责任单位): the shop, its party and its duties."""

    __tablename__ = "shops"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    street: Mapped[str] = mapped_column(String(100), default="", index=True)  # 街道
    community: Mapped[str] = mapped_column(String(100), default="")  # 社区
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    party_id: Mapped[str] = mapped_column(String(100), index=True)  # the responsible party (may hold several shops)
    party_name: Mapped[str] = mapped_column(String(200))
    party_kind: Mapped[str] = mapped_column(String(40), default="merchant")
    contact_person: Mapped[str] = mapped_column(String(100), default="")  # 责任人, printed on the signboard
    contact_phone: Mapped[str] = mapped_column(String(40), default="")  # personal data: never on public pages
    duties: Mapped[list] = mapped_column(JSON)  # [Duty values]
    signboard_generation: Mapped[int] = mapped_column(Integer, default=0)  # bumped to revoke the printed code
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ShopHistoryRow(Base):
    """Who changed which of a shop's fields, when, from what to what (import, edit, signboard revoked)."""

    __tablename__ = "shop_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict] = mapped_column(JSON)  # field -> [old, new]


class SignboardKeyRow(Base):
    """The store-kept key that signs QR links when the config names none; the newest unretired one signs."""

    __tablename__ = "signboard_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CitizenReportRow(Base):
    """A citizen's report from a shop's QR page. It becomes (or joins) a case with source citizen."""

    __tablename__ = "citizen_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tracking_code: Mapped[str] = mapped_column(String(40), unique=True)
    shop_id: Mapped[str] = mapped_column(String(100), index=True)
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")  # optional; shown to staff only
    photo: Mapped[str | None] = mapped_column(String(500), nullable=True)
    client: Mapped[str] = mapped_column(String(64), index=True)  # SHA-256 of the client address, not the address
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    duplicate: Mapped[bool] = mapped_column(default=False)  # linked to a case an earlier report or camera opened


class InspectionRow(Base):
    """An inspector's visit: pass or fail per duty, a photo and a note."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop_id: Mapped[str] = mapped_column(String(100), index=True)
    inspector: Mapped[str] = mapped_column(String(100))
    party_id: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the shop's party at the visit
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    results: Mapped[dict] = mapped_column(JSON)  # duty -> "pass" | "fail"
    passed: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(500), nullable=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)  # the case a fail opened
    resolved: Mapped[list] = mapped_column(JSON, default=list)  # case ids a pass resolved


class CreditScoreRow(Base):
    """A party's latest score and list standing, as the last recompute left it."""

    __tablename__ = "credit_scores"

    party_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    standing: Mapped[str] = mapped_column(String(10), index=True)  # red | black | none
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PartyEventRow(Base):
    """The party ledger: entering or leaving the red or black list, with the score and the reason."""

    __tablename__ = "party_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    party_id: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(30))  # entered_red | left_red | entered_black | left_black
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")


class ZoneVersionRow(Base):
    """One version of a camera's frontages, as the zone editor saved it (migration 0006). Version 1 is the
    config's, put here on first start; each edit writes a whole new version, so every earlier one stays
    readable and exportable. The camera ledger notes each saved edit (`zones_changed`)."""

    __tablename__ = "zone_versions"
    __table_args__ = (UniqueConstraint("camera_id", "version", name="uq_zone_versions_camera_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    frontages: Mapped[list] = mapped_column(JSON)  # [{shop_id, polygon: [[x, y], ...], allow_overlap}]
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
