"""Scores and red/black lists in the store: recompute every party's score, and write a party-ledger event each
time a party's standing changes, with the threshold it crossed and the contributions that weighed most."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, false, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from frontage.config import Config, CreditConfig
from register.credit import Score, describe, main_contributions, score, standing
from register.db import CreditScoreRow, PartyEventRow, ShopRow
from register.ledger_facts import read_ledger

LISTS = ("red", "black")


def credit_config(cfg: Config | CreditConfig) -> CreditConfig:
    return cfg if isinstance(cfg, CreditConfig) else cfg.district.credit


@dataclass(frozen=True)
class Summary:
    parties: int
    red: int
    black: int
    events: int  # party-ledger events written (entering or leaving a list)
    facts: int  # ledger facts inside the window
    computed_at: dt.datetime

    def __str__(self) -> str:
        return (f"{self.parties} parties ({self.red} red, {self.black} black) from {self.facts} facts; "
                f"{self.events} list change(s)")  # fmt: skip


def window_start(cfg: CreditConfig, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=cfg.window_days)


def _threshold(name: str, cfg: CreditConfig, inside: bool) -> str:
    if name == "black":
        return f"at or below black_at {cfg.black_at:g}" if inside else f"above black_at {cfg.black_at:g}"
    return f"at or above red_at {cfg.red_at:g}" if inside else f"below red_at {cfg.red_at:g}"


def list_events(party_id: str, before: str, after: str, s: Score, cfg: CreditConfig, now: dt.datetime) -> list[dict]:
    """The party-ledger rows for a move from one standing to another (red to black is leaving one, entering the
    other), each with the score and why."""
    rows = []
    for name in LISTS:
        if before == name and after != name:
            rows.append((f"left_{name}", f"score {s.score:g} {_threshold(name, cfg, inside=False)}"))
    for name in LISTS:
        if after == name and before != name:
            main = describe(main_contributions(s, name))
            why = f"score {s.score:g} {_threshold(name, cfg, inside=True)}" + (f"; mainly {main}" if main else "")
            rows.append((f"entered_{name}", why))
    return [dict(party_id=party_id, at=now, kind=kind, score=s.score, reason=reason) for kind, reason in rows]


def _one_at_a_time(s: Session) -> None:
    """Take the store's write lock before reading the old standings, so two recomputes (the `frontage serve`
    timer and an admin's POST) cannot both see a party leave a list and both write the event."""
    if s.bind.dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(7300001)"))  # frontage's credit recompute
    else:  # SQLite: a write statement takes the database's write lock now, even when it changes nothing
        s.execute(update(CreditScoreRow).where(false()).values(score=0.0))


def recompute(engine: Engine, cfg: Config | CreditConfig, now: dt.datetime) -> Summary:
    """Every party's score at `now`, in one transaction: the score table is replaced, and each standing that
    changed since the last recompute gets its ledger events. A party that left the register (no shops, no
    facts) is dropped, leaving its list with an event."""
    credit = credit_config(cfg)
    with Session(engine) as s, s.begin():
        _one_at_a_time(s)
        ledger = read_ledger(s, window_start(credit, now))
        before = dict(s.execute(select(CreditScoreRow.party_id, CreditScoreRow.standing)).all())
        rows, events, counts = [], [], {"red": 0, "black": 0, "none": 0}
        for party in sorted(ledger.parties):
            sc = score(ledger.facts.get(party, []), credit, now, party)
            now_standing = standing(sc.score, credit)
            counts[now_standing] += 1
            rows.append(dict(party_id=party, score=sc.score, standing=now_standing, computed_at=now))
            events += list_events(party, before.get(party, "none"), now_standing, sc, credit, now)
        for party in sorted(set(before) - ledger.parties):
            gone = Score(party, credit.base, [])
            for ev in list_events(party, before[party], "none", gone, credit, now):
                ev["reason"] = "no longer on the register"
                events.append(ev)
        s.execute(delete(CreditScoreRow))
        if rows:
            s.execute(insert(CreditScoreRow), rows)
        if events:
            s.execute(insert(PartyEventRow), events)
    facts = sum(len(f) for f in ledger.facts.values())
    return Summary(len(rows), counts["red"], counts["black"], len(events), facts, now)


def explain(engine: Engine, cfg: Config | CreditConfig, party_id: str, now: dt.datetime) -> Score:
    """One party's score at `now` with every contribution (its case or inspection and date)."""
    credit = credit_config(cfg)
    with Session(engine) as s:
        ledger = read_ledger(s, window_start(credit, now), party_id)
    return score(ledger.facts.get(party_id, []), credit, now, party_id)


@dataclass(frozen=True)
class ListedShop:
    id: str
    name: str
    street: str


@dataclass(frozen=True)
class ListEntry:
    party_id: str
    party_name: str
    score: float
    since: dt.datetime | None  # when the party last entered this list
    shops: list[ListedShop] = field(default_factory=list)


def party_shops(session: Session, party_ids: list[str]) -> dict[str, list[ShopRow]]:
    out: dict[str, list[ShopRow]] = {p: [] for p in party_ids}
    for i in range(0, len(party_ids), 500):
        chunk = party_ids[i : i + 500]
        for row in session.scalars(select(ShopRow).where(ShopRow.party_id.in_(chunk)).order_by(ShopRow.id)):
            out[row.party_id].append(row)
    return out


def entered_since(
    session: Session, party_ids: list[str], name: str, at: dt.datetime | None = None
) -> dict[str, dt.datetime]:
    """When each party last entered list `name` (by `at`, when given)."""
    out: dict[str, dt.datetime] = {}
    for i in range(0, len(party_ids), 500):
        query = select(PartyEventRow.party_id, PartyEventRow.at).where(
            PartyEventRow.party_id.in_(party_ids[i : i + 500]), PartyEventRow.kind == f"entered_{name}"
        )
        if at is not None:
            query = query.where(PartyEventRow.at <= at)
        out.update(dict(session.execute(query.order_by(PartyEventRow.at, PartyEventRow.id)).all()))
    return out


def standing_at(session: Session, name: str, at: dt.datetime) -> list[tuple[str, float]]:
    """The parties on list `name` at `at`, from the party ledger (the last entering or leaving by then decides),
    each with the score it entered with."""
    last: dict[str, tuple[str, float]] = {}
    rows = session.execute(
        select(PartyEventRow.party_id, PartyEventRow.kind, PartyEventRow.score)
        .where(PartyEventRow.at <= at, PartyEventRow.kind.in_([f"entered_{name}", f"left_{name}"]))
        .order_by(PartyEventRow.at, PartyEventRow.id)
    )
    for party, kind, points in rows:
        last[party] = (kind, points)
    return [(party, points) for party, (kind, points) in last.items() if kind == f"entered_{name}"]


def lists(
    engine: Engine, street: str | None = None, at: dt.datetime | None = None
) -> tuple[list[ListEntry], list[ListEntry]]:
    """The red list (best first) and the black list (worst first), as the last recompute left them, or as they
    stood at `at` (a month's report: the party ledger says who was on which list then, with the score each
    entered with); with a street, only the parties with a shop on it (and only those shops)."""
    out: dict[str, list[ListEntry]] = {}
    with Session(engine) as s:
        for name in LISTS:
            if at is None:
                order = CreditScoreRow.score.desc() if name == "red" else CreditScoreRow.score.asc()
                scored = s.execute(
                    select(CreditScoreRow.party_id, CreditScoreRow.score)
                    .where(CreditScoreRow.standing == name)
                    .order_by(order, CreditScoreRow.party_id)
                ).all()
            else:
                sign = -1 if name == "red" else 1
                scored = sorted(standing_at(s, name, at), key=lambda ps: (sign * ps[1], ps[0]))
            ids = [p for p, _ in scored]
            shops, since = party_shops(s, ids), entered_since(s, ids, name, at)
            entries = []
            for party, value in scored:
                own = [r for r in shops[party] if street is None or r.street == street]
                if street is not None and not own:
                    continue
                entries.append(
                    ListEntry(
                        party_id=party,
                        party_name=shops[party][0].party_name if shops[party] else party,
                        score=value,
                        since=since.get(party),
                        shops=[ListedShop(r.id, r.name, r.street) for r in own],
                    )
                )
            out[name] = entries
    return out["red"], out["black"]
