"""1-3-5 compliance roll-ups through the API, on the shipped public-order playbook (2 / 4 / 4
responders, on scene within 60 / 180 / 300 s).

Incidents are reported, answered and arrived at through the API within a second or two; then the
clock of each is moved: its report (and its tiers' deadlines) is set back by a chosen number of
seconds, as if the answers had come that long after the report. Expected times are therefore
that many seconds, give or take the few seconds the requests themselves took.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from jiefang.dispatch.models import TierState
from jiefang.incidents.models import Incident

SLACK_S = 10.0  # the requests of a scenario take a few seconds at most
AWAY_M = 150  # outside the 100 m arrival radius, inside the 250 m self-rescue search


def _report(client, admin, crew):
    r = client.post("/api/incidents", headers=admin, json={"type": "public_order", "lon": crew.lon, "lat": crew.lat})
    assert r.status_code == 201, r.text
    return client.get(f"/api/incidents/{r.json()['id']}", headers=admin).json()


def _alert(client, crew, incident, member_id, action):
    alert = next(a for a in incident["assignments"] if a["member_id"] == member_id)
    r = client.post(f"/api/alerts/{alert['id']}/{action}", headers=crew.headers[member_id])
    assert r.status_code == 200, r.text


def _set_back(sessions, incident_id, seconds):
    """Move an incident's report and its tier deadlines ``seconds`` into the past."""
    with sessions() as s:
        incident = s.get_one(Incident, incident_id)
        incident.reported_at -= timedelta(seconds=seconds)
        for tier in s.scalars(select(TierState).where(TierState.incident_id == incident_id)):
            tier.deadline_at -= timedelta(seconds=seconds)
        s.commit()


def _keep_own_members_off_scene(client, crew):
    """The unit's own members stand 10 m from the site and would be seen arriving by position at
    once: move them out of the arrival radius so that only the scenario's answers count."""
    lon, lat = crew.east(AWAY_M)
    for m in crew.own:
        fix = {"lon": lon, "lat": lat, "t": time.time(), "accuracy_m": 5}
        assert client.post("/api/positions", headers=crew.headers[m], json=fix).json()["status"] == ["accepted"]


@pytest.fixture
def scenario(client, admin, crew, sessions):
    """Four incidents at the crew's site:

    A (20 s ago): the unit accepts, the 4 mutual-aid and 4 reinforcement responders arrive — all pass;
    B (255 s ago): the unit accepts late, one mutual-aid responder arrives late — self-rescue and
      mutual aid fail, reinforcement (due at 300 s) is still pending;
    C (700 s ago): only one reinforcement responder arrives — every tier fails;
    D: closed as a false alarm.
    """
    _keep_own_members_off_scene(client, crew)
    a = _report(client, admin, crew)
    _alert(client, crew, a, crew.own[0], "accept")
    for m in crew.others[:8]:
        _alert(client, crew, a, m, "arrived")
    _set_back(sessions, a["id"], 20)

    b = _report(client, admin, crew)
    _alert(client, crew, b, crew.own[0], "accept")
    _alert(client, crew, b, crew.others[0], "arrived")
    _set_back(sessions, b["id"], 255)

    c = _report(client, admin, crew)
    _alert(client, crew, c, crew.others[4], "arrived")
    _set_back(sessions, c["id"], 700)

    d = _report(client, admin, crew)
    r = client.post(f"/api/incidents/{d['id']}/close", headers=admin, json={"outcome": "false_alarm"})
    assert r.status_code == 200, r.text
    return a["district_id"]


def _tiers(group):
    return {t["tier"]: t for t in group["tiers"]}


def _check_scenario(group):
    assert group["incidents"] == 4 and group["false_alarms"] == 1
    tiers = _tiers(group)
    assert tiers["self_rescue"] == {"tier": "self_rescue", "assessed": 3, "passed": 1, "pending": 0,
                                    "pass_rate": pytest.approx(1 / 3)}
    assert tiers["mutual_aid"] == {"tier": "mutual_aid", "assessed": 3, "passed": 1, "pending": 0,
                                   "pass_rate": pytest.approx(1 / 3)}
    assert tiers["reinforcement"] == {"tier": "reinforcement", "assessed": 2, "passed": 1, "pending": 1,
                                      "pass_rate": 0.5}
    assert (group["all_assessed"], group["all_passed"]) == (3, 1)
    assert group["all_pass_rate"] == pytest.approx(1 / 3)
    first_action = group["self_rescue_first_action"]  # A at 20 s, B at 255 s; C had none
    assert first_action["n"] == 2
    assert first_action["median_s"] == pytest.approx((20 + 255) / 2, abs=SLACK_S)
    assert first_action["p90_s"] == pytest.approx(20 + 0.9 * (255 - 20), abs=SLACK_S)
    arrival = group["first_arrival"]  # A at 20 s, B at 255 s, C at 700 s
    assert arrival["n"] == 3
    assert arrival["median_s"] == pytest.approx(255, abs=SLACK_S)
    assert arrival["p90_s"] == pytest.approx(255 + 0.8 * (700 - 255), abs=SLACK_S)
    expected = [0] * 21
    expected[0] = expected[255 // 30] = expected[20] = 1  # 0–30 s, 240–270 s, 10 min and later
    assert group["arrival_histogram"] == expected


def test_rollup_by_district_counts_passes_pending_times_and_bins(client, admin, scenario):
    r = client.get("/api/compliance", headers=admin, params={"group_by": "district"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["group_by"] == "district" and body["bin_s"] == 30 and body["histogram_max_s"] == 600
    until = datetime.fromisoformat(body["until"])
    assert until - datetime.fromisoformat(body["since"]) == timedelta(days=30)  # the default window
    assert abs(until - datetime.now(UTC)) < timedelta(minutes=1)
    [group] = body["groups"]
    assert group["id"] == scenario and group["code"] and group["name"]
    _check_scenario(group)
    _check_scenario(body["total"])


def test_rollup_by_type_unit_and_city_label_the_groups(client, admin, crew, scenario):
    book = client.app.state.dispatcher.playbooks["public_order"]
    by_type = client.get("/api/compliance", headers=admin, params={"group_by": "type"}).json()
    [group] = by_type["groups"]
    assert (group["code"], group["name"], group["name_en"]) == ("public_order", book.name_zh, book.name_en)
    by_unit = client.get("/api/compliance", headers=admin, params={"group_by": "unit"}).json()
    unit = client.get(f"/api/units/{crew.unit_id}", headers=admin).json()
    [group] = by_unit["groups"]
    assert (group["id"], group["code"], group["name"]) == (crew.unit_id, unit["code"], unit["name"])
    _check_scenario(group)
    city = client.get("/api/compliance", headers=admin, params={"group_by": "city"}).json()
    assert [(g["name"], g["name_en"], g["incidents"]) for g in city["groups"]] == [("全市", "City", 4)]


def test_window_leaves_out_incidents_reported_outside_it(client, admin, scenario):
    now = datetime.now(UTC)
    params = {"since": (now - timedelta(seconds=400)).isoformat(), "until": now.isoformat()}
    total = client.get("/api/compliance", headers=admin, params=params).json()["total"]
    assert total["incidents"] == 3  # C was reported 700 s ago
    params = {"since": (now - timedelta(days=2)).isoformat(), "until": (now - timedelta(days=1)).isoformat()}
    body = client.get("/api/compliance", headers=admin, params=params).json()
    assert body["groups"] == [] and body["total"]["incidents"] == 0
    assert body["total"]["tiers"][0]["pass_rate"] is None and body["total"]["first_arrival"]["median_s"] is None


def test_operators_of_the_district_and_the_unit_leader_see_it_others_see_nothing(
        client, admin, leader, login, scenario):
    district = next(g for g in client.get("/api/compliance", headers=admin).json()["groups"])
    own = client.get("/api/compliance", headers=login(f"op-{district['code']}")).json()
    _check_scenario(own["total"])
    _check_scenario(client.get("/api/compliance", headers=leader).json()["total"])
    other_code = "440111" if district["code"] != "440111" else "440106"
    other = client.get("/api/compliance", headers=login(f"op-{other_code}"))
    assert other.status_code == 200
    assert other.json()["groups"] == [] and other.json()["total"]["incidents"] == 0


def test_members_may_not_read_compliance(client, member, crew, scenario):
    assert client.get("/api/compliance", headers=member).status_code == 403
    assert client.get("/api/compliance.csv", headers=member).status_code == 403
    assert client.get("/api/compliance", headers=crew.headers[crew.others[0]]).status_code == 403
    assert client.get("/api/compliance").status_code == 401


def test_csv_export_has_a_row_per_group_and_the_total(client, admin, scenario):
    r = client.get("/api/compliance.csv", headers=admin, params={"group_by": "district"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.text.startswith("\ufeff")  # spreadsheets then read the Chinese names as UTF-8
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [row["group_by"] for row in rows] == ["district", "total"]
    district, total = rows
    assert district["id"] == str(scenario) and district["name"]
    assert (total["incidents"], total["false_alarms"], total["reinforcement_pending"]) == ("4", "1", "1")
    assert total["self_rescue_pass_rate"] == "0.3333" and total["reinforcement_pass_rate"] == "0.5000"
    assert (total["arrival_0_30s"], total["arrival_240_270s"], total["arrival_600s_plus"]) == ("1", "1", "1")


def test_bad_windows_and_groupings_get_a_clear_422(client, admin):
    now = datetime.now(UTC)
    r = client.get("/api/compliance", headers=admin, params={"since": now.isoformat(),
                                                             "until": (now - timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and "since" in r.json()["message"]
    r = client.get("/api/compliance", headers=admin, params={"since": (now - timedelta(days=400)).isoformat()})
    assert r.status_code == 422
    assert client.get("/api/compliance", headers=admin, params={"group_by": "planet"}).status_code == 422
