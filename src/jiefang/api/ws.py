"""The WebSocket hub (``/api/ws``): live events out to operators, leaders and members; fixes in.

Protocol (JSON text frames):

* client → ``{"type": "auth", "token": "...", "since": 0}`` first, within ``AUTH_TIMEOUT_S``;
  ``since`` asks for the kept events after that sequence number (replay after a reconnect).
* server → ``{"type": "hello", "seq": N, "role": ...}`` then events ``{"seq", "type", "at", ...}``
  that the account may see: operators their district's (city admins all), unit leaders their
  unit's, members their own.
* client → ``{"type": "fixes", "ref": any, "fixes": [...]}`` (same shape as POST
  /api/positions/batch) → server ``{"type": "ack", "ref": ..., ...}`` or ``{"type": "error", ...}``.
* client → ``{"type": "ping"}`` → ``{"type": "pong"}``.

A client too slow to take its events, or asking for a replay the server no longer holds (or,
after a restart, never had), is sent ``{"type": "resync"}`` and should reload its state.
Tokens are checked again every ``RECHECK_S``: a revoked token closes the socket (code 4401).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.websockets import WebSocketState

from jiefang.errors import DomainError
from jiefang.events import Event, EventBus
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal
from jiefang.people.accounts import authenticate
from jiefang.tracking.schemas import FixBatchIn, FixIn, IngestOut
from jiefang.tracking.service import ingest_rounds

log = logging.getLogger(__name__)
router = APIRouter()
AUTH_TIMEOUT_S = 10.0
RECHECK_S = 60.0
QUEUE_LIMIT = 2000
MAX_FRAME_BYTES = 512 * 1024
UNAUTHORIZED = 4401
ROUND_MAX_FRAMES = 2000  # fixes frames applied together at most (a round stays well under a second)


def may_see(who: Principal, event: Event) -> bool:
    """Return True if the account may receive the event."""
    if who.role == CITY_ADMIN:
        return True
    if event["type"] == "positions" and who.role != DISTRICT_OPERATOR:
        return False
    if who.role == DISTRICT_OPERATOR:
        return who.district_id in (event.get("district_id"), event.get("fence_district_id"))
    if who.role == UNIT_LEADER:
        return who.unit_id in (event.get("unit_id"), event.get("fence_unit_id"))
    return who.member_id is not None and who.member_id in (event.get("member_id"), *event.get("member_ids", ()))


def _authenticate(websocket: WebSocket, token: str) -> Principal:
    with websocket.app.state.sessions() as session:
        return authenticate(session, token)


class FixRounds:
    """Applies the ``fixes`` frames of every socket of the worker in rounds: what arrived while
    the last round ran goes together, in one thread hop, one session and one commit (a frame a
    phone at a time would cost each of those per fix). Each frame still gets its own answer."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.waiting: list[tuple[Principal, list[FixIn], asyncio.Future[IngestOut | DomainError]]] = []
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def apply(self, who: Principal, fixes: list[FixIn]) -> IngestOut:
        """Apply a frame's fixes in the next round; return its answer or raise its refusal."""
        future: asyncio.Future[IngestOut | DomainError] = asyncio.get_running_loop().create_future()
        self.waiting.append((who, fixes, future))
        self.wake.set()
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        answer = await future
        if isinstance(answer, DomainError):
            raise answer
        return answer

    def _round(self, batches: list[tuple[Principal, list[FixIn]]]) -> list[IngestOut | DomainError]:
        with self.state.sessions() as session:
            return ingest_rounds(session, self.state.tracker, self.state.bus, batches)

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            taken, self.waiting = self.waiting[:ROUND_MAX_FRAMES], self.waiting[ROUND_MAX_FRAMES:]
            if self.waiting:
                self.wake.set()
            if not taken:
                continue
            try:
                answers = await asyncio.to_thread(self._round, [(who, fixes) for who, fixes, _ in taken])
            except Exception as exc:  # the database failed: every frame of the round hears it
                for _, _, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), answer in zip(taken, answers, strict=True):
                if not future.done():
                    future.set_result(answer)


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(message, ensure_ascii=False, separators=(",", ":")))


async def read_auth_frame(websocket: WebSocket) -> tuple[Principal, str, int | None] | None:
    """Read the auth frame; return (principal, token, since) or None after closing the socket."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        first = json.loads(raw)
        if not isinstance(first, dict) or first.get("type") != "auth" or not isinstance(first.get("token"), str):
            raise ValueError("the first frame must be {\"type\": \"auth\", \"token\": ...}")
        since = first.get("since")
        if since is not None and not isinstance(since, int):
            raise ValueError("since must be an integer sequence number")
        who = await asyncio.to_thread(_authenticate, websocket, first["token"])
        return who, first["token"], since
    except (TimeoutError, ValueError, DomainError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc) or "authentication timed out"
        with contextlib.suppress(Exception):
            await _send(websocket, {"type": "error", "error": "unauthorized", "message": message})
            await websocket.close(code=UNAUTHORIZED)
        return None


@router.websocket("/api/ws")
async def hub(websocket: WebSocket) -> None:
    """Live events and position ingest over one authenticated socket (see the module docstring)."""
    await websocket.accept()
    login = await read_auth_frame(websocket)
    if login is None:
        return
    who, token, since = login
    bus: EventBus = websocket.app.state.bus
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    overflowed = False
    replayed_upto = 0  # events up to this number went out in the replay: not again from the queue

    def deliver(event: Event) -> None:
        nonlocal overflowed
        if event["seq"] <= replayed_upto or not may_see(who, event):
            return
        if queue.qsize() >= QUEUE_LIMIT:
            overflowed = True
            return
        loop.call_soon_threadsafe(queue.put_nowait, event)

    unsubscribe = bus.subscribe(deliver, remote=True)  # a client hears of every worker's events
    try:
        last_seq = await asyncio.to_thread(lambda: bus.last_seq)  # may ask Redis: not in the loop
        await _send(websocket, {"type": "hello", "seq": last_seq, "role": who.role, "username": who.username})
        if since is not None:
            events, complete = await asyncio.to_thread(bus.replay, since)
            if not complete:
                await _send(websocket, {"type": "resync"})
            for event in events:
                replayed_upto = event["seq"]
                if may_see(who, event):
                    await _send(websocket, event)
        writer = asyncio.create_task(_write(websocket, queue, lambda: overflowed, lambda: replayed_upto, token))
        try:
            await _read(websocket, who)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
    except WebSocketDisconnect:
        pass
    finally:
        unsubscribe()


async def _write(
    websocket: WebSocket, queue: asyncio.Queue[Event | None], lagging: Any, replayed: Any, token: str
) -> None:
    """Send queued events; re-check the token every RECHECK_S; tell a lagging client to resync."""
    loop = asyncio.get_running_loop()
    next_check = loop.time() + RECHECK_S * random.uniform(0.5, 1.0)  # sockets opened together spread out
    while True:
        try:
            event = await asyncio.wait_for(queue.get(), max(0.1, next_check - loop.time()))
        except TimeoutError:
            event = None
        if loop.time() >= next_check:
            next_check = loop.time() + RECHECK_S
            try:
                await asyncio.to_thread(_authenticate, websocket, token)
            except DomainError as exc:
                await _send(websocket, {"type": "error", "error": "unauthorized", "message": exc.message})
                await websocket.close(code=UNAUTHORIZED)
                return
        if lagging():
            await _send(websocket, {"type": "resync"})
            await websocket.close(code=1013)
            return
        if event is not None and event["seq"] > replayed():
            await _send(websocket, event)


async def _read(websocket: WebSocket, who: Principal) -> None:
    """Answer the client's frames until it disconnects."""
    while websocket.client_state == WebSocketState.CONNECTED:
        raw = await websocket.receive_text()
        if len(raw) > MAX_FRAME_BYTES:
            await _send(websocket, {"type": "error", "error": "invalid_input",
                                    "message": f"frame larger than {MAX_FRAME_BYTES} bytes"})
            continue
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("a frame is a JSON object with a type")
        except ValueError as exc:
            await _send(websocket, {"type": "error", "error": "invalid_input", "message": f"not JSON: {exc}"})
            continue
        kind, ref = message.get("type"), message.get("ref")
        if kind == "ping":
            await _send(websocket, {"type": "pong", "ref": ref})
        elif kind == "fixes":
            await _answer_fixes(websocket, who, message, ref)
        else:
            await _send(websocket, {"type": "error", "error": "invalid_input", "ref": ref,
                                    "message": f"unknown frame type {kind!r}; known: fixes, ping"})


async def _answer_fixes(websocket: WebSocket, who: Principal, message: dict[str, Any], ref: Any) -> None:
    try:
        batch = FixBatchIn.model_validate({"fixes": message.get("fixes")})
        rounds: FixRounds = websocket.app.state.fix_rounds
        result = (await rounds.apply(who, batch.fixes)).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        await _send(websocket, {"type": "error", "error": "invalid_input", "ref": ref,
                                "message": f"{where}: {first['msg']}"})
        return
    except DomainError as exc:
        await _send(websocket, {"type": "error", "error": exc.code, "ref": ref, "message": exc.message})
        return
    if WebSocketState.DISCONNECTED in (websocket.client_state, websocket.application_state):
        return  # closed while the fixes were applied (they are stored): nobody to answer
    await _send(websocket, {"type": "ack", "ref": ref, **result})
