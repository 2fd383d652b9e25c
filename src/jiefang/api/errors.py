"""Every error leaves the API as JSON ``{"error": code, "message": text}``."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from jiefang.errors import DomainError, TooManyRequests

log = logging.getLogger("jiefang.api")
# the database or Redis is down, restarting or out of connections: the request may be sent again
STORE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, RedisConnectionError, RedisTimeout)
UNAVAILABLE_BODY = {"error": "unavailable",
                    "message": "the database or Redis is unavailable for a moment; send the request again"}
RETRY_AFTER_S = "1"


def _describe(errors: Sequence[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid input"


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers turning domain, validation, HTTP and unexpected errors into JSON."""

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
        return JSONResponse({"error": exc.code, "message": exc.message}, exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid_input", "message": _describe(exc.errors()), "details": details}, 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "error")
        return JSONResponse({"error": code, "message": str(exc.detail)}, exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("store unavailable on %s %s: %s", request.method, request.url.path, str(exc).splitlines()[0])
        return JSONResponse(UNAVAILABLE_BODY, 503, headers={"Retry-After": RETRY_AFTER_S})

    for kind in STORE_UNAVAILABLE:
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal", "message": "internal server error"}, 500)
