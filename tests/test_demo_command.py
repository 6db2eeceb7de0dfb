"""The README's second command, as a user runs it: `frontage demo`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).parent / "frontage")


@pytest.mark.model
def test_demo_runs_the_whole_loop(tmp_path, assets_ready):
    out = subprocess.run([EXE, "demo", "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    states = {(c["shop_id"], c["kind"]): c["state"] for c in report["cases"]}
    # The van leaves before its 40 s deadline; the flower stand is still out at its 20 s deadline.
    assert states == {("shop-a", "illegal_parking"): "resolved", ("shop-b", "out_of_store_trading"): "escalated"}
    assert out.stdout.count("  reminder: reminder") == 2
    assert "dispatch server holds 1 service request(s)" in out.stdout
    assert all(Path(c["snapshot"]).is_file() for c in report["cases"])


def test_demo_says_plainly_what_is_missing(tmp_path):
    env = {**os.environ, "FRONTAGE_SHARED": str(tmp_path / "nowhere"), "FRONTAGE_MEDIA": str(tmp_path / "none")}
    env.pop("FRONTAGE_WEIGHTS", None)
    out = subprocess.run([EXE, "demo", "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env,
                         timeout=120)  # fmt: skip
    assert out.returncode == 2
    assert "frontage demo cannot run on this machine" in out.stderr
    assert "no detector weights: set FRONTAGE_WEIGHTS" in out.stderr
    assert "street stills" in out.stderr or "media" in out.stderr
