"""Restart PostgreSQL under a stream of writes: during the outage writes fail cleanly (503 JSON with
a message, never a 500), the pool recovers, and the clients repeating each write with its
Idempotency-Key end with every write stored once.

The PostgreSQL is a private one, made by the test in a temporary folder on a free port; the shared
server is never touched. Skipped where the PostgreSQL server binaries or ``runuser`` are missing."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from jiefang.db import make_engine, session_factory
from jiefang.incidents.models import Incident
from jiefang.units.models import Unit

from ..conftest import (  # type: ignore[import-not-found]
    DEMO_PASSWORD,
    _seed_into,
    run_coroutine,  # type: ignore[import-not-found]
)
from ..serving import free_port, serve  # type: ignore[import-not-found]
from .conftest import Answer, log_in, send_until_answered  # type: ignore[import-not-found]

WRITES, WRITERS = 30, 5
RESTART_AFTER = 8  # answered writes
DOWN_S = 2.0


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found and shutil.which("runuser") and os.geteuid() == 0 else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own: initdb in ``folder``, listening on ``port`` only."""

    def __init__(self, folder: Path, port: int) -> None:
        self.bin, self.data, self.port = _pg_bin(), folder / "data", port
        shutil.chown(folder, "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _as_postgres(self, tool: str, *args: str) -> None:
        assert self.bin is not None
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / tool), *args], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w",
                          "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def private_postgres(small_city) -> Iterator[PrivatePostgres]:  # type: ignore[no-untyped-def]
    if _pg_bin() is None:
        pytest.skip("needs root, runuser and the PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    folder = Path(tempfile.mkdtemp(prefix="jiefang-pg-"))  # pytest's folders are closed to the postgres user
    try:
        pg = PrivatePostgres(folder, free_port())
        pg.start()
        try:
            _seed_into(pg.url, small_city)
            yield pg
        finally:
            pg.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_writes_during_a_postgres_restart_fail_cleanly_and_end_stored_once(private_postgres, tmp_path):
    pg, port = private_postgres, free_port()
    engine = make_engine(pg.url)
    with session_factory(engine)() as s:
        sites = [(u.lon, u.lat) for u in s.scalars(select(Unit).order_by(Unit.id).limit(WRITES))]
    server = serve(pg.url, DEMO_PASSWORD, port, tmp_path / "server.log", JIEFANG_IDEMPOTENCY_LOCK_S="2")
    answers: list[Answer] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            admin = log_in(http, "admin", DEMO_PASSWORD)

        async def writes() -> None:
            todo = iter(sites)
            enough = asyncio.Event()

            async def writer(http: httpx.AsyncClient) -> None:
                for lon, lat in todo:
                    answers.append(await send_until_answered(http, "/api/incidents", admin,
                                                             {"type": "dispute", "lon": lon, "lat": lat}))
                    if len(answers) >= RESTART_AFTER:
                        enough.set()
                    await asyncio.sleep(0.1)

            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                writing = asyncio.gather(*(writer(http) for _ in range(WRITERS)))
                await enough.wait()
                await asyncio.to_thread(pg.stop)
                await asyncio.sleep(DOWN_S)  # writes go on against a database that is not there
                await asyncio.to_thread(pg.start)
                await writing

        run_coroutine(writes())
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            assert http.get("/api/incidents", headers=admin).status_code == 200  # the pool recovered
    finally:
        server.kill()
        server.wait(10)
    server_errors = [e for a in answers for e in a.errors if e.startswith("5")]
    assert server_errors, "no write met the outage: the test proved nothing"
    assert all(e.startswith("503 ") and '"unavailable"' in e and '"message"' in e for e in server_errors), \
        server_errors  # never a 500
    assert "unhandled error" not in (tmp_path / "server.log").read_text()
    assert [a.status for a in answers] == [201] * WRITES
    ids = {a.body["id"] for a in answers}
    with session_factory(engine)() as s:
        stored = s.scalar(select(func.count()).select_from(Incident))
    engine.dispose()
    assert len(ids) == WRITES and stored == WRITES  # every write once, none doubled
