"""An incident as a CAP 1.2 message (validated against the CAP 1.2 schema) and as a GeoJSON Feature."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from jiefang.incidents.interchange import incident_to_cap, incident_to_geojson
from jiefang.incidents.models import Incident
from jiefang.incidents.playbooks import shipped_playbooks

CAP = "urn:oasis:names:tc:emergency:cap:1.2"
NS = {"cap": CAP}
SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("data") / "CAP-v1.2.xsd")))
STATUSES = ("reported", "dispatching", "on_scene", "resolved", "false_alarm", "handed_to_police")
PLAYBOOKS = shipped_playbooks()
REPORTED = datetime(2024, 3, 5, 1, 2, 3, 456789, tzinfo=UTC)
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


def _incident(status: str = "reported", type_: str = "fire", severity: int = 1, **extra: object) -> Incident:
    closed = status in ("resolved", "false_alarm", "handed_to_police")
    fields: dict[str, object] = dict(
        id=42, type=type_, severity=severity, status=status, source="console", lon=113.33, lat=23.13,
        address="天河路 <1号> & 2号", description="三楼冒烟", police_handover=status == "handed_to_police",
        reported_at=REPORTED,
        on_scene_at=REPORTED + timedelta(seconds=170) if status in ("on_scene", "resolved") else None,
        closed_at=REPORTED + timedelta(minutes=20, microseconds=5) if closed else None,
        outcome_notes="已扑灭" if closed else None,
    )
    fields.update(extra)
    return Incident(**fields)


def _parse(body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    SCHEMA.assertValid(root)
    return root


def _text(root: etree._Element, path: str) -> str:
    found = root.findtext(path, namespaces=NS)
    assert found is not None, path
    return found


@pytest.mark.parametrize("type_", sorted(PLAYBOOKS))
@pytest.mark.parametrize("status", STATUSES)
def test_every_status_and_shipped_type_is_valid_cap(status: str, type_: str) -> None:
    incident = _incident(status, type_)
    for lang in ("zh-CN", "en-US"):
        root = _parse(incident_to_cap(incident, PLAYBOOKS[type_], sender="jiefang", lang=lang))
        assert root.tag == f"{{{CAP}}}alert"
        assert _text(root, "cap:info/cap:language") == lang
        assert _text(root, "cap:incidents") == "jiefang-incident-42"


def test_event_is_the_types_name_in_the_messages_language() -> None:
    fire = _incident()
    zh = _parse(incident_to_cap(fire, PLAYBOOKS["fire"], sender="jiefang"))
    en = _parse(incident_to_cap(fire, PLAYBOOKS["fire"], sender="jiefang", lang="en-US"))
    assert _text(zh, "cap:info/cap:event") == "火灾"
    assert _text(en, "cap:info/cap:event") == "Fire"


def test_xml_special_characters_in_text_are_escaped() -> None:
    root = _parse(incident_to_cap(_incident(), PLAYBOOKS["fire"], sender="jiefang"))
    assert _text(root, "cap:info/cap:area/cap:areaDesc") == "天河路 <1号> & 2号"


@pytest.mark.parametrize(("type_", "category"), [
    ("violent_crime", "Security"), ("public_order", "Security"), ("fire", "Fire"), ("medical", "Health"),
    ("traffic_accident", "Transport"), ("missing_person", "Rescue"), ("dispute", "Safety"), ("gas_leak", "Other"),
])
def test_incident_types_map_to_cap_categories(type_: str, category: str) -> None:
    root = _parse(incident_to_cap(_incident(type_=type_), PLAYBOOKS.get(type_), sender="jiefang"))
    assert root.findall("cap:info/cap:category", NS)[0].text == category


def test_every_shipped_type_has_a_category_of_its_own() -> None:
    for type_, book in PLAYBOOKS.items():
        root = _parse(incident_to_cap(_incident(type_=type_), book, sender="jiefang"))
        assert _text(root, "cap:info/cap:category") != "Other", type_


@pytest.mark.parametrize(("severity", "expected"), [(1, "Extreme"), (2, "Severe"), (3, "Moderate"), (4, "Minor")])
def test_severity_levels_map_to_cap_severity(severity: int, expected: str) -> None:
    root = _parse(incident_to_cap(_incident(severity=severity), PLAYBOOKS["fire"], sender="jiefang"))
    assert _text(root, "cap:info/cap:severity") == expected


@pytest.mark.parametrize(("status", "msg_type", "urgency", "certainty", "response"), [
    ("reported", "Alert", "Immediate", "Likely", "Execute"),
    ("dispatching", "Alert", "Immediate", "Likely", "Execute"),
    ("on_scene", "Update", "Immediate", "Observed", "Execute"),
    ("resolved", "Update", "Past", "Observed", "AllClear"),
    ("handed_to_police", "Update", "Past", "Observed", "None"),
    ("false_alarm", "Cancel", "Past", "Unlikely", "None"),
])
def test_status_maps_to_message_type_urgency_and_certainty(
    status: str, msg_type: str, urgency: str, certainty: str, response: str
) -> None:
    root = _parse(incident_to_cap(_incident(status), PLAYBOOKS["fire"], sender="jiefang"))
    assert _text(root, "cap:msgType") == msg_type
    assert _text(root, "cap:info/cap:urgency") == urgency
    assert _text(root, "cap:info/cap:certainty") == certainty
    assert _text(root, "cap:info/cap:responseType") == response


def test_false_alarm_cancels_the_original_alert() -> None:
    sender = "jiefang"
    alert = _parse(incident_to_cap(_incident("reported"), PLAYBOOKS["fire"], sender=sender))
    cancel = _parse(incident_to_cap(_incident("false_alarm"), PLAYBOOKS["fire"], sender=sender))
    assert _text(cancel, "cap:msgType") == "Cancel"
    assert _text(cancel, "cap:identifier") != _text(alert, "cap:identifier")
    original = ",".join(_text(alert, f"cap:{tag}") for tag in ("sender", "identifier", "sent"))
    assert _text(cancel, "cap:references") == original
    assert alert.find("cap:references", NS) is None


def test_the_message_of_a_status_is_stable() -> None:
    incident = _incident("on_scene")
    assert incident_to_cap(incident, PLAYBOOKS["fire"], sender="jiefang") == incident_to_cap(
        incident, PLAYBOOKS["fire"], sender="jiefang")


@pytest.mark.parametrize("status", STATUSES)
def test_times_have_an_offset_and_no_fraction_of_a_second(status: str) -> None:
    incident = _incident(status)
    utc = _parse(incident_to_cap(incident, PLAYBOOKS["fire"], sender="jiefang"))
    local = _parse(incident_to_cap(incident, PLAYBOOKS["fire"], sender="jiefang", tz=ZoneInfo("Asia/Shanghai")))
    for root in (utc, local):
        for tag in ("cap:sent", "cap:info/cap:onset"):
            assert CAP_TIME.match(_text(root, tag)), _text(root, tag)
    assert _text(utc, "cap:info/cap:onset") == "2024-03-05T01:02:03-00:00"  # CAP writes UTC as -00:00
    assert _text(local, "cap:info/cap:onset") == "2024-03-05T09:02:03+08:00"
    if status == "false_alarm":
        assert _text(local, "cap:sent") == "2024-03-05T09:22:03+08:00"  # when it was closed


def test_area_is_a_circle_of_the_arrival_radius_around_the_incident() -> None:
    root = _parse(incident_to_cap(_incident(), PLAYBOOKS["fire"], sender="jiefang"))
    km = PLAYBOOKS["fire"].arrival_radius_m / 1000
    assert _text(root, "cap:info/cap:area/cap:circle") == f"23.130000,113.330000 {km:g}"


def test_area_without_an_address_is_described_by_coordinates() -> None:
    root = _parse(incident_to_cap(_incident(address=None), PLAYBOOKS["fire"], sender="jiefang"))
    assert _text(root, "cap:info/cap:area/cap:areaDesc") == "23.130000,113.330000"


@pytest.mark.parametrize("sender", ["", "jie fang", "a,b", "a<b", "a&b"])
def test_sender_with_characters_cap_forbids_is_refused(sender: str) -> None:
    with pytest.raises(ValueError, match="sender"):
        incident_to_cap(_incident(), PLAYBOOKS["fire"], sender=sender)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        incident_to_cap(_incident(reported_at=datetime(2024, 3, 5)), PLAYBOOKS["fire"], sender="jiefang")


def test_geojson_is_a_point_feature_with_the_incidents_properties() -> None:
    feature = incident_to_geojson(_incident("resolved"), PLAYBOOKS["fire"])
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [113.33, 23.13]}
    props = feature["properties"]
    assert props["name_zh"] == "火灾" and props["status"] == "resolved" and props["severity"] == 1
    assert props["arrival_radius_m"] == PLAYBOOKS["fire"].arrival_radius_m
    assert datetime.fromisoformat(props["reported_at"]) == REPORTED
    assert "reporter_account_id" not in props and "reporter_member_id" not in props


# --- through the API -------------------------------------------------------------------------


def _report_fire(client, admin) -> int:  # type: ignore[no-untyped-def]
    body = {"type": "fire", "lon": 113.33, "lat": 23.13, "address": "天河路"}
    r = client.post("/api/incidents", headers=admin, json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_cap_of_a_reported_incident_is_a_valid_alert(client, admin) -> None:  # type: ignore[no-untyped-def]
    incident_id = _report_fire(client, admin)
    r = client.get(f"/api/incidents/{incident_id}/cap.xml", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/cap+xml")
    root = _parse(r.content)
    assert _text(root, "cap:identifier") == f"jiefang-incident-{incident_id}"
    assert _text(root, "cap:msgType") == "Alert"
    assert _text(root, "cap:info/cap:event") == "火灾"
    assert _text(root, "cap:sent").endswith("+08:00")  # the city's time zone
    english = client.get(f"/api/incidents/{incident_id}/cap.xml", params={"lang": "en-US"}, headers=admin)
    assert _text(_parse(english.content), "cap:info/cap:event") == "Fire"


def test_cap_of_a_false_alarm_is_a_valid_cancel(client, admin) -> None:  # type: ignore[no-untyped-def]
    incident_id = _report_fire(client, admin)
    r = client.post(f"/api/incidents/{incident_id}/close", headers=admin, json={"outcome": "false_alarm"})
    assert r.status_code == 200, r.text
    root = _parse(client.get(f"/api/incidents/{incident_id}/cap.xml", headers=admin).content)
    assert _text(root, "cap:msgType") == "Cancel"
    assert _text(root, "cap:references").split(",")[1] == f"jiefang-incident-{incident_id}"


def test_geojson_of_an_incident_is_a_point_feature(client, admin) -> None:  # type: ignore[no-untyped-def]
    incident_id = _report_fire(client, admin)
    r = client.get(f"/api/incidents/{incident_id}/geojson", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    feature = r.json()
    assert feature["type"] == "Feature" and feature["id"] == incident_id
    assert feature["geometry"] == {"type": "Point", "coordinates": [113.33, 23.13]}
    assert feature["properties"]["type"] == "fire" and feature["properties"]["address"] == "天河路"


@pytest.mark.parametrize("export", ["cap.xml", "geojson"])
def test_operator_of_another_district_cannot_export(client, admin, login, export: str) -> None:  # type: ignore[no-untyped-def]
    incident_id = _report_fire(client, admin)
    r = client.get(f"/api/incidents/{incident_id}/{export}", headers=login("op-440111"))
    assert r.status_code == 404


@pytest.mark.parametrize("export", ["cap.xml", "geojson"])
def test_export_needs_a_login(client, admin, export: str) -> None:  # type: ignore[no-untyped-def]
    incident_id = _report_fire(client, admin)
    assert client.get(f"/api/incidents/{incident_id}/{export}").status_code == 401


@pytest.mark.parametrize("export", ["cap.xml", "geojson"])
def test_member_not_involved_cannot_export(client, admin, member, export: str) -> None:  # type: ignore[no-untyped-def]
    incident_id = _report_fire(client, admin)
    assert client.get(f"/api/incidents/{incident_id}/{export}", headers=member).status_code == 404
