"""The Redis position store: shared between workers, and answering as the in-memory index does."""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
import redis
from shapely.geometry import Polygon

from jiefang.errors import InvalidInput
from jiefang.geo.projection import LocalProjection
from jiefang.tracking.index import EQUIPMENT_KEYS, ROLE_KEYS, SKILL_KEYS, OnDutyMember, PositionIndex, PositionStore
from jiefang.tracking.redis_store import RedisPositionStore

PROJECTION = LocalProjection(lon0=113.3, lat0=23.1)
DEG = 1 / 111_195.0  # degrees of latitude per metre


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2)


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test alone; every key under it is deleted afterwards."""
    client = connect(redis_url)
    name = f"jftest:{uuid.uuid4().hex[:12]}:duty"
    yield name
    RedisPositionStore(client, name).clear()
    assert not list(client.scan_iter(match=f"{name}:*"))
    client.close()


@pytest.fixture
def store(redis_url: str, prefix: str) -> Iterator[RedisPositionStore]:
    client = connect(redis_url)
    yield RedisPositionStore(client, prefix)
    client.close()


def member(member_id: int, lon: float = 113.3, lat: float = 23.1, **kw) -> OnDutyMember:
    return OnDutyMember(member_id, kw.pop("unit_id", 1), lon, lat, **kw)


def random_members(seed: int, n: int, spread_deg: float) -> list[OnDutyMember]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        unit = int(rng.integers(0, 6))
        out.append(OnDutyMember(
            member_id=i, unit_id=unit, team_id=None if unit == 0 else unit * 10 + int(rng.integers(0, 2)),
            lon=113.3 + float(rng.normal(0, spread_deg)), lat=23.1 + float(rng.normal(0, spread_deg)),
            role=str(rng.choice(ROLE_KEYS)), skills=frozenset(s for s in SKILL_KEYS if rng.random() < 0.35),
            equipment=frozenset(e for e in EQUIPMENT_KEYS if rng.random() < 0.5),
            mode=str(rng.choice(["walk", "run", "e_bike", "car"])),
        ))
    return out


def assert_same_hits(redis_hits, index_hits, k: int | None = None) -> None:
    """Same members in the same order, up to Redis's geohash precision (~0.6 m) and the
    projection's scale error; members may only swap or differ where distances nearly tie."""
    def tolerance(d: float) -> float:
        return 2.0 + 1e-3 * d

    by_index = {h.member_id: h for h in index_hits}
    by_redis = {h.member_id: h for h in redis_hits}
    for h in redis_hits:
        if h.member_id in by_index:
            assert abs(h.distance_m - by_index[h.member_id].distance_m) <= tolerance(h.distance_m)
            if h.distance_m > 1:  # same mode of travel, so the same seconds per metre
                ours = by_index[h.member_id]
                assert h.eta_s / h.distance_m == pytest.approx(ours.eta_s / ours.distance_m)
    if k is not None and len(index_hits) == k:
        cutoff = index_hits[-1].distance_m
        for m in set(by_index) ^ set(by_redis):
            d = (by_index.get(m) or by_redis[m]).distance_m
            assert abs(d - cutoff) <= tolerance(cutoff), "members differ away from the k-th distance"
    else:
        assert set(by_index) == set(by_redis)
    for a, b in itertools.pairwise(redis_hits):
        assert a.distance_m <= b.distance_m


def test_position_written_by_one_worker_is_found_by_another(redis_url, prefix):
    writer_client, reader_client = connect(redis_url), connect(redis_url)
    writer, reader = RedisPositionStore(writer_client, prefix), RedisPositionStore(reader_client, prefix)
    writer.upsert(member(1, 113.3, 23.1, skills=frozenset({"first_aid"}), mode="e_bike"))
    writer.update_positions([1], [113.301], [23.1])
    (hit,) = reader.nearest(113.3, 23.1, 5, skills=["first_aid"])
    assert hit.member_id == 1 and hit.distance_m == pytest.approx(102.4, abs=1.0)
    assert hit.eta_s == pytest.approx(hit.distance_m * 1.3 / 5.5, rel=1e-3)
    assert (hit.lon, hit.lat) == pytest.approx((113.301, 23.1), abs=1e-5)
    assert len(reader) == 1
    writer_client.close()
    reader_client.close()


@pytest.mark.parametrize("seed", range(4))
def test_nearest_and_circles_match_the_in_memory_index(store, seed):
    members = random_members(seed, 400, spread_deg=0.02)
    index = PositionIndex(PROJECTION)
    for m in members:
        store.upsert(m)
        index.upsert(m)
    rng = np.random.default_rng(100 + seed)
    ids = rng.choice(len(members), 150, replace=False)
    lon, lat = 113.3 + rng.normal(0, 0.02, ids.size), 23.1 + rng.normal(0, 0.02, ids.size)
    assert store.update_positions(ids, lon, lat) == index.update_positions(ids, lon, lat) == ids.size
    for gone in ids[:20].tolist():
        assert store.remove(gone) and index.remove(gone)
    cases = [{}, {"skills": ["first_aid"]}, {"skills": ["fire", "driving"]}, {"equipment": ["aed"]},
             {"roles": ["guard", "leader"]}, {"team_id": 31}, {"unit_id": 2}, {"skills": ["mediation"], "unit_id": 4}]
    for where in cases:
        for _ in range(4):
            qlon, qlat = 113.3 + float(rng.normal(0, 0.02)), 23.1 + float(rng.normal(0, 0.02))
            assert_same_hits(store.nearest(qlon, qlat, 15, **where), index.nearest(qlon, qlat, 15, **where), k=15)
            assert_same_hits(store.nearest(qlon, qlat, 5, max_distance_m=800, **where),
                             index.nearest(qlon, qlat, 5, max_distance_m=800, **where), k=5)
            assert_same_hits(store.within_circle(qlon, qlat, 1500, **where),
                             index.within_circle(qlon, qlat, 1500, **where))


def test_nearest_widens_the_search_for_far_and_rare_members(store):
    store.upsert(member(1, 113.3, 23.1 + 30_000 * DEG, skills=frozenset({"ex_military"})))
    for i in range(2, 200):
        store.upsert(member(i, 113.3 + i * 1e-5, 23.1))
    assert [h.member_id for h in store.nearest(113.3, 23.1, 1, skills=["ex_military"])] == [1]
    assert store.nearest(113.3, 23.1, 1, skills=["ex_military"], max_distance_m=20_000) == []


def test_within_polygon_matches_the_index(store):
    members = random_members(9, 300, spread_deg=0.01)
    index = PositionIndex(PROJECTION)
    for m in members:
        store.upsert(m)
        index.upsert(m)
    area = Polygon([(113.29, 23.09), (113.31, 23.095), (113.305, 23.11), (113.295, 23.105)])
    assert store.within_polygon(area, roles=["guard", "volunteer"]) == index.within_polygon(
        area, roles=["guard", "volunteer"])


def test_going_off_duty_leaves_no_trace_in_any_key(store):
    store.upsert(member(1, unit_id=3, team_id=7, skills=frozenset({"fire", "first_aid"})))
    assert store.remove(1) and not store.remove(1)
    client = store.client
    for key in client.scan_iter(match=f"{store.prefix}:*"):
        kind = client.type(key)
        if kind == b"zset":
            assert client.zscore(key, "1") is None
        else:
            assert not client.hexists(key, "1")
    assert store.nearest(113.3, 23.1, 3) == [] and len(store) == 0


def test_changing_team_moves_the_member_between_team_keys(store):
    store.upsert(member(1, team_id=5, skills=frozenset({"fire"})))
    store.upsert(member(1, team_id=6))
    assert store.nearest(113.3, 23.1, 1, team_id=5) == [] and store.nearest(113.3, 23.1, 1, skills=["fire"]) == []
    assert [h.member_id for h in store.nearest(113.3, 23.1, 1, team_id=6)] == [1]
    assert store.client.zcard(store.key("team", 5)) == 0


def test_updates_for_members_not_on_duty_are_ignored_and_bad_positions_refused(store):
    store.upsert(member(1))
    assert store.update_positions([1, 2, 1], [113.31, 113.0, 113.32], [23.1, 23.0, 23.1]) == 1
    assert store.client.zcard(store.key("all")) == 1
    assert store.nearest(113.32, 23.1, 1)[0].lon == pytest.approx(113.32, abs=1e-5)
    with pytest.raises(InvalidInput, match="not a valid WGS84"):
        store.update_positions([1], [113.3], [89.0])
    with pytest.raises(InvalidInput, match="unknown skill"):
        store.nearest(113.3, 23.1, 1, skills=["juggling"])
    with pytest.raises(InvalidInput, match="k must be"):
        store.nearest(113.3, 23.1, -1)
    assert math.isfinite(store.nearest(113.3, 23.1, 1)[0].eta_s)


def test_clients_decoding_responses_work_too(redis_url, prefix):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisPositionStore(client, prefix)
    store.upsert(member(4, skills=frozenset({"driving"})))
    assert [h.member_id for h in store.nearest(113.3, 23.1, 1, skills=["driving"])] == [4]
    client.close()


def test_redis_store_satisfies_the_position_store_protocol(store):
    assert isinstance(store, PositionStore)
