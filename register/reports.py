"""Citizen reports from a shop's QR page: checked, rate-limited, deduplicated, and turned into cases.

A report opens a case with source citizen in state `reported`; nobody is reminded until an operator confirms
it, after which it runs exactly like a camera case. A report of a problem that already has an open case (of
the same kind at the same shop, from any source) is linked to that case instead of multiplying it. The
reporter gets a tracking code that is short enough to read aloud and too many to guess.

Every report that gets past the rate limit counts against it, refused ones too (a blank or oversized photo still
costs the server its decoding). The store keeps the client only as an HMAC of its address under a key derived from
the district's signboard key, so the digest cannot be reversed by hashing all of IPv4.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dispatch.db import CaseRow
from dispatch.lifecycle import OPEN311_STATUS, Actor, CaseState
from dispatch.workflow import Workflow, ledger
from frontage.config import CaseKind, CaseSource, Config, ReportLimits
from register.db import CitizenReportRow, ShopRow
from register.photos import PhotoRefused, clean_photo, store_photo
from register.problem_lock import problem_session
from register.ratelimit import SlidingWindows
from register.signboards import signing_key


class ReportCategory(StrEnum):
    """The kinds of case a citizen may pick (each is a CaseKind)."""

    piled_materials = CaseKind.piled_materials.value
    out_of_store_trading = CaseKind.out_of_store_trading.value
    illegal_parking = CaseKind.illegal_parking.value
    litter = CaseKind.litter.value
    other = CaseKind.other.value


CATEGORY_LABELS: dict[ReportCategory, tuple[str, str]] = {
    ReportCategory.piled_materials: ("堆物堆料", "Goods or materials piled up"),
    ReportCategory.out_of_store_trading: ("店外经营", "Trading outside the shop"),
    ReportCategory.illegal_parking: ("乱停车", "Vehicles parked on the pavement"),
    ReportCategory.litter: ("垃圾", "Litter"),
    ReportCategory.other: ("其他", "Something else"),
}

# An open problem: a new report of the same kind at the same shop joins its case.
OPEN_STATES = (CaseState.reported, CaseState.detected, CaseState.reminded, CaseState.escalated)
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed without mix-ups
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes
MAX_CONTACT = 200


class ReportRefused(ValueError):
    """A report that is not accepted: `status` is the HTTP status (404, 413, 415, 422, 429); `retry_after_s`
    says when a rate-limited client may try again."""

    def __init__(self, status: int, reason: str, retry_after_s: float | None = None):
        super().__init__(reason)
        self.status, self.reason, self.retry_after_s = status, reason, retry_after_s


@dataclass(frozen=True)
class ReportReceipt:
    tracking_code: str
    case_id: int
    duplicate: bool  # linked to a case that was already open


class RateLimiter:
    """Reports per client and per shop in a sliding window (ReportLimits). In this process's memory: a central
    service with several processes needs a shared limiter with the same `check` and `record`."""

    def __init__(self, limits: ReportLimits):
        self.limits = limits
        self.clients = SlidingWindows(limits.per_client, limits.window_s)
        self.shops = SlidingWindows(limits.per_shop, limits.window_s)
        self._lock = threading.Lock()

    def admit(self, client: str, shop_id: str, now: dt.datetime) -> None:
        """`check`, then `record`, as one step: simultaneous attempts cannot all slip in under the limit."""
        with self._lock:
            self.check(client, shop_id, now)
            self.record(client, shop_id, now)

    def check(self, client: str, shop_id: str, now: dt.datetime) -> None:
        """Raise ReportRefused(429) when this client, or this shop, has had its reports for the window."""
        minutes = self.limits.window_s / 60
        wait = self.clients.retry_after(client, now)
        if wait > 0:
            raise ReportRefused(
                429, f"too many reports from you: at most {self.limits.per_client} in {minutes:g} minutes", wait
            )
        wait = self.shops.retry_after(shop_id, now)
        if wait > 0:
            raise ReportRefused(
                429,
                f"this shop has had {self.limits.per_shop} reports in {minutes:g} minutes; staff are already on it",
                wait,
            )

    def record(self, client: str, shop_id: str, now: dt.datetime) -> None:
        self.clients.add(client, now)
        self.shops.add(shop_id, now)


def client_key(engine: Engine, cfg: Config, now: dt.datetime | None = None) -> bytes:
    """The key of client digests: HMAC(signboard signing key, "frontage-client"). Rotating the signboard key
    changes it, so reports from before and after a rotation no longer share a digest."""
    return hmac.new(signing_key(engine, cfg, now), b"frontage-client", hashlib.sha256).digest()


def client_digest(client: str, key: bytes) -> str:
    """What the store keeps of a client address: its HMAC-SHA256 under `key` (64 hex digits), never the address,
    and not an unsalted hash that a sweep over every IPv4 address would reverse."""
    return hmac.new(key, client.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def new_tracking_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str | None:
    """A tracking code as typed or read aloud (any case, spaces or dashes) in its stored form, or None."""
    code = "".join(ch for ch in text.upper() if ch not in " -")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def open_case_of(session: Session, shop_id: str, kind: str) -> CaseRow | None:
    """The newest open case of this kind at this shop, from any source."""
    return session.scalar(
        select(CaseRow)
        .where(CaseRow.shop_id == shop_id, CaseRow.kind == kind, CaseRow.state.in_([s.value for s in OPEN_STATES]))
        .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
        .limit(1)
    )


def _validate(workflow: Workflow, limits: ReportLimits, shop_id: str, category: str, description: str,
              contact: str) -> ReportCategory:  # fmt: skip
    try:
        workflow.shop(shop_id)
    except KeyError:
        raise ReportRefused(404, "no such shop") from None
    try:
        cat = ReportCategory(category)
    except ValueError:
        choices = ", ".join(c.value for c in ReportCategory)
        raise ReportRefused(422, f"unknown category {category[:40]!r} (one of {choices})") from None
    if len(description) > limits.max_text:
        raise ReportRefused(422, f"description over {limits.max_text} characters")
    if len(contact) > MAX_CONTACT:
        raise ReportRefused(422, f"contact over {MAX_CONTACT} characters")
    if cat is ReportCategory.other and not description.strip():
        raise ReportRefused(422, "please describe the problem (category other needs a description)")
    return cat


def submit_report(
    engine: Engine,
    workflow: Workflow,
    cfg: Config,
    *,
    shop_id: str,
    category: str,
    description: str,
    contact: str,
    photo: bytes | None,
    client: str,
    snapshot_dir: Path,
    now: dt.datetime,
    limiter: RateLimiter,
) -> ReportReceipt:
    """Check, limit, store and file a citizen's report; raises ReportRefused with the status to answer.

    The text is stored verbatim (escaping is the job of every page that shows it). The photo is re-encoded
    without metadata and kept under snapshot_dir/reports/, so staff see it as the case's snapshot. Every attempt
    that passes the limit check counts, before its photo is decoded: refused photos use up the quota too."""
    limits = cfg.district.reports
    description, contact = description.strip(), contact.strip()
    cat = _validate(workflow, limits, shop_id, category, description, contact)
    limiter.admit(client, shop_id, now)  # counted before any decoding: a stream of junk photos meets the limit
    if not photo:
        raise ReportRefused(422, "a photo of the problem is required")
    try:
        jpeg = clean_photo(photo, limits)
    except PhotoRefused as exc:
        raise ReportRefused(exc.status, exc.reason) from None
    path = store_photo(Path(snapshot_dir) / "reports", "report", jpeg)
    stored = str(path.relative_to(snapshot_dir)) if path.is_relative_to(snapshot_dir) else str(path)
    try:
        digest = client_digest(client, client_key(engine, cfg, now))
        return _file(engine, workflow, shop_id, cat, description, contact, stored, digest, now)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _file(engine: Engine, workflow: Workflow, shop_id: str, cat: ReportCategory, description: str, contact: str,
          photo: str, digest: str, now: dt.datetime) -> ReportReceipt:  # fmt: skip
    for attempt in range(3):
        code = new_tracking_code()
        try:
            with problem_session(engine, shop_id, cat.value) as s:  # no two reports both open a case
                case = open_case_of(s, shop_id, cat.value)
                duplicate = case is not None
                if case is not None:
                    ledger(s, case, Actor.citizen, f"citizen report {code} linked", now, report=code)
                    if case.snapshot is None:
                        case.snapshot = photo
                else:
                    case = workflow.open_case(
                        s, shop_id=shop_id, kind=CaseKind(cat.value), source=CaseSource.citizen, actor=Actor.citizen,
                        reason=f"citizen report {code}: {CATEGORY_LABELS[cat][1].lower()}", at=now, snapshot=photo,
                        report=code, description=description,
                    )  # fmt: skip
                s.add(
                    CitizenReportRow(
                        tracking_code=code, shop_id=shop_id, category=cat.value, description=description,
                        contact=contact, photo=photo, client=digest, created_at=now, case_id=case.id,
                        duplicate=duplicate,
                    )
                )  # fmt: skip
                s.flush()
                return ReportReceipt(code, case.id, duplicate)
        except (IntegrityError, StaleDataError):  # a code drawn twice (about never), a case moved meanwhile: again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _register_name(engine: Engine, shop_id: str) -> str | None:
    with Session(engine) as s:
        return s.scalar(select(ShopRow.name).where(ShopRow.id == shop_id))


def report_status(
    engine: Engine, tracking_code: str, shop_name: Callable[[str], str | None] | None = None
) -> dict | None:
    """What the reporter may see of a report (no contact, no other reports, no staff notes), or None for an
    unknown code. `shop_name(shop_id)` names shops the register does not hold (e.g. from the config)."""
    code = normalize_code(tracking_code)
    if code is None:
        return None
    with Session(engine) as s:
        report = s.scalar(select(CitizenReportRow).where(CitizenReportRow.tracking_code == code))
        if report is None:
            return None
        case = s.get(CaseRow, report.case_id) if report.case_id is not None else None
        state = CaseState(case.state) if case is not None else CaseState.reported
        name = (shop_name or (lambda i: _register_name(engine, i)))(report.shop_id)
        return {
            "tracking_code": report.tracking_code,
            "category": report.category,
            "shop_id": report.shop_id,
            "shop_name": name,
            "received_at": report.created_at,
            "state": state.value,
            "open311_status": OPEN311_STATUS[state],
            "updated_at": (case.updated_at if case is not None else None) or report.created_at,
            "duplicate": report.duplicate,
        }
