"""QR codes as runs of dark modules, made in parallel for big print jobs.

segno chooses the mask the standard's way (eight trial masks, scored), which is most of a signboard's drawing
time; a district's thousands of codes are spread over worker processes. This module imports only segno, so a
spawned worker starts in a fraction of a second.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import segno

QR_ERROR = "q"  # a quarter of the code may be dirty or torn and it still reads
QR_BORDER = 4  # the standard's quiet zone, in modules
PARALLEL_FROM = 200  # below this, starting workers costs more than it saves
CHUNK = 50

Runs = tuple[int, list[tuple[int, int, int]]]


def qr_runs(text: str) -> Runs:
    """The QR code of `text` as (side in modules with the quiet zone, dark runs (row, first column, length))."""
    qr = segno.make(text, error=QR_ERROR, micro=False, boost_error=False)
    runs: list[tuple[int, int, int]] = []
    side = 0
    for r, row in enumerate(qr.matrix_iter(scale=1, border=QR_BORDER)):
        side += 1
        col, n = 0, len(row)
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                runs.append((r, start, col - start))
            else:
                col += 1
    return side, runs


def many_qr_runs(texts: Sequence[str], workers: int | None = None) -> list[Runs]:
    """qr_runs of each text, in order; over worker processes (spawned, so safe beside threads) for big jobs."""
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    if len(texts) < PARALLEL_FROM or workers < 2:
        return [qr_runs(t) for t in texts]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(qr_runs, texts, chunksize=CHUNK))
