"""A camera process's line to the zone editor's API, over HTTP: new zone versions in, the latest frames out.

`frontage run` talks to its own API (or to the district's central one, `zones.url`) like any other client:
every `zones.poll_s` it asks for each camera's latest zones and, when the version changed, hands them to the
camera loop, which applies them between two frames (hot reload: no restart). Every `zones.snapshot_every_s` it
pushes each camera's latest redacted frame (frontage.public_views), so the editor draws on what the camera sees
now without showing who walks by. All of it runs in its own
thread: a slow or dead API never stalls detection; it is logged once per outage and tried again next period.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import cv2
import httpx
import numpy as np

from frontage.polygons import Outline, check_frontages
from register.frontages import normalize

log = logging.getLogger(__name__)

JPEG_QUALITY = 80


@dataclass(frozen=True)
class RemoteZones:
    """One camera's zones as the API holds them: what the camera loop applies."""

    camera_id: str
    version: int
    author: str
    frontages: list[dict[str, Any]]  # [{shop_id, polygon: [[x, y], ...], allow_overlap}]

    def polygons(self) -> list[tuple[str, list[tuple[float, float]]]]:
        return [(f["shop_id"], [(float(x), float(y)) for x, y in f["polygon"]]) for f in self.frontages]


class ZoneSync:
    """Polls the zones of `frames`' cameras and pushes their frames, in a thread (`start`, `stop`). The camera
    loop takes new versions with `take()` and reports each one with `applied()`, or with `failed()` when it
    could not apply it: that version is then fetched and handed over again on the next poll."""

    def __init__(
        self,
        base_url: str,
        token: str,
        sizes: Mapping[str, tuple[int, int]],
        *,
        poll_s: float,
        snapshot_every_s: float = 0.0,
        timeout_s: float = 5.0,
        frames: Callable[[str], np.ndarray | None] | None = None,
        known: Mapping[str, int] | None = None,
    ):
        """`sizes`: camera id -> (width, height) of its frame here; `frames(camera_id)`: its latest frame (BGR) or
        None; `known`: the version each camera runs already (none: the first answer is applied)."""
        self.base_url, self.sizes = base_url.rstrip("/"), dict(sizes)
        self.poll_s, self.snapshot_every_s = poll_s, snapshot_every_s
        self.frames = frames
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s,
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        self._lock = threading.Lock()
        self._known: dict[str, int] = dict(known or {})  # the version each camera runs
        self._pending: dict[str, RemoteZones] = {}  # fetched, waiting for take()
        self._taken: dict[str, int] = {}  # handed to the camera loop, not yet applied() or failed()
        self._down: dict[str, str] = {}  # what failed last, by what: logged once per outage
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zone-sync", daemon=True)
        self.polls = self.pushes = 0

    def start(self) -> ZoneSync:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._client.close()

    def take(self) -> list[RemoteZones]:
        """New versions to apply (camera loop thread), at most one per camera: the newest."""
        with self._lock:
            out, self._pending = list(self._pending.values()), {}
            self._taken.update({z.camera_id: z.version for z in out})
        return out

    def applied(self, camera_id: str, version: int) -> None:
        with self._lock:
            self._known[camera_id] = version
            if self._taken.get(camera_id) == version:
                del self._taken[camera_id]

    def failed(self, camera_id: str, version: int) -> None:
        """The camera loop could not apply `version`: the next poll hands it over again."""
        with self._lock:
            if self._taken.get(camera_id) == version:
                del self._taken[camera_id]

    # -- the thread ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        next_poll = next_push = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_poll:
                for cam in self.sizes:
                    self.poll(cam)
                next_poll = now + self.poll_s
            if self.snapshot_every_s > 0 and self.frames is not None and now >= next_push:
                for cam in self.sizes:
                    self.push(cam)
                next_push = now + self.snapshot_every_s
            wait = min(next_poll, next_push if self.snapshot_every_s > 0 else next_poll) - time.monotonic()
            self._stop.wait(max(0.05, wait))

    def poll(self, camera_id: str) -> RemoteZones | None:
        """Ask for the camera's latest zones; a new version waits in `take()`. None when there is nothing new."""
        self.polls += 1
        try:
            res = self._client.get(f"/cameras/{quote(camera_id, safe='')}/zones")
            res.raise_for_status()
            found = self._parse(camera_id, res.json())
        except (httpx.HTTPError, ValueError) as exc:
            self._failed(camera_id, "zones", exc)
            return None
        self._ok(camera_id, "zones")
        with self._lock:
            if found.version in (self._known.get(camera_id), self._taken.get(camera_id)):
                return None
            self._pending[camera_id] = found
        log.info("camera %s: zones version %d by %s from %s", camera_id, found.version, found.author, self.base_url)
        return found

    def _parse(self, camera_id: str, data: Any) -> RemoteZones:
        """The API's answer, checked like an edit: a camera process never runs zones it could not have saved."""
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise ValueError("the answer is not a zones version")
        width, height = self.sizes[camera_id]
        if (data.get("width"), data.get("height")) != (width, height):
            raise ValueError(f"the API draws camera {camera_id} on a {data.get('width')}x{data.get('height')} frame, "
                             f"this process on {width}x{height}: make the two configs agree")  # fmt: skip
        frontages = normalize(data.get("frontages") or [])
        problems = check_frontages(width, height, [Outline(f["shop_id"], f["polygon"], f["allow_overlap"])
                                                   for f in frontages])  # fmt: skip
        if problems:
            p = problems[0]
            raise ValueError(f"version {data['version']}: shop {p.shop_id!r} {p.where}: {p.reason}")
        return RemoteZones(camera_id, data["version"], str(data.get("author", "")), frontages)

    def push(self, camera_id: str) -> bool:
        """Send the camera's latest frame, scaled to its configured frame (the polygons' coordinates)."""
        image = self.frames(camera_id) if self.frames is not None else None
        if image is None:
            return False
        width, height = self.sizes[camera_id]
        if (image.shape[1], image.shape[0]) != (width, height):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            return False
        try:
            res = self._client.put(f"/cameras/{quote(camera_id, safe='')}/snapshot.jpg", content=buf.tobytes(),
                                   headers={"Content-Type": "image/jpeg"})  # fmt: skip
            res.raise_for_status()
        except httpx.HTTPError as exc:
            self._failed(camera_id, "snapshot", exc)
            return False
        self._ok(camera_id, "snapshot")
        self.pushes += 1
        return True

    def _failed(self, camera_id: str, what: str, exc: Exception) -> None:
        why = _why(exc)
        key = f"{camera_id}/{what}"
        if self._down.get(key) != why:
            log.warning("camera %s: %s from %s failed: %s; trying again", camera_id, what, self.base_url, why)
        self._down[key] = why

    def _ok(self, camera_id: str, what: str) -> None:
        if self._down.pop(f"{camera_id}/{what}", None) is not None:
            log.warning("camera %s: %s from %s works again", camera_id, what, self.base_url)


def _why(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        try:
            detail = exc.response.json().get("detail")
        except ValueError:
            detail = exc.response.text[:200]
        return f"HTTP {exc.response.status_code}: {detail}"
    return f"{type(exc).__name__}: {exc}"
