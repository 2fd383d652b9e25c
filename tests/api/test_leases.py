"""Leases on background jobs in Redis: one holder at a time, renewed while held, released at
shutdown, taken over when the holder stops renewing."""

from __future__ import annotations

import time

import redis

from jiefang.api.leases import Leases
from jiefang.events_redis import quick_client

JOBS = ("dispatch", "drills")


def _worker(url: str, prefix: str, ttl_s: float = 5.0) -> Leases:
    return Leases(redis.Redis.from_url(url), prefix, JOBS, ttl_s)


def test_one_worker_holds_each_job_and_keeps_it_while_renewing(redis_url, redis_prefix):
    a, b = _worker(redis_url, redis_prefix), _worker(redis_url, redis_prefix)
    assert a.refresh() == set(JOBS)
    assert b.refresh() == set()
    assert a.refresh() == set(JOBS) and b.refresh() == set()  # renewal keeps them
    assert a.holds("dispatch") and not b.holds("dispatch")
    holder = redis.Redis.from_url(redis_url).get(f"{redis_prefix}:lease:dispatch")
    assert holder is not None and holder.decode() == a.token  # host:pid:random, who holds it


def test_release_hands_the_jobs_over_at_once(redis_url, redis_prefix):
    a, b = _worker(redis_url, redis_prefix), _worker(redis_url, redis_prefix)
    a.refresh()
    a.release()
    assert not a.holds("dispatch")
    assert b.refresh() == set(JOBS)
    a.release()  # holding nothing: releases nobody else's
    assert b.refresh() == set(JOBS)


def test_a_holder_that_stops_renewing_loses_the_lease_first_then_another_takes_it(redis_url, redis_prefix):
    a, b = _worker(redis_url, redis_prefix, ttl_s=0.5), _worker(redis_url, redis_prefix, ttl_s=0.5)
    assert a.refresh() == set(JOBS)
    time.sleep(0.45)  # past a's trusted time (80 % of the ttl), before the key expires
    assert not a.holds("dispatch")
    time.sleep(0.15)
    assert b.refresh() == set(JOBS)
    assert a.refresh() == set()  # a comes back: b's now, a does not renew what it lost


def test_redis_unreachable_runs_no_job(redis_prefix):
    lost = Leases(quick_client("redis://127.0.0.1:1/0"), redis_prefix, JOBS, 5.0)
    assert lost.refresh() == set() and not lost.holds("dispatch")
