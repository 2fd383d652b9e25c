"""The jiefang command line on a SQLite file: migrations, imports, exports, accounts, demo."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from jiefang.cli import app
from jiefang.db import make_engine, session_factory
from jiefang.people.models import Account
from jiefang.units.models import Unit


@pytest.fixture
def cli(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("JIEFANG_DATABASE_URL", url)
    monkeypatch.setenv("JIEFANG_DEMO_PASSWORD", "cli-demo-password")
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return result

    run.url = url  # type: ignore[attr-defined]
    return run


def _count(url, model):
    engine = make_engine(url)
    with session_factory(engine)() as s:
        n = s.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return n


def test_import_districts_then_export_them_as_geojson(cli):
    assert cli("db", "upgrade").exit_code == 0
    result = cli("import", "districts")
    assert result.exit_code == 0 and "11 created" in result.output
    result = cli("import", "districts")
    assert "0 created, 11 updated" in result.output
    exported = json.loads(cli("export", "areas", "--level", "district").stdout)
    assert sorted(f["properties"]["name"] for f in exported["features"])[:2] == ["从化区", "南沙区"]


def test_import_units_from_csv_and_bad_file_exits_with_message(cli, tmp_path):
    cli("import", "districts")
    good = tmp_path / "units.csv"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["code", "name", "category", "lon", "lat", "teams", "equipment"])
    w.writerow(["GZ-CLI-1", "体育西商圈应急单元", "business_district", "113.3215", "23.1322",
                "第1小队|第2小队", "aed:1"])
    good.write_text(buf.getvalue(), encoding="utf-8")
    result = cli("import", "units", str(good))
    assert result.exit_code == 0 and "1 created" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\nX,Y\n", encoding="utf-8")
    result = cli("import", "units", str(bad))
    assert result.exit_code == 2 and "missing columns" in result.output
    assert _count(cli.url, Unit) == 1


def test_account_create_prompts_for_password_and_hashes_it(cli):
    cli("db", "upgrade")
    result = cli("account", "create", "chief", "--role", "city_admin", input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    engine = make_engine(cli.url)
    with session_factory(engine)() as s:
        account = s.scalar(select(Account).where(Account.username == "chief"))
        assert account.password_hash.startswith("$argon2id$")
    engine.dispose()


def test_demo_without_serving_seeds_small_city_and_prints_accounts(cli):
    result = cli("demo", "--scale", "small", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "admin" in result.output and "http://127.0.0.1:8000/" in result.output
    units = _count(cli.url, Unit)
    assert units > 200
    again = cli("demo", "--scale", "small", "--no-serve")
    assert again.exit_code == 0 and _count(cli.url, Unit) == units


def test_rewards_award_and_hotspot_scan_run_on_an_empty_database(cli):
    result = cli("rewards", "award")
    assert result.exit_code == 0 and "0 ledger entries added" in result.output
    result = cli("signals", "scan")
    assert result.exit_code == 0 and "0 hotspots raised or grown" in result.output
