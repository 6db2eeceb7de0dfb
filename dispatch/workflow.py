"""Carries cases through their life: camera events, due reminders and escalations, people's actions.

Every move goes through `transition`, which checks the table in `dispatch.lifecycle` and writes the ledger
entry in the same transaction. Due times are stored on the case and compared with the injected clock, so a
restarted process fires each pending reminder and escalation at its original time, or at once when it fell
due while the process was down. Messages leave through the outbox in the same transaction as the move that
caused them, with an idempotency key per case and purpose: a crash can never send one without the other,
and a replay never sends one twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dispatch.db import CaseEventRow, CaseRow, OutboxRow
from dispatch.directory import PartyCard, ShopCard, ShopLookup
from dispatch.evidence_links import platform_path
from dispatch.lifecycle import Actor, CaseState, TransitionRefused, check_transition
from dispatch.notify import reminder_payload, reminder_topic
from dispatch.outbox import enqueue
from frontage.clock import Clock
from frontage.config import CaseKind, CaseSource, Config, Deadline, RuleKind

if TYPE_CHECKING:
    from zones.routing import Route

log = logging.getLogger(__name__)

S, A = CaseState, Actor
ESCALATION_CHANNEL = "open311"
SERVICE_NAMES = {
    CaseKind.illegal_parking.value: "Illegal parking in a shop frontage",
    CaseKind.out_of_store_trading.value: "Out-of-store trading in a shop frontage",
    CaseKind.piled_materials.value: "Goods or materials piled in a shop frontage",
    CaseKind.litter.value: "Litter in a shop frontage",
    CaseKind.other.value: "A frontage problem reported by a citizen",
    CaseKind.inspection_failed.value: "A shop's frontage duties failed an inspection",
}


class CaseNotFound(LookupError):
    """No case with that id."""


class Action(StrEnum):
    """What people may do to a case through the API."""

    confirm = "confirm"  # an operator checked the evidence: a true violation (ledger note)
    dismiss = "dismiss"  # an operator rejects a false positive
    escalate = "escalate"  # an operator sends it to the city now
    resolve = "resolve"  # an operator or the merchant says it is fixed
    acknowledge = "acknowledge"  # the merchant has seen the reminder (ledger note)


ACTION_TARGET: dict[Action, CaseState | None] = {
    Action.confirm: None,
    Action.acknowledge: None,
    Action.dismiss: S.dismissed,
    Action.escalate: S.escalated,
    Action.resolve: S.resolved,
}


def ledger(session: Session, case: CaseRow, actor: Actor, reason: str, at: dt.datetime, **data) -> CaseEventRow:
    """A ledger entry that is not a move (a note: confirmed, linked, camera dark...)."""
    row = CaseEventRow(
        case_id=case.id, at=at, from_state=case.state, to_state=case.state, actor=actor.value, reason=reason, data=data
    )
    session.add(row)
    return row


def transition(
    session: Session, case: CaseRow, to: CaseState, actor: Actor, reason: str, at: dt.datetime, **data
) -> CaseEventRow:
    """Move a case, or raise TransitionRefused; the ledger entry is written in the caller's transaction."""
    check_transition(CaseState(case.state), to, actor)
    row = CaseEventRow(
        case_id=case.id, at=at, from_state=case.state, to_state=to.value, actor=actor.value, reason=reason, data=data
    )
    case.state, case.updated_at = to.value, at
    case.remind_due_at = case.escalate_due_at = None  # each move settles what was due; callers set the next
    session.add(row)
    return row


class Workflow:
    """The lifecycle engine. `snapshot_url(case_id)` makes the evidence link sent in messages."""

    def __init__(
        self,
        engine: Engine,
        cfg: Config,
        clock: Clock,
        snapshot_url: Callable[[int], str] | None = None,
        camera_dark: Callable[[str], bool] | None = None,
        shops: ShopLookup | None = None,
        evidence_key: Callable[[], bytes] | None = None,
    ):
        """`camera_dark(camera_id)` says a camera delivers no frames now: its cases do not escalate on stale
        evidence; the escalation waits (noted in the ledger) until the camera shows the frontage again.
        `shops(shop_id)` finds a shop the config does not list (the district register). `evidence_key()` signs
        the escalation's media_url (register.evidence_keys): the city platform has no token, so it gets a signed
        link to the platform's rendering (people blurred); without it, media_url is the snapshot_url."""
        self.engine, self.cfg, self.clock = engine, cfg, clock
        self.evidence_key = evidence_key
        self.camera_dark = camera_dark
        self.shops = shops
        self._held: set[int] = set()
        base = cfg.dispatch.public_url.rstrip("/")
        self.snapshot_url = snapshot_url or (lambda case_id: f"{base}/cases/{case_id}/snapshot.jpg")
        self._public_base = base

    def media_url(self, case: CaseRow) -> str:
        """The evidence link sent to the city platform: signed, unguessable, the platform's rendering."""
        if self.evidence_key is None:
            return self.snapshot_url(case.id)
        return self._public_base + platform_path(self.evidence_key(), case.id, case.violation_key)

    # --- camera events (called inside the recorder's transaction) -------------------------------------------

    def shop(self, shop_id: str) -> ShopCard:
        """The shop's card from the config, else from the register; KeyError when neither knows it."""
        try:
            return ShopCard.of(self.cfg.shop(shop_id))
        except KeyError:
            card = self.shops(shop_id) if self.shops is not None else None
            if card is None:
                raise
            return card

    def party(self, shop_id: str) -> str:
        """The shop's responsible party now: the register's, else the shop itself."""
        card = self.shops(shop_id) if self.shops is not None else None
        return card.party_id if card is not None and card.party_id else shop_id

    def deadline(self, case: CaseRow) -> Deadline:
        """A routed case runs on its party's own deadline (else the rule's, never the shop's)."""
        if case.routed_by and case.kind in RuleKind.__members__:
            party = self.cfg.routing.party(case.party_id or "")
            own = party.deadlines.get(RuleKind(case.kind)) if party is not None else None
            return own or self.cfg.rules.get(RuleKind(case.kind)).deadline
        return self.cfg.deadline(case.shop_id, CaseKind(case.kind), CaseSource(case.source))

    def routed_party(self, case: CaseRow) -> PartyCard | None:
        """The party a routing rule sent the case to; None for the shop's own case. A party since taken out of the
        config is still reminded on its MQTT topic (by id), never silently replaced by the shop."""
        if not case.routed_by or not case.party_id:
            return None
        party = self.cfg.routing.party(case.party_id)
        return PartyCard.of_party(party) if party is not None else PartyCard(case.party_id, case.party_id)

    # --- cases from people (citizens, inspectors) -----------------------------------------------------------

    def open_case(
        self,
        session: Session,
        *,
        shop_id: str,
        kind: CaseKind,
        source: CaseSource,
        actor: Actor,
        reason: str,
        at: dt.datetime,
        snapshot: str | None = None,
        **data,
    ) -> CaseRow:
        """A case nobody's camera saw: a citizen's report waits `reported` for an operator; an inspector's
        finding starts `detected`, with its reminder due like a camera case's. In the caller's transaction."""
        state = S.reported if source is CaseSource.citizen else S.detected
        case = CaseRow(
            violation_key=f"{source.value}/{uuid.uuid4().hex}",
            camera_id="",
            shop_id=shop_id,
            kind=kind.value,
            source=source.value,
            object_class="",
            state=state.value,
            first_seen_at=at,
            opened_at=at,
            dwell_s=0.0,
            box=[],
            snapshot=snapshot,
            updated_at=at,
            party_id=self.party(shop_id),
        )
        session.add(case)
        session.flush()
        session.add(
            CaseEventRow(
                case_id=case.id, at=at, from_state=None, to_state=state.value, actor=actor.value, reason=reason,
                data=data,
            )
        )  # fmt: skip
        if state is S.detected:
            case.confirmed_at = at
            case.remind_due_at = at + dt.timedelta(seconds=self.deadline(case).remind_after_s)
        return case

    def case_opened(self, session: Session, case: CaseRow, at: dt.datetime, route: Route | None = None) -> None:
        """`route`: the routing rule's decision (zones.routing); the case then belongs to that party, and the
        opening ledger entry says why. The shop's merchants still see it (it stands in their frontage), but
        its reminders, deadline, escalation and credit are the party's."""
        kind = RuleKind(case.kind)
        case.party_id = self.party(case.shop_id)
        routed = ""
        if route is not None:
            case.party_id, case.routed_by = route.party, route.rule
            routed = f"; {route.reason}"
        session.add(
            CaseEventRow(
                case_id=case.id,
                at=at,
                from_state=None,
                to_state=case.state,
                actor=A.system.value,
                reason=f"camera {case.camera_id}: {case.object_class} in frontage for {case.dwell_s:.0f} s{routed}",
                data={"box": case.box, **(route.data() if route is not None else {})},
            )
        )
        deadline = self.deadline(case)
        earlier = self._repeat_of(session, case, kind)
        if earlier is None:
            case.remind_due_at = at + dt.timedelta(seconds=deadline.remind_after_s)
            return
        # Already warned: link, no second reminder. While the earlier case still runs, its deadline holds.
        case.linked_case_id = earlier.id
        running = earlier.state == S.reminded.value and earlier.escalate_due_at is not None
        case.escalate_due_at = (
            max(earlier.escalate_due_at, at) if running else at + dt.timedelta(seconds=deadline.fix_within_s)
        )
        ledger(session, case, A.system, f"repeat offence: linked to case {earlier.id}; no second reminder", at)
        ledger(session, earlier, A.system, f"repeat offence: case {case.id} linked", at)

    def _repeat_of(self, session: Session, case: CaseRow, kind: RuleKind) -> CaseRow | None:
        """The latest earlier case of this rule at this shop, within the window, whose party was reminded."""
        window = self.cfg.rules.get(kind).repeat_window_s
        if window <= 0:
            return None
        reminded = select(CaseEventRow.case_id).where(CaseEventRow.to_state == S.reminded.value)
        # a routed case repeats only its own party's earlier case there; the shop's cases only the shop's
        same_party = CaseRow.party_id == case.party_id if case.routed_by else CaseRow.routed_by.is_(None)
        return session.scalar(
            select(CaseRow)
            .where(
                same_party,
                CaseRow.shop_id == case.shop_id,
                CaseRow.kind == case.kind,
                CaseRow.id != case.id,
                CaseRow.opened_at >= case.opened_at - dt.timedelta(seconds=window),
                CaseRow.opened_at <= case.opened_at,
                CaseRow.state != S.dismissed.value,
                CaseRow.id.in_(reminded),
            )
            .order_by(CaseRow.opened_at.desc(), CaseRow.id.desc())
            .limit(1)
        )

    def case_cleared(self, session: Session, case: CaseRow, at: dt.datetime, reason: str = "") -> None:
        """The camera sees the frontage cleared, or (`reason`) its frontage was redrawn without the object."""
        state = CaseState(case.state)
        why = reason or f"camera {case.camera_id} sees the frontage cleared"
        if state in (S.detected, S.reminded):
            transition(session, case, S.resolved, A.system, why, at)
        else:
            ledger(session, case, A.system, why, at)

    # --- timers -----------------------------------------------------------------------------------------

    def next_due(self) -> dt.datetime | None:
        with Session(self.engine) as s:
            times = [
                s.scalar(
                    select(CaseRow.remind_due_at).where(CaseRow.remind_due_at.is_not(None)).order_by("remind_due_at")
                ),
                s.scalar(
                    select(CaseRow.escalate_due_at)
                    .where(CaseRow.escalate_due_at.is_not(None))
                    .order_by("escalate_due_at")
                ),
            ]
        due = [t for t in times if t is not None]
        return min(due) if due else None

    def tick(self) -> int:
        """Fire every reminder and escalation due by now; each case in its own transaction. Returns the count."""
        now = self.clock.now()
        with Session(self.engine) as s:
            ids = s.scalars(
                select(CaseRow.id)
                .where(or_(CaseRow.remind_due_at <= now, CaseRow.escalate_due_at <= now))
                .order_by(CaseRow.id)
            ).all()
        fired = 0
        for case_id in ids:
            try:
                fired += self._fire_due(case_id, now)
            except StaleDataError:
                log.info("case %s changed meanwhile; its due time is looked at again on the next tick", case_id)
            except Exception:  # one broken case (e.g. its shop left the config) must not stop the others
                log.exception("case %s: due reminder or escalation failed; will retry", case_id)
        return fired

    def _fire_due(self, case_id: int, now: dt.datetime) -> int:
        with Session(self.engine) as s, s.begin():
            case = s.get(CaseRow, case_id)
            if case is None:
                return 0
            if case.remind_due_at is not None and case.remind_due_at <= now:
                self._remind(s, case, case.remind_due_at)
                return 1
            if case.escalate_due_at is not None and case.escalate_due_at <= now:
                if self.camera_dark is not None and self.camera_dark(case.camera_id):
                    if case.id not in self._held:
                        self._held.add(case.id)
                        ledger(s, case, A.system, f"escalation held: camera {case.camera_id} is dark", now)
                    return 0
                if case.id in self._held:  # the camera is back and the object still there
                    self._held.discard(case.id)
                    self._escalate(s, case, now, A.system, f"deadline passed; camera {case.camera_id} back, not fixed")
                    return 1
                self._escalate(s, case, case.escalate_due_at, A.system, "deadline passed, still not fixed")
                return 1
        return 0

    def _remind(self, s: Session, case: CaseRow, due: dt.datetime) -> None:
        deadline_at = due + dt.timedelta(seconds=self.deadline(case).fix_within_s)
        transition(
            s,
            case,
            S.reminded,
            A.system,
            "reminder sent to the responsible party",
            due,
            deadline=deadline_at.isoformat(),
        )
        case.escalate_due_at = deadline_at
        for channel in self.cfg.dispatch.reminder_channels:
            enqueue(
                s,
                channel=channel,
                payload=self._reminder(case, deadline_at, channel),
                idempotency_key=f"remind/{case.violation_key}/{channel}",
                case_id=case.id,
                now=due,
            )

    def _escalate(self, s: Session, case: CaseRow, at: dt.datetime, actor: Actor, reason: str, **data) -> None:
        transition(s, case, S.escalated, actor, reason, at, **data)
        enqueue(
            s,
            channel=ESCALATION_CHANNEL,
            payload=self._service_request(case),
            idempotency_key=f"escalate/{case.violation_key}",
            case_id=case.id,
            now=at,
        )

    # --- outbox and dispatch feedback -------------------------------------------------------------------

    def on_delivered(self, session: Session, row: OutboxRow) -> None:
        """Outbox hook: remember the platform's service request id for an escalation."""
        if row.channel != ESCALATION_CHANNEL or row.case_id is None:
            return
        case = session.get(CaseRow, row.case_id)
        srid = (row.result or {}).get("service_request_id")
        if case is not None and srid and case.service_request_id is None:
            case.service_request_id = str(srid)
            ledger(session, case, A.dispatch, f"dispatch platform accepted it as request {srid}", self.clock.now())

    def dispatch_closed(self, case_id: int, notes: str = "") -> bool:
        """The city platform reports the request closed; close the case. False if it was not escalated."""
        with Session(self.engine) as s, s.begin():
            case = s.get(CaseRow, case_id)
            if case is None or case.state != S.escalated.value:
                return False
            transition(s, case, S.closed, A.dispatch, notes or "closed by the dispatch platform", self.clock.now())
            return True

    def escalated_awaiting_closure(self) -> list[tuple[int, str]]:
        with Session(self.engine) as s:
            rows = s.execute(
                select(CaseRow.id, CaseRow.service_request_id).where(
                    CaseRow.state == S.escalated.value, CaseRow.service_request_id.is_not(None)
                )
            ).all()
        return [(r[0], r[1]) for r in rows]

    # --- people -----------------------------------------------------------------------------------------

    def act(self, case_id: int, action: Action, actor: Actor, reason: str = "", **data) -> CaseRow:
        """Apply an operator's or merchant's action; raises CaseNotFound or TransitionRefused."""
        try:
            return self._act(case_id, action, actor, reason, **data)
        except StaleDataError:
            raise TransitionRefused(f"case {case_id} changed while this action was applied; reload and retry") from None

    def _act(self, case_id: int, action: Action, actor: Actor, reason: str, **data) -> CaseRow:
        now = self.clock.now()
        with Session(self.engine) as s, s.begin():
            case = s.get(CaseRow, case_id)
            if case is None:
                raise CaseNotFound(case_id)
            target = ACTION_TARGET[action]
            text = reason or action.value
            if action is Action.confirm and case.state == S.reported.value:
                # a citizen's report confirmed: from now on it runs like a camera case
                transition(s, case, S.detected, actor, f"confirm: {text}" if reason else "confirmed", now, **data)
                case.confirmed_at = now
                case.remind_due_at = now + dt.timedelta(seconds=self.deadline(case).remind_after_s)
            elif target is None:
                ledger(s, case, actor, f"{action.value}: {text}" if reason else action.value, now, **data)
                if action is Action.confirm:
                    case.confirmed_at = now
            elif target is S.escalated:
                self._escalate(s, case, now, actor, text, **data)
            else:
                transition(s, case, target, actor, text, now, **data)
            s.flush()
            s.expunge(case)
            return case

    # --- message bodies ---------------------------------------------------------------------------------

    def _reminder(self, case: CaseRow, deadline_at: dt.datetime, channel: str) -> dict:
        shop = self.shop(case.shop_id)
        party = self.routed_party(case)
        responsible = {"kind": shop.party_kind, "name": shop.party_name}
        if party is not None:  # routed: the party's own reminder, about the shop's frontage where its objects stand
            responsible = {"kind": party.kind, "name": party.name, "id": party.id, "routed_by": case.routed_by}
        payload = reminder_payload(
            {"id": case.id, "kind": case.kind, "object_class": case.object_class, "opened_at": case.opened_at},
            {
                "id": shop.id,
                "name": shop.name,
                "address": shop.address,
                "responsible": responsible,
            },
            case.kind,
            deadline_at,
            self.snapshot_url(case.id),
        )
        payload["message"] = f"{SERVICE_NAMES[case.kind]} at {shop.name}: please clear it by {deadline_at.isoformat()}."
        if party is not None:
            payload["message"] = (f"{party.name}: your {case.object_class} stands in the frontage of {shop.name} "
                                  f"({shop.address or shop.id}); please clear it by {deadline_at.isoformat()}.")
            if channel == "webhook":
                payload["url"] = party.webhook or self.cfg.dispatch.webhook_url
            elif channel == "mqtt":
                payload["topic"] = party.mqtt_topic or reminder_topic(party.id, self.cfg.dispatch.mqtt_topic_prefix)
            return payload
        if channel == "webhook":
            payload["url"] = shop.webhook or self.cfg.dispatch.webhook_url
        elif channel == "mqtt":
            payload["topic"] = shop.mqtt_topic or reminder_topic(shop.id, self.cfg.dispatch.mqtt_topic_prefix)
        return payload

    def _service_request(self, case: CaseRow) -> dict:
        shop = self.shop(case.shop_id)
        party = self.routed_party(case)
        responsible = shop.party_name
        if party is not None:
            responsible = f"{party.name} ({party.kind}, routed by rule {case.routed_by})"
        by = {"camera": f"seen by camera {case.camera_id}", "inspector": "found by an inspector"}
        what = f"{case.object_class} " if case.object_class else ""
        seen = f"{what}at {shop.name} ({shop.id}), {by.get(case.source, 'reported by a citizen')}"
        body = {
            "service_code": case.kind,
            "service_name": SERVICE_NAMES[case.kind],
            "description": (
                f"{SERVICE_NAMES[case.kind]}: {seen} since {case.first_seen_at.isoformat()}; "
                f"the responsible party {responsible} was reminded"
                + (f" (case {case.linked_case_id}, a repeat offence)" if case.linked_case_id else "")
                + " and did not clear it."
            ),
            "address_string": shop.address,
            "media_url": self.media_url(case),
            # The violation key, not the local row id: unique across edge boxes and database resets.
            "attribute": {"case_id": case.violation_key, "shop_id": shop.id},
        }
        if party is not None:
            body["attribute"]["party_id"] = party.id
        if shop.lat is not None and shop.lon is not None:
            body["lat"], body["long"] = shop.lat, shop.lon
        return body
