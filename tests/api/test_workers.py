"""Several app instances on one Redis: each shared background job in exactly one of them, handed
over when its holder shuts down; services kept running only under their lease."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack

from fastapi.testclient import TestClient

from jiefang.api import background
from jiefang.api.app import create_app

from ..conftest import run_coroutine  # type: ignore[import-not-found]

WAIT_S = 5.0


def _held(client: TestClient) -> set[str]:
    leases = client.app.state.leases  # type: ignore[attr-defined]
    return {job for job in background.SHARED_JOBS if leases.holds(job)}


def test_each_shared_job_runs_in_one_instance_and_moves_when_it_stops(settings, redis_url, redis_prefix):
    shared = settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix, "lease_ttl_s": 1.0})
    with ExitStack() as first, TestClient(create_app(shared)) as two:
        one = first.enter_context(TestClient(create_app(shared)))
        deadline = time.monotonic() + WAIT_S
        while _held(one) | _held(two) != set(background.SHARED_JOBS) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _held(one) | _held(two) == set(background.SHARED_JOBS)
        assert not _held(one) & _held(two)  # never both
        first.close()  # one shuts down and releases: two takes everything at its next refresh
        deadline = time.monotonic() + WAIT_S
        while _held(two) != set(background.SHARED_JOBS) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _held(two) == set(background.SHARED_JOBS)


class _Service:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        log.append("start")

    def stop(self) -> None:
        self.log.append("stop")


def test_a_service_runs_only_while_its_lease_is_held():
    log: list[str] = []
    held = [False]

    async def scenario() -> None:
        task = asyncio.create_task(background.while_leased(lambda: _Service(log), lambda: held[0], 0.01))
        await asyncio.sleep(0.05)
        assert log == []
        held[0] = True
        await asyncio.sleep(0.05)
        assert log == ["start"]
        held[0] = False
        await asyncio.sleep(0.05)
        held[0] = True
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run_coroutine(scenario())
    assert log == ["start", "stop", "start", "stop"]  # taken, lost, taken again, shut down


def test_a_loop_runs_its_work_only_while_allowed():
    runs: list[int] = []
    allowed = [False]

    async def scenario() -> None:
        task = asyncio.create_task(background._every(0.01, "test job", lambda: runs.append(1), lambda: allowed[0]))
        await asyncio.sleep(0.1)
        assert runs == []
        allowed[0] = True
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run_coroutine(scenario())
    assert runs
