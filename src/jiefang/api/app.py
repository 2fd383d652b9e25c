"""The FastAPI application: settings, database, routers, error handlers, web pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from sqlalchemy.orm import Session, sessionmaker

from jiefang import __version__
from jiefang.api import overview
from jiefang.api.errors import install_error_handlers
from jiefang.areas.api import router as areas_router
from jiefang.config import Settings, get_settings
from jiefang.db import make_engine, session_factory, session_scope
from jiefang.duty.api import router as duty_router
from jiefang.duty.service import close_expired
from jiefang.people.api import auth_router
from jiefang.people.api import router as people_router
from jiefang.schemas import ERROR_RESPONSES
from jiefang.units.api import router as units_router
from jiefang.web.pages import mount_web

log = logging.getLogger("jiefang")
AUTO_CHECKOUT_EVERY_S = 30


async def _auto_checkout_loop(sessions: sessionmaker[Session]) -> None:
    """Check out members whose shift ended (plus grace), every AUTO_CHECKOUT_EVERY_S seconds."""
    while True:
        await asyncio.sleep(AUTO_CHECKOUT_EVERY_S)
        try:
            with session_scope(sessions) as session:
                closed = await asyncio.to_thread(close_expired, session)
            if closed:
                log.info("auto check-out closed %d duty sessions", closed)
        except Exception:
            log.exception("auto check-out failed; will retry")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the application wired to the database in ``settings`` (env settings by default)."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engine = make_engine(settings.database_url)

    sessions = session_factory(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        checkout = asyncio.create_task(_auto_checkout_loop(sessions))
        yield
        checkout.cancel()
        engine.dispose()

    app = FastAPI(
        title="jiefang",
        version=__version__,
        description="Command platform for community minimum emergency units (最小应急单元).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.add_middleware(GZipMiddleware, minimum_size=2048)  # map layers are large, repetitive JSON
    install_error_handlers(app)
    for router in (auth_router, people_router, areas_router, units_router, duty_router, overview.router):
        app.include_router(router, responses=ERROR_RESPONSES)
    mount_web(app)
    return app
