"""The README's second command, as a user runs it: `frontage demo`."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.db import CaseRow, make_engine

EXE = str(Path(sys.executable).parent / "frontage")


@pytest.mark.model
def test_demo_runs_the_whole_loop(tmp_path, assets_ready):
    _leave_an_earlier_demo(tmp_path)
    out = subprocess.run([EXE, "demo", "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "starting from a clean demo database" in out.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    engine = make_engine(f"sqlite:///{tmp_path / 'frontage.db'}")
    with Session(engine) as s:  # the earlier run's case is gone, so nothing is linked to it as a repeat offence
        cases = s.scalars(select(CaseRow)).all()
        assert sorted(c.id for c in cases) == sorted(c["id"] for c in report["cases"])
        assert [c.linked_case_id for c in cases] == [None, None]
        assert not any(c.violation_key == "earlier-demo/1" for c in cases)
    engine.dispose()
    assert not (tmp_path / "snapshots" / "earlier.jpg").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"  # what the demo did not make stays
    states = {(c["shop_id"], c["kind"]): c["state"] for c in report["cases"]}
    # The van leaves before its 40 s deadline; the flower stand is still out at its 20 s deadline.
    assert states == {("shop-a", "illegal_parking"): "resolved", ("shop-b", "out_of_store_trading"): "escalated"}
    assert out.stdout.count("  reminder: reminder") == 2
    assert "dispatch server holds 1 service request(s)" in out.stdout
    assert all(Path(c["snapshot"]).is_file() for c in report["cases"])


def _leave_an_earlier_demo(out: Path) -> None:
    """What a first `frontage demo` leaves behind: its database with a case at shop-a, and its evidence."""
    engine = make_engine(f"sqlite:///{out / 'frontage.db'}")
    at = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
    with Session(engine) as s, s.begin():
        s.add(CaseRow(violation_key="earlier-demo/1", camera_id="cam1", shop_id="shop-a", kind="illegal_parking",
                      object_class="truck", state="detected", first_seen_at=at, opened_at=at, dwell_s=40.0,
                      box=[0, 0, 10, 10]))  # fmt: skip
    engine.dispose()
    (out / "snapshots").mkdir()
    (out / "snapshots" / "earlier.jpg").write_bytes(b"old evidence")
    (out / "notes.txt").write_text("mine")


def test_demo_says_plainly_what_is_missing(tmp_path):
    env = {**os.environ, "FRONTAGE_SHARED": str(tmp_path / "nowhere"), "FRONTAGE_MEDIA": str(tmp_path / "none")}
    env.pop("FRONTAGE_WEIGHTS", None)
    out = subprocess.run([EXE, "demo", "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env,
                         timeout=120)  # fmt: skip
    assert out.returncode == 2
    assert "frontage demo cannot run on this machine" in out.stderr
    assert "no detector weights: set FRONTAGE_WEIGHTS" in out.stderr
    assert "street stills" in out.stderr or "media" in out.stderr
