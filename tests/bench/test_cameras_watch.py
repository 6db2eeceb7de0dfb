"""bench/cameras' `--watch`: the service's config with static objects and the view guard off or on, compared."""

import argparse

import pytest

from bench.cameras import Truth, config, runs, watch_modes, watch_summary
from frontage.config import load_config
from frontage.scenarios.catalog import SCENARIOS

CAMS = [("rtsp://127.0.0.1:8554/c00", ("shop-a",)), ("rtsp://127.0.0.1:8554/c01", ("shop-a", "shop-b", "shop-c"))]


def test_on_is_the_default_and_runs_static_objects_and_the_view_guard_with_the_trading_classes_unchanged(tmp_path):
    cfg = load_config(config(tmp_path, CAMS, tag="default"))
    assert cfg.static_objects is not None and cfg.static_objects.enabled and cfg.detector.view.enabled
    on = load_config(config(tmp_path, CAMS, tag="on", watch="on"))
    assert on.model_dump() == cfg.model_dump()
    scenario = SCENARIOS["camera_loop"].config["rules"]["out_of_store_trading"]["classes"]
    assert on.rules.out_of_store_trading.classes == scenario


def test_off_runs_neither_and_changes_nothing_else(tmp_path):
    off = load_config(config(tmp_path, CAMS, tag="off", watch="off"))
    on = load_config(config(tmp_path, CAMS, tag="on", watch="on"))
    assert off.static_objects is None and not off.detector.view.enabled
    a, b = off.model_dump(), on.model_dump()
    for d in (a, b):
        del d["detector"]["view"]["enabled"], d["rules"]["out_of_store_trading"]["static_objects"]["enabled"]
    assert a == b
    with pytest.raises(ValueError):
        config(tmp_path, CAMS, watch="half")


def test_the_flag_takes_off_and_on_once_each_and_repeats_alternate_which_runs_first():
    assert watch_modes("off,on") == ["off", "on"] and watch_modes("on") == ["on"]
    for bad in ("", "on,on", "off,maybe"):
        with pytest.raises(argparse.ArgumentTypeError):
            watch_modes(bad)
    assert runs(["off", "on"], 2) == [(0, "off"), (0, "on"), (1, "on"), (1, "off")]


def test_the_summary_compares_medians_over_the_repeats(capsys):
    def row(n: int, cpu: float, watch: str) -> dict:
        return {"n": n, "watch": watch, "cpu_per_cam_s": cpu, "kept_up": True, "min_rate": 1.0, "max_lag_s": 0.5,
                "inferences_per_s": 1.0, "thread_cores": {"main": 0.1}, "truth": Truth()}  # fmt: skip

    rows = {"off": {0: [row(32, c, "off") for c in (0.10, 0.12, 0.30)]},
            "on": {0: [row(32, c, "on") for c in (0.11, 0.13, 0.13)]}}  # fmt: skip
    (got,) = watch_summary(rows)
    assert got["off"]["cpu"] == pytest.approx(0.12) and got["ratio"] == pytest.approx(0.13 / 0.12)
    assert got["off"]["false"] == got["on"]["false"] == 0
    assert "within the 15% limit" in capsys.readouterr().out
