"""Secrets come from the environment: `jiefang serve` on PostgreSQL refuses the well-known demo password."""

from __future__ import annotations

import pytest
import uvicorn
from typer.testing import CliRunner

from jiefang.cli import app
from jiefang.config import Settings
from jiefang.db import make_engine, session_factory, session_scope
from jiefang.people.accounts import ensure_account

WELL_KNOWN = str(Settings.model_fields["demo_password"].default)


@pytest.fixture
def serve(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `jiefang serve ARGS` on the test database; returns (result, whether the server would start)."""
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(a))
    monkeypatch.setenv("JIEFANG_DATABASE_URL", database_url)
    monkeypatch.delenv("JIEFANG_ALLOW_DEMO_PASSWORD", raising=False)

    def run(*args: str):  # type: ignore[no-untyped-def]
        result = CliRunner().invoke(app, ["serve", *args], catch_exceptions=False)
        return result, bool(started)

    return run


def _set_password(url: str, username: str, password: str) -> None:
    engine = make_engine(url)
    with session_scope(session_factory(engine)) as session:
        ensure_account(session, username, password, "city_admin")
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_serve_on_postgresql_refuses_the_well_known_demo_password(serve, database_url: str) -> None:  # type: ignore[no-untyped-def]
    _set_password(database_url, "admin", WELL_KNOWN)
    result, started = serve()
    assert result.exit_code == 2 and not started
    assert "well-known" in result.output and "admin" in result.output
    result, started = serve("--allow-demo-password")
    assert result.exit_code == 0 and started
    _set_password(database_url, "admin", "a-real-secret-password")
    result, started = serve()
    assert result.exit_code == 0 and started


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_on_sqlite_starts_with_the_demo_password(serve, database_url: str) -> None:  # type: ignore[no-untyped-def]
    _set_password(database_url, "admin", WELL_KNOWN)
    result, started = serve()
    assert result.exit_code == 0 and started
