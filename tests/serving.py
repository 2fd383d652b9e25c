"""Start ``jiefang serve`` as a real subprocess on a free port, for tests that kill or starve it.

Shared by the crash tests of dispatch and the fault tests of ``tests/reliability``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from jiefang.incidents.playbooks import SHIPPED_DIR

START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(database_url: str, password: str, port: int, log: Path, playbooks: Path | None = None,
          **env_extra: str) -> subprocess.Popen[bytes]:
    """Start one server worker on ``port`` (no Redis unless ``JIEFANG_REDIS_URL`` is given in
    ``env_extra``) and wait until it answers; fail the test with its log if it does not."""
    env = {**os.environ, "JIEFANG_DATABASE_URL": database_url, "JIEFANG_DEMO_PASSWORD": password}
    env.pop("JIEFANG_REDIS_URL", None)
    if playbooks is not None:
        env["JIEFANG_PLAYBOOK_DIR"] = str(playbooks)
    env.update(env_extra)
    server = subprocess.Popen([sys.executable, "-m", "jiefang.cli", "serve", "--port", str(port)], env=env,
                              stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/stats", timeout=1)  # 401 once it serves
            return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    pytest.fail(f"the server did not start in {START_TIMEOUT_S:.0f} s: {log.read_text()[-2000:]}")


def power_cut(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server: no shutdown, no flush."""
    server.send_signal(signal.SIGKILL)
    server.wait(10)


def quick_playbooks(tmp_path: Path) -> Path:
    """The shipped playbooks, with the public-order answers due in 5 s instead of 15–30 s."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    for path in SHIPPED_DIR.glob("*.yaml"):
        book = yaml.safe_load(path.read_text(encoding="utf-8"))
        if book["incident_type"] == "public_order":
            for tier in book["tiers"]:
                tier["ack_timeout_s"] = 5
        (folder / path.name).write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    return folder
