"""The voice relay: Opus frames from the speaker to every listener of the talk group, as they come.

The server never decodes audio. A frame is appended to the recording and put, as one shared
bytes object (the transmission id in 4 bytes, then the frame), on each listener's queue: the
cost per frame is one append per listener, whatever else the group does. A listener whose
queue is full is dropped rather than slowing everyone else. A transmission's frames are kept
until it ends, so a late joiner hears it from its start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session, sessionmaker

from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, MEMBER, Principal
from jiefang.voice import service
from jiefang.voice.floor import FloorControl, Holder

log = logging.getLogger(__name__)
FRAME_HEADER = struct.Struct(">I")  # transmission id, before each relayed frame
QUEUE_LIMIT = 4000  # frames and messages waiting for one listener; past this it is dropped
MAX_FRAME_BYTES = 64 * 1024


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(eq=False)
class Listener:
    """One voice connection: who it is, what it listens to, and its outgoing queue."""

    key: str
    who: Principal
    queue: asyncio.Queue[str | bytes | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT + 1))
    groups: set[int] = field(default_factory=set)
    dropped: bool = False

    def send(self, item: str | bytes) -> None:
        if self.dropped:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            self.dropped = True  # too slow: its writer closes the connection
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(item)


@dataclass(eq=False)
class Live:
    """A transmission under way."""

    tx_id: int
    group_id: int
    speaker: Listener
    name: str
    mime: str
    started: float
    file: IO[bytes]
    frames: list[bytes] = field(default_factory=list)  # relayed form, for late joiners
    size: int = 0


class VoiceHub:
    """Talk groups' listeners, floors and transmissions under way, in one event loop."""

    def __init__(self, sessions: sessionmaker[Session], voice_dir: Path, max_tx_s: float) -> None:
        self.sessions = sessions
        self.voice_dir = voice_dir
        self.floor = FloorControl(max_tx_s)
        self.groups: dict[int, set[Listener]] = {}
        self.live: dict[int, Live] = {}  # group id -> transmission under way
        self.speaking: dict[Listener, int] = {}  # speaker -> group id

    def _db(self, work: Any, *args: Any) -> Any:
        with self.sessions() as session:
            return work(session, *args)

    def _broadcast(self, group_id: int, item: str | bytes, skip: Listener | None = None) -> None:
        for listener in self.groups.get(group_id, ()):
            if listener is not skip:
                listener.send(item)

    async def join(self, listener: Listener, group_id: int) -> None:
        """Listen to a group (raises NotFound if the account may not); a transmission under way
        is sent from its start."""
        group = await asyncio.to_thread(self._db, service.check_use, listener.who, group_id)
        self.groups.setdefault(group_id, set()).add(listener)
        listener.groups.add(group_id)
        holder = self.live.get(group_id)
        listener.send(_text({"type": "joined", **service.describe(group),
                             "speaker": holder.name if holder else None}))
        if holder is not None:
            listener.send(_text({"type": "tx_start", "group_id": group_id, "tx_id": holder.tx_id,
                                 "speaker": holder.name, "mime": holder.mime, "late": True}))
            for frame in holder.frames:
                listener.send(frame)

    async def leave(self, listener: Listener, group_id: int) -> None:
        if self.speaking.get(listener) == group_id:
            await self.release(listener, "released")
        self.groups.get(group_id, set()).discard(listener)
        listener.groups.discard(group_id)

    async def press(self, listener: Listener, group_id: int, mime: str, preempt: bool = False) -> bool:
        """Ask for the floor of a joined group; answer the speaker with "floor" or "busy"."""
        if group_id not in listener.groups:
            listener.send(_text({"type": "error", "error": "not_joined", "message": f"join group {group_id} first"}))
            return False
        if listener in self.speaking:
            await self.release(listener, "released")
        name = await asyncio.to_thread(self._db, service.speaker_name, listener.who)
        operator = listener.who.role in (CITY_ADMIN, DISTRICT_OPERATOR)
        grant = self.floor.press(group_id, Holder(listener.key, name, operator, time.monotonic()), preempt)
        if not grant.granted:
            assert grant.holder is not None
            listener.send(_text({"type": "busy", "group_id": group_id, "speaker": grant.holder.speaker}))
            return False
        previous = self.live.get(group_id)
        if previous is not None:  # pre-empted by an operator, or past the maximum length
            self.speaking.pop(previous.speaker, None)
            previous.speaker.send(_text({"type": "floor_revoked", "group_id": group_id, "reason": "preempted"}))
            await self._end(previous, "preempted")
        try:
            group, members = await asyncio.to_thread(self._db, self._still_members, listener.who, group_id)
            tx = await asyncio.to_thread(self._db, service.start_transmission, listener.who, group, mime,
                                         self.voice_dir)
        except Exception as exc:
            self.floor.release(group_id, listener.key)
            listener.send(_text({"type": "error", "error": "refused", "message": getattr(exc, "message", str(exc))}))
            return False
        self._drop_removed(group_id, members)
        live = Live(tx.id, group_id, listener, name, mime, time.monotonic(), (self.voice_dir / tx.path).open("wb"))
        self.live[group_id] = live
        self.speaking[listener] = group_id
        listener.send(_text({"type": "floor", "group_id": group_id, "tx_id": tx.id,
                             "max_s": self.floor.max_tx_s}))
        self._broadcast(group_id, _text({"type": "tx_start", "group_id": group_id, "tx_id": tx.id, "speaker": name,
                                         "mime": mime}), skip=listener)
        return True

    def _still_members(self, session: Session, who: Principal, group_id: int) -> tuple[Any, set[int]]:
        group = service.check_use(session, who, group_id)
        return group, service.member_ids(session, group)

    def _drop_removed(self, group_id: int, members: set[int]) -> None:
        """Members who left the group since they joined (stood down, taken out) stop listening."""
        for listener in list(self.groups.get(group_id, ())):
            who = listener.who
            if who.role == MEMBER and who.member_id not in members:
                self.groups[group_id].discard(listener)
                listener.groups.discard(group_id)
                listener.send(_text({"type": "removed", "group_id": group_id}))

    def audio(self, listener: Listener, frame: bytes) -> None:
        """Relay a frame of the speaker's transmission (frames from anyone else are ignored)."""
        group_id = self.speaking.get(listener)
        live = self.live.get(group_id) if group_id is not None else None
        if live is None or live.speaker is not listener:
            listener.send(_text({"type": "error", "error": "no_floor", "message": "press to talk first"}))
            return
        if len(frame) > MAX_FRAME_BYTES:
            listener.send(_text({"type": "error", "error": "too_large",
                                 "message": f"audio frames are at most {MAX_FRAME_BYTES} bytes"}))
            return
        live.file.write(frame)
        live.size += len(frame)
        relayed = FRAME_HEADER.pack(live.tx_id) + frame
        live.frames.append(relayed)
        self._broadcast(live.group_id, relayed, skip=listener)

    async def release(self, listener: Listener, reason: str = "released", said_ms: int | None = None) -> None:
        """End the listener's transmission. ``said_ms``: the recording's length as the speaker's
        recorder measured it, kept when it is no longer than the floor was held."""
        group_id = self.speaking.pop(listener, None)
        if group_id is None:
            return
        self.floor.release(group_id, listener.key)
        live = self.live.get(group_id)
        if live is not None and live.speaker is listener:
            await self._end(live, reason, said_ms)

    async def _end(self, live: Live, reason: str, said_ms: int | None = None) -> None:
        self.live.pop(live.group_id, None)
        live.file.close()
        held_ms = int((time.monotonic() - live.started) * 1000)
        duration_ms = held_ms if said_ms is None else min(said_ms, held_ms)
        try:
            await asyncio.to_thread(self._db, service.finish_transmission, live.tx_id, live.size, duration_ms, reason)
        except Exception:
            log.exception("could not store the end of transmission %s", live.tx_id)
        self._broadcast(live.group_id, _text({"type": "tx_end", "group_id": live.group_id, "tx_id": live.tx_id,
                                              "duration_ms": duration_ms, "reason": reason}))

    async def expire(self) -> int:
        """End every transmission past the maximum length; return how many."""
        gone = self.floor.expired(time.monotonic())
        for group_id, _holder in gone:
            live = self.live.get(group_id)
            if live is None:
                continue
            self.speaking.pop(live.speaker, None)
            live.speaker.send(_text({"type": "floor_revoked", "group_id": group_id, "reason": "max_length"}))
            await self._end(live, "max_length")
        return len(gone)

    async def text(self, listener: Listener, group_id: int, text: str) -> None:
        if group_id not in listener.groups:
            listener.send(_text({"type": "error", "error": "not_joined", "message": f"join group {group_id} first"}))
            return

        def store(session: Session) -> Any:
            group = service.check_use(session, listener.who, group_id)
            message = service.add_message(session, listener.who, group, text)
            return {"type": "text", "group_id": group_id, "id": message.id, "author": message.author,
                    "text": message.text, "at": message.at.isoformat()}

        self._broadcast(group_id, _text(await asyncio.to_thread(self._db, store)))

    async def drop(self, listener: Listener) -> None:
        """The connection is gone: end its transmission, stop listening."""
        await self.release(listener, "dropped")
        for group_id in list(listener.groups):
            self.groups.get(group_id, set()).discard(listener)
        listener.groups.clear()
