"""Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from alembic import command
from sqlalchemy import inspect

from dispatch.db import alembic_config, make_engine


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
