"""Idempotency keys: a POST sent again with the same ``Idempotency-Key`` is executed at most once.

A phone on a flaky network cannot tell a lost request from a lost answer, so it sends each action
with a key made when the member acted and repeats it until it gets an answer. For an authenticated
account, the first request with a key claims it (a committed row); the answer (status, body) is
stored before it leaves the server and replayed for every repeat with the same account and key.
A repeat that arrives while the first is still running gets 409 ``idempotency_in_flight`` (try
again shortly); the same key on a different request gets 422. A claim left by a worker that died
mid-request is taken over after ``idempotency_lock_s``; routes whose effect must not repeat even
then (incident creation) also write the key in their own transaction. Server errors release the
key, so the client may try again. Keys expire after ``idempotency_ttl_s``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiefang.api.deps import REQUEST_SESSIONS
from jiefang.api.errors import RETRY_AFTER_S, STORE_UNAVAILABLE, UNAVAILABLE_BODY
from jiefang.db import Base, UTCDateTime, utcnow
from jiefang.errors import DomainError
from jiefang.people.accounts import authenticate

log = logging.getLogger(__name__)
HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 100
# Routes whose own contract says what a repeated key means (external intake answers 200 created=false).
SELF_KEYED_PATHS = frozenset({"/api/incidents/external"})


class IdempotencyKey(Base):
    """A client's idempotency key and the first answer given to it."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path, query and body
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set while the first request runs
    status_code: Mapped[int | None] = mapped_column(Integer)
    media_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_keys_account_key"),)


def valid_key(key: str) -> bool:
    """True for 1 to MAX_KEY_LENGTH printable characters (a UUID is the usual choice)."""
    return 1 <= len(key) <= MAX_KEY_LENGTH and key.isprintable()


@dataclass(frozen=True)
class Claim:
    """What to do with a keyed request: run it, replay a stored answer, or refuse it."""

    outcome: Literal["run", "replay", "busy", "mismatch"]
    row_id: int | None = None
    status_code: int | None = None
    media_type: str | None = None
    body: str | None = None


def claim(
    session: Session,
    account_id: int,
    key: str,
    fingerprint: str,
    ttl_s: float,
    lock_s: float,
    now: datetime | None = None,
) -> Claim:
    """Claim ``key`` for a request of ``account_id``; return what the caller must do with it.

    Races are decided by the unique (account, key) index and by a conditional take-over of an
    abandoned claim, so of two concurrent requests exactly one runs.
    """
    now = now or utcnow()
    find = select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    row = session.scalar(find)
    if row is not None and row.expires_at <= now:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
        session.commit()
        row = None
    if row is None:
        row = IdempotencyKey(
            account_id=account_id,
            key=key,
            fingerprint=fingerprint,
            locked_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
        session.add(row)
        try:
            session.commit()
            return Claim("run", row.id)
        except IntegrityError:
            session.rollback()  # a concurrent request with the same key claimed it first
            row = session.scalars(find).one()
    if row.fingerprint != fingerprint:
        return Claim("mismatch")
    if row.status_code is not None:
        return Claim("replay", row.id, row.status_code, row.media_type, row.body)
    if row.locked_at is not None and row.locked_at > now - timedelta(seconds=lock_s):
        return Claim("busy")
    taken = session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row.id, IdempotencyKey.status_code.is_(None), IdempotencyKey.locked_at == row.locked_at
        )
        .values(locked_at=now)
    )
    session.commit()
    return Claim("run", row.id) if getattr(taken, "rowcount", 0) == 1 else Claim("busy")


def store(session: Session, row_id: int, status_code: int, media_type: str | None, body: str) -> None:
    """Keep the first answer to a claimed key."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id)
        .values(status_code=status_code, media_type=media_type, body=body, locked_at=None)
    )
    session.commit()


def release(session: Session, row_id: int) -> None:
    """Forget a claim whose request failed on the server: the client may send it again."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
    session.commit()


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete expired keys; return how many."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow())))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value and value[:7].lower() == "bearer " and value[7:].strip():
        return value[7:].strip()
    return None


async def _json(
    send: Send,
    status: int,
    error: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"error": error, "message": message}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _unavailable(send: Send) -> None:
    await _json(send, 503, UNAVAILABLE_BODY["error"], UNAVAILABLE_BODY["message"],
                [(b"retry-after", RETRY_AFTER_S.encode())])


class IdempotencyMiddleware:
    """ASGI middleware applying idempotency keys to authenticated POST requests (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] in SELF_KEYED_PATHS:
            await self.app(scope, receive, send)
            return
        key, token = _header(scope, HEADER), _bearer(scope)
        if key is None or token is None:  # unkeyed, or not logged in: the route answers as usual
            await self.app(scope, receive, send)
            return
        if not valid_key(key):
            await _json(
                send, 422, "invalid_input", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters"
            )
            return
        state = scope["app"].state
        sessions: sessionmaker[Session] = state.sessions
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        digest = hashlib.sha256(
            scope["method"].encode()
            + b" "
            + scope["path"].encode()
            + b"?"
            + scope.get("query_string", b"")
            + b"\n"
            + body
        ).hexdigest()

        def claim_key() -> Claim | None:
            with sessions() as session:
                try:
                    who = authenticate(session, token)
                except DomainError:
                    return None  # the route itself refuses the token with its usual 401
                return claim(
                    session,
                    who.account_id,
                    key,
                    digest,
                    state.settings.idempotency_ttl_s,
                    state.settings.idempotency_lock_s,
                )

        try:
            got = await run_in_threadpool(claim_key)
        except STORE_UNAVAILABLE as exc:
            log.warning("idempotency key not claimed, store unavailable: %s", str(exc).splitlines()[0])
            await _unavailable(send)
            return
        if got is None or got.outcome == "run":
            await self._run(scope, body, receive, send, sessions, got.row_id if got else None)
        elif got.outcome == "replay":
            data = (got.body or "").encode()
            headers = [(b"content-length", str(len(data)).encode()), (b"idempotent-replayed", b"true")]
            if got.media_type:
                headers.append((b"content-type", got.media_type.encode("latin-1")))
            await send({"type": "http.response.start", "status": got.status_code, "headers": headers})
            await send({"type": "http.response.body", "body": data})
        elif got.outcome == "busy":
            await _json(
                send,
                409,
                "idempotency_in_flight",
                "a request with this Idempotency-Key is still being processed; send it again in a moment",
                [(b"retry-after", b"1")],
            )
        else:
            await _json(send, 422, "idempotency_key_reused", "this Idempotency-Key was used for a different request")

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        sessions: sessionmaker[Session],
        row_id: int | None,
    ) -> None:
        """Run the request; store its answer before it leaves (row_id set) or pass it through."""
        sent_body = False

        async def replay_body() -> Message:
            nonlocal sent_body
            if sent_body:
                return await receive()  # after the body: wait for the client's disconnect, as usual
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        if row_id is None:
            await self.app(scope, replay_body, send)
            return
        start: Message | None = None
        parts: list[bytes] = []
        stored = False

        async def keep(message: Message) -> None:
            nonlocal start, stored
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            data = b"".join(parts)
            try:
                await run_in_threadpool(self._keep_answer, sessions, scope, row_id, start, data)
            except STORE_UNAVAILABLE as exc:
                # the claim stays locked and is taken over after idempotency_lock_s: the repeat runs
                # again then, or finds the effect already there (routes that must not repeat keep the key)
                log.warning("answer to key %s not kept, store unavailable: %s", row_id, str(exc).splitlines()[0])
                stored = True
                await _unavailable(send)
                return
            stored = True  # from here a failure to send (client gone) leaves the answer for the repeat
            await send(start)
            await send({"type": "http.response.body", "body": data})

        try:
            await self.app(scope, replay_body, keep)
        except BaseException:
            if not stored:
                try:
                    await run_in_threadpool(self._release, sessions, row_id)
                except STORE_UNAVAILABLE:
                    log.warning("key %s not released, store unavailable: taken over after the lock", row_id)
            raise

    @staticmethod
    def _keep_answer(sessions: sessionmaker[Session], scope: Scope, row_id: int, start: Message, data: bytes) -> None:
        # The answer is complete: give back the request's own connections first. Its session is
        # otherwise closed only after the answer leaves, so under a burst every request would hold
        # one connection while waiting for a second here, and the pool would run dry.
        for used in scope.get(REQUEST_SESSIONS, ()):
            used.close()
        headers: list[tuple[bytes, bytes]] = start.get("headers", [])
        media_type = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), None)
        with sessions() as session:
            if start["status"] >= 500:
                release(session, row_id)
            else:
                store(session, row_id, start["status"], media_type, data.decode("utf-8", "replace"))

    @staticmethod
    def _release(sessions: sessionmaker[Session], row_id: int) -> None:
        with sessions() as session:
            release(session, row_id)
