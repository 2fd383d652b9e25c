"""`jiefang import roads` and `jiefang report` from the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from jiefang.analytics.cells import CellCache
from jiefang.analytics.roads import RoadGraph, RoadTimes
from jiefang.analytics.service import coverage_times
from jiefang.cli import app
from jiefang.config import Settings


def test_import_roads_writes_a_graph_that_coverage_then_uses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pyrosm = pytest.importorskip("pyrosm", reason="the roads extra (pyrosm) is not installed")
    out = tmp_path / "roads.npz"
    result = CliRunner().invoke(
        app, ["import", "roads", pyrosm.get_data("test_pbf"), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "nodes" in result.output and RoadGraph.load(out).nodes > 500
    times = coverage_times(Settings(database_url="sqlite://", road_graph=out), CellCache())
    assert isinstance(times, RoadTimes) and times.speed_mps == 3.0  # the configured mode (run), no circuity


def test_report_command_writes_html_and_pdf(settings, tmp_path, monkeypatch, backend) -> None:  # type: ignore[no-untyped-def]
    if backend != "sqlite":
        pytest.skip("one back end is enough for the command line; the report itself is tested on both")
    monkeypatch.setenv("JIEFANG_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(
        app, ["report", "--district", "天河", "--month", "2026-10", "--out", str(tmp_path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report-440106-2026-10.pdf").stat().st_size > 10_000
    assert (tmp_path / "report-440106-2026-10.html").exists()
    bad = CliRunner().invoke(app, ["report", "--district", "火星", "--month", "2026-10", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "no single district" in bad.output
