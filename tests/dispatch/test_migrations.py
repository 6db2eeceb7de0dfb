"""Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL, and the newest one
goes down and up again cleanly."""

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import register.db  # noqa: F401  (its tables join the metadata the check compares)
from dispatch.db import alembic_config, make_engine

HEAD = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://"))).get_current_head()


def test_fresh_database_is_migrated_to_head_and_matches_the_models(engine):
    assert {"cases", "case_events", "outbox", "alembic_version"} <= set(inspect(engine).get_table_names())
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)  # raises if the models and the migrated schema differ


def test_migrating_twice_is_harmless(engine):
    again = make_engine(engine.url.render_as_string(hide_password=False))
    assert "cases" in inspect(again).get_table_names()
    again.dispose()


def _run(engine, step, revision: str) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def test_0004_camera_ledger_and_baselines_go_down_and_come_back(engine, t0):
    from dispatch.baselines import camera_events, latest_baseline, record_camera_event, save_baseline

    def revision() -> str:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()

    assert revision() == HEAD
    record_camera_event(engine, "cam1", "camera_moved", "system", "view turned", t0)
    save_baseline(engine, "cam1", [{"shop_id": "s", "polygon": [[0, 0], [9, 0], [9, 9]]}], "otto", "bench", t0)

    _run(engine, command.downgrade, "0003")
    tables = set(inspect(engine).get_table_names())
    assert revision() == "0003"
    assert not {"camera_events", "camera_baselines"} & tables
    assert {"cases", "case_events", "outbox", "dwell_checkpoints"} <= tables  # the rest untouched

    _run(engine, command.upgrade, "head")
    assert revision() == HEAD
    assert {"camera_events", "camera_baselines"} <= set(inspect(engine).get_table_names())
    assert camera_events(engine, "cam1") == [] and latest_baseline(engine, "cam1") is None  # down dropped the rows
    assert save_baseline(engine, "cam1", [], "ada", "again", t0) == 1
    indexes = {i["name"] for i in inspect(engine).get_indexes("camera_events")}
    assert "ix_camera_events_camera_id" in indexes


REGISTER_TABLES = {
    "shops", "shop_history", "signboard_keys", "citizen_reports", "inspections", "credit_scores", "party_events"
}  # fmt: skip


def test_0005_register_goes_down_and_comes_back(engine, t0):
    _run(engine, command.downgrade, "0004")
    assert not REGISTER_TABLES & set(inspect(engine).get_table_names())
    assert "source" not in {c["name"] for c in inspect(engine).get_columns("cases")}
    _run(engine, command.upgrade, "head")
    assert set(inspect(engine).get_table_names()) >= REGISTER_TABLES
    assert "source" in {c["name"] for c in inspect(engine).get_columns("cases")}
