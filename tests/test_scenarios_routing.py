"""Each route end to end on real pixels: the night arcade still's real parked bike, painted in an operator's livery
(or as it is, or with a delivery company's top box), rendered to H.264, replayed through the real COCO YOLOv8n
into the frontage rules and the dispatch workflow: the case goes to the party the scene says, with the reason in
its ledger. A bike wheeled across the frontage in a livery opens nothing."""

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from dispatch.db import CaseEventRow, CaseRow
from frontage.config import load_config
from frontage.replay import replay
from frontage.scenarios.catalog import ROUTED_SCENARIOS, ROUTING_SCENES
from frontage.scenarios.score import score

pytestmark = pytest.mark.model

RULE_OF = {"meituan-bike": "shared-bikes-meituan", "hellobike": "shared-bikes-hellobike",
           "qingju": "shared-bikes-qingju", "eleme": "delivery-eleme"}  # fmt: skip


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, assets_ready):
    from tests.render_cache import render_once

    out = tmp_path_factory.mktemp("routing")
    return {name: render_once(ROUTED_SCENARIOS[name], out) for name in ROUTING_SCENES}


@pytest.mark.parametrize("name", list(ROUTING_SCENES))
def test_each_route_goes_to_its_party(name, rendered, weights, tmp_path):
    result = rendered[name]
    db = f"sqlite:///{tmp_path / 'cases.db'}"
    report = replay(load_config(result.config_path), Path(result.video), weights=weights, db_url=db,
                    snapshot_dir=tmp_path / "snaps")  # fmt: skip
    s = score(json.loads(Path(result.truth_path).read_text())["cases"], report.cases)
    assert s.perfect, f"missed {s.missed}\nspurious {s.spurious}\nall {report.cases}"  # the moving bike: nothing
    engine = create_engine(db)
    with Session(engine) as ses:
        [case] = ses.scalars(select(CaseRow)).all()
        first = select(CaseEventRow).where(CaseEventRow.case_id == case.id, CaseEventRow.from_state.is_(None))
        opening = ses.scalar(first)
    engine.dispose()
    party = ROUTING_SCENES[name]
    assert case.shop_id == "shop-arcade"
    if party is None:
        assert (case.party_id, case.routed_by) == ("shop-arcade", None)
        assert "routed" not in opening.reason
    else:
        assert (case.party_id, case.routed_by) == (party, RULE_OF[party])
        assert f"routed to {party}: " in opening.reason and opening.reason.endswith(f"(rule {RULE_OF[party]})")
