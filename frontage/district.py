"""`frontage serve`: the district's API without cameras: the register, signboard pages, citizen reports,
inspections, credit and lists, with the dispatch loop that reminds and escalates their cases.

One such process can serve a whole district on PostgreSQL while edge boxes run `frontage run` beside their
cameras. Nothing here is on a camera's per-frame path; credit scores are recomputed on a timer.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from api.app import create_app
from dispatch.db import make_engine
from dispatch.loop import DispatchLoop
from dispatch.open311_server import BackgroundServer
from dispatch.workflow import Workflow
from frontage.clock import Clock, SystemClock
from frontage.config import Config
from frontage.service import Stopper, dispatch_forever
from register.evidence_keys import evidence_key_source
from register.lists import recompute
from register.shops import register_config_shops, shop_lookup

log = logging.getLogger(__name__)


def serve_district(
    cfg: Config,
    *,
    db_url: str,
    snapshot_dir: Path,
    port: int | None = None,
    duration_s: float | None = None,
    clock: Clock | None = None,
    ready: threading.Event | None = None,
) -> str:
    """Serve until stopped (or for `duration_s`); returns the URL it served on. `port` 0 picks a free one."""
    clock = clock or SystemClock()
    engine = make_engine(db_url)
    register_config_shops(engine, cfg, clock.now())
    signs = evidence_key_source(engine, cfg, clock)  # the city platform's evidence links
    workflow = Workflow(engine, cfg, clock, shops=shop_lookup(engine), evidence_key=signs)
    app = create_app(cfg, engine, workflow, snapshot_dir=snapshot_dir, upload_dir=snapshot_dir.parent / "uploads")
    api = BackgroundServer(app, cfg.api.host, cfg.api.port if port is None else port).start()
    print(f"frontage serve: district API, shop pages and review page on {api.url}/ (store: {engine.url.drivername})",
          flush=True)  # fmt: skip
    stop = Stopper(threading.Event())
    stop.install()
    loop = DispatchLoop(engine, cfg, clock, workflow, snapshot_dir=snapshot_dir)
    dispatcher = threading.Thread(target=dispatch_forever, args=(loop, stop.event), name="dispatch", daemon=True)
    dispatcher.start()
    if ready is not None:
        ready.set()
    wall0, next_credit = time.monotonic(), 0.0
    try:
        while not stop.event.is_set() and (duration_s is None or time.monotonic() - wall0 < duration_s):
            if time.monotonic() >= next_credit:
                try:
                    summary = recompute(engine, cfg, clock.now())
                    log.info("credit recomputed: %s", summary)
                except Exception:  # a store hiccup delays the lists, it does not stop the API
                    log.exception("credit recompute failed; retrying on the next period")
                next_credit = time.monotonic() + cfg.district.credit.recompute_every_s
            stop.event.wait(1.0)
    finally:
        stop.event.set()
        dispatcher.join(timeout=10)
        api.stop()
        engine.dispose()
    return api.url
