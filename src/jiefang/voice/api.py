"""HTTP routes of talk groups and recordings, and the push-to-talk WebSocket (``/api/voice/ws``).

The socket speaks JSON text frames and binary audio frames. After ``{"type": "auth", "token"}``:
``{"type": "join"|"leave", "group_id"}``, ``{"type": "press", "group_id", "mime", "preempt"}``
(answered ``floor`` or ``busy``), then binary Opus frames (WebM or Ogg chunks as MediaRecorder
gives them), then ``{"type": "release"}``; ``{"type": "text", "group_id", "text"}``. Listeners get
``tx_start``, binary frames (4-byte transmission id, then the frame), ``tx_end``, ``text``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
import zipfile
from typing import Any

from fastapi import APIRouter, Response, WebSocket, WebSocketDisconnect, status
from fastapi.responses import FileResponse

from jiefang.api.deps import IdPath, PrincipalDep, SessionDep, SettingsDep, TrackerDep, require_roles
from jiefang.api.ws import read_auth_frame
from jiefang.errors import DomainError
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR
from jiefang.voice import service
from jiefang.voice.relay import Listener, VoiceHub
from jiefang.voice.schemas import AdhocIn, MessageOut, OpenGroupIn, TalkGroupOut, TransmissionOut

router = APIRouter(prefix="/api", tags=["voice"])
OPERATORS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR)
MAX_TEXT = 500
MAX_ZIP_BYTES = 200 * 1024 * 1024


@router.get("/voice/groups", response_model=list[TalkGroupOut])
def my_groups(session: SessionDep, who: PrincipalDep) -> list[TalkGroupOut]:
    """Your talk groups: unit, team, grid, the incidents you answer (operators: of your district), ad hoc."""
    return [TalkGroupOut.model_validate(g) for g in service.my_groups(session, who)]


@router.post("/voice/groups/open", response_model=TalkGroupOut)
def open_group(session: SessionDep, who: PrincipalDep, data: OpenGroupIn) -> TalkGroupOut:
    """The talk group of a unit, team, grid or incident you may use."""
    return TalkGroupOut.model_validate(service.open_group(session, who, data.kind, data.ref_id))


@router.post("/voice/groups", response_model=TalkGroupOut, status_code=status.HTTP_201_CREATED,
             dependencies=[OPERATORS])
def create_adhoc(session: SessionDep, tracker: TrackerDep, who: PrincipalDep, data: AdhocIn) -> TalkGroupOut:
    """An ad-hoc talk group of the members on duty inside a map selection."""
    return TalkGroupOut.model_validate(service.create_adhoc(session, tracker, who, data.name, data.selection))


@router.delete("/voice/groups/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT,
               dependencies=[OPERATORS])
def remove_member(session: SessionDep, who: PrincipalDep, group_id: IdPath, member_id: IdPath) -> Response:
    """Take a member out of an ad-hoc talk group: they can neither talk nor listen there any more."""
    service.remove_member(session, who, group_id, member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/voice/groups/{group_id}/transmissions", response_model=list[TransmissionOut])
def transmissions(session: SessionDep, who: PrincipalDep, group_id: IdPath) -> list[TransmissionOut]:
    """The group's recorded transmissions, newest first."""
    return [TransmissionOut.model_validate(t) for t in service.transmissions(session, who, group_id)]


@router.get("/voice/groups/{group_id}/messages", response_model=list[MessageOut])
def messages(session: SessionDep, who: PrincipalDep, group_id: IdPath) -> list[MessageOut]:
    """The group's text messages, oldest first."""
    return [MessageOut.model_validate(m) for m in service.messages(session, who, group_id)]


@router.get("/voice/transmissions/{tx_id}/audio", response_class=FileResponse,
            responses={200: {"content": {"audio/webm": {}, "audio/ogg": {}}}})
def audio(session: SessionDep, settings: SettingsDep, who: PrincipalDep, tx_id: IdPath) -> FileResponse:
    """The recording of a transmission (Opus in WebM or Ogg), for replay and review."""
    path, tx = service.recording(session, who, tx_id, settings.voice_dir)
    return FileResponse(path, media_type=tx.mime.split(";")[0], filename=path.name)


@router.get("/incidents/{incident_id}/recordings.zip", dependencies=[OPERATORS],
            responses={200: {"content": {"application/zip": {}}}})
def incident_recordings(session: SessionDep, settings: SettingsDep, who: PrincipalDep,
                        incident_id: IdPath) -> Response:
    """Every recorded transmission of an incident, in order, with an index (after-action review)."""
    txs = service.incident_recordings(session, who, incident_id)
    buffer = io.BytesIO()
    index = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # Opus is compressed already
        for n, tx in enumerate(txs, 1):
            path = settings.voice_dir / tx.path
            if not path.is_file() or buffer.tell() > MAX_ZIP_BYTES:
                continue
            name = f"{n:03d}-{tx.started_at:%H%M%S}-{tx.id}{path.suffix}"
            archive.write(path, name)
            index.append({"file": name, **TransmissionOut.model_validate(tx).model_dump(mode="json")})
        archive.writestr("index.json", json.dumps(index, ensure_ascii=False, indent=1))
    return Response(buffer.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="incident-{incident_id}-recordings.zip"'})


async def _write(websocket: WebSocket, listener: Listener) -> None:
    while True:
        item = await listener.queue.get()
        if item is None:
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="too slow: frames were dropped")
            return
        if isinstance(item, bytes):
            await websocket.send_bytes(item)
        else:
            await websocket.send_text(item)


def _group_id(message: dict[str, Any]) -> int:
    group_id = message.get("group_id")
    if not isinstance(group_id, int) or isinstance(group_id, bool) or not 1 <= group_id <= 2_147_483_647:
        raise ValueError("group_id must be a positive integer")
    return group_id


async def _handle(hub: VoiceHub, listener: Listener, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind == "join":
        await hub.join(listener, _group_id(message))
    elif kind == "leave":
        await hub.leave(listener, _group_id(message))
    elif kind == "press":
        mime = message.get("mime", "audio/webm;codecs=opus")
        if not isinstance(mime, str) or len(mime) > 60:
            raise ValueError("mime must be a short string such as audio/webm;codecs=opus")
        await hub.press(listener, _group_id(message), mime, bool(message.get("preempt", False)))
    elif kind == "release":
        said = message.get("duration_ms")
        if said is not None and (not isinstance(said, int) or isinstance(said, bool) or not 0 <= said <= 3_600_000):
            raise ValueError("duration_ms must be a whole number of milliseconds")
        await hub.release(listener, "released", said)
    elif kind == "text":
        text = message.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise ValueError(f"text must be 1 to {MAX_TEXT} characters")
        await hub.text(listener, _group_id(message), text.strip())
    else:
        raise ValueError("type must be join, leave, press, release or text")


@router.websocket("/voice/ws")
async def voice_socket(websocket: WebSocket) -> None:
    """Push-to-talk: join groups, take the floor, send and hear Opus frames (see the module docstring)."""
    await websocket.accept()
    login = await read_auth_frame(websocket)
    if login is None:
        return
    hub: VoiceHub = websocket.app.state.voice
    listener = Listener(uuid.uuid4().hex, login[0])
    writer = asyncio.create_task(_write(websocket, listener))
    listener.send(json.dumps({"type": "hello", "username": login[0].username, "role": login[0].role}))
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            if frame.get("bytes") is not None:
                hub.audio(listener, frame["bytes"])
                continue
            try:
                message = json.loads(frame.get("text") or "")
                if not isinstance(message, dict):
                    raise ValueError("a frame must be a JSON object")
                await _handle(hub, listener, message)
            except (ValueError, DomainError) as exc:
                text = exc.message if isinstance(exc, DomainError) else str(exc)
                listener.send(json.dumps({"type": "error", "error": "invalid", "message": text}, ensure_ascii=False))
    except WebSocketDisconnect:
        pass
    finally:
        await hub.drop(listener)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
