"""`frontage run`: live cameras -> detector -> zones -> cases, with reminders and escalation beside them.

Detection runs in the main loop; the dispatch side (due reminders and escalations, outbox delivery, polling
the city) runs in its own thread, so a slow or dead dispatch platform never stalls the cameras. Everything
that must survive a crash is in the store: on start, open violations and the dwell of objects still waiting
out theirs (checkpointed every `dwell_checkpoint_s`) are handed back to the dwell trackers, and due times fire
at their original times.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from detector.feed import DetectionsFeed
from detector.gate import ChangeGate
from detector.live import StreamReader
from detector.scheduling import ROUND_SHARE, FrameScheduler, InferenceBudget
from detector.types import Evidence, FrameDetections
from dispatch.baselines import camera_events, latest_baseline, record_camera_event
from dispatch.cases import CaseRecorder
from dispatch.checkpoints import load_dwelling, save_dwelling
from dispatch.db import CaseRow, make_engine
from dispatch.evidence import privacy_classes, privacy_finder
from dispatch.loop import DispatchLoop
from dispatch.workflow import Workflow
from frontage.clock import Clock, SystemClock
from frontage.config import ApiToken, Camera, Config, Fixture, Role, RuleKind
from frontage.public_views import PublicViews
from frontage.watch import VIEW_EVENTS, CameraWatch
from frontage.zone_sync import ZoneSync
from register.evidence_keys import evidence_key_source
from register.frontages import config_frontages, seed_from_config
from register.shops import register_config_shops, shop_lookup
from zones.engine import ZoneEngine

log = logging.getLogger(__name__)


def restore_open_violations(engine: Engine, zones: ZoneEngine, cfg: Config, start: dt.datetime) -> int:
    """Give the dwell trackers back every violation still on the ground (not yet seen cleared), as of `start`.

    Whatever the case's state: a case the city closed or an operator dismissed while the object still stands
    must not open again just because the process restarted. The object counts as last seen at the restart,
    so a camera that was dark never makes a case look cleared."""
    cams = {c.id for c in cfg.cameras}
    with Session(engine) as s:
        rows = s.scalars(select(CaseRow).where(CaseRow.cleared_at.is_(None))).all()
    n = 0
    for row in rows:
        if row.camera_id not in cams:
            continue
        n += zones.restore(
            row.camera_id,
            RuleKind(row.kind),
            key=row.violation_key,
            shop_id=row.shop_id,
            box=tuple(row.box),
            object_class=row.object_class,
            first_seen_t=(row.first_seen_at - start).total_seconds(),
            opened_t=(row.opened_at - start).total_seconds(),
            t=0.0,
        )
    return n


@dataclass
class Stopper:
    """Set by SIGTERM/SIGINT or by a duration; both loops watch it."""

    event: threading.Event

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.event.set())


def run_service(
    cfg: Config,
    *,
    weights: str,
    db_url: str,
    snapshot_dir: Path,
    duration_s: float | None = None,
    clock: Clock | None = None,
    feed_epoch: dt.datetime | None = None,
    api_port: int | None = None,
    stop_event: threading.Event | None = None,
    on_api: Callable[[str], None] | None = None,
) -> int:
    """Watch every camera until stopped; returns the number of cases this process opened.

    Cameras whose source is a `.jsonl` detections file are fed on the clock, their t=0 at `feed_epoch`
    (default: the start of this process), as recorded (no tracker: the rules re-associate parked objects).
    The operator API serves on cfg.api.host and `api_port` (default cfg.api.port; 0 picks a free port; -1 off).
    The cameras' frontages follow the zone editor's latest versions, taken over HTTP from this API or from
    cfg.zones.url (frontage.zone_sync). `stop_event`, when given, stops the service when set; `on_api`, when
    given, gets the API's base URL once it serves (a port-0 API's real port, for whoever started the service)."""
    clock = clock or SystemClock()
    engine = make_engine(db_url)
    register_config_shops(engine, cfg, clock.now())  # signboards, reports and credit know the configured shops
    signs = evidence_key_source(engine, cfg, clock)  # the city platform's evidence links
    workflow = Workflow(engine, cfg, clock, shops=shop_lookup(engine), evidence_key=signs)
    zones = ZoneEngine(cfg, key_prefix=uuid.uuid4().hex[:12])
    start = clock.now()
    epoch = feed_epoch or start
    restored = restore_open_violations(engine, zones, cfg, start)
    if restored:
        log.info("restored %d open violation(s) from the store", restored)
    cam_ids = [c.id for c in cfg.cameras]
    resumed = [st for cam, kind, st in load_dwelling(engine, cam_ids, start) if zones.resume(cam, kind, st)]
    if resumed:
        log.info("restored the dwell of %d object(s) and the absence of %d with open cases from the last checkpoint",
                 sum(not st.opened for st in resumed), sum(st.opened for st in resumed))  # fmt: skip
    # The zone editor's versions: here when this process's own API holds them (version 1 from the config), else
    # at cfg.zones.url, whose latest the first poll brings.
    stored = {} if cfg.zones.url else seed_from_config(engine, cfg, start)
    running_zones = {cid: zv.version for cid, zv in stored.items()}  # the zone version each camera runs
    polygons = {(z.shop_id, z.camera_id): z.points for z in zones.zones}
    recorder = CaseRecorder(engine, snapshot_dir, polygons, workflow=workflow)

    skip = max(0.0, (start - epoch).total_seconds())
    feeds = {c.id: DetectionsFeed(c.source, c.id, skip) for c in cfg.cameras if c.source.endswith(".jsonl")}
    video = [c for c in cfg.cameras if c.source and c.id not in feeds]
    readers = {c.id: StreamReader(c.id, c.source, cfg.detector.sample_fps) for c in video}
    detector = trackers = None
    if video:  # the model and tracker load only when a camera has pixels
        import cv2

        from detector.tracking import Tracker
        from detector.yolo import YoloDetector

        cv2.setNumThreads(1)  # dozens of reader threads share two cores: OpenCV's own pool would only contend
        detector = YoloDetector(cfg.detector, weights, cfg.rule_classes())
        recorder.find_privacy = privacy_finder(detector, cfg)  # people and vehicles the rules do not watch
        trackers = {c.id: Tracker(cfg.detector.tracker, cfg.detector.sample_fps) for c in video}

    gate = ChangeGate(cfg.detector.gate_min_change, cfg.detector.gate_recheck_s)
    # The shop pages' picture and the zone editor's frame: one redacted frame per camera, as often as either asks.
    every_s = min(300.0, cfg.zones.snapshot_every_s or 300.0)
    views = None
    if detector:
        views = PublicViews(snapshot_dir / "views", recorder.find_privacy, privacy_classes(cfg), every_s)
    for cam in video:
        gate.set_region(cam.id, [pts for (_, cid), pts in polygons.items() if cid == cam.id], (cam.width, cam.height))

    def camera_event(camera_id: str, kind: str, reason: str, data: dict) -> None:
        try:
            record_camera_event(engine, camera_id, kind, "system", reason, clock.now(), data)
        except Exception:  # a store hiccup costs the ledger line, not the camera
            log.exception("camera %s: %s not written to the camera ledger", camera_id, kind)

    watches = {c.id: CameraWatch(cfg, c, zones, camera_event,
                                 partial(_regions_to_gate, gate, c)) for c in video}  # fmt: skip
    control = WatchControl(engine, watches, clock)
    for cid, watch in watches.items():
        control.reload_baseline(cid)
        last = next((e for e in camera_events(engine, cid) if e.kind in VIEW_EVENTS), None)
        if last is not None and "homography" in last.data:
            watch.resume_view(last.data["homography"])  # where the last process left the frontages
            log.info("camera %s: frontages as re-registered at %s", cid, last.at.isoformat())
    period = 1.0 / cfg.detector.sample_fps
    scheduler = FrameScheduler([c.id for c in video], gate, detector, trackers or {},
                               InferenceBudget(ROUND_SHARE * period), max_carry_s=cfg.detector.max_carry_s,
                               watches={cid: control.looker(cid) for cid in watches})  # fmt: skip
    stats = scheduler.stats
    workflow.camera_dark = lambda cam_id: (
        cam_id in readers and (readers[cam_id].state().state != "online" or watches[cam_id].suspended)
    )

    def camera_status() -> list[dict]:
        out = [{"id": cid, **r.state().as_dict(), **stats[cid], "source": r.source, **watches[cid].status.as_dict(),
                "baseline_version": watches[cid].baseline_version, "zones_version": running_zones.get(cid)}
               for cid, r in readers.items()]  # fmt: skip
        return out + [
            {"id": cid, "state": f.state, "reconnects": 0, "source": "detections feed",
             "zones_version": running_zones.get(cid)} for cid, f in feeds.items()
        ]  # fmt: skip

    api = None
    port = cfg.api.port if api_port is None else api_port
    own_token = os.environ.get("FRONTAGE_ZONES_TOKEN") or cfg.zones.token or secrets.token_urlsafe(32)
    if port >= 0:
        from api.app import create_app
        from dispatch.open311_server import BackgroundServer

        app = create_app(_with_sync_token(cfg, own_token), engine, workflow, snapshot_dir=snapshot_dir,
                         upload_dir=snapshot_dir.parent / "uploads", camera_status=camera_status,
                         camera_control=control)  # fmt: skip
        api = BackgroundServer(app, cfg.api.host, port).start()
        log.warning("operator API and review page on %s/", api.url)
        if on_api is not None:
            on_api(api.url)

    def apply_zones(cam_id: str, version: int, author: str, frontages: list, t: float) -> None:
        """A camera's new zone version, between two rounds: the rules, the gate and the evidence drawing follow,
        and the open cases whose object stands outside its shop's new frontage clear."""
        reason = f"frontage redrawn (zones version {version} by {author})"
        if cam_id in watches:
            events = watches[cam_id].redraw(frontages, t, reason)
        else:
            events = zones.set_frontages(cam_id, frontages, t, reason)
        for key in [k for k in polygons if k[1] == cam_id]:
            del polygons[key]
        polygons.update({(shop, cam_id): pts for shop, pts in zones.frontages(cam_id)})
        for ev in events:
            try:
                recorder.handle(ev, start, None)
            except Exception:  # a store hiccup costs this clearing; the case stays open for an operator
                log.exception("could not record %s of %s", ev.type.value, ev.key)
        running_zones[cam_id] = version
        log.warning("camera %s: zones version %d by %s applied (%d frontage(s); %d open case(s) cleared)",
                    cam_id, version, author, len(frontages), len(events))  # fmt: skip

    for cid, zv in stored.items():
        if zv.frontages != config_frontages(cfg, cid):  # edited since the config's version 1
            apply_zones(cid, zv.version, zv.author, zv.polygons(), 0.0)
    sync = _zone_sync(cfg, api, own_token, views, {cid: zv.version for cid, zv in stored.items()})

    stop = Stopper(stop_event or threading.Event())
    stop.install()
    # built here: a bad sender setup fails the start, loudly
    loop = DispatchLoop(engine, cfg, clock, workflow, snapshot_dir=snapshot_dir)
    dispatcher = threading.Thread(target=dispatch_forever, args=(loop, stop.event), name="dispatch", daemon=True)
    dispatcher.start()
    for r in readers.values():
        r.start()

    def record(fd: FrameDetections, when: dt.datetime, image) -> None:
        for ev in zones.process(fd, when):
            try:
                recorder.handle(ev, start, image, fd.detections)
            except Exception:  # a store hiccup loses this event, not the service and its other cameras
                log.exception("could not record %s of %s", ev.type.value, ev.key)
                continue
            log.info("%s %s %s shop=%s", ev.type.value, ev.kind.value, ev.object_class, ev.shop_id)

    def record_live(t: float, when: dt.datetime, cam_id: str, dets: list, image, evidence: Evidence) -> None:
        if watches[cam_id].suspended:  # the view is not the one the frontages were drawn on: nothing counts
            evidence, dets = Evidence.unknown, []
        record(FrameDetections(cam_id, t, dets, image, evidence=evidence), when, image)
        if views is not None:  # the shop pages' picture, people blurred: once per 300 s per camera
            views.offer(cam_id, image, dets, evidence, when.timestamp())
        if zones.awaiting_look(cam_id):  # a case is due: it opens on the next frame the model sees
            scheduler.request_look(cam_id)

    saved: list | None = None  # the first checkpoint always writes: it replaces what the last process left

    def checkpoint(now: dt.datetime) -> None:
        """Save what the rules know of the objects in the frontages, unless it is what was saved last (a quiet
        street writes nothing every two seconds)."""
        nonlocal saved
        states = zones.checkpoint()
        if states == saved:
            return
        try:
            save_dwelling(engine, cam_ids, states, start, now)
            saved = states
        except Exception:  # a store hiccup costs this checkpoint, not the cameras
            log.exception("dwell checkpoint not saved")

    wall0 = last_checkpoint = time.monotonic()
    try:
        while not stop.event.is_set() and (duration_s is None or time.monotonic() - wall0 < duration_s):
            tick = time.monotonic()
            now = clock.now()
            if tick - last_checkpoint >= cfg.dwell_checkpoint_s:
                checkpoint(now)
                last_checkpoint = tick
            for feed in feeds.values():
                for fd in feed.due((now - epoch).total_seconds()):
                    when = epoch + dt.timedelta(seconds=fd.t)
                    fd.t = (when - start).total_seconds()
                    record(fd, when, None)
            t_run = (now - start).total_seconds()
            control.now = now
            control.apply_pending()  # operators' confirmations and baseline changes, on this thread
            for rz in sync.take() if sync is not None else ():  # the zone editor's new versions, on this thread
                try:
                    apply_zones(rz.camera_id, rz.version, rz.author, rz.polygons(), t_run)
                except Exception:
                    log.exception("camera %s: zones version %d not applied; tried again next poll",
                                  rz.camera_id, rz.version)  # fmt: skip
                    sync.failed(rz.camera_id, rz.version)
                else:
                    sync.applied(rz.camera_id, rz.version)
            scheduler.step({c.id: readers[c.id].latest() for c in video}, t_run, partial(record_live, t_run, now))
            stop.event.wait(max(0.0, min(period, 0.2) - (time.monotonic() - tick)))
    finally:
        stop.event.set()
        checkpoint(clock.now())  # a clean stop keeps every dwell to the last frame
        for r in readers.values():
            r.stop()
        dispatcher.join(timeout=10)
        if sync is not None:
            sync.stop()
        if api is not None:
            api.stop()
    return len(recorder.case_ids)


def _with_sync_token(cfg: Config, token: str) -> Config:
    """The config the API runs on: with the zone sync's token, when it is one this process made for itself."""
    if cfg.zones.url or any(t.token == token for t in cfg.api.tokens):
        return cfg
    mine = ApiToken(name="zone sync (this camera process)", role=Role.admin, token=token)
    return cfg.model_copy(update={"api": cfg.api.model_copy(update={"tokens": [*cfg.api.tokens, mine]})})


def _zone_sync(cfg: Config, api, token: str, views: PublicViews | None,
               known: dict[str, int]) -> ZoneSync | None:  # fmt: skip
    """The thread that takes the zone editor's versions over HTTP and pushes the cameras' frames; None when
    there is no API to talk to (no zones.url and this process serves none)."""
    if not cfg.cameras or (not cfg.zones.url and api is None):
        if cfg.cameras:
            log.warning("no API serves the zones (api off, no zones.url): the cameras keep their frontages")
        return None
    url = cfg.zones.url or f"http://{'127.0.0.1' if api.host in ('0.0.0.0', '::', '') else api.host}:{api.port}"

    def frame(camera_id: str):  # redacted like the shop page's picture: no passer-by leaves the box unblurred
        return None if views is None else views.latest.get(camera_id)

    z = cfg.zones
    return ZoneSync(url, token, {c.id: (c.width, c.height) for c in cfg.cameras}, poll_s=z.poll_s,
                    snapshot_every_s=z.snapshot_every_s, timeout_s=z.timeout_s, frames=frame,
                    known=known).start()  # fmt: skip


def _regions_to_gate(gate: ChangeGate, cam: Camera, polygons: list) -> None:
    gate.set_region(cam.id, polygons, (cam.width, cam.height))


class WatchControl:
    """The camera watches as the API steers them (api.context.CameraControl). Requests come from the API's
    thread and are carried out on the camera loop's, between two rounds, so a watch is never changed mid-frame."""

    def __init__(self, engine: Engine, watches: dict[str, CameraWatch], clock: Clock):
        self.engine, self.watches, self.clock = engine, watches, clock
        self.now = clock.now()
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str, threading.Event, dict]] = []

    def looker(self, camera_id: str) -> _Looker:
        return _Looker(self, self.watches[camera_id])

    def confirm_view(self, camera_id: str, actor: str) -> dict:
        """Wait (up to 10 s) for the camera loop to take the camera's current view as its reference."""
        watch = self._watch(camera_id)
        if watch.status.state != "moved":
            why = "a tampered view resumes by itself once it is right again" if watch.suspended else \
                "there is nothing to confirm"  # fmt: skip
            raise ValueError(f"camera {camera_id}'s view is {watch.status.state}: {why}")
        done, answer = threading.Event(), {}
        item = ("confirm", camera_id, done, answer)
        with self._lock:
            self._pending.append(item)
        if not done.wait(10):
            with self._lock:
                if item in self._pending:  # not carried out: it never will be
                    self._pending.remove(item)
                    raise ValueError(f"camera {camera_id}: the camera loop did not answer within 10 s; try again")
            done.wait()
        if not answer.get("confirmed"):
            raise ValueError(f"camera {camera_id}: not confirmed: {answer.get('reason', 'the view changed meanwhile')}")
        return answer

    def to_reference(self, camera_id: str, polygon: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """A polygon drawn on the camera's view as it is now, in its reference view (fixtures are stored so)."""
        watch = self.watches.get(camera_id)
        return list(polygon) if watch is None else watch.to_reference(polygon)

    def baseline_changed(self, camera_id: str) -> None:
        self._watch(camera_id)
        with self._lock:
            self._pending.append(("baseline", camera_id, threading.Event(), {}))

    def apply_pending(self) -> None:
        with self._lock:
            todo, self._pending = self._pending, []
        for what, cid, done, answer in todo:
            try:
                if what == "confirm":
                    watch = self.watches[cid]
                    if watch.status.state == "moved":  # still what the operator saw
                        answer.update(watch.confirm(self.clock.now()))
                    else:
                        answer.update(confirmed=False, reason=f"the view is {watch.status.state} now")
                else:
                    self.reload_baseline(cid)
            except Exception:
                log.exception("camera %s: %s failed", cid, what)
            finally:
                done.set()

    def reload_baseline(self, camera_id: str) -> None:
        latest = latest_baseline(self.engine, camera_id)
        if latest is not None:
            version, fixtures = latest
            self.watches[camera_id].set_fixtures([Fixture.model_validate(f) for f in fixtures], version)
            log.info("camera %s: baseline version %d (%d fixtures)", camera_id, version, len(fixtures))

    def _watch(self, camera_id: str) -> CameraWatch:
        if camera_id not in self.watches:
            raise LookupError(f"camera {camera_id} is not watched by this process")
        return self.watches[camera_id]


@dataclass
class _Looker:
    """A watch as the scheduler sees it: the wall time of the round comes from the control."""

    control: WatchControl
    watch: CameraWatch

    def look(self, image, t: float) -> bool:
        return self.watch.look(image, t, self.control.now)

    def augment(self, detections: list, t: float) -> list:
        return self.watch.augment(detections, t)


def dispatch_forever(loop: DispatchLoop, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            loop.step()
        except Exception:  # keep the box alive; the outbox and due times make the next step retry
            log.exception("dispatch step failed")
        stop.wait(0.2)
