"""Push-to-talk relay: latency the server adds between a speaker's frame and each listener, and
whether one worker keeps up with a given bitrate of Opus frames.

    python benchmarks/voice_relay.py [--groups 50] [--listeners 500] [--seconds 20]
                                     [--kbit-per-group 40] [--chunk-ms 100,20]

Seeds the small synthetic city into a scratch SQLite file, starts ``jiefang serve`` (one uvicorn
worker) and opens, from this one process, ``--listeners`` voice sockets spread evenly over
``--groups`` unit talk groups plus one speaker socket per group. Every speaker takes the floor
and sends a frame every ``--chunk-ms`` (100 ms is what the browser's MediaRecorder sends; 20 ms
is one Opus packet per frame) sized so that the group carries ``--kbit-per-group``; each frame
holds the time it was sent, and each listener notes when it arrives. Target: p99 ≤ 50 ms with
50 groups and 500 listeners, and ≥ 2 Mbit/s relayed without falling behind (the last quarter's
p99 no worse than the first's, every frame delivered).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import websockets
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from api_city import _peak_rss_mib, start_server

PASSWORD = "bench-voice"
STAMP = struct.Struct(">dI")  # send time (perf_counter), sequence
HEADER = 4  # the relay's transmission id before each frame
console = Console(width=170)


async def _socket(url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, max_size=2**20, ping_interval=None)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await ws.recv())["type"] == "hello"
    return ws


async def _expect(ws: websockets.ClientConnection, kind: str) -> dict:
    while True:
        message = await ws.recv()
        if isinstance(message, str) and json.loads(message)["type"] == kind:
            return json.loads(message)


async def _listen(ws: websockets.ClientConnection, arrivals: list[tuple[float, float]], done: asyncio.Event) -> None:
    while not done.is_set():
        try:
            message = await asyncio.wait_for(ws.recv(), 0.5)
        except TimeoutError:
            continue
        if isinstance(message, bytes):
            sent, _seq = STAMP.unpack_from(message, HEADER)
            now = time.perf_counter()
            arrivals.append((sent, now - sent))


async def _speak(ws: websockets.ClientConnection, group: int, frame_bytes: int, chunk_s: float, seconds: float,
                 counter: list[int]) -> None:
    await ws.send(json.dumps({"type": "press", "group_id": group, "mime": "audio/webm;codecs=opus"}))
    await _expect(ws, "floor")
    pad = b"\0" * max(0, frame_bytes - STAMP.size)
    start = time.perf_counter()
    seq = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        await ws.send(STAMP.pack(time.perf_counter(), seq) + pad)
        seq += 1
        counter[0] += 1
        await asyncio.sleep(max(0.0, seq * chunk_s - elapsed))
    await ws.send(json.dumps({"type": "release"}))


async def run(base: str, token: str, groups: list[int], listeners: int, seconds: float, kbit: float,
              chunk_ms: float) -> dict[str, float]:
    url = base.replace("http", "ws") + "/api/voice/ws"
    per_group = listeners // len(groups)
    listen_sockets = []
    for group in groups:
        for _ in range(per_group):
            ws = await _socket(url, token)
            await ws.send(json.dumps({"type": "join", "group_id": group}))
            await _expect(ws, "joined")
            listen_sockets.append(ws)
    speakers = []
    for group in groups:
        ws = await _socket(url, token)
        await ws.send(json.dumps({"type": "join", "group_id": group}))
        await _expect(ws, "joined")
        speakers.append(ws)
    chunk_s = chunk_ms / 1000
    frame_bytes = max(STAMP.size, int(kbit * 1000 / 8 * chunk_s))
    arrivals: list[tuple[float, float]] = []
    done = asyncio.Event()
    readers = [asyncio.create_task(_listen(ws, arrivals, done)) for ws in listen_sockets]
    sent = [0]
    talks = [_speak(ws, g, frame_bytes, chunk_s, seconds, sent) for ws, g in zip(speakers, groups, strict=True)]
    await asyncio.gather(*talks)
    await asyncio.sleep(1.0)  # the last frames are on their way
    done.set()
    await asyncio.gather(*readers)
    for ws in listen_sockets + speakers:
        await ws.close()
    lat = np.array([a[1] for a in arrivals]) * 1000
    order = np.argsort([a[0] for a in arrivals])
    quarter = max(1, len(order) // 4)
    first, last = lat[order[:quarter]], lat[order[-quarter:]]
    return {
        "frames_in": sent[0], "frames_out": len(arrivals), "expected_out": sent[0] * per_group,
        "mbit_in": sent[0] * frame_bytes * 8 / seconds / 1e6,
        "mbit_out": len(arrivals) * frame_bytes * 8 / seconds / 1e6,
        "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)), "max": float(lat.max()),
        "p99_first": float(np.percentile(first, 99)), "p99_last": float(np.percentile(last, 99)),
        "frame_bytes": frame_bytes,
    }


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--listeners", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kbit-per-group", type=float, default=48.0)
    parser.add_argument("--chunk-ms", default="100,20")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="jiefang-voice-bench-"))
    env = {**os.environ, "JIEFANG_DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}",
           "JIEFANG_DEMO_PASSWORD": PASSWORD, "JIEFANG_VOICE_DIR": str(scratch / "voice"),
           "JIEFANG_VOICE_MAX_TX_S": str(args.seconds + 30)}
    subprocess.run([sys.executable, "-m", "jiefang.cli", "demo", "--scale", "small", "--no-serve"],
                   env=env, check=True, capture_output=True)
    server, base = start_server(env)
    rows = []
    try:
        token = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        units = httpx.get(f"{base}/api/units", headers=headers, params={"page_size": args.groups}).json()["items"]
        groups = [httpx.post(f"{base}/api/voice/groups/open", headers=headers,
                             json={"kind": "unit", "ref_id": u["id"]}).json()["id"] for u in units]
        for chunk_ms in [float(c) for c in args.chunk_ms.split(",")]:
            cpu0, wall0 = _cpu_s(server.pid), time.perf_counter()
            result = asyncio.run(run(base, token, groups, args.listeners, args.seconds, args.kbit_per_group,
                                     chunk_ms))
            result["server_cpu"] = (_cpu_s(server.pid) - cpu0) / (time.perf_counter() - wall0)
            rows.append((chunk_ms, result))
    finally:
        rss = _peak_rss_mib(server.pid)
        server.terminate()
        server.wait(10)
    table = Table(title=f"Push-to-talk relay, one worker: {len(groups)} groups, {args.listeners} listeners, "
                        f"{args.kbit_per_group:g} kbit/s per group for {args.seconds:g} s")
    for col in ("frame every", "frame bytes", "frames in", "frames out", "delivered", "in Mbit/s", "out Mbit/s",
                "p50 ms", "p99 ms", "max ms", "p99 first ¼", "p99 last ¼", "server CPU"):
        table.add_column(col, justify="right")
    for chunk_ms, r in rows:
        table.add_row(f"{chunk_ms:g} ms", str(r["frame_bytes"]), f"{r['frames_in']:,}", f"{r['frames_out']:,}",
                      f"{r['frames_out'] / r['expected_out']:.1%}", f"{r['mbit_in']:.2f}", f"{r['mbit_out']:.1f}",
                      f"{r['p50']:.1f}", f"{r['p99']:.1f}", f"{r['max']:.1f}", f"{r['p99_first']:.1f}",
                      f"{r['p99_last']:.1f}", f"{r['server_cpu']:.0%}")
    console.print(table)
    for chunk_ms, r in rows:
        kept_up = r["frames_out"] == r["expected_out"] and r["p99_last"] <= max(2 * r["p99_first"], 50)
        console.print(f"{chunk_ms:g} ms frames: p99 {r['p99']:.1f} ms (target ≤ 50: "
                      f"{'met' if r['p99'] <= 50 else 'NOT met'}); {r['mbit_in']:.2f} Mbit/s in "
                      f"({'kept up' if kept_up else 'fell behind'})")
    console.print(f"server peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
