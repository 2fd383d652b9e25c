"""Work the server does on its own clock: dispatch deadlines and arrivals, automatic check-out,
keeping the live picture in step with the database, patrol-absence alerts, the positions feed of
the map, track retention, readiness drills, hazard report deadlines and hotspot scans."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from jiefang.api.idempotency import purge_expired
from jiefang.api.leases import Leases
from jiefang.config import Settings
from jiefang.db import session_scope, utcnow
from jiefang.dispatch.service import Dispatcher, sweep
from jiefang.drills.execution import advance
from jiefang.duty.service import close_expired
from jiefang.events import EventBus
from jiefang.insurance.service import remind_expiring
from jiefang.reports.hotspots import scan as scan_hotspots
from jiefang.reports.service import flag_overdue
from jiefang.rewards.rules import Rules
from jiefang.rewards.service import award
from jiefang.tracking.live import LiveTracker
from jiefang.tracking.service import purge_track, raise_patrol_alerts, restore_store, store_lost_members, sync_on_duty

log = logging.getLogger(__name__)
POSITIONS_EVERY_S = 2.0
HOUSEKEEPING_EVERY_S = 30.0
PURGE_EVERY_S = 3600.0
DISPATCH_EVERY_S = 1.0
STORE_CHECK_EVERY_S = 2.0
DRILLS_EVERY_S = 2.0
REPORTS_EVERY_S = 60.0
HOTSPOTS_EVERY_S = 300.0
AWARD_EVERY_S = 300.0
INSURANCE_EVERY_S = 3600.0
SHARED_JOBS = ("checkout", "purge", "dispatch", "drills", "reports", "hotspots", "rewards", "insurance")
AWARD_LOOKBACK = timedelta(days=7)  # late events (a session closed a week later) still earn their points


def publish_position_changes(tracker: LiveTracker, bus: EventBus) -> int:
    """Publish what moved and who went off duty since the last call, one event per district.

    Returns how many members the events name.
    """
    moved, gone = tracker.take_changes()
    by_district: dict[int | None, dict[str, list[Any]]] = {}
    for m, p in sorted(moved.items()):
        entry = by_district.setdefault(p.district_id, {"moved": [], "gone": []})
        entry["moved"].append((m, p.unit_id, round(p.lon, 6), round(p.lat, 6)))
    for m, district_id in sorted(gone.items()):
        by_district.setdefault(district_id, {"moved": [], "gone": []})["gone"].append(m)
    for district_id, entry in by_district.items():  # not kept for replay: a reconnecting map reloads
        bus.publish("positions", keep=False, district_id=district_id, **entry)
    return len(moved) + len(gone)


def housekeeping(sessions: sessionmaker[Session], tracker: LiveTracker, bus: EventBus, *,
                 checkout: bool = True) -> None:
    """Close expired duty (unless ``checkout`` is false: the worker holding that lease does),
    re-sync the tracker with open sessions (other workers), raise patrol alerts."""
    with session_scope(sessions) as session:
        closed = close_expired(session, bus=bus) if checkout else 0
        added, removed = sync_on_duty(session, tracker)
        alerts = raise_patrol_alerts(session, tracker, bus)
    if closed or added or removed or alerts:
        log.info("housekeeping: %d auto check-outs, tracker +%d/-%d, %d patrol alerts", closed, added, removed, alerts)


async def _every(period_s: float, what: str, work: Callable[[], object], may_run: Callable[[], bool]) -> None:
    while True:
        await asyncio.sleep(period_s)
        if not may_run():
            continue
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("%s failed; will retry", what)


async def every_in_loop(period_s: float, what: str, work: Callable[[], Awaitable[object]]) -> None:
    """Run a coroutine every period in the event loop (for state that lives in the loop)."""
    while True:
        await asyncio.sleep(period_s)
        try:
            await work()
        except Exception:
            log.exception("%s failed; will retry", what)


class Stoppable(Protocol):
    def stop(self) -> None: ...


async def while_leased(start_service: Callable[[], Stoppable | None], holds: Callable[[], bool],
                       period_s: float) -> None:
    """Keep a service (the MQTT alarm intake) running in this worker only while it holds the
    service's lease: started when the lease is taken (again, if starting failed), stopped when lost."""
    service: Stoppable | None = None
    try:
        while True:
            if holds() and service is None:
                service = await asyncio.to_thread(start_service)
            elif not holds() and service is not None:
                await asyncio.to_thread(service.stop)
                service = None
            await asyncio.sleep(period_s)
    finally:
        if service is not None:
            service.stop()


def run_store_check(sessions: sessionmaker[Session], tracker: LiveTracker) -> int:
    """Rebuild the live picture in the position store if it lost it (Redis restarted); return how
    many members were put back. Costs one HLEN a round while nothing is lost."""
    if not store_lost_members(tracker):
        return 0
    with session_scope(sessions) as session:
        restored = restore_store(session, tracker)
    log.warning("the position store had lost members on duty: %d put back", restored)
    return restored


def run_dispatch(sessions: sessionmaker[Session], dispatcher: Dispatcher) -> dict[str, int]:
    """Run the dispatch deadlines now due (silence, arrivals, short tiers); return what happened."""
    with session_scope(sessions) as session:
        return sweep(session, dispatcher)


def run_drills(sessions: sessionmaker[Session], dispatcher: Dispatcher, settings: Settings) -> dict[str, int]:
    """Fire the drills now due and score the running ones; return what happened."""
    with session_scope(sessions) as session:
        return advance(session, dispatcher, settings.drills_muster_min)


def run_reports(sessions: sessionmaker[Session], bus: EventBus) -> int:
    """Flag hazard reports past their SLA deadline; return how many."""
    with session_scope(sessions) as session:
        return flag_overdue(session, bus)


def run_hotspots(sessions: sessionmaker[Session], bus: EventBus, settings: Settings) -> int:
    """Scan recent hazard reports for hotspots; return how many were raised or grew."""
    with session_scope(sessions) as session:
        return len(scan_hotspots(session, bus, settings))


def run_award(sessions: sessionmaker[Session], rules: Rules) -> int:
    """Add the points of the last week's events not yet in the ledger; return how many entries."""
    with session_scope(sessions) as session:
        return award(session, rules, since=utcnow() - AWARD_LOOKBACK)


def run_insurance_reminders(sessions: sessionmaker[Session], bus: EventBus, settings: Settings) -> int:
    """Remind members, leaders and operators of cover ending soon; return how many reminders."""
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    with session_scope(sessions) as session:
        return remind_expiring(session, bus, today, settings.insurance_remind_days)


def start(
    sessions: sessionmaker[Session],
    tracker: LiveTracker,
    bus: EventBus,
    settings: Settings,
    dispatcher: Dispatcher,
    rules: Rules,
    leases: Leases | None = None,
) -> list[asyncio.Task[None]]:
    """Start the background loops; return their tasks (cancel them at shutdown).

    With ``leases`` (several workers), a loop acting on shared state runs only while this worker
    holds its lease (jobs named in ``SHARED_JOBS``); the loops of this worker's own picture
    (positions feed, tracker sync, patrol alerts) run in every worker.
    """

    def purge() -> None:
        with session_scope(sessions) as session:
            n = purge_track(session, settings.track_retention_days)
            keys = purge_expired(session)
        if n:
            log.info("deleted %d track points older than %s days", n, settings.track_retention_days)
        if keys:
            log.info("deleted %d expired idempotency keys", keys)

    def always() -> bool:
        return True

    def holding(job: str) -> Callable[[], bool]:
        return always if leases is None else lambda: leases.holds(job)

    loops: list[tuple[float, str, Callable[[], object], Callable[[], bool]]] = [
        (POSITIONS_EVERY_S, "positions feed", lambda: publish_position_changes(tracker, bus), always),
        (HOUSEKEEPING_EVERY_S, "housekeeping",
         lambda: housekeeping(sessions, tracker, bus, checkout=holding("checkout")()), always),
        (PURGE_EVERY_S, "track purge", purge, holding("purge")),
        (DISPATCH_EVERY_S, "dispatch deadlines", lambda: run_dispatch(sessions, dispatcher), holding("dispatch")),
        (STORE_CHECK_EVERY_S, "position store check", lambda: run_store_check(sessions, tracker), always),
        (DRILLS_EVERY_S, "drills", lambda: run_drills(sessions, dispatcher, settings), holding("drills")),
        (REPORTS_EVERY_S, "report deadlines", lambda: run_reports(sessions, bus), holding("reports")),
        (HOTSPOTS_EVERY_S, "hotspot scan", lambda: run_hotspots(sessions, bus, settings), holding("hotspots")),
        (AWARD_EVERY_S, "rewards", lambda: run_award(sessions, rules), holding("rewards")),
        (INSURANCE_EVERY_S, "insurance reminders", lambda: run_insurance_reminders(sessions, bus, settings),
         holding("insurance")),
    ]
    return [asyncio.create_task(_every(*loop)) for loop in loops]
