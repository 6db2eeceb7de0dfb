"""Which party a case goes to: the shop, or the party whose objects stand there (shared bikes to their operator,
delivery e-bikes to their company).

`decide` is the pure rule: objects with their class and their colour shares in, (party, rule, reason) or None
(the case stays with the shop) out. `measure` takes the shares from the evidence frame. Decided once, when the
case opens, so a case never changes hands while its deadline runs.

- **One object**: the first rule (in config order) whose classes hold the object's class, whose shops and
  cameras (empty: all) hold the case's, and whose colour covers at least `min_share` of the measured region.
- **A pile** (one case of several objects, `one_case_per_shop`): each object is routed as above; the pile goes
  to a party only when more than `pile_share` of its objects route to that party. A mixed pile (two yellow
  bikes, two blue ones and a private one) stays with the shop: no operator answers for the others' bikes,
  and the shop answers for its frontage. The other objects of a pile carry no class of their own in the event;
  they are taken to be of the opening object's class (a car among bikes is not yellow and counts against).
- An object too small to measure (fewer than `detector.colour.MIN_PIXELS` pixels) matches nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from detector.colour import XYXY, box_share
from frontage.config import RoutingConfig, RoutingRule


@dataclass(frozen=True)
class Sighting:
    """One object of a case: its class, and per routing rule the share of that rule's colour in its region
    (None: too small to tell)."""

    object_class: str
    shares: Mapping[str, float | None]


@dataclass(frozen=True)
class Route:
    party: str
    rule: str
    reason: str
    share: float  # the opening object's share of the rule's colour (for a pile: the share of matching objects)

    def data(self) -> dict:
        return {"routed_to": self.party, "routing_rule": self.rule, "routing_share": round(self.share, 3)}


def applies(rule: RoutingRule, object_class: str, shop_id: str, camera_id: str) -> bool:
    return (
        object_class in rule.classes
        and (not rule.shops or shop_id in rule.shops)
        and (not rule.cameras or camera_id in rule.cameras)
    )


def first_match(rules: Sequence[RoutingRule], obj: Sighting, shop_id: str,
                camera_id: str) -> tuple[RoutingRule, float] | None:  # fmt: skip
    """The first rule the object matches, with its share; None when none does."""
    for rule in rules:
        if not applies(rule, obj.object_class, shop_id, camera_id):
            continue
        share = obj.shares.get(rule.name)
        if share is not None and share >= rule.colour.min_share:
            return rule, share
    return None


def decide(routing: RoutingConfig, objects: Sequence[Sighting], shop_id: str, camera_id: str) -> Route | None:
    """The party the case goes to and why, or None: it stays with the shop. `objects[0]` opened the case."""
    if not objects or not routing.rules:
        return None
    matches = [first_match(routing.rules, o, shop_id, camera_id) for o in objects]
    if len(objects) == 1:
        if matches[0] is None:
            return None
        rule, share = matches[0]
        c = rule.colour
        reason = (
            f"routed to {rule.party}: {objects[0].object_class}, {c.label} {share:.2f} >= {c.min_share:.2f}"
            + (f" of its {c.region.value} half" if c.region.value != "whole" else "")
            + f" (rule {rule.name})"
        )
        return Route(rule.party, rule.name, reason, share)
    votes = Counter(m[0].party for m in matches if m is not None)
    if not votes:
        return None
    party, n = votes.most_common(1)[0]
    share = n / len(objects)
    if share <= routing.pile_share:
        return None
    rule = next(m[0] for m in matches if m is not None and m[0].party == party)
    names = sorted({m[0].name for m in matches if m is not None and m[0].party == party})
    reason = (f"routed to {party}: {n} of {len(objects)} {objects[0].object_class}s in the pile match "
              f"({share:.2f} > {routing.pile_share:.2f}; rule {', '.join(names)})")  # fmt: skip
    return Route(party, rule.name, reason, share)


def measure(routing: RoutingConfig, image: np.ndarray, object_class: str, boxes: Sequence[XYXY]) -> list[Sighting]:
    """Each box's share of every rule's colour in the rule's region, on the evidence frame."""
    out = []
    for b in boxes:
        shares = {
            r.name: box_share(image, b, r.colour.hue_range, r.colour.min_saturation, r.colour.min_value,
                              r.colour.region.value, r.colour.solid)
            for r in routing.rules
        }  # fmt: skip
        out.append(Sighting(object_class, shares))
    return out


def route_case(routing: RoutingConfig, image: np.ndarray | None, object_class: str, boxes: Sequence[XYXY],
               shop_id: str, camera_id: str) -> Route | None:  # fmt: skip
    """`measure` then `decide`; no rules or no picture (a detections file replays without frames): None."""
    if (
        not routing.rules
        or image is None
        or not any(applies(r, object_class, shop_id, camera_id) for r in routing.rules)
    ):
        return None  # fmt: skip
    return decide(routing, measure(routing, image, object_class, boxes), shop_id, camera_id)
