"""The hotspot scan over stored reports: a stored hotspot, an alert event, the operator's list."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np

from jiefang.db import utcnow
from jiefang.reports.hotspots import scan
from jiefang.reports.models import HazardReport


def _add(s, rng, n, lon, lat, spread_m, days, category):  # type: ignore[no-untyped-def]
    now = utcnow()
    for _ in range(n):
        dx, dy = rng.normal(0, spread_m, 2)
        s.add(
            HazardReport(
                category=category,
                text="",
                lon=lon + dx / (111_195 * math.cos(math.radians(lat))),
                lat=lat + dy / 111_195,
                position_source="device",
                status="new",
                created_at=now - timedelta(days=float(rng.random() * days)),
                updated_at=now,
            )
        )


def test_scan_stores_a_hotspot_and_alerts_the_district(client, tianhe_operator, site, sessions, settings):
    lon, lat = site
    rng = np.random.default_rng(1)
    seen: list[dict] = []
    client.app.state.bus.subscribe(seen.append)
    with sessions() as s:
        _add(s, rng, 60, lon, lat, 3000.0, 28.0, "fire_hazard")  # a month of scattered background
        _add(s, rng, 5, lon, lat, 80.0, 0.4, "dispute")  # five disputes at one corner since this morning
        _add(s, rng, 1, lon, lat, 80.0, 0.4, "suspicious")  # a related category counts with them
        s.commit()
        raised = scan(s, client.app.state.bus, settings)
        assert [h.category_group for h in raised] == ["order"] and raised[0].reports == 6
        assert scan(s, client.app.state.bus, settings) == []  # known, not grown: no second alert
    alerts = [e for e in seen if e["type"] == "hotspot.alert"]
    assert len(alerts) == 1 and alerts[0]["district_id"] is not None and len(alerts[0]["report_ids"]) == 6
    listed = client.get("/api/hotspots", headers=tianhe_operator).json()
    assert len(listed) == 1 and listed[0]["reports"] == 6 and listed[0]["radius_m"] < 500


def test_scan_without_enough_history_raises_nothing(client, site, sessions, settings):
    lon, lat = site
    with sessions() as s:
        _add(s, np.random.default_rng(2), 8, lon, lat, 50.0, 0.2, "dispute")
        s.commit()
        assert scan(s, None, settings) == []
