"""Schemathesis against the live server's own /openapi.json: every check, all phases (coverage, fuzzing,
stateful), a fixed seed and a bounded number of examples. It must find no 5xx and no response that
disagrees with the schema, for an operator (the brief) and, more briefly, for an admin, a merchant and an
inspector. The server holds the district world: register shops, a citizen's report, an inspection, credit.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.api.conftest import LiveServer, make_world

# 49 operations now: these keep the whole run near three minutes of CI (the coverage phase adds its own cases
# for every operation whatever the count: boundaries, wrong types, missing fields).
RUNS = {  # role: max examples per operation
    "operator": 30,
    "admin": 10,
    "merchant-own": 10,
    "inspector": 8,
}
# The fuzzer cannot make a real JPEG, so a schema-valid upload is legitimately refused as 415 by content. Nor can
# a schema say that a polygon must be simple with an area, or that the shop must have a frontage on that camera,
# so a schema-valid fixture is legitimately refused as 422 with the reason.
CONFIG = """
[[operations]]
include-path = "/cases/{case_id}/fixed"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "415"]

[[operations]]
include-path = "/cameras/{camera_id}/baseline/fixtures"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Nor can it make a valid signboard code or a real photo: a schema-valid report is refused by its content, and a
# fuzzer that keeps reporting meets the rate limit.
[[operations]]
include-path = "/public/reports"
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "413", "415", "422", "429"]

# "At least one duty" and the photo's content are beyond a schema.
[[operations]]
include-path = "/shops/{shop_id}/inspections"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "413", "415", "422"]

# Zones (the zone editor): a schema cannot say that a polygon must be simple, inside the frame and clear of other
# shops' frontages, nor which shops exist or which version is the latest (409); nor can a fuzzer make a real JPEG
# of the camera's frame size.
[[operations]]
include-path-regex = "^/cameras/[{]camera_id[}]/zones([.]yaml)?$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-path = "/cameras/{camera_id}/snapshot.jpg"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "413", "415", "422"]

# A period's `from` must come before its `to`, and it may cover at most 366 local days: a relation between two
# parameters, which a schema cannot state.
[[operations]]
include-path-regex = "^/(insights/summary|cameras/[{]camera_id[}]/heatmap)"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422"]
"""


@pytest.fixture
def st_available(require_service) -> None:
    if importlib.util.find_spec("schemathesis") is None:
        require_service("schemathesis is not installed (pip install schemathesis)")


@pytest.fixture(scope="module")
def district_live(district_template, tmp_path_factory) -> Iterator[LiveServer]:
    world = make_world(district_template, tmp_path_factory.mktemp("district-live"))
    with LiveServer(world.app()) as server:
        yield server
    world.engine.dispose()


@pytest.mark.parametrize(("who", "examples"), RUNS.items(), ids=RUNS.keys())
def test_schemathesis_finds_nothing(st_available, district_live, auth, tmp_path, who, examples):
    live = district_live
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    (header,) = auth(who).items()
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run",
        f"{live.url}/openapi.json", "--checks", "all", "--max-examples", str(examples), "--seed", "42",
        "--workers", "1", "--header", f"{header[0]}: {header[1]}", "--request-timeout", "10",
        "--suppress-health-check", "all", "--warnings", "off",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=tmp_path)  # a loaded CI box
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "failures" not in done.stdout.splitlines()[-1], done.stdout[-6000:]
