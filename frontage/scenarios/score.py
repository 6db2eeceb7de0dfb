"""Score replayed cases against a scenario's ground truth: which expected cases were opened, on time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

OPEN_TOLERANCE_S = 2.0  # four sampled frames at 2 fps
CLEAR_TOLERANCE_S = 2.0


@dataclass
class Score:
    matched: list[tuple[dict, dict]] = field(default_factory=list)
    missed: list[dict] = field(default_factory=list)  # expected, never opened (or not on time)
    spurious: list[dict] = field(default_factory=list)  # opened, not expected

    @property
    def recall(self) -> float:
        total = len(self.matched) + len(self.missed)
        return len(self.matched) / total if total else 1.0

    @property
    def precision(self) -> float:
        total = len(self.matched) + len(self.spurious)
        return len(self.matched) / total if total else 1.0

    @property
    def perfect(self) -> bool:
        return not self.missed and not self.spurious


def _close(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def same_case(expected: dict, got: dict, open_tol: float, clear_tol: float) -> bool:
    return (
        expected["camera_id"] == got["camera_id"]
        and expected["shop_id"] == got["shop_id"]
        and expected["kind"] == got["kind"]
        and _close(expected["opened_at_s"], got["opened_at_s"], open_tol)
        and _close(expected["cleared_at_s"], got["cleared_at_s"], clear_tol)
    )


def score(
    expected: Sequence[dict],
    got: Sequence[dict],
    open_tol: float = OPEN_TOLERANCE_S,
    clear_tol: float = CLEAR_TOLERANCE_S,
) -> Score:
    """Greedy one-to-one matching in time order; a case counts only if shop, kind and times all agree."""
    out = Score()
    free = list(got)
    for exp in sorted(expected, key=lambda c: c["opened_at_s"]):
        hit = next((g for g in free if same_case(exp, g, open_tol, clear_tol)), None)
        if hit is None:
            out.missed.append(exp)
        else:
            free.remove(hit)
            out.matched.append((exp, hit))
    out.spurious = free
    return out


def false_cases(expected: Sequence[dict], got: Sequence[dict], early_s: float = OPEN_TOLERANCE_S) -> list[dict]:
    """The opened cases that no vehicle standing called for: none stood at that shop, for that rule, for the dwell
    by the time the case opened (up to `early_s` sooner), nor still stood there. A case that opened late, or
    cleared at another time, is not false: the rules may wait, they must not invent."""
    return [
        g for g in got
        if not any(
            e["camera_id"] == g["camera_id"] and e["shop_id"] == g["shop_id"] and e["kind"] == g["kind"]
            and e["opened_at_s"] - early_s <= g["opened_at_s"] <= (e["cleared_at_s"] or float("inf"))
            for e in expected
        )
    ]  # fmt: skip
