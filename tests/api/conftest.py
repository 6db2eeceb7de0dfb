"""A seeded world for the API tests: real cases made by CaseRecorder and Workflow on a ManualClock, real JPEG
evidence (from the shared street stills when present), tokens for every role, and a live uvicorn server.

Seeding runs once per session into a template database; each test gets its own copy, so tests that act on
cases never see each other's moves and the big role matrix stays fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from api.context import CameraControl
from dispatch.cases import CaseRecorder
from dispatch.db import CaseEventRow, CaseRow, make_engine
from dispatch.workflow import Action, Actor, Workflow
from frontage.assets import shared_dir
from frontage.clock import ManualClock
from frontage.config import Config, Duty, RuleKind, parse_config
from register.inspections import record_inspection
from register.lists import recompute
from register.reports import RateLimiter, submit_report
from register.shops import ShopRecord, register_config_shops, shop_lookup, upsert
from zones.dwell import EventType, ViolationEvent


def pytest_configure(config: pytest.Config) -> None:
    # starlette's TestClient nags about its httpx dependency on import; the tests mean httpx, nothing to act on
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
SEEDED_AT = T0 + dt.timedelta(seconds=300)  # the clock after seeding: before the trading reminders fall due
W, H = 640, 360

TOKENS = {
    "admin": "admin-token-0123456789abcdef",
    "operator": "operator-token-0123456789abcdef",
    "merchant-own": "merchant-a-token-0123456789abcdef",
    "merchant-other": "merchant-b-token-0123456789abcdef",
    "inspector": "inspector-token-0123456789abcdef",
}
POLYGONS = {
    ("shop-a", "cam1"): [(20, 200), (300, 200), (300, 350), (20, 350)],
    ("shop-b", "cam2"): [(340, 200), (620, 200), (620, 350), (340, 350)],
}


def _frontage(shop_id: str, cam: str) -> dict:
    return {"camera_id": cam, "polygon": [list(p) for p in POLYGONS[(shop_id, cam)]]}


# cam1's baseline version 0 (the config's): a permitted planter in shop-a's frontage
PLANTER = {
    "shop_id": "shop-a",
    "polygon": [[230, 210], [290, 210], [290, 260], [230, 260]],
    "note": "planter by the door",
}

CONFIG = {
    "cameras": [
        {
            "id": "cam1",
            "width": W,
            "height": H,
            "name": "Main St east",
            "source": "rtsp://user:secret@10.0.0.5/1",
            "fixtures": [PLANTER],
        },
        {"id": "cam2", "width": W, "height": H, "name": "Main St west"},
    ],
    "shops": [
        {
            "id": "shop-a",
            "name": "Noodle House",
            "address": "1 Main St",
            "lat": 51.96,
            "lon": 7.63,
            "responsible": {"name": "Li Wei"},
            "frontages": [_frontage("shop-a", "cam1")],
        },
        {
            "id": "shop-b",
            "name": "Tea Shop",
            "address": "3 Main St",
            "responsible": {"name": "Wang Fang"},
            "frontages": [_frontage("shop-b", "cam2")],
        },
    ],  # fmt: skip
    "rules": {
        "illegal_parking": {
            "classes": ["car"],
            "dwell_s": 30,
            "repeat_window_s": 0,
            "deadline": {"remind_after_s": 0, "fix_within_s": 600},
        },
        "out_of_store_trading": {
            "classes": ["chair"],
            "dwell_s": 30,
            "repeat_window_s": 0,
            "deadline": {"remind_after_s": 600, "fix_within_s": 600},
        },
    },  # fmt: skip
    "dispatch": {"reminder_channels": ["log"], "public_url": "http://frontage.test"},
    "api": {
        "max_upload_bytes": 200_000,
        "tokens": [
            {"name": "ada", "role": "admin", "token": TOKENS["admin"]},
            # the operator's token is configured as a digest, the way production configs should hold it
            {
                "name": "otto",
                "role": "operator",
                "token_sha256": hashlib.sha256(TOKENS["operator"].encode()).hexdigest(),
            },
            {"name": "li", "role": "merchant", "shop_id": "shop-a", "token": TOKENS["merchant-own"]},
            {"name": "wang", "role": "merchant", "shop_id": "shop-b", "token": TOKENS["merchant-other"]},
            {"name": "zhou", "role": "inspector", "token": TOKENS["inspector"]},
        ],
    },
}
CFG: Config = parse_config(CONFIG)

# name: (shop, camera, rule, object class, opened at seconds after T0); the final state is set by `_seed`.
SEED = {
    "a_reminded": ("shop-a", "cam1", RuleKind.illegal_parking, "car", 0),
    "b_reminded": ("shop-b", "cam2", RuleKind.illegal_parking, "car", 40),
    "a_detected": ("shop-a", "cam1", RuleKind.out_of_store_trading, "chair", 80),
    "b_detected": ("shop-b", "cam2", RuleKind.out_of_store_trading, "chair", 120),
    "a_resolved": ("shop-a", "cam1", RuleKind.illegal_parking, "car", 160),
    "b_escalated": ("shop-b", "cam2", RuleKind.illegal_parking, "car", 200),
    "a_dismissed": ("shop-a", "cam1", RuleKind.out_of_store_trading, "chair", 240),
}


def headers(who: str | None) -> dict[str, str]:
    """Request headers for a role name of TOKENS, 'bad' (a wrong token) or None (no header at all)."""
    if who is None:
        return {}
    token = "not-a-token-but-long-enough" if who == "bad" else TOKENS[who]
    return {"Authorization": f"Bearer {token}"}


def stills() -> list[np.ndarray]:
    """Real street frames when the shared stills are here, else synthetic ones: the evidence is a real JPEG."""
    root = shared_dir()
    files = sorted((root / "media" / "muenster-webcam").glob("*.jpg")) if root else []
    frames = [cv2.resize(img, (W, H)) for f in files if (img := cv2.imread(str(f))) is not None]
    if frames:
        return frames
    rng = np.random.default_rng(7)
    out = []
    for i in range(3):
        img = np.full((H, W, 3), (90 + 40 * i, 110, 130), np.uint8)
        cv2.rectangle(img, (0, 180), (W, H), (70, 70, 70), -1)
        img += rng.integers(0, 20, img.shape, dtype=np.uint8)
        out.append(img)
    return out


def jpeg_bytes(size: tuple[int, int] = (160, 90)) -> bytes:
    img = cv2.resize(stills()[0], size)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


# A shop only the district register knows (imported from the ledger, no camera): citizens and inspectors
# reach it through its signboard.
REGISTER_ONLY = ShopRecord(
    id="shop-r", name="Corner Store", address="9 Side St", street="Side St", community="North",
    party_id="party-r", party_name="Zhao Lei Trading", contact_person="Zhao Lei", contact_phone="13800000009",
)  # fmt: skip


def _seed_register(engine: Engine, wf: Workflow, clock: ManualClock, snaps: Path, ids: dict[str, int]) -> None:
    """The register's side of the world: shops, a citizen's report (reported) about shop-b, an inspector's fail
    at shop-r (its case detected), and credit computed once."""
    register_config_shops(engine, CFG, T0)
    with Session(engine) as s, s.begin():
        upsert(s, [REGISTER_ONLY], "seed", T0)
    receipt = submit_report(
        engine, wf, CFG, shop_id="shop-b", category="litter", description="bags of rubbish by the door",
        contact="13900000000", photo=jpeg_bytes((320, 180)), client="203.0.113.9", snapshot_dir=snaps,
        now=clock.now(), limiter=RateLimiter(CFG.district.reports),
    )  # fmt: skip
    ids["b_report"] = receipt.case_id
    ids["tracking"] = receipt.tracking_code  # type: ignore[assignment]
    result = record_inspection(
        engine, wf, CFG, shop_id="shop-r", inspector="zhou", results={Duty.sanitation: False, Duty.order: True},
        note="rubbish not cleared", photo=jpeg_bytes((320, 180)), snapshot_dir=snaps, now=clock.now(),
    )  # fmt: skip
    ids["r_inspection"] = result.case_id
    recompute(engine, CFG, clock.now())


def _seed(engine: Engine, snaps: Path, district: bool = False) -> dict[str, int]:
    clock = ManualClock(T0)
    wf = Workflow(engine, CFG, clock, shops=shop_lookup(engine))
    rec = CaseRecorder(engine, snaps, POLYGONS, workflow=wf)
    frames = stills()
    ids: dict[str, int] = {}
    for i, (name, (shop, cam, kind, cls, t)) in enumerate(SEED.items()):
        clock.set(T0 + dt.timedelta(seconds=t))
        x = 60 if shop == "shop-a" else 380
        box = (x, 220.0, x + 120, 330.0)
        ev = ViolationEvent(EventType.opened, f"seed/{name}", cam, shop, kind, cls, t - 30, t, box, 30.0, opened_t=t)
        ids[name] = rec.handle(ev, T0, frames[i % len(frames)])
        wf.tick()
        if name == "a_resolved":
            clock.advance(20)
            gone = ViolationEvent(EventType.cleared, f"seed/{name}", cam, shop, kind, cls, t - 30, t + 20, box, 40.0,
                                  opened_t=t, cleared_t=t + 12)  # fmt: skip
            rec.handle(gone, T0, None)
    clock.set(SEEDED_AT)
    wf.tick()
    wf.act(ids["b_escalated"], Action.escalate, Actor.operator, "blocking the fire lane", by="seed")
    wf.act(ids["a_dismissed"], Action.dismiss, Actor.operator, "a chair being delivered, not trading", by="seed")
    if district:
        _seed_register(engine, wf, clock, snaps, ids)
    return ids


@dataclass
class World:
    """One test's store, clock, workflow and folders, seeded with the cases in SEED."""

    root: Path
    engine: Engine
    clock: ManualClock
    workflow: Workflow
    snapshot_dir: Path
    upload_dir: Path
    ids: dict[str, int]
    cfg: Config = CFG

    def app(
        self, camera_status: Callable[[], list[dict]] | None = None, camera_control: CameraControl | None = None
    ) -> FastAPI:
        return create_app(self.cfg, self.engine, self.workflow, snapshot_dir=self.snapshot_dir,
                          upload_dir=self.upload_dir, camera_status=camera_status,
                          camera_control=camera_control)  # fmt: skip

    def case(self, case_id: int) -> CaseRow:
        with Session(self.engine) as s:
            row = s.get(CaseRow, case_id)
            s.expunge(row)
            return row

    def ledger(self, case_id: int) -> list[CaseEventRow]:
        with Session(self.engine) as s:
            rows = s.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id))
            out = list(rows)
            s.expunge_all()
            return out


class FakeCameras:
    """Stands in for the camera process (not under test here): the status rows the API reads, and the calls the
    API makes on it. `confirm_view` answers like the real one and sets the camera's view back to ok."""

    def __init__(self, status: list[dict]):
        self.status = status
        self.confirmed: list[tuple[str, str]] = []
        self.reloaded: list[str] = []

    def camera_status(self) -> list[dict]:
        return [dict(entry) for entry in self.status]

    def confirm_view(self, camera_id: str, actor: str) -> dict:
        entry = next((e for e in self.status if e["id"] == camera_id), None)
        if entry is None:
            raise LookupError(f"camera {camera_id} does not run in this process")
        if entry.get("view_state") not in ("moved", "tampered"):
            raise ValueError(f"the view is {entry.get('view_state')}, nothing to confirm")
        self.confirmed.append((camera_id, actor))
        before = entry["view_state"]
        entry.update(view_state="ok", view_reason="confirmed by " + actor, view_since=None, view_shift_px=0.0)
        return {"view_state": "ok", "was": before, "reference": "current frame"}

    def baseline_changed(self, camera_id: str) -> None:
        self.reloaded.append(camera_id)


MOVED_AT = "2026-03-02T08:03:00+00:00"


def moved_status() -> list[dict]:
    """cam1 moved (rules suspended), cam2 fine: what the camera process reports after someone bumped cam1."""
    return [
        {"id": "cam1", "state": "online", "view_state": "moved", "view_reason": "view turned ~40 px to the left",
         "view_since": MOVED_AT, "view_shift_px": 41.5, "baseline_version": 0, "frames_in": 10},
        {"id": "cam2", "state": "online", "view_state": "ok", "view_reason": "", "view_since": None,
         "view_shift_px": 0.8, "baseline_version": 0, "frames_in": 12},
    ]  # fmt: skip


@pytest.fixture
def cameras() -> FakeCameras:
    """A fake camera process in which cam1 has moved."""
    return FakeCameras(moved_status())


@dataclass(frozen=True)
class Template:
    db: Path
    snapshot_dir: Path
    ids: dict[str, int]


def _template(tmp_path_factory, district: bool) -> Template:
    root = tmp_path_factory.mktemp("api-district" if district else "api-template")
    engine = make_engine(f"sqlite:///{root / 'cases.db'}")
    ids = _seed(engine, root / "snapshots", district)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return Template(root / "cases.db", root / "snapshots", ids)


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Template:
    """The cameras' world: the cases in SEED."""
    return _template(tmp_path_factory, district=False)


@pytest.fixture(scope="session")
def district_template(tmp_path_factory) -> Template:
    """The same, with the district register around it: shops on the register (one only there), a citizen's
    report, an inspector's fail and computed credit."""
    return _template(tmp_path_factory, district=True)


def make_world(template: Template, root: Path) -> World:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template.db, root / "cases.db")
    engine = make_engine(f"sqlite:///{root / 'cases.db'}")
    clock = ManualClock(SEEDED_AT)
    wf = Workflow(engine, CFG, clock, shops=shop_lookup(engine))
    return World(root, engine, clock, wf, template.snapshot_dir, root / "uploads", dict(template.ids))


@pytest.fixture
def world(template, tmp_path) -> Iterator[World]:
    w = make_world(template, tmp_path / "world")
    yield w
    w.engine.dispose()


@pytest.fixture
def district_world(district_template, tmp_path) -> Iterator[World]:
    w = make_world(district_template, tmp_path / "world")
    yield w
    w.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a thread: real sockets, real HTTP parsing."""

    def __init__(self, app: FastAPI):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        end = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > end:
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], LiveServer]]:
    """`serve(app)`: the app on a live server for this test."""
    servers: list[LiveServer] = []

    def start(app: FastAPI) -> LiveServer:
        servers.append(LiveServer(app).__enter__())
        return servers[-1]

    yield start
    for server in servers:
        server.__exit__()


@pytest.fixture(scope="module")
def live_world(template, tmp_path_factory) -> Iterator[World]:
    w = make_world(template, tmp_path_factory.mktemp("live"))
    yield w
    w.engine.dispose()


@pytest.fixture(scope="module")
def live(live_world) -> Iterator[LiveServer]:
    with LiveServer(live_world.app()) as server:
        yield server


@pytest.fixture
def auth() -> Callable[[str | None], dict[str, str]]:
    """`auth(who)`: headers for a role name of TOKENS, 'bad' or None."""
    return headers


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    """A small real JPEG photo."""
    return jpeg_bytes()


@pytest.fixture
def require_service() -> Callable[[str], None]:
    return _require_service


def _require_service(reason: str) -> None:
    """Skip, or fail under FRONTAGE_REQUIRE_SERVICES=1 (CI), when a tool the test drives is missing."""
    if os.environ.get("FRONTAGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)
