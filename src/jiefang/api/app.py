"""The FastAPI application: settings, database, routers, error handlers, web pages."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from jiefang import __version__
from jiefang.analytics.api import router as analytics_router
from jiefang.api import background, overview, ws
from jiefang.api.audit import AuditMiddleware
from jiefang.api.errors import install_error_handlers
from jiefang.api.headers import SecurityHeadersMiddleware
from jiefang.api.idempotency import IdempotencyMiddleware
from jiefang.api.leases import Leases
from jiefang.api.ratelimit import build_rate_limiter
from jiefang.areas.api import router as areas_router
from jiefang.audit.api import router as audit_router
from jiefang.commands.api import router as commands_router
from jiefang.config import Settings, get_settings
from jiefang.db import make_engine, session_factory, session_scope
from jiefang.dispatch.api import router as dispatch_router
from jiefang.dispatch.service import Dispatcher
from jiefang.drills.api import router as drills_router
from jiefang.duty.api import router as duty_router
from jiefang.events_redis import make_bus, quick_client
from jiefang.incidents.alarms import start_alarm_intake
from jiefang.incidents.api import router as incidents_router
from jiefang.incidents.playbooks import load_playbooks
from jiefang.insurance.api import router as insurance_router
from jiefang.mediation.api import router as mediation_router
from jiefang.people.api import auth_router
from jiefang.people.api import router as people_router
from jiefang.reports.api import router as reports_router
from jiefang.reports.open311 import router as open311_router
from jiefang.reports.storage import LocalPhotoStore
from jiefang.rewards.api import router as rewards_router
from jiefang.rewards.rules import load_rules
from jiefang.schemas import ERROR_RESPONSES
from jiefang.tracking.api import router as tracking_router
from jiefang.tracking.fencing import follow_fences
from jiefang.tracking.service import build_tracker, follow_duty
from jiefang.units.api import router as units_router
from jiefang.voice.api import router as voice_router
from jiefang.voice.relay import VoiceHub
from jiefang.web.pages import mount_web

log = logging.getLogger("jiefang")


def _leases(settings: Settings) -> Leases | None:
    """Return this worker's leases on the shared background jobs (None without Redis: one process)."""
    if not settings.redis_url:
        return None
    jobs = background.SHARED_JOBS + (("alarms",) if settings.mqtt_host else ())
    return Leases(quick_client(settings.redis_url), settings.redis_prefix, jobs, settings.lease_ttl_s)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the application wired to the database in ``settings`` (env settings by default)."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engine = make_engine(settings.database_url)

    sessions = session_factory(engine)
    bus = make_bus(settings.redis_url, settings.redis_prefix)  # shared by the workers when Redis is set

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        # the live picture is rebuilt from the database: open duty sessions, last kept fixes, fences
        with session_scope(sessions) as session:
            app_.state.tracker = build_tracker(session, settings)
        gc.freeze()  # the long-lived picture just loaded need not be scanned by every full collection
        follow_duty(bus, app_.state.tracker, sessions)
        follow_fences(bus, app_.state.tracker, sessions)
        app_.state.fix_rounds = ws.FixRounds(app_.state)  # the sockets' fixes frames, applied in rounds
        bus.start()
        app_.state.leases = leases = _leases(settings)  # None in one process
        app_.state.dispatcher = Dispatcher(app_.state.tracker, bus, load_playbooks(settings.playbook_dir))
        tasks = background.start(sessions, app_.state.tracker, bus, settings, app_.state.dispatcher,
                                 app_.state.rewards_rules, leases)
        keeper = None if leases is None else asyncio.create_task(leases.keep())
        app_.state.voice = VoiceHub(sessions, settings.voice_dir, settings.voice_max_tx_s)
        tasks.append(asyncio.create_task(background.every_in_loop(0.5, "voice expiry", app_.state.voice.expire)))
        if leases is None:
            app_.state.alarms = await asyncio.to_thread(start_alarm_intake, settings, sessions, app_.state.dispatcher)
        else:  # one worker at a time subscribes: a broker drops a client whose id connects twice
            app_.state.alarms = None
            tasks.append(asyncio.create_task(background.while_leased(
                lambda: start_alarm_intake(settings, sessions, app_.state.dispatcher),
                lambda: leases.holds("alarms"), leases.ttl_s / 3)))
        yield
        if app_.state.alarms is not None:
            app_.state.alarms.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # the alarm intake stops as its task ends
        if keeper is not None and leases is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await asyncio.to_thread(leases.release)  # another worker takes the jobs over now
        bus.close()
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
    app.state.bus = bus
    app.state.photos = LocalPhotoStore(settings.upload_dir)
    app.state.rewards_rules = load_rules(settings.rewards_rules_file)
    app.state.rate_limiter = build_rate_limiter(settings)
    app.add_middleware(IdempotencyMiddleware)  # inside gzip: answers are stored uncompressed
    app.add_middleware(AuditMiddleware, sessions=sessions)  # outside idempotency: a replay is audited too
    app.add_middleware(GZipMiddleware, minimum_size=2048)  # map layers are large, repetitive JSON
    app.add_middleware(SecurityHeadersMiddleware, tile_url=settings.tile_url)
    install_error_handlers(app)
    for router in (auth_router, people_router, areas_router, units_router, duty_router, tracking_router,
                   incidents_router, dispatch_router, drills_router, commands_router, voice_router,
                   reports_router, open311_router, rewards_router, insurance_router, mediation_router,
                   overview.router, analytics_router, audit_router):
        app.include_router(router, responses=ERROR_RESPONSES)
    app.include_router(ws.router)
    mount_web(app)
    return app
