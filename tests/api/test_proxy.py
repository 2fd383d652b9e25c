"""The shipped proxy configuration (deploy/nginx.conf) in front of two workers sharing one
PostgreSQL database and one Redis: members' sockets spread over both workers, and an incident
created through the proxy reaches every alerted member whichever worker holds their socket."""

from __future__ import annotations

import shutil
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from jiefang.dispatch.models import Assignment
from jiefang.units.models import Unit

from ..conftest import IN_CI  # type: ignore[import-not-found]
from ..dispatch.conftest import give_logins, put_crew_on_duty  # type: ignore[import-not-found]
from ..dispatch.test_two_workers import _alert_of, _socket  # type: ignore[import-not-found]
from ..serving import free_port, serve  # type: ignore[import-not-found]

NGINX_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
START_TIMEOUT_S = 20.0


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # Debian: sbin, often off PATH
    if found is None:
        reason = "nginx is not installed (Debian package nginx-light)"
        if IN_CI:
            pytest.fail(f"{reason}; CI must test the proxy configuration")
        pytest.skip(reason)
    return found


def _start_proxy(nginx: str, workers: list[int], tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Run nginx with the shipped configuration pointed at ``workers``; return it and its port."""
    port = free_port()
    text = NGINX_CONF.read_text(encoding="utf-8")
    for shipped, ours in (("127.0.0.1:8001", workers[0]), ("127.0.0.1:8002", workers[1])):
        assert shipped in text, f"{NGINX_CONF} no longer names {shipped}"
        text = text.replace(shipped, f"127.0.0.1:{ours}")
    assert "listen 80;" in text
    conf = tmp_path / "nginx.conf"
    conf.write_text(text.replace("listen 80;", f"listen 127.0.0.1:{port};"), encoding="utf-8")
    proxy = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(conf),
         "-g", f"daemon off; pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'nginx-error.log'};"],
        stdout=(tmp_path / "nginx.log").open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proxy.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/stats", timeout=1).status_code == 401:
                return proxy, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proxy.kill()
    pytest.fail(f"nginx did not proxy in {START_TIMEOUT_S:.0f} s: {(tmp_path / 'nginx.log').read_text()[-2000:]}")


def test_an_incident_through_the_proxy_reaches_members_on_both_workers(
        backend, database_url, sessions, settings, redis_url, redis_prefix, tmp_path):
    if backend == "sqlite":
        pytest.skip("several workers share a PostgreSQL database; SQLite is the one-process default")
    nginx = _nginx()
    with sessions() as s:
        unit_id = s.scalars(select(Unit.id).where(Unit.leader_member_id.is_not(None)).order_by(Unit.id)).first()
    crew = put_crew_on_duty(sessions, unit_id)
    env = {"JIEFANG_REDIS_URL": redis_url, "JIEFANG_REDIS_PREFIX": redis_prefix}
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with ExitStack() as stack:
        for port, log in zip(ports, logs, strict=True):
            worker = serve(database_url, settings.demo_password, port, log, **env)
            stack.callback(worker.wait, 10)
            stack.callback(worker.kill)
        proxy, proxy_port = _start_proxy(nginx, ports, tmp_path)
        stack.callback(proxy.wait, 10)
        stack.callback(proxy.kill)
        where = f"127.0.0.1:{proxy_port}"
        with httpx.Client(base_url=f"http://{where}", timeout=10) as http:
            login = http.post("/api/auth/login", json={"username": "admin", "password": settings.demo_password})
            assert login.status_code == 200, login.text
            admin = {"Authorization": f"Bearer {login.json()['token']}"}
            give_logins(http, admin, crew, settings.demo_password)
            sockets = {m: _socket(stack, where, crew.headers[m])[0] for m in crew.own + crew.others}
            r = http.post("/api/incidents", headers=admin, json={"type": "public_order", "lon": crew.lon,
                                                                  "lat": crew.lat})
            assert r.status_code == 201, r.text
            incident_id = r.json()["id"]
        with sessions() as s:
            alerted = dict(s.execute(select(Assignment.member_id, Assignment.id)
                                     .where(Assignment.incident_id == incident_id)).all())
        assert alerted
        for m, assignment_id in alerted.items():
            assert _alert_of(sockets[m], incident_id)["assignment_id"] == assignment_id
        accepted = [log.read_text(errors="replace").count('"WebSocket /api/ws" [accepted]') for log in logs]
        assert all(accepted) and sum(accepted) == len(sockets), accepted  # the sockets went to both workers
