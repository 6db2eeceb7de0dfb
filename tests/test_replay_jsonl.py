"""Detection-file replays through the whole pipeline: exact timing of dropouts, entry jitter, boundaries and
active hours, the report contract, determinism, and bad input."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dispatch.db import make_engine
from frontage.cli import main
from frontage.clock import ManualClock
from frontage.config import load_config
from register import frontages as zone_store

CONFIG = {
    "timezone": "Asia/Shanghai",
    "cameras": [{"id": "cam1", "width": 1280, "height": 720}],
    "shops": [
        {
            "id": "shop-a",
            "name": "Noodle House",
            "responsible": {"name": "Li Wei"},
            "frontages": [{"camera_id": "cam1", "polygon": [[100, 400], [600, 400], [600, 700], [100, 700]]}],
        },
        {
            "id": "shop-b",
            "name": "Tea Shop",
            "responsible": {"name": "Wang Fang"},
            "frontages": [{"camera_id": "cam1", "polygon": [[600, 400], [1100, 400], [1100, 700], [600, 700]]}],
        },
    ],
    "rules": {
        "illegal_parking": {"classes": ["car", "truck"], "dwell_s": 20, "entry_debounce_s": 1, "exit_grace_s": 5},
        "out_of_store_trading": {
            "classes": ["chair", "umbrella"],
            "dwell_s": 30,
            "entry_debounce_s": 1,
            "exit_grace_s": 5,
            "presence": {"mode": "overlap", "min_overlap": 0.5},
        },
    },
}
CAR_A = [200, 450, 400, 600]  # ground point (300, 600) in shop-a
CHAIR_B = [700, 500, 800, 650]


def write_case(tmp_path: Path, frames, config=CONFIG) -> tuple[Path, Path]:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(config))
    dets = tmp_path / "dets.jsonl"
    lines = [
        json.dumps({"t": t, "camera_id": "cam1", "detections": [{"cls": c, "conf": 0.8, "xyxy": b} for c, b in objs]})
        for t, objs in frames
    ]
    dets.write_text("\n".join(lines) + "\n")
    return cfg, dets


def every(until: float, objs_at, step: float = 0.5):
    return [(round(i * step, 3), objs_at(round(i * step, 3))) for i in range(int(until / step) + 1)]


def replay(tmp_path, frames, *extra, config=CONFIG) -> dict:
    cfg, dets = write_case(tmp_path, frames, config)
    report = tmp_path / "report.json"
    rc = main(["replay", str(dets), "--config", str(cfg), "--report", str(report), *extra])
    assert rc == 0
    return json.loads(report.read_text())


def brief(report):
    return [(c["shop_id"], c["kind"], c["object_class"], c["opened_at_s"], c["cleared_at_s"]) for c in report["cases"]]


def test_report_contract_and_snapshot(tmp_path):
    r = replay(tmp_path, every(60, lambda t: [("car", CAR_A)] if 5 <= t < 40 else []))
    assert brief(r) == [("shop-a", "illegal_parking", "car", 25.0, 39.5)]
    case = r["cases"][0]
    assert Path(case["snapshot"]).is_file() and Path(case["snapshot"]).read_bytes()[:2] == b"\xff\xd8"
    assert r["frames_read"] == 121 and r["frames_inferred"] == 0
    assert r["duration_s"] == 60 and r["wall_s"] > 0 and r["realtime_factor"] > 1
    assert r["camera_ids"] == ["cam1"] and r["peak_rss_mb"] > 0


def test_dropouts_shorter_than_grace_do_not_split(tmp_path):
    gaps = [(12, 15), (28, 32.5)]
    present = lambda t: 5 <= t < 50 and not any(a <= t < b for a, b in gaps)  # noqa: E731
    r = replay(tmp_path, every(60, lambda t: [("car", CAR_A)] if present(t) else []))
    assert brief(r) == [("shop-a", "illegal_parking", "car", 25.0, 49.5)]


def test_dropout_longer_than_grace_splits(tmp_path):
    present = lambda t: 5 <= t < 30 or 36 <= t < 70  # noqa: E731
    r = replay(tmp_path, every(80, lambda t: [("car", CAR_A)] if present(t) else []))
    assert brief(r) == [
        ("shop-a", "illegal_parking", "car", 25.0, 29.5),
        ("shop-a", "illegal_parking", "car", 56.0, 69.5),
    ]


def test_entry_jitter_counts_from_the_stable_arrival(tmp_path):
    flicker = {5.0, 6.0, 7.0}  # seen at 5, 6, 7 only, then steadily from 8
    r = replay(tmp_path, every(60, lambda t: [("car", CAR_A)] if t in flicker or t >= 8 else []))
    assert brief(r) == [("shop-a", "illegal_parking", "car", 28.0, None)]


def test_object_on_the_boundary_goes_to_the_shop_holding_most(tmp_path):
    straddle = [520, 450, 760, 600]  # ground point (640, 600) in shop-b; 2/3 of the box in shop-b
    r = replay(tmp_path, every(40, lambda t: [("truck", straddle)]))
    assert brief(r) == [("shop-b", "illegal_parking", "truck", 20.0, None)]


def test_goods_need_half_their_box_inside(tmp_path):
    half_out = [1050, 500, 1160, 650]  # 45% inside shop-b
    r = replay(tmp_path, every(60, lambda t: [("chair", CHAIR_B), ("umbrella", half_out)] if t < 50 else []))
    assert brief(r) == [("shop-b", "out_of_store_trading", "chair", 30.0, 49.5)]


def test_active_hours_in_the_configured_timezone(tmp_path):
    cfg = yaml.safe_load(yaml.safe_dump(CONFIG))
    cfg["rules"]["illegal_parking"]["active_hours"] = [{"start": "07:00", "end": "21:00"}]
    frames = every(120, lambda t: [("car", CAR_A)])
    # 06:59:00 Beijing time = 22:59:00 UTC the day before; the window opens at t=60.
    r = replay(tmp_path, frames, "--start", "2026-11-27T22:59:00+00:00", config=cfg)
    assert brief(r) == [("shop-a", "illegal_parking", "car", 80.0, None)]
    assert r["cases"][0]["opened_at"] == "2026-11-27T23:00:20+00:00"
    night = tmp_path / "night"
    night.mkdir()
    r = replay(night, frames, "--start", "2026-11-28T14:00:00+00:00", config=cfg)  # 22:00 in Beijing
    assert r["cases"] == []


def test_same_recording_twice_into_one_database_opens_no_second_case(tmp_path):
    """A recording replayed again finds its cases: no copy, no "repeat offence" link, no ledger entry twice."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from dispatch.db import CaseEventRow, CaseRow, make_engine

    frames = every(90, lambda t: [("car", CAR_A)] * (10 <= t < 70) + [("chair", CHAIR_B)] * (t >= 20))
    cfg, dets = write_case(tmp_path, frames)
    db = f"sqlite:///{tmp_path / 'shared.db'}"  # both runs into one database
    reports, ledgers = [], []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        assert main(["replay", str(dets), "--config", str(cfg), "--report", str(out), "--db", db]) == 0
        reports.append(json.loads(out.read_text()))
        with Session(engine := make_engine(db)) as s:
            ledgers.append(s.execute(select(CaseEventRow.case_id, CaseEventRow.reason).order_by(CaseEventRow.id)).all())
            cases = s.scalars(select(CaseRow)).all()
            assert s.scalar(select(func.count()).select_from(CaseRow)) == 2
            assert all(c.linked_case_id is None for c in cases)
        engine.dispose()
    assert brief(reports[0]) == brief(reports[1]) != []
    assert [c["id"] for c in reports[0]["cases"]] == [c["id"] for c in reports[1]["cases"]]
    assert ledgers[1] == ledgers[0]

    copy = tmp_path / "copy" / "dets.jsonl"  # the same recording under another name and mtime: still the same
    copy.parent.mkdir()
    copy.write_bytes(dets.read_bytes())
    out = tmp_path / "r2.json"
    assert main(["replay", str(copy), "--config", str(cfg), "--report", str(out), "--db", db,
                 "--start", reports[0]["started_at"]]) == 0  # fmt: skip
    assert [c["id"] for c in json.loads(out.read_text())["cases"]] == [c["id"] for c in reports[0]["cases"]]


def test_unknown_camera_in_detections_is_a_clear_error(tmp_path, capsys):
    cfg, dets = write_case(tmp_path, [(0, [])])
    dets.write_text('{"t": 0, "camera_id": "cam7", "detections": []}\n')
    assert main(["replay", str(dets), "--config", str(cfg), "--report", str(tmp_path / "r.json")]) == 2
    assert "camera 'cam7' is not in the config" in capsys.readouterr().err


def test_bad_config_exits_2_with_path_and_reason(tmp_path, capsys):
    bad = yaml.safe_load(yaml.safe_dump(CONFIG))
    bad["rules"]["illegal_parking"]["dwell_s"] = -1
    cfg, dets = write_case(tmp_path, [(0, [])], config=bad)
    assert main(["replay", str(dets), "--config", str(cfg), "--report", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}: rules.illegal_parking.dwell_s: Input should be greater than or equal to 0" in err


def test_console_script_runs(tmp_path):
    cfg, dets = write_case(tmp_path, every(30, lambda t: [("car", CAR_A)]))
    exe = Path(sys.executable).parent / "frontage"
    out = subprocess.run(
        [str(exe), "replay", str(dets), "--config", str(cfg), "--report", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "1 case(s)" in out.stdout and "shop=shop-a" in out.stdout


@pytest.mark.parametrize("rule", ["illegal_parking", "out_of_store_trading"])
def test_disabled_rule_opens_nothing(tmp_path, rule):
    cfg = yaml.safe_load(yaml.safe_dump(CONFIG))
    cfg["rules"][rule]["enabled"] = False
    r = replay(tmp_path, every(60, lambda t: [("car", CAR_A), ("chair", CHAIR_B)]), config=cfg)
    assert {c["kind"] for c in r["cases"]} == {"illegal_parking", "out_of_store_trading"} - {rule}


def test_a_replay_into_a_store_runs_its_latest_zone_version(tmp_path, capsys):
    """The zone editor moved shop-a's frontage off the car: a replay into that store runs version 2 (no case),
    a replay into a fresh store the config's (version 1, put there); zones of another frame size: a clear error."""
    frames = every(40, lambda t: [("car", CAR_A)])
    fresh = replay(tmp_path, frames)
    assert brief(fresh) == [("shop-a", "illegal_parking", "car", 20.0, None)] and fresh["zones_versions"] == {"cam1": 1}
    edited = tmp_path / "edited"
    edited.mkdir()
    db = f"sqlite:///{edited / 'store.db'}"
    cfg_path, _ = write_case(edited, frames)
    cfg = load_config(cfg_path)
    engine = make_engine(db)
    at = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).now()
    zone_store.ensure(engine, cfg, "cam1", at)
    off_the_car = {"shop_id": "shop-a", "polygon": [[100, 620], [600, 620], [600, 700], [100, 700]]}
    assert zone_store.save(engine, cfg.camera("cam1"), [off_the_car], "ada", "narrower", at, based_on=1) == 2
    r = replay(edited, frames, "--db", db)
    assert r["cases"] == [] and r["zones_versions"] == {"cam1": 2}
    small = yaml.safe_load(yaml.safe_dump(CONFIG))
    small["cameras"][0].update(width=640, height=360)
    for shop, x in zip(small["shops"], (50, 300), strict=True):
        shop["frontages"][0]["polygon"] = [[x, 200], [x + 250, 200], [x + 250, 350], [x, 350]]
    cfg_small, dets = write_case(edited, frames, small)
    out = edited / "r.json"
    assert main(["replay", str(dets), "--config", str(cfg_small), "--report", str(out), "--db", db]) == 2
    assert "the store's zones version 2 does not fit this config's camera" in capsys.readouterr().err
    engine.dispose()
