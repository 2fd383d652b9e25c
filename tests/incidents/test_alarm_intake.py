"""An alarm published to the real broker becomes an incident and is dispatched; bad payloads
and unknown devices are counted and logged, and intake goes on."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient

from jiefang.api.app import create_app

WAIT_S = 15.0


def _wait_for(predicate, what):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_S
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_published_alarm_becomes_a_dispatched_incident(settings, broker, topic_root, client_id, publish, admin,
                                                      leader, client):
    unit_id = client.get("/api/auth/me", headers=leader).json()["unit_id"]
    unit = client.get(f"/api/units/{unit_id}", headers=leader).json()
    device = f"btn-{uuid.uuid4().hex[:8]}"
    r = client.post("/api/alarm-devices", headers=leader, json={
        "device_key": device, "unit_id": unit_id, "kind": "panic_button", "lon": unit["lon"], "lat": unit["lat"],
        "incident_type": "public_order"})
    assert r.status_code == 201, r.text
    with_mqtt = settings.model_copy(update={"mqtt_host": broker[0], "mqtt_port": broker[1],
                                            "mqtt_topic": f"{topic_root}/#", "mqtt_client_id": client_id})
    with TestClient(create_app(with_mqtt)) as app:
        subscriber = app.app.state.alarms
        assert subscriber is not None
        publish(b"{not json", device=device)
        publish({"device_id": "never-registered", "alarm_type": "panic_button"}, device="stranger")
        publish({"device_id": device, "alarm_type": "panic_button", "message_id": "m-1"}, device=device)
        publish({"device_id": device, "alarm_type": "panic_button", "message_id": "m-1"}, device=device)  # resent
        _wait_for(lambda: subscriber.stats["accepted"] >= 3, "the alarms to be handled")
        assert subscriber.stats["malformed"] == 1
        token = app.post("/api/auth/login", json={"username": "admin", "password": settings.demo_password})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        incidents = [i for i in app.get("/api/incidents", headers=headers).json() if i["source"] == "iot"]
    assert len(incidents) == 1  # the resent alarm is the same incident
    incident = incidents[0]
    assert incident["unit_id"] == unit_id and incident["type"] == "public_order"
    assert incident["status"] in ("dispatching", "on_scene")
    assert (incident["lon"], incident["lat"]) == (unit["lon"], unit["lat"])  # the device's registered place
