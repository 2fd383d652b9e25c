"""Push-to-talk over the voice socket: floor control, relay to the group only, late joiners,
membership, recordings and their place on an incident's timeline."""

from __future__ import annotations

import json
import threading
import zipfile
from io import BytesIO

from jiefang.voice.floor import FloorControl, Holder

from .conftest import FRAME, close, connect, group_of, join, next_json  # type: ignore[import-not-found]

CHUNKS = [b"\x1aE\xdf\xa3webm-header", b"opus-cluster-1" * 20, b"opus-cluster-2" * 20]


def _talk(socket, group_id, chunks=CHUNKS):  # type: ignore[no-untyped-def]
    socket.send_json({"type": "press", "group_id": group_id, "mime": "audio/webm;codecs=opus"})
    granted = next_json(socket, "floor")
    for chunk in chunks:
        socket.send_bytes(chunk)
    socket.send_json({"type": "release"})
    return granted["tx_id"]


def _next_frame(socket) -> dict:  # type: ignore[no-untyped-def]
    """The next frame of any kind: {"text": ...} or {"bytes": ...}."""
    message = socket.receive()
    return {"json": json.loads(message["text"])} if message.get("text") is not None else {"bytes": message["bytes"]}


def test_a_member_of_the_group_hears_the_transmission_and_a_member_of_another_group_nothing(client, talkers):
    unit_group = group_of(client, talkers.a, "unit", talkers.unit_id)
    other_group = group_of(client, talkers.c, "unit", talkers.other_unit_id)
    a, b, c = connect(client, talkers.a), connect(client, talkers.b), connect(client, talkers.c)
    try:
        join(a, unit_group), join(b, unit_group), join(c, other_group)
        c.send_json({"type": "join", "group_id": unit_group})
        assert "not found" in next_json(c, "error")["message"]

        tx_id = _talk(a, unit_group)
        start = next_json(b, "tx_start")
        assert (start["tx_id"], start["group_id"]) == (tx_id, unit_group)
        heard = [b.receive_bytes() for _ in CHUNKS]
        assert [FRAME.unpack(f[:4])[0] for f in heard] == [tx_id] * len(CHUNKS)
        assert [f[4:] for f in heard] == CHUNKS
        assert next_json(b, "tx_end")["tx_id"] == tx_id

        c.send_json({"type": "text", "group_id": other_group, "text": "这里一切正常"})
        first = _next_frame(c)  # nothing of the other group's transmission came before it
        assert first["json"]["type"] == "text" and first["json"]["text"] == "这里一切正常"
    finally:
        for s in (a, b, c):
            close(s)


def test_two_members_pressing_at_the_same_moment_get_exactly_one_floor(client, talkers):
    group = group_of(client, talkers.a, "unit", talkers.unit_id)
    a, b = connect(client, talkers.a), connect(client, talkers.b)
    try:
        join(a, group), join(b, group)
        barrier = threading.Barrier(2)
        answers: dict[str, str] = {}

        def press(name, socket):  # type: ignore[no-untyped-def]
            barrier.wait()
            socket.send_json({"type": "press", "group_id": group})
            while (m := socket.receive_json())["type"] not in ("floor", "busy"):
                pass
            answers[name] = m["type"]

        threads = [threading.Thread(target=press, args=(n, s)) for n, s in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert sorted(answers.values()) == ["busy", "floor"]
    finally:
        close(a), close(b)


def test_floor_control_never_grants_two_holders_under_contention() -> None:
    floor = FloorControl(max_tx_s=60)
    barrier = threading.Barrier(16)
    granted: list[str] = []

    def press(i: int) -> None:
        barrier.wait()
        if floor.press(1, Holder(f"k{i}", f"m{i}", False, 0.0)).granted:
            granted.append(f"k{i}")

    threads = [threading.Thread(target=press, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 1
    assert floor.press(1, Holder("op", "operator", True, 1.0), preempt=True).preempted.speaker_key == granted[0]
    assert not floor.press(1, Holder("k99", "m", False, 2.0), preempt=True).granted  # members cannot pre-empt
    assert floor.press(1, Holder("late", "m", False, 61.0)).granted  # past the maximum length


def test_a_late_joiner_hears_the_transmission_from_its_start(client, talkers):
    group = group_of(client, talkers.a, "unit", talkers.unit_id)
    a, b = connect(client, talkers.a), connect(client, talkers.b)
    try:
        join(a, group)
        a.send_json({"type": "press", "group_id": group})
        tx_id = next_json(a, "floor")["tx_id"]
        for chunk in CHUNKS[:2]:
            a.send_bytes(chunk)
        a.send_json({"type": "text", "group_id": group, "text": "sync"})  # the frames were handled before this
        next_json(a, "text")
        joined = join(b, group)
        assert joined["speaker"]
        assert next_json(b, "tx_start")["late"] is True
        assert [b.receive_bytes()[4:] for _ in range(2)] == CHUNKS[:2]
        a.send_bytes(CHUNKS[2])
        assert b.receive_bytes() == FRAME.pack(tx_id) + CHUNKS[2]
    finally:
        close(a), close(b)


def test_the_recording_is_kept_and_only_members_may_fetch_it(client, talkers, admin):
    group = group_of(client, talkers.a, "unit", talkers.unit_id)
    a = connect(client, talkers.a)
    try:
        join(a, group)
        tx_id = _talk(a, group)
        next_json(a, "tx_end")
    finally:
        close(a)
    bearer = {"Authorization": f"Bearer {talkers.b}"}
    listed = client.get(f"/api/voice/groups/{group}/transmissions", headers=bearer).json()
    assert [(t["id"], t["bytes"], t["ended_reason"]) for t in listed] == [(tx_id, sum(map(len, CHUNKS)), "released")]
    r = client.get(f"/api/voice/transmissions/{tx_id}/audio", headers=bearer)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/webm" and r.content == b"".join(CHUNKS)
    outsider = {"Authorization": f"Bearer {talkers.c}"}
    assert client.get(f"/api/voice/transmissions/{tx_id}/audio", headers=outsider).status_code == 404
    assert client.get(f"/api/voice/groups/{group}/transmissions", headers=outsider).status_code == 404
    assert client.get(f"/api/voice/transmissions/{tx_id}/audio", headers=admin).status_code == 200


def test_a_member_taken_out_of_an_adhoc_group_can_neither_talk_nor_listen(client, tianhe_operator, placed):
    inside = placed.inside
    r = client.post("/api/voice/groups", headers=tianhe_operator, json={
        "name": "正门临时组", "selection": {"kind": "polygon", "polygon": placed.square()}})
    assert r.status_code == 201, r.text
    group = r.json()["id"]
    tokens = {m: placed.headers[m]["Authorization"].split()[1] for m in inside}
    first, second = connect(client, tokens[inside[0]]), connect(client, tokens[inside[1]])
    try:
        join(first, group), join(second, group)
        outsider_token = placed.headers[placed.outside[0]]["Authorization"].split()[1]
        outsider = connect(client, outsider_token)
        outsider.send_json({"type": "join", "group_id": group})
        assert next_json(outsider, "error")["message"]
        close(outsider)

        r = client.delete(f"/api/voice/groups/{group}/members/{inside[1]}", headers=tianhe_operator)
        assert r.status_code == 204
        first.send_json({"type": "press", "group_id": group})
        next_json(first, "floor")
        assert next_json(second, "removed")["group_id"] == group  # dropped at the next transmission
        second.send_json({"type": "press", "group_id": group})
        assert next_json(second, "error")["error"] == "not_joined"
        second.send_json({"type": "join", "group_id": group})
        assert "not found" in next_json(second, "error")["message"]
    finally:
        close(first), close(second)


def test_incident_transmissions_join_its_timeline_and_download_as_one_archive(client, admin, placed):
    r = client.post("/api/incidents", headers=admin, json={"type": "public_order", "lon": placed.lon,
                                                          "lat": placed.lat})
    incident_id = r.json()["id"]
    alerts = client.get(f"/api/incidents/{incident_id}", headers=admin).json()["assignments"]
    responder = next(a["member_id"] for a in alerts if a["distance_m"] > 110)  # not on scene by position
    headers = placed.headers[responder]
    token = headers["Authorization"].split()[1]
    refused = client.post("/api/voice/groups/open", headers=headers, json={"kind": "incident", "ref_id": incident_id})
    assert refused.status_code == 404  # joins the incident's group on accepting, not before
    alert = client.get("/api/alerts/mine", headers=headers).json()[0]
    client.post(f"/api/alerts/{alert['id']}/accept", headers=headers)
    group = group_of(client, token, "incident", incident_id)
    socket = connect(client, token)
    try:
        join(socket, group)
        tx_id = _talk(socket, group)
        next_json(socket, "tx_end")
    finally:
        close(socket)
    timeline = client.get(f"/api/incidents/{incident_id}", headers=admin).json()["timeline"]
    assert any(e["kind"] == "voice" and e["detail"]["transmission_id"] == tx_id for e in timeline)
    r = client.get(f"/api/incidents/{incident_id}/recordings.zip", headers=admin)
    assert r.status_code == 200
    archive = zipfile.ZipFile(BytesIO(r.content))
    names = archive.namelist()
    assert "index.json" in names and len(names) == 2
    audio = next(n for n in names if n.endswith(".webm"))
    assert archive.read(audio) == b"".join(CHUNKS)
    assert client.get(f"/api/incidents/{incident_id}/recordings.zip", headers=headers).status_code == 403


def test_an_operator_cuts_in_and_a_transmission_ends_at_the_maximum_length(settings, talkers):
    from fastapi.testclient import TestClient

    from jiefang.api.app import create_app

    short = settings.model_copy(update={"voice_max_tx_s": 1.0})
    with TestClient(create_app(short)) as client:
        admin_token = client.post("/api/auth/login", json={"username": "admin",
                                                            "password": settings.demo_password}).json()["token"]
        group = group_of(client, talkers.a, "unit", talkers.unit_id)
        a, b, operator = connect(client, talkers.a), connect(client, talkers.b), connect(client, admin_token)
        try:
            join(a, group), join(b, group), join(operator, group)
            a.send_json({"type": "press", "group_id": group})
            next_json(a, "floor")
            b.send_json({"type": "press", "group_id": group, "preempt": True})  # members cannot cut in
            assert next_json(b, "busy")["speaker"]
            operator.send_json({"type": "press", "group_id": group, "preempt": True})
            next_json(operator, "floor")
            assert next_json(a, "floor_revoked")["reason"] == "preempted"
            revoked = next_json(operator, "floor_revoked")  # held past 1 s: the server ends it
            assert revoked["reason"] == "max_length"
            ends = [next_json(b, "tx_end")["reason"] for _ in range(2)]
            assert ends == ["preempted", "max_length"]
        finally:
            for s in (a, b, operator):
                close(s)
