"""SQLAlchemy schema and engine set-up; SQLite is the embedded default, PostgreSQL the central store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC, the same on SQLite (no tz support) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class CaseRow(Base):
    """One violation of one rule at one shop's frontage, from detection until it is closed."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_key: Mapped[str] = mapped_column(String(200), unique=True)
    camera_id: Mapped[str] = mapped_column(String(100), index=True)
    shop_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    # camera | citizen | inspector (frontage.config.CaseSource); non-camera cases have camera_id "".
    source: Mapped[str] = mapped_column(String(20), index=True, server_default="camera", default="camera")
    # The responsible party when the case opened (the register's party_id, else the shop id): credit stays with
    # whoever held the shop then, even after it changes hands. Null on cases from before the register.
    party_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    # The routing rule (frontage.config RoutingRule.name) that sent the case to party_id instead of the shop's party
    # (a shared-bike operator, a delivery company); null: the shop's own case. Why is in the opening ledger entry.
    routed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    object_class: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(20), index=True)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dwell_s: Mapped[float] = mapped_column(Float)
    box: Mapped[list] = mapped_column(JSON)
    snapshot: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Lifecycle (dispatch.lifecycle): when the next reminder / escalation falls due, on the injected clock.
    remind_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    escalate_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    service_request_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Optimistic lock: two writers that read the same state cannot both move the case (StaleDataError).
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    # What it takes to redact the evidence for each audience (dispatch.privacy): the unannotated original frame's
    # file, the subject's, people's and vehicles' boxes on it, the frontage polygon and the caption. Null on cases
    # without a camera frame (citizens', inspectors') and on cases from before evidence privacy.
    evidence: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    # When retention (dispatch.retention) deleted the original and the snapshot; the row and ledger stay.
    evidence_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __mapper_args__ = {"version_id_col": version}


class CaseEventRow(Base):
    """The rectification ledger (整改台账): every transition with its time, actor and reason."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class EvidenceViewRow(Base):
    """Who saw an unredacted original, when, and of which case: every view is written before it is served."""

    __tablename__ = "evidence_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # the token's name
    role: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(20))  # "original"


class OutboxRow(Base):
    """A message to deliver at least once (reminder, escalation). `idempotency_key` lets receivers drop repeats."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(40), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict] = mapped_column(JSON, default=dict)


class DwellCheckpointRow(Base):
    """An object in a frontage on a camera of this box, as last saved (zones.dwell.DwellState): the dwell of one
    still waiting out its dwell_s, or how long one with an open case had been gone."""

    __tablename__ = "dwell_checkpoints"

    violation_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    shop_id: Mapped[str] = mapped_column(String(100))
    object_class: Mapped[str] = mapped_column(String(60))
    box: Mapped[list] = mapped_column(JSON)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    still_s: Mapped[float] = mapped_column(Float)
    opened: Mapped[bool] = mapped_column(Boolean, default=False)
    absent_s: Mapped[float] = mapped_column(Float, default=0.0)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CameraEventRow(Base):
    """The camera ledger: what happened to a camera's view and its baseline (moved, tampered, confirmed, a new
    baseline version), with who did it and why, so an operator can tell why rules were suspended or changed."""

    __tablename__ = "camera_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class CameraBaselineRow(Base):
    """One version of a camera's permitted fixtures. Version 0 is the config's own list and is never stored;
    each change writes a whole new version, so every earlier baseline stays readable."""

    __tablename__ = "camera_baselines"
    __table_args__ = (UniqueConstraint("camera_id", "version", name="uq_camera_baselines_camera_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    fixtures: Mapped[list] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")


def make_engine(url: str) -> Engine:
    # SQLite: the dispatch thread and the detection loop write concurrently; wait for the lock, don't fail.
    connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
    engine = create_engine(url, future=True, connect_args=connect_args)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record) -> None:  # WAL: readers (the API) never block the writer
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    migrate(engine)
    return engine


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (the same migrations on SQLite and PostgreSQL)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
