"""``jiefang drills plan`` and ``jiefang drills results`` on the seeded small city."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from typer.testing import CliRunner

from jiefang.cli import app
from jiefang.db import utcnow
from jiefang.drills.models import Drill
from jiefang.units.models import Unit

from .conftest import roster_all_day  # type: ignore[import-not-found]


def test_plan_shows_quotas_then_stores_the_same_plan_once(settings, sessions, monkeypatch):
    monkeypatch.setenv("JIEFANG_DATABASE_URL", settings.database_url)
    with sessions() as s:
        units = s.execute(
            select(Unit.id, Unit.leader_member_id).where(Unit.leader_member_id.is_not(None)).order_by(Unit.id).limit(30)
        ).all()
    for unit_id, member_id in units:
        roster_all_day(sessions, unit_id, member_id)
    day = (utcnow().astimezone(ZoneInfo(settings.timezone)).date() + timedelta(days=1)).isoformat()
    runner = CliRunner()

    dry = runner.invoke(app, ["drills", "plan", "--date", day, "--seed", "11", "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert "seed 11" in dry.output and "dry run" in dry.output and "total" in dry.output
    with sessions() as s:
        assert s.scalar(select(func.count(Drill.id))) == 0

    stored = runner.invoke(app, ["drills", "plan", "--date", day, "--seed", "11"], catch_exceptions=False)
    assert stored.exit_code == 0 and "stored" in stored.output
    with sessions() as s:
        drills = s.scalars(select(Drill)).all()
    assert len(drills) == 7  # 705 scaled to the small city's 230 units
    assert {d.unit_id for d in drills} <= {u for u, _ in units} and {d.seed for d in drills} == {11}

    again = runner.invoke(app, ["drills", "plan", "--date", day], catch_exceptions=False)
    assert again.exit_code == 2 and "already has 7" in again.output
    past = runner.invoke(app, ["drills", "plan", "--date", "2020-01-01"], catch_exceptions=False)
    assert past.exit_code == 2 and "past" in past.output

    results = runner.invoke(app, ["drills", "results", "--group-by", "unit"], catch_exceptions=False)
    assert results.exit_code == 0 and "drill results by unit" in results.output
