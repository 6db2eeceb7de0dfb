"""The `frontage` command: replay, detect, check-config, demo, run, serve, export, dispatch-server, and the
district register's shops, signboards, credit and report."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from frontage.assets import REPO_ROOT, default_weights, missing_assets_message
from frontage.config import ConfigError, cross_check, load_config

log = logging.getLogger("frontage")

EXIT_BAD_INPUT = 2


def _config(path: str, weights: str | None = None):
    """Load the config once; class names are checked against the model's own names when it is an ONNX file."""
    cfg = load_config(path)
    w = weights or default_weights(cfg.detector.weights)
    if w.endswith(".onnx") and Path(w).is_file():
        from detector.onnx_model import onnx_metadata

        names = onnx_metadata(w).names
        problems = cross_check(cfg, names) if names else []
        if problems:
            raise ConfigError(path, problems)
    return cfg, w


def _start(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r} (e.g. 2026-11-28T08:00:00+08:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _positive(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return x


def cmd_replay(a: argparse.Namespace) -> int:
    from frontage.replay import replay

    cfg, weights = _config(a.config, a.weights)
    _needs_cameras(cfg, a.config)
    out_dir = Path(a.report).parent if a.report else Path("out")
    db = a.db or f"sqlite:///{(out_dir / 'frontage.db').resolve()}"
    out_dir.mkdir(parents=True, exist_ok=True)
    report = replay(
        cfg,
        Path(a.input),
        weights=weights,
        db_url=db,
        snapshot_dir=Path(a.snapshots) if a.snapshots else out_dir / "snapshots",
        camera_id=a.camera,
        start=a.start,
    )
    text = report.to_json()
    if a.report:
        Path(a.report).write_text(text + "\n", encoding="utf-8")
    _print_cases(report)
    return 0


def _print_cases(report) -> None:
    print(f"{len(report.cases)} case(s) from {report.input}")
    for c in report.cases:
        cleared = f"{c['cleared_at_s']:.1f}s" if c["cleared_at_s"] is not None else "still open"
        print(
            f"  #{c['id']:<4} {c['kind']:<21} {c['object_class']:<12} shop={c['shop_id']:<10} "
            f"opened {c['opened_at_s']:.1f}s  cleared {cleared:<10} {c['state']:<9} {c['snapshot']}"
        )
    print(
        f"frames read {report.frames_read}, inferred {report.frames_inferred}; "
        f"{report.duration_s:.1f}s of video in {report.wall_s:.1f}s (x{report.realtime_factor}), "
        f"peak RSS {report.peak_rss_mb:.0f} MB"
    )


def cmd_detect(a: argparse.Namespace) -> int:
    from frontage.replay import detect_to_jsonl

    cfg, weights = _config(a.config, a.weights)
    n = detect_to_jsonl(cfg, Path(a.video), Path(a.out), weights=weights, camera_id=a.camera)
    print(f"wrote {n} sampled frames of detections to {a.out}")
    return 0


def cmd_check(a: argparse.Namespace) -> int:
    cfg, _ = _config(a.config, a.weights)
    print(f"{a.config}: ok ({len(cfg.cameras)} cameras, {len(cfg.shops)} shops)")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    """The whole loop on the bundled scenario: detection, cases, reminders (logged), escalation to a local
    Open311 dispatch server on deadlines of seconds; `--serve` then keeps the review page up."""
    missing = missing_assets_message()
    if missing:
        print("frontage demo cannot run on this machine:\n" + missing, file=sys.stderr)
        return EXIT_BAD_INPUT
    from dispatch.open311_server import BackgroundServer, create_app
    from frontage.replay import replay
    from frontage.scenarios.catalog import SCENARIOS
    from frontage.scenarios.render import render

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    _clean_demo(out)
    _show_reminders()
    print(f"rendering the demo street scenario into {out}/ ...")
    result = render(SCENARIOS["demo"], out)
    cfg, weights = _config(str(REPO_ROOT / "configs" / "demo.yaml"))
    db_url = f"sqlite:///{(out / 'frontage.db').resolve()}"
    with BackgroundServer(create_app(str(out / "dispatch.db"))) as city:
        cfg = cfg.model_copy(update={"dispatch": cfg.dispatch.model_copy(update={"open311_url": city.url})})
        print(f"local Open311 dispatch server at {city.url}; replaying through the real detector ...")
        report = replay(
            cfg,
            Path(result.video),
            weights=weights,
            db_url=db_url,
            snapshot_dir=out / "snapshots",
            start=dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC),
            deliver=True,
        )
        requests = city.app.state.store.list(None, None)
    (out / "report.json").write_text(report.to_json() + "\n", encoding="utf-8")
    _print_cases(report)
    print(f"dispatch server holds {len(requests)} service request(s):")
    for req in requests:
        print(f"  request {req['id']}: {req['service_code']} status={req['status']} ({req['address_string']})")
    print(f"report: {out / 'report.json'}; snapshots in {out / 'snapshots'}; database {out / 'frontage.db'}")
    if a.serve:
        return _serve_api(cfg, db_url, out / "snapshots", out / "uploads")
    print("to review the cases in a browser: frontage demo --serve  (operator token: see configs/demo.yaml)")
    return 0


DEMO_STORES = ("frontage.db", "dispatch.db")
DEMO_STATE = (
    *(f"{db}{end}" for db in DEMO_STORES for end in ("", "-wal", "-shm", "-journal")),
    "report.json",
    "snapshots",
    "uploads",
)


def _clean_demo(out: Path) -> None:
    """Each demo starts from a clean database: what an earlier demo left in `out` (its stores, evidence and
    report) goes, so a second run shows the same cases, not copies linked as repeat offences."""
    gone = []
    for name in DEMO_STATE:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        gone.append(name)
    if gone:
        print(f"starting from a clean demo database (removed {', '.join(gone)} from {out}/)")


def _serve_api(cfg, db_url: str, snapshots: Path, uploads: Path) -> int:
    """Serve the operator API and review page in the foreground until interrupted."""
    import uvicorn

    from api.app import create_app
    from dispatch.db import make_engine
    from dispatch.workflow import Workflow
    from frontage.clock import SystemClock
    from register.evidence_keys import evidence_key_source
    from register.shops import register_config_shops, shop_lookup

    engine = make_engine(db_url)
    clock = SystemClock()
    register_config_shops(engine, cfg, clock.now())  # the demo shops' signboard pages work too
    signs = evidence_key_source(engine, cfg, clock)  # the city platform's evidence links
    workflow = Workflow(engine, cfg, clock, shops=shop_lookup(engine), evidence_key=signs)
    app = create_app(cfg, engine, workflow, snapshot_dir=snapshots, upload_dir=uploads)
    print(f"review page: http://{cfg.api.host}:{cfg.api.port}/  (Ctrl-C to stop)")
    uvicorn.run(app, host=cfg.api.host, port=cfg.api.port, log_level="warning")
    return 0


def _show_reminders() -> None:
    """Reminders go to the log channel in the demo: print them."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  reminder: %(message)s"))
    rem = logging.getLogger("frontage.reminders")
    rem.addHandler(handler)
    rem.setLevel(logging.INFO)
    rem.propagate = False


def cmd_dispatch_server(a: argparse.Namespace) -> int:
    from dispatch.open311_server import serve

    print(f"Open311 dispatch server on http://{a.host}:{a.port} (store: {a.db or 'in memory'})")
    serve(a.host, a.port, a.db)
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from detector.export import ExportError, export

    try:
        made = export(a.weights, fmt=a.format, imgsz=a.imgsz, int8=a.int8, out=a.out)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"exported {made.format}{' int8' if made.int8 else ''} at {made.imgsz}: {made.path}")
    print(f"use it: detector.weights: {made.path}  (or FRONTAGE_WEIGHTS={made.path})")
    return 0


def _needs_cameras(cfg, path: str) -> None:
    if not cfg.cameras:
        raise ConfigError(path, [("cameras", "no camera to watch (a config without cameras is for `frontage serve`)")])


def cmd_serve(a: argparse.Namespace) -> int:
    from frontage.district import serve_district

    cfg = load_config(a.config)
    serve_district(cfg, db_url=a.db, snapshot_dir=Path(a.snapshots), port=a.port, duration_s=a.duration)
    return 0


def cmd_run(a: argparse.Namespace) -> int:
    from frontage.clock import ScaledClock
    from frontage.service import run_service

    cfg, weights = _config(a.config, a.weights)
    _needs_cameras(cfg, a.config)
    if cfg.zones.url and not (cfg.zones.token or os.environ.get("FRONTAGE_ZONES_TOKEN")):
        raise ConfigError(a.config, [("zones.token", f"zones.url is {cfg.zones.url}: the cameras need an admin token "
                                      "of that API (zones.token or FRONTAGE_ZONES_TOKEN)")])  # fmt: skip
    clock = epoch = None
    if a.sim_start:
        epoch = a.sim_start
        clock = ScaledClock(epoch, a.sim_anchor if a.sim_anchor is not None else time.time(), a.sim_speed)
    n = run_service(
        cfg,
        weights=weights,
        db_url=a.db,
        snapshot_dir=Path(a.snapshots),
        duration_s=a.duration,
        clock=clock,
        feed_epoch=epoch,
        api_port=-1 if a.no_api else a.api_port,
    )
    print(f"stopped; {n} case(s) opened")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="frontage", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("replay", help="replay a video or a detections JSONL file through the rules")
    r.add_argument("input", help="video file, or .jsonl detections file")
    r.add_argument("--config", required=True, help="YAML config")
    r.add_argument("--weights", help="model weights (overrides config and FRONTAGE_WEIGHTS)")
    r.add_argument("--report", help="write the JSON report here")
    r.add_argument("--db", help="SQLAlchemy URL (default: SQLite beside the report)")
    r.add_argument("--snapshots", help="folder for evidence JPEGs (default: snapshots/ beside the report)")
    r.add_argument("--camera", help="camera id the video stands for (default: from the config)")
    r.add_argument(
        "--start", type=_start, help="wall time of the recording's first frame, ISO 8601 (default: file metadata)"
    )
    r.set_defaults(func=cmd_replay)

    d = sub.add_parser("detect", help="write a video's detections as JSONL for replays without the model")
    d.add_argument("video")
    d.add_argument("--config", required=True)
    d.add_argument("--out", required=True, help="output .jsonl")
    d.add_argument("--weights")
    d.add_argument("--camera")
    d.set_defaults(func=cmd_detect)

    c = sub.add_parser("check-config", help="validate a config file and exit")
    c.add_argument("config")
    c.add_argument("--weights")
    c.set_defaults(func=cmd_check)

    m = sub.add_parser("demo", help="render the demo street scenario and replay it into SQLite")
    m.add_argument("--out", default="frontage-demo", help="output folder (default: ./frontage-demo)")
    m.add_argument("--serve", action="store_true", help="then keep the API and review page running")
    m.set_defaults(func=cmd_demo)
    u = sub.add_parser("run", help="watch the configured cameras live and record cases")
    u.add_argument("--config", required=True)
    u.add_argument("--weights")
    u.add_argument("--db", default="sqlite:///frontage.db", help="SQLAlchemy URL (default: ./frontage.db)")
    u.add_argument("--snapshots", default="snapshots", help="folder for evidence JPEGs")
    u.add_argument("--duration", type=_positive, help="stop after this many seconds (default: run until killed)")
    u.add_argument("--api-port", type=int, help="port for the API and review page (default: config; 0: any free)")
    u.add_argument("--no-api", action="store_true", help="do not serve the API")
    sim = u.add_argument_group("simulated time (drills and tests: street time faster than wall time)")
    sim.add_argument(
        "--sim-start", type=_start, help="ISO time the clock reads at --sim-anchor; .jsonl feeds start here"
    )
    sim.add_argument("--sim-anchor", type=float, help="wall time (Unix seconds) of --sim-start (default: now)")
    sim.add_argument("--sim-speed", type=_positive, default=1.0, help="street seconds per wall second")
    u.set_defaults(func=cmd_run)
    v = sub.add_parser(
        "serve",
        help="serve the district API without cameras: register, signboard pages, citizen reports, inspections, credit",
    )
    v.add_argument("--db", required=True, help="SQLAlchemy URL of the district store (PostgreSQL or SQLite)")
    v.add_argument("--config", default=str(REPO_ROOT / "configs" / "district.yaml"),
                   help="YAML config: district settings and API tokens (default: configs/district.yaml)")  # fmt: skip
    v.add_argument("--port", type=int, help="port (default: the config's api.port; 0: any free port)")
    v.add_argument("--snapshots", default="snapshots", help="folder for report and inspection photos")
    v.add_argument("--duration", type=_positive, help="stop after this many seconds (default: run until killed)")
    v.set_defaults(func=cmd_serve)
    x = sub.add_parser("export", help="export .pt weights to ONNX (optionally int8) or OpenVINO for the edge box")
    x.add_argument("weights", help="a YOLO detection checkpoint (.pt)")
    x.add_argument("--format", choices=["onnx", "openvino"], default="onnx")
    x.add_argument("--imgsz", type=int, default=640, help="longer side of the model input (multiple of 32)")
    x.add_argument("--int8", action="store_true", help="quantize the ONNX weights to int8 (ONNX Runtime, dynamic)")
    x.add_argument("--out", help="move the result here (default: beside the checkpoint)")
    x.set_defaults(func=cmd_export)
    ds = sub.add_parser("dispatch-server", help="run the local Open311 dispatch server (the embedded default)")
    ds.add_argument("--host", default="127.0.0.1")
    ds.add_argument("--port", type=int, default=8311)
    ds.add_argument("--db", help="SQLite file for its requests (default: in memory)")
    ds.set_defaults(func=cmd_dispatch_server)
    from frontage import cmd_credit, cmd_shops, cmd_signboards

    for module in (cmd_shops, cmd_signboards, cmd_credit):
        module.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from detector.sources import SourceError

    try:
        return args.func(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
