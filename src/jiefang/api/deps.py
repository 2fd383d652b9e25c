"""Request dependencies: the database session, the authenticated principal, role checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from jiefang.api.ratelimit import RateLimiter
from jiefang.config import Settings
from jiefang.dispatch.service import Dispatcher
from jiefang.errors import Forbidden, InvalidInput, Unauthorized
from jiefang.events import EventBus
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, MEMBER, UNIT_LEADER, Principal
from jiefang.people.accounts import authenticate
from jiefang.reports.storage import PhotoStore
from jiefang.schemas import MAX_ID, SEARCH_PATTERN, BBox, PageParams
from jiefang.tracking.live import LiveTracker

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/auth/login")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


REQUEST_SESSIONS = "jiefang.sessions"  # scope key: the request's sessions, for the idempotency middleware


def _end(session: Session) -> None:
    session.rollback()
    session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; rolled back if the request fails before a commit."""
    session = request.app.state.sessions()
    request.scope.setdefault(REQUEST_SESSIONS, []).append(session)
    try:
        yield session
    finally:
        # Not in the request thread pool: a request holding a connection while it waits for one of
        # those threads, with every thread waiting for a connection, stalls a busy server.
        await asyncio.to_thread(_end, session)


def get_bus(request: Request) -> EventBus:
    return request.app.state.bus


def get_tracker(request: Request) -> LiveTracker:
    return request.app.state.tracker


def get_dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher


def get_photo_store(request: Request) -> PhotoStore:
    return request.app.state.photos


def get_rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


def client_ip(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
SearchQuery = Annotated[
    str | None, Query(max_length=100, pattern=SEARCH_PATTERN, description="name contains, or code starts with")
]

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BusDep = Annotated[EventBus, Depends(get_bus)]
TrackerDep = Annotated[LiveTracker, Depends(get_tracker)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
PhotoStoreDep = Annotated[PhotoStore, Depends(get_photo_store)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
ClientIpDep = Annotated[str, Depends(client_ip)]


def limit_intake(limiter: RateLimiterDep, ip: ClientIpDep) -> None:
    """Count a report submitted from the client's address; raises TooManyRequests (429) over the limit."""
    limiter.check_intake(ip)


INTAKE_LIMIT = Depends(limit_intake)


def get_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("authentication required: send Authorization: Bearer <token>")
    return credentials.credentials


def get_principal(request: Request, session: SessionDep, token: Annotated[str, Depends(get_token)]) -> Principal:
    who = authenticate(session, token)
    session.commit()  # end the read: no connection held while the request waits for a thread to run on
    request.state.principal = who  # for the audit log, written when the answer leaves
    return who


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Any:
    """Return a dependency that lets only ``roles`` through (403 otherwise)."""

    def check(who: PrincipalDep) -> Principal:
        if who.role not in roles:
            raise Forbidden(f"this action needs one of the roles: {', '.join(roles)}")
        return who

    return Depends(check)


# Role gates checked before the input is read: a role that may never call a route gets 403, not 422.
OPERATORS_ONLY = require_roles(CITY_ADMIN, DISTRICT_OPERATOR)
STAFF_ONLY = require_roles(CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER)
MEMBERS_ONLY = require_roles(MEMBER, UNIT_LEADER)  # accounts with a member record acting for themselves
ADMIN_ONLY = require_roles(CITY_ADMIN)


def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


PageDep = Annotated[PageParams, Depends(page_params)]


def bbox_param(
    bbox: Annotated[
        str | None,
        Query(max_length=200, pattern=SEARCH_PATTERN, description="min_lon,min_lat,max_lon,max_lat (WGS84)",
              examples=["113.30,23.10,113.35,23.15"]),
    ] = None,
) -> BBox | None:
    if bbox is None:
        return None
    try:
        return BBox.parse(bbox)
    except ValueError as exc:
        raise InvalidInput(f"bbox: {exc}") from exc


BBoxDep = Annotated[BBox | None, Depends(bbox_param)]
