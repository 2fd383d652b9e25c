"""Idempotency keys: a POST repeated with the same key is executed once and answered the same way."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from jiefang.api.idempotency import IdempotencyKey, claim
from jiefang.db import utcnow
from jiefang.dispatch.models import Assignment
from jiefang.incidents.models import Incident
from jiefang.tracking.service import sync_on_duty

from ..dispatch.conftest import give_logins, put_crew_on_duty  # type: ignore[import-not-found]


@pytest.fixture
def crew(client, admin, leader, sessions, settings):  # type: ignore[no-untyped-def]
    crew = put_crew_on_duty(sessions, client.get("/api/auth/me", headers=leader).json()["unit_id"])
    with sessions() as s:
        sync_on_duty(s, client.app.state.tracker)
    give_logins(client, admin, crew, settings.demo_password)
    return crew


def _sos_count(sessions, member_id: int) -> int:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return s.scalar(select(func.count(Incident.id)).where(Incident.reporter_member_id == member_id)) or 0


def _sos(client, headers, crew, key, **extra):  # type: ignore[no-untyped-def]
    body = {"lon": crew.lon, "lat": crew.lat, **extra}
    return client.post("/api/incidents/sos", headers={**headers, "Idempotency-Key": key}, json=body)


def test_repeated_sos_with_one_key_makes_one_incident_and_the_same_answer(client, sessions, crew):
    me = crew.own[0]
    first = _sos(client, crew.headers[me], crew, "sos-0001")
    again = _sos(client, crew.headers[me], crew, "sos-0001")
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true" and "idempotent-replayed" not in first.headers
    assert _sos_count(sessions, me) == 1
    other = _sos(client, crew.headers[me], crew, "sos-0002")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert _sos_count(sessions, me) == 2


def test_accepting_twice_with_one_key_answers_the_first_result(client, admin, crew):
    incident = client.post(
        "/api/incidents", headers=admin, json={"type": "public_order", "lon": crew.lon, "lat": crew.lat}
    ).json()
    me = crew.own[0]
    alert = next(
        a for a in client.get("/api/alerts/mine", headers=crew.headers[me]).json() if a["incident_id"] == incident["id"]
    )
    headers = {**crew.headers[me], "Idempotency-Key": "accept-7f3a"}
    first = client.post(f"/api/alerts/{alert['id']}/accept", headers=headers)
    again = client.post(f"/api/alerts/{alert['id']}/accept", headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["status"] == "accepted"


def test_concurrent_requests_with_one_key_make_one_incident(client, sessions, crew):
    me = crew.own[0]
    start = threading.Barrier(4)
    answers = []

    def send() -> None:
        start.wait()
        answers.append(_sos(client, crew.headers[me], crew, "race-42"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in answers} <= {201, 409}, [r.text for r in answers]
    made = [r.json()["id"] for r in answers if r.status_code == 201]
    assert made and len(set(made)) == 1
    assert all(r.json()["error"] == "idempotency_in_flight" for r in answers if r.status_code == 409)
    assert _sos_count(sessions, me) == 1
    assert _sos(client, crew.headers[me], crew, "race-42").json()["id"] == made[0]  # settled: replayed


def test_a_repeat_while_the_first_runs_gets_409(client, sessions, crew):
    me = crew.own[0]
    first = _sos(client, crew.headers[me], crew, "busy-1")
    with sessions() as s:  # as if the first request were still running
        s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "busy-1")
            .values(status_code=None, body=None, locked_at=utcnow())
        )
        s.commit()
    r = _sos(client, crew.headers[me], crew, "busy-1")
    assert r.status_code == 409 and r.json()["error"] == "idempotency_in_flight"
    assert r.headers["retry-after"] == "1"
    assert _sos_count(sessions, me) == 1 and first.status_code == 201


def test_a_lost_answer_after_the_commit_never_makes_a_second_incident(client, sessions, crew):
    """The worker died after committing the incident and before storing its answer: once the claim
    is stale, the repeat runs again and finds the incident by the key kept in its transaction."""
    me = crew.own[0]
    first = _sos(client, crew.headers[me], crew, "crash-9")
    with sessions() as s:
        s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "crash-9")
            .values(status_code=None, body=None, locked_at=utcnow() - timedelta(hours=1))
        )
        s.commit()
    again = _sos(client, crew.headers[me], crew, "crash-9")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert "idempotent-replayed" not in again.headers  # it ran again, and found the incident
    assert _sos_count(sessions, me) == 1


def test_one_key_for_a_different_request_is_refused_until_it_expires(client, sessions, crew):
    me = crew.own[0]
    assert _sos(client, crew.headers[me], crew, "reuse-1").status_code == 201
    r = _sos(client, crew.headers[me], crew, "reuse-1", description="something else")
    assert r.status_code == 422 and r.json()["error"] == "idempotency_key_reused"
    with sessions() as s:
        s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "reuse-1")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        s.commit()
    r = client.post("/api/alerts/999999/decline", headers={**crew.headers[me], "Idempotency-Key": "reuse-1"})
    assert r.status_code == 404  # the expired key is free again: this request ran


def test_keys_belong_to_one_account(client, sessions, crew):
    a, b = crew.own
    assert _sos(client, crew.headers[a], crew, "shared-key").status_code == 201
    assert _sos(client, crew.headers[b], crew, "shared-key").status_code == 201
    assert _sos_count(sessions, a) == _sos_count(sessions, b) == 1


def test_bad_keys_are_refused_and_unauthenticated_requests_pass_to_the_route(client, crew):
    me = crew.own[0]
    assert _sos(client, crew.headers[me], crew, "k" * 101).status_code == 422
    r = client.post("/api/incidents/sos", headers={"Idempotency-Key": "anon-1"}, json={"lon": 113.3, "lat": 23.1})
    assert r.status_code == 401


def test_errors_are_stored_too_but_not_server_errors(client, sessions, crew):
    me = crew.own[0]
    headers = {**crew.headers[me], "Idempotency-Key": "missing-alert"}
    first = client.post("/api/alerts/999999/accept", headers=headers)
    assert first.status_code == 404
    assert client.post("/api/alerts/999999/accept", headers=headers).headers.get("idempotent-replayed") == "true"


def test_claim_takes_over_only_a_stale_claim(sessions, client, crew):
    account_id = client.get("/api/auth/me", headers=crew.headers[crew.own[0]]).json()["id"]
    now = utcnow()
    with sessions() as s:
        assert claim(s, account_id, "k1", "f" * 64, 3600, 60, now).outcome == "run"
        assert claim(s, account_id, "k1", "f" * 64, 3600, 60, now + timedelta(seconds=30)).outcome == "busy"
        assert claim(s, account_id, "k1", "g" * 64, 3600, 60, now).outcome == "mismatch"
        assert claim(s, account_id, "k1", "f" * 64, 3600, 60, now + timedelta(seconds=61)).outcome == "run"
        assert claim(s, account_id, "k1", "f" * 64, 3600, 60, now + timedelta(seconds=62)).outcome == "busy"
        assert claim(s, account_id, "k1", "f" * 64, 3600, 60, now + timedelta(hours=2)).outcome == "run"  # expired


def test_external_intake_keeps_its_own_key_contract(client, admin, crew):
    headers = {**admin, "Idempotency-Key": "110-x-1"}
    body = {"type": "fire", "lon": crew.lon, "lat": crew.lat}
    assert client.post("/api/incidents/external", headers=headers, json=body).status_code == 201
    again = client.post("/api/incidents/external", headers=headers, json=body)
    assert again.status_code == 200 and again.json()["created"] is False


def test_assignment_is_answered_once_when_accept_and_decline_race_with_keys(client, admin, sessions, crew):
    incident = client.post(
        "/api/incidents", headers=admin, json={"type": "public_order", "lon": crew.lon, "lat": crew.lat}
    ).json()
    me = crew.own[1]
    alert = next(
        a for a in client.get("/api/alerts/mine", headers=crew.headers[me]).json() if a["incident_id"] == incident["id"]
    )
    h = crew.headers[me]
    accepted = client.post(f"/api/alerts/{alert['id']}/accept", headers={**h, "Idempotency-Key": "a-1"})
    declined = client.post(f"/api/alerts/{alert['id']}/decline", headers={**h, "Idempotency-Key": "d-1"})
    assert accepted.status_code == 200 and declined.status_code == 409
    assert (
        client.post(f"/api/alerts/{alert['id']}/decline", headers={**h, "Idempotency-Key": "d-1"}).status_code == 409
    )  # the stored refusal
    with sessions() as s:
        assert s.get_one(Assignment, alert["id"]).status == "accepted"
