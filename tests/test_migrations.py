"""The Alembic migrations build exactly the tables the models describe, in one straight line."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import jiefang.db
import jiefang.models  # every table on Base.metadata
from jiefang.db import Base, make_engine, upgrade


def test_migrations_form_one_line_with_one_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(jiefang.db.__file__).parent / "migrations"))
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1
    assert len(list(script.walk_revisions())) == len({r.revision for r in script.walk_revisions()})


def test_upgraded_database_matches_the_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
