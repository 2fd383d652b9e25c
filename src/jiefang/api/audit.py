"""ASGI middleware writing the audit log (see jiefang.audit.service for what is audited).

The entry is written when the answer's status is known and before the answer leaves, in its own
session: a request the client saw succeed has its entry. A failed write is logged as an error
and the answer still goes out (the platform keeps serving emergencies).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiefang.audit import service
from jiefang.people.access import Principal

log = logging.getLogger("jiefang.audit")


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or scope.get("path", "")


class AuditMiddleware:
    def __init__(self, app: ASGIApp, sessions: sessionmaker[Session]) -> None:
        self.app = app
        self.sessions = sessions

    def _write(self, scope: Scope, status: int) -> None:
        who = scope.get("state", {}).get("principal")
        if not isinstance(who, Principal):
            return
        route = _route_template(scope)
        kind = service.audit_kind(who, scope["method"], route, status)
        if kind is None:
            return
        client = scope.get("client")
        req = service.AnsweredRequest(
            who=who, method=scope["method"], route=route,
            path_params={k: str(v) for k, v in scope.get("path_params", {}).items()},
            query=scope.get("query_string", b"").decode("latin-1"), status=status,
            client_ip=client[0] if client else "")
        try:
            with self.sessions() as session:
                service.record(session, service.entry_of(req, kind))
        except Exception:
            log.exception("audit entry lost: %s %s by %s (%s) answered %s", req.method, route, who.username,
                          who.role, status)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        written = False

        async def send_after_audit(message: Message) -> None:
            nonlocal written
            if message["type"] == "http.response.start" and not written:
                written = True
                await run_in_threadpool(self._write, scope, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_after_audit)
        except Exception:
            if not written:  # the outer error handler answers 500
                written = True
                await run_in_threadpool(self._write, scope, 500)
            raise
