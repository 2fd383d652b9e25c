"""Build the city-scale synthetic Guangzhou and seed it into fresh databases; time every stage.

    python benchmarks/seed_city.py [--scale city] [--seed 0] [--pg-url URL] [--no-postgres]

Builds the city once (23,000 units, 227,000 members, 20,849 grids, 1,781 police grids), seeds
it into a new SQLite file in a temporary directory, then into a scratch PostgreSQL database
(created on the server at ``--pg-url`` and dropped afterwards; skipped if the server does not
answer). Prints a table of stage timings and the process's peak resident memory after each
phase (resource.getrusage, so it only ever grows).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jiefang.db import make_engine, upgrade
from jiefang.simulation.city import SyntheticCity, build_city
from jiefang.simulation.seed import SeedReport, seed_database

console = Console()
Rows = list[tuple[str, str, float | None, str]]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class StageClock:
    """Progress callback that records when each stage last reported; stages run one after another."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.last[stage] = time.perf_counter()

    def durations(self) -> dict[str, float]:
        out, previous = {}, self.started
        for stage, at in sorted(self.last.items(), key=lambda kv: kv[1]):
            out[stage] = at - previous
            previous = at
        return out


def _build(scale: str, seed: int, rows: Rows) -> tuple[SyntheticCity, float]:
    clock = StageClock()
    city = build_city(scale, seed=seed, progress=clock)
    total = time.perf_counter() - clock.started
    for stage, seconds in clock.durations().items():
        rows.append(("build", stage, seconds, ""))
    counts = (f"{len(city.units):,} units, {len(city.members):,} members, "
              f"{len(city.grids):,} grids, {len(city.police_grids):,} police grids")
    rows.append(("build", "total", total, counts))
    rows.append(("build", "peak RSS so far", None, f"{_peak_rss_mib():,.0f} MiB"))
    return city, total


def _seed(backend: str, url: str, city: SyntheticCity, build_s: float, rows: Rows) -> None:
    started = time.perf_counter()
    upgrade(url)
    migrate_s = time.perf_counter() - started
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        report: SeedReport = seed_database(engine, city)
        seed_s = time.perf_counter() - started
    finally:
        engine.dispose()
    rows.append((backend, "migrate (alembic upgrade)", migrate_s, ""))
    for stage, seconds in report.stage_seconds.items():
        rows.append((backend, f"insert {stage}", seconds, ""))
    rows.append((backend, "seed total (one transaction)", seed_s,
                 f"{report.areas:,} areas, {report.member_skills:,} skills"))
    rows.append((backend, "build + migrate + seed", build_s + migrate_s + seed_s, ""))
    rows.append((backend, "peak RSS so far", None, f"{_peak_rss_mib():,.0f} MiB"))


def _with_scratch_postgres(admin_url: str, run: Callable[[str], None]) -> str | None:
    """Run ``run(url)`` on a new database; return why it was skipped, or None."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"jf_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server means: skip PostgreSQL
        admin.dispose()
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    try:
        run(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="city")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of a PostgreSQL server to create a scratch database on")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    rows: Rows = []
    with console.status(f"building the {args.scale} city"):
        city, build_s = _build(args.scale, args.seed, rows)
    with tempfile.TemporaryDirectory() as tmp, console.status("seeding SQLite"):
        _seed("sqlite", f"sqlite:///{Path(tmp) / 'city.sqlite3'}", city, build_s, rows)
    skipped = "--no-postgres" if args.no_postgres else None
    if not args.no_postgres:
        with console.status("seeding PostgreSQL"):
            skipped = _with_scratch_postgres(
                args.pg_url, lambda url: _seed("postgresql", url, city, build_s, rows)
            )
    if skipped:
        rows.append(("postgresql", "skipped", None, skipped))

    table = Table(title=f"Synthetic Guangzhou, scale {args.scale!r}, seed {args.seed}")
    for column, justify in (("phase", "left"), ("stage", "left"), ("seconds", "right"),
                            ("notes", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for phase, stage, seconds, note in rows:
        table.add_row(phase, stage, "" if seconds is None else f"{seconds:.2f}", note)
    console.print(table)


if __name__ == "__main__":
    main()
