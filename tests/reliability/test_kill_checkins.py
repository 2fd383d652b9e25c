"""SIGKILL the server during a burst of check-ins: the phones repeat each action with its
Idempotency-Key until answered, and afterwards every acknowledged check-in is stored exactly once."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import httpx
from sqlalchemy import select

from jiefang.duty.models import DutySession

from ..conftest import run_coroutine  # type: ignore[import-not-found]
from ..serving import free_port, power_cut, serve  # type: ignore[import-not-found]
from .conftest import Answer, Phone, log_in, member_accounts, send_until_answered, site_of  # type: ignore[import-not-found]

UNITS, PER_UNIT = 5, 4
ACTS = ("check-in", "check-out", "check-in")  # each member, one after the other
KILL_AFTER = 20  # answers; of 60 actions


def test_sigkill_during_a_check_in_burst_keeps_every_acknowledged_check_in_once(database_url, sessions, settings,
                                                                                  tmp_path):
    password, port, log = settings.demo_password, free_port(), tmp_path / "server.log"
    accounts = member_accounts(sessions, UNITS, PER_UNIT, password)
    env = {"JIEFANG_IDEMPOTENCY_LOCK_S": "2"}  # a claim left by the killed server is taken over soon
    server = serve(database_url, password, port, log, **env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            admin = log_in(http, "admin", password)
            codes = {}
            for unit_id in {u for _, u, _ in accounts}:
                lon, lat = site_of(sessions, unit_id)
                post = http.post(f"/api/units/{unit_id}/posts", headers=admin,
                                 json={"name": "门岗", "lon": lon, "lat": lat}).json()
                codes[unit_id] = (http.get(f"/api/posts/{post['id']}/token", headers=admin).json()["token"],
                                  lon, lat)
            phones = [Phone(m, u, log_in(http, name, password)) for m, u, name in accounts]

        answers: dict[int, list[Answer]] = defaultdict(list)
        answered = asyncio.Event()

        async def member_acts(http: httpx.AsyncClient, phone: Phone) -> None:
            token, lon, lat = codes[phone.unit_id]
            for act in ACTS:
                body = {"token": token, "lon": lon, "lat": lat, "accuracy_m": 10} if act == "check-in" else {}
                answers[phone.member_id].append(await send_until_answered(http, f"/api/duty/{act}",
                                                                          phone.headers, body))
                if sum(map(len, answers.values())) >= KILL_AFTER:
                    answered.set()

        async def burst() -> None:
            nonlocal server
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                acting = asyncio.gather(*(member_acts(http, p) for p in phones))
                await answered.wait()
                power_cut(server)
                server = await asyncio.to_thread(serve, database_url, password, port, log, **env)
                await acting

        run_coroutine(burst())
    finally:
        server.kill()
        server.wait(10)
    retried = sum(bool(a.errors) for acts in answers.values() for a in acts)
    assert retried, "the kill hit no request in flight: the test proved nothing"
    with sessions() as s:
        stored = defaultdict(list)
        for duty in s.scalars(select(DutySession).order_by(DutySession.id)):
            stored[duty.member_id].append(duty)
    for phone in phones:
        check_in, check_out, again = answers[phone.member_id]
        assert check_in.status == 200 and again.status == 200, (check_in, again)
        # a check-out that ran before the kill but whose answer was not yet kept runs again: not on duty
        assert check_out.status in (200, 404), check_out
        sessions_of = stored[phone.member_id]
        assert [d.id for d in sessions_of] == [check_in.body["id"], again.body["id"]]  # once each, none doubled
        assert sessions_of[0].checked_out_at is not None and sessions_of[1].checked_out_at is None
