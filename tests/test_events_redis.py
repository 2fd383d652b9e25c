"""The event bus shared through Redis: global numbers, remote delivery to the subscribers that ask
for it, replay from any worker, local delivery through a Redis outage."""

from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from jiefang.events import Event
from jiefang.events_redis import RedisEventBus, quick_client

WAIT_S = 5.0


def _bus(url: str, prefix: str, keep: int = 5000) -> RedisEventBus:
    client = quick_client(url)
    reader = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    return RedisEventBus(client, prefix, keep=keep, reader=reader)


@pytest.fixture
def two(redis_url: str, redis_prefix: str) -> Iterator[tuple[RedisEventBus, RedisEventBus]]:
    """Two workers' buses on one namespace, listening."""
    a, b = _bus(redis_url, redis_prefix), _bus(redis_url, redis_prefix)
    a.start()
    b.start()
    yield a, b
    a.close()
    b.close()


def _collect(bus: RedisEventBus, *, remote: bool) -> queue.Queue[Event]:
    got: queue.Queue[Event] = queue.Queue()
    bus.subscribe(got.put, remote=remote)
    return got


def _next(got: queue.Queue[Event]) -> Event:
    return got.get(timeout=WAIT_S)


def test_event_published_in_one_worker_reaches_remote_subscribers_of_the_other_with_its_number(two):
    a, b = two
    on_b, local_only_b, on_a = _collect(b, remote=True), _collect(b, remote=False), _collect(a, remote=True)
    sent = a.publish("dispatch.alert", member_id=7, incident_id=3)
    assert on_a.get_nowait() == sent  # local subscribers are called before publish returns
    received = _next(on_b)
    assert received == sent and received["seq"] >= 1
    b.publish("duty.check_in", member_id=8)
    assert local_only_b.get_nowait()["type"] == "duty.check_in"  # its own event, synchronously
    assert local_only_b.empty()  # but never the other worker's alert
    assert b.last_seq == received["seq"] + 1 and on_a.get(timeout=WAIT_S)["type"] == "duty.check_in"


def test_numbers_are_global_and_increasing_across_workers(two, redis_url, redis_prefix):
    a, b = two
    seqs = [bus.publish("x", n=i)["seq"] for i, bus in enumerate([a, b, a, b, b, a])]
    assert seqs == list(range(seqs[0], seqs[0] + 6))
    assert _bus(redis_url, redis_prefix).last_seq == seqs[-1]  # a worker just started knows the latest


def test_payload_redis_cannot_encode_natively_is_sent_as_text(two):
    a, b = two
    got = _collect(b, remote=True)
    when = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    a.publish("x", at_local=when)
    assert _next(got)["at_local"] == str(when)


def test_replay_is_served_by_any_worker_and_skips_snapshots(two):
    a, b = two
    first = a.publish("incident.created", incident_id=1)
    a.publish("positions", keep=False, district_id=1, moved=[], gone=[])
    third = a.publish("dispatch.alert", member_id=2)
    events, complete = b.replay(first["seq"] - 1)
    assert complete and events == [first, third]
    events, complete = b.replay(third["seq"])
    assert complete and events == []
    assert b.replay(third["seq"] + 100)[1] is False  # ahead of the bus: the numbers were reset


def test_replay_past_the_window_is_incomplete(redis_url, redis_prefix):
    bus = _bus(redis_url, redis_prefix, keep=3)
    sent = [bus.publish("x", n=i) for i in range(5)]
    events, complete = bus.replay(sent[0]["seq"])
    assert not complete and events == sent[2:]
    assert bus.replay(sent[1]["seq"]) == (sent[2:], True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _private_redis(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            client.ping()
            return server
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server to run a private Redis")
def test_redis_outage_keeps_local_delivery_and_the_listener_reconnects():
    port = _free_port()  # a Redis of this test alone: stopping the shared one would hurt others
    server = _private_redis(port)
    url = f"redis://127.0.0.1:{port}/0"
    a, b = _bus(url, "jf"), _bus(url, "jf")
    on_a, on_b = _collect(a, remote=False), _collect(b, remote=True)
    a.start()
    b.start()
    try:
        before = a.publish("x", n=1)
        assert _next(on_b) == before and on_a.get_nowait() == before
        server.kill()
        server.wait()
        during = a.publish("x", n=2)  # no Redis: still delivered here, at once
        assert on_a.get_nowait() == during and during["seq"] == before["seq"] + 1
        assert b.replay(before["seq"]) == ([], False)  # the window cannot be read: reload
        server = _private_redis(port)  # back, empty: numbers start again
        after = a.publish("x", n=3)
        assert _next(on_b)["n"] == 3 and on_a.get_nowait() == after
        assert a.replay(0)[1] is False  # events went unshared a moment ago: clients reload
    finally:
        a.close()
        b.close()
        server.kill()
        server.wait()
