"""Serve the city-scale synthetic Guangzhou and measure the API: counts, latencies, server memory.

    python benchmarks/api_city.py [--database-url URL] [--requests 30]

Seeds the city into the database first if it has no units (SQLite file under /tmp by default),
starts ``jiefang serve`` in a subprocess on a free loopback port, checks the acceptance counts
(23,000 units, 227,000 members, 11 districts) through the API, times the main read endpoints,
and reads the server's peak resident memory (VmHWM) from /proc.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

console = Console()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(env: dict[str, str], timeout_s: float = 60.0,
                 log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``jiefang serve`` (one worker) on a free loopback port, its output to ``log`` if given;
    return it and its base URL once it answers."""
    port = _free_port()
    out = log.open("wb") if log else subprocess.DEVNULL
    server = subprocess.Popen([sys.executable, "-m", "jiefang.cli", "serve", "--port", str(port)],
                              env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/api/stats", timeout=1)  # 401 once it serves
            return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"jiefang serve did not answer within {timeout_s:.0f} s")


def _time(client: httpx.Client, path: str, params: dict | None, n: int) -> tuple[float, float, int]:
    samples = []
    size = 0
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path, params=params)
        samples.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        size = len(r.content)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.99 * len(samples)))], size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/jiefang-bench-city.sqlite3")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    env = {**os.environ, "JIEFANG_DATABASE_URL": args.database_url, "JIEFANG_DEMO_PASSWORD": "bench-password"}

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jiefang.cli", "demo", "--scale", "city", "--no-serve"],
                   env=env, check=True, capture_output=True)
    console.print(f"database ready (seeded if it was empty) in {time.perf_counter() - t0:.1f} s")

    server, base = start_server(env)
    try:
        token = httpx.post(f"{base}/api/auth/login",
                           json={"username": "admin", "password": "bench-password"}).json()["token"]
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        stats = client.get("/api/stats").json()
        districts = client.get("/api/areas", params={"level": "district"}).json()["items"]
        tianhe = next(d for d in districts if d["code"] == "440106")
        unit_id = client.get("/api/units", params={"district_id": tianhe["id"]}).json()["items"][0]["id"]
        cases = [
            ("GET /api/stats", "/api/stats", None),
            ("GET /api/units?district_id (page 50)", "/api/units", {"district_id": tianhe["id"]}),
            ("GET /api/units/{id}", f"/api/units/{unit_id}", None),
            ("GET /api/units/points (all units)", "/api/units/points", None),
            ("GET /api/members?skill&district_id", "/api/members",
             {"skill": "first_aid", "district_id": tianhe["id"]}),
            ("GET /api/areas/geojson district", "/api/areas/geojson", {"level": "district"}),
            ("GET /api/areas/geojson grid bbox z14", "/api/areas/geojson",
             {"level": "grid", "bbox": "113.30,23.11,113.36,23.15"}),
        ]
        table = Table(title=f"API at city scale ({args.requests} requests each, one worker, loopback)")
        for col in ("endpoint", "p50 ms", "p99 ms", "bytes"):
            table.add_column(col, justify="right" if col != "endpoint" else "left")
        for label, path, params in cases:
            p50, p99, size = _time(client, path, params, args.requests)
            table.add_row(label, f"{p50:.1f}", f"{p99:.1f}", f"{size:,}")
        console.print(table)
        console.print(f"counts via API: {stats['districts']} districts, {stats['units']:,} units, "
                      f"{stats['members']:,} members, {stats['grids']:,} grids, "
                      f"{stats['police_grids']:,} police grids")
        console.print(f"server peak RSS: {_peak_rss_mib(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
