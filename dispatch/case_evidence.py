"""A case's evidence on disk: its rendering for an audience, and the files retention deletes.

A camera case keeps its unannotated original frame and the boxes on it (`cases.evidence`), and every audience's
JPEG is rendered from them on request (dispatch.privacy; about 20 ms for a 720p frame). A case without them (from
before evidence privacy, or a citizen's or inspector's photo) has only its stored snapshot: staff's original
audiences get it as stored, any other audience gets it blurred whole except the case's box, since nobody looked
for the people in it.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from dispatch.db import CaseRow
from dispatch.evidence import evidence_file
from dispatch.privacy import POLICIES, Audience, render_evidence


def _box(values: object) -> tuple[float, float, float, float] | None:
    if isinstance(values, list | tuple) and len(values) == 4:
        return tuple(float(v) for v in values)  # type: ignore[return-value]
    return None


def _boxes(values: object) -> list[tuple[float, float, float, float]] | None:
    if values is None:
        return None
    return [b for v in values if (b := _box(v)) is not None] if isinstance(values, list) else None


def render_case(row: CaseRow, root: Path, audience: Audience | str) -> bytes | None:
    """The case's evidence JPEG for `audience`, or None when it has none on disk."""
    audience = Audience(audience)
    ev = row.evidence or {}
    original = evidence_file(str(ev.get("original") or ""), root)
    image = cv2.imread(str(original)) if original is not None else None
    if image is not None:
        return render_evidence(
            image,
            _boxes(ev.get("subjects")) or [],
            _boxes(ev.get("people")),
            _boxes(ev.get("vehicles")),
            audience,
            polygon=[(float(x), float(y)) for x, y in ev.get("polygon") or []],
            lines=[str(line) for line in ev.get("lines") or []],
        )
    snapshot = evidence_file(row.snapshot or "", root)
    if snapshot is None:
        return None
    if POLICIES[audience].original:
        return snapshot.read_bytes()
    image = cv2.imread(str(snapshot))
    if image is None:
        return None
    subject = _box(row.box)
    return render_evidence(image, [subject] if subject else [], None, None, audience)


def evidence_files(row: CaseRow, root: Path) -> list[Path]:
    """The case's evidence files that exist inside the snapshot folder (never a path outside it)."""
    stored = [row.snapshot or "", str((row.evidence or {}).get("original") or "")]
    found = [f for f in (evidence_file(s, root) for s in stored if s) if f is not None]
    return list(dict.fromkeys(found))
