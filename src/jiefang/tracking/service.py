"""Live tracking against the database: who is on duty, fix ingest, the durable track, queries.

The ``LiveTracker`` holds the live picture in memory (positions in Redis too when configured);
this module fills it from open duty sessions, keeps it in step with check-ins and check-outs
(events on the bus), and writes what must survive — kept track points and fence events — in
the same transaction that answers the phone.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import shapely
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, sessionmaker

from jiefang.areas.models import Area
from jiefang.config import Settings
from jiefang.db import utcnow
from jiefang.duty.models import DutySession
from jiefang.errors import DomainError, Forbidden, InvalidInput, NotFound
from jiefang.events import Event, EventBus
from jiefang.geo.projection import LocalProjection, haversine_m
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal
from jiefang.people.models import Member, MemberSkill
from jiefang.tracking.fences import FenceEvent as FenceCrossing
from jiefang.tracking.fencing import active_fences
from jiefang.tracking.fixes import FixRules, FixStatus, FixValidator
from jiefang.tracking.index import OnDutyMember, PositionIndex, PositionStore
from jiefang.tracking.live import LiveTracker, Sampling
from jiefang.tracking.models import FenceEvent, TrackPoint
from jiefang.tracking.schemas import FixIn, IngestOut, NearbyOut
from jiefang.units.models import Unit, UnitEquipment

log = logging.getLogger(__name__)
NOT_ON_DUTY = "not_on_duty"
BOUNDS_MARGIN_DEG = 0.05  # fixes just over the city line (a bridge, a border road) still count
DEFAULT_CENTRE = (113.5, 23.25)  # Guangzhou, until districts are loaded


def build_tracker(session: Session, settings: Settings) -> LiveTracker:
    """Return a tracker for the city in the database, filled with who is on duty and the fences."""
    bounds = session.execute(
        select(func.min(Area.min_lon), func.min(Area.min_lat), func.max(Area.max_lon), func.max(Area.max_lat))
        .where(Area.level == "district")
    ).one()
    bbox = None
    centre = DEFAULT_CENTRE
    if bounds[0] is not None:
        m = BOUNDS_MARGIN_DEG
        bbox = (bounds[0] - m, bounds[1] - m, bounds[2] + m, bounds[3] + m)
        centre = ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    projection = LocalProjection(*centre)
    store: PositionStore
    if settings.redis_url:
        import redis

        from jiefang.tracking.redis_store import RedisPositionStore

        store = RedisPositionStore(redis.Redis.from_url(settings.redis_url), prefix=f"{settings.redis_prefix}:duty")
    else:
        store = PositionIndex(projection)
    rules = FixRules(max_speed_mps=settings.fix_max_speed_mps, max_accuracy_m=settings.fix_max_accuracy_m, bbox=bbox)
    tracker = LiveTracker(store, FixValidator(rules), sampling=Sampling(settings.track_every_s, settings.track_moved_m))
    for fence, district_id, unit_id in active_fences(session):
        tracker.set_fence(fence, district_id, unit_id)
    sync_on_duty(session, tracker)
    return tracker


def on_duty_members(session: Session, member_ids: list[int] | None = None) -> list[tuple[OnDutyMember, int]]:
    """Return the members with an open duty session (all, or of ``member_ids``) with their district.

    A member is placed at their last kept track point, else where they checked in.
    """
    stmt = (
        select(DutySession, Member.role, Member.team_id, Unit.district_id)
        .join(Member, Member.id == DutySession.member_id)
        .join(Unit, Unit.id == DutySession.unit_id)
        .where(DutySession.checked_out_at.is_(None))
    )
    if member_ids is not None:
        stmt = stmt.where(DutySession.member_id.in_(member_ids))
    rows = session.execute(stmt).all()
    if not rows:
        return []
    ids = [r[0].member_id for r in rows]
    skills: dict[int, set[str]] = {}
    for m, s in session.execute(select(MemberSkill.member_id, MemberSkill.skill).where(MemberSkill.member_id.in_(ids))):
        skills.setdefault(m, set()).add(s)
    units = {r[0].unit_id for r in rows}
    equipment: dict[int, set[str]] = {}
    for u, kind in session.execute(
        select(UnitEquipment.unit_id, UnitEquipment.kind).where(UnitEquipment.unit_id.in_(units),
                                                                UnitEquipment.quantity > 0)
    ):
        equipment.setdefault(u, set()).add(kind)
    last = _last_points(session, [r[0] for r in rows])
    out = []
    for duty, role, team_id, district_id in rows:
        lon, lat = last.get(duty.member_id, (duty.check_in_lon, duty.check_in_lat))
        out.append((OnDutyMember(
            member_id=duty.member_id, unit_id=duty.unit_id, lon=lon, lat=lat, team_id=team_id, role=role,
            skills=frozenset(skills.get(duty.member_id, ())), equipment=frozenset(equipment.get(duty.unit_id, ())),
        ), district_id))
    return out


def _last_points(session: Session, duties: list[DutySession]) -> dict[int, tuple[float, float]]:
    """Return each member's latest kept position since they checked in."""
    if not duties:
        return {}
    since = min(d.checked_in_at for d in duties)
    latest = (
        select(TrackPoint.member_id, func.max(TrackPoint.t).label("t"))
        .where(TrackPoint.member_id.in_([d.member_id for d in duties]), TrackPoint.t >= since,
               TrackPoint.flagged.is_(None))
        .group_by(TrackPoint.member_id).subquery()
    )
    rows = session.execute(
        select(TrackPoint.member_id, TrackPoint.lon, TrackPoint.lat)
        .join(latest, (latest.c.member_id == TrackPoint.member_id) & (latest.c.t == TrackPoint.t))
    ).all()
    started = {d.member_id: d.checked_in_at for d in duties}
    return {m: (lon, lat) for m, lon, lat in rows if m in started}


def store_lost_members(tracker: LiveTracker) -> bool:
    """True when the position store holds fewer members than are on duty here: a Redis that
    restarted empty (raises redis.ConnectionError while it is down)."""
    return len(tracker.store) < len(tracker)


def restore_store(session: Session, tracker: LiveTracker, chunk: int = 5000) -> int:
    """Put every member on duty here back into the position store, at their last kept track point
    (else where they checked in), when it lost them; return how many were put back."""
    if not store_lost_members(tracker):
        return 0
    ids, restored = sorted(tracker.on_duty_ids()), 0
    for start in range(0, len(ids), chunk):
        for member, district_id in on_duty_members(session, ids[start:start + chunk]):
            tracker.go_on_duty(member, district_id)
            restored += 1
    return restored


def sync_on_duty(session: Session, tracker: LiveTracker, chunk: int = 5000) -> tuple[int, int]:
    """Bring the tracker in step with the open duty sessions; return (added, removed).

    Only ids are read for members already known, so a periodic sync at city scale stays cheap;
    the full record is loaded only for members this process has not seen go on duty.
    """
    open_ids = set(session.scalars(select(DutySession.member_id).where(DutySession.checked_out_at.is_(None))))
    known = tracker.on_duty_ids()
    missing = sorted(open_ids - known)
    added = 0
    for start in range(0, len(missing), chunk):
        for member, district_id in on_duty_members(session, missing[start:start + chunk]):
            tracker.go_on_duty(member, district_id)
            added += 1
    removed = sum(tracker.go_off_duty(m) for m in known - open_ids)
    return added, removed


def follow_duty(bus: EventBus, tracker: LiveTracker, sessions: sessionmaker[Session]) -> None:
    """Keep the tracker in step with check-ins and check-outs published on the bus."""

    def on_event(event: Event) -> None:
        if event["type"] == "duty.check_in":
            with sessions() as session:
                for member, district_id in on_duty_members(session, [event["member_id"]]):
                    tracker.go_on_duty(member, district_id)
        elif event["type"] == "duty.check_out":
            tracker.go_off_duty(event["member_id"])

    # remote too: this worker's on-duty set and fence memberships must follow check-ins made
    # through other workers now, not at the next housekeeping sync (the shared store is idempotent)
    bus.subscribe(on_event, remote=True)


def _whose(who: Principal, fixes: list[FixIn]) -> np.ndarray:
    """Return the member id of each fix; members send their own, city admins (radio gateways) anyone's."""
    if who.role == CITY_ADMIN:
        if any(f.member_id is None for f in fixes):
            raise InvalidInput("fixes sent by a gateway must each name member_id")
        return np.array([f.member_id for f in fixes], dtype=np.int64)
    if who.member_id is None:
        raise Forbidden("this account has no member record: only members (their own) and city admins "
                        "(a position gateway) send positions")
    if any(f.member_id not in (None, who.member_id) for f in fixes):
        raise Forbidden("members send their own positions only")
    return np.full(len(fixes), who.member_id, dtype=np.int64)


def _ensure_on_duty(session: Session, tracker: LiveTracker, ids: np.ndarray) -> np.ndarray:
    """Return which fixes are of members on duty, loading those checked in through another worker."""
    unknown = sorted({m for m in set(ids.tolist()) if not tracker.is_on_duty(m)})
    if unknown:
        for member, district_id in on_duty_members(session, unknown):
            tracker.go_on_duty(member, district_id)
    return np.fromiter((tracker.is_on_duty(m) for m in ids.tolist()), dtype=np.bool_, count=ids.size)


def ingest_fixes(session: Session, tracker: LiveTracker, bus: EventBus, who: Principal, fixes: list[FixIn],
                 now: float | None = None) -> IngestOut:
    """Validate and apply a batch of fixes; store kept track points and fence events, then publish.

    Fixes of members not on duty get status ``not_on_duty``. Raises Forbidden when the caller
    may not send some of the fixes, InvalidInput for a gateway fix without member_id.
    """
    out, crossings = _apply_fixes(session, tracker, who, fixes, now)
    session.commit()
    _publish_crossings(bus, tracker, crossings)
    return out


def ingest_rounds(session: Session, tracker: LiveTracker, bus: EventBus,
                  batches: list[tuple[Principal, list[FixIn]]]) -> list[IngestOut | DomainError]:
    """Apply the batches of many callers with one commit; return each one's answer or refusal.

    A refusal (see ``ingest_fixes``) comes before anything of its batch is written, so the others
    are stored as if sent alone.
    """
    answers: list[IngestOut | DomainError] = []
    crossings: list[FenceCrossing] = []
    now = datetime.now(UTC).timestamp()
    for who, fixes in batches:
        try:
            out, crossed = _apply_fixes(session, tracker, who, fixes, now)
        except DomainError as exc:
            answers.append(exc)
            continue
        answers.append(out)
        crossings += crossed
    session.commit()
    _publish_crossings(bus, tracker, crossings)
    return answers


def _apply_fixes(session: Session, tracker: LiveTracker, who: Principal, fixes: list[FixIn],
                 now: float | None) -> tuple[IngestOut, list[FenceCrossing]]:
    """Apply a batch to the live picture and add its track points and fence events to the session
    (refusals raised before anything is written); return the answer and the crossings."""
    now = datetime.now(UTC).timestamp() if now is None else now
    ids = _whose(who, fixes)
    columns = np.array([(f.lon, f.lat, f.t, f.accuracy_m) for f in fixes], dtype=np.float64).reshape(-1, 4)
    on_duty = _ensure_on_duty(session, tracker, ids)
    names = [NOT_ON_DUTY] * len(fixes)
    sel = np.flatnonzero(on_duty)
    crossings: list[FenceCrossing] = []
    if sel.size:
        lon, lat, t, acc = (np.ascontiguousarray(columns[sel, i]) for i in range(4))
        result = tracker.ingest(ids[sel], lon, lat, t, acc, now)
        crossings = result.events
        for i, code in zip(sel.tolist(), result.status.tolist(), strict=True):
            names[i] = FixStatus(code).name.lower()
        kept = sel[result.keep]
        if kept.size:
            session.execute(insert(TrackPoint), [
                {"member_id": int(ids[i]), "t": _utc(float(columns[i, 2])), "lon": float(columns[i, 0]),
                 "lat": float(columns[i, 1]), "accuracy_m": float(columns[i, 3]),
                 "flagged": None if names[i] == "accepted" else names[i]}
                for i in kept.tolist()
            ])
    _store_crossings(session, crossings)
    counts = Counter(names)
    out = IngestOut(accepted=counts.get("accepted", 0), status=names, counts=dict(counts),  # type: ignore[arg-type]
                    fence_events=len(crossings))
    return out, crossings


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _store_crossings(session: Session, crossings: list[FenceCrossing]) -> None:
    if crossings:
        session.execute(insert(FenceEvent), [
            {"fence_id": c.fence_id, "member_id": c.member_id, "kind": str(c.kind), "at": _utc(c.t),
             "lon": c.lon, "lat": c.lat} for c in crossings
        ])


def _publish_crossings(bus: EventBus, tracker: LiveTracker, crossings: list[FenceCrossing]) -> None:
    for c in crossings:
        placed = tracker.placed(c.member_id)
        fence_district, fence_unit = tracker.fence_scope(c.fence_id)
        bus.publish("fence." + str(c.kind), fence_id=c.fence_id, fence_kind=c.fence_kind, member_id=c.member_id,
                    lon=c.lon, lat=c.lat, t=c.t, unit_id=placed.unit_id if placed else None,
                    district_id=placed.district_id if placed else None, fence_district_id=fence_district,
                    fence_unit_id=fence_unit)


def raise_patrol_alerts(session: Session, tracker: LiveTracker, bus: EventBus, now: float | None = None) -> int:
    """Store and publish the patrol-absence alerts now due; return how many."""
    alerts = tracker.tick(datetime.now(UTC).timestamp() if now is None else now)
    _store_crossings(session, alerts)
    session.commit()
    _publish_crossings(bus, tracker, alerts)
    return len(alerts)


def purge_track(session: Session, retention_days: float, now: datetime | None = None) -> int:
    """Delete track points older than the retention; return how many."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = cast(CursorResult[Any], session.execute(delete(TrackPoint).where(TrackPoint.t < cutoff)))
    session.commit()
    return int(result.rowcount or 0)


def _district_scope(who: Principal) -> int | None:
    """Return the district an operator is limited to (None: the whole city). Raises Forbidden."""
    if who.role == CITY_ADMIN:
        return None
    if who.role == DISTRICT_OPERATOR:
        return who.district_id
    raise Forbidden("live positions are for city and district operators")


def live_positions(tracker: LiveTracker, who: Principal) -> dict[str, list[Any]]:
    """Return the members on duty the operator may see, as parallel arrays."""
    district = _district_scope(who)
    ids: list[int] = []
    units: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    for m, p in sorted(tracker.snapshot().items()):
        if district is None or p.district_id == district:
            ids.append(m)
            units.append(p.unit_id)
            lons.append(round(p.lon, 6))
            lats.append(round(p.lat, 6))
    return {"member_ids": ids, "unit_ids": units, "lons": lons, "lats": lats}


def nearby(session: Session, tracker: LiveTracker, who: Principal, lon: float, lat: float, *, k: int = 20,
           radius_m: float | None = None, skills: list[str] | None = None, equipment: list[str] | None = None,
           roles: list[str] | None = None, team_id: int | None = None, unit_id: int | None = None,
           polygon: dict[str, Any] | None = None) -> list[NearbyOut]:
    """Return members on duty near (lon, lat), nearest first, with ETA; operators only.

    With ``radius_m`` everyone within it (up to ``k``); with ``polygon`` everyone inside it.
    Raises Forbidden, InvalidInput (unknown skill/equipment/role, bad polygon).
    """
    district = _district_scope(who)
    where: dict[str, Any] = {"skills": skills or (), "equipment": equipment or (), "roles": roles or (),
                             "team_id": team_id, "unit_id": unit_id}
    store = tracker.store
    if polygon is not None:
        from jiefang.geo.validation import parse_polygon

        shape = parse_polygon(polygon, "polygon")
        c_lon, c_lat = shapely.get_coordinates(shape.centroid)[0].tolist()
        vertices = shapely.get_coordinates(shape)
        reach_m = float(haversine_m(c_lon, c_lat, vertices[:, 0], vertices[:, 1]).max()) * 1.01 + 1.0
        around = store.within_circle(c_lon, c_lat, reach_m, **where)  # nearest the centre first
        inside = shapely.intersects_xy(shape, [h.lon for h in around], [h.lat for h in around])
        hits = [h for h, ok in zip(around, inside.tolist(), strict=True) if ok]
    elif radius_m is not None:
        hits = store.within_circle(lon, lat, radius_m, **where)[:k]
    else:
        hits = store.nearest(lon, lat, k, **where)
    return _describe(session, hits, district)


def _describe(session: Session, hits: list[Any], district: int | None) -> list[NearbyOut]:
    if not hits:
        return []
    ids = [h.member_id for h in hits]
    rows = {r[0]: r for r in session.execute(
        select(Member.id, Member.name, Member.role, Member.unit_id, Member.team_id, Unit.name, Unit.district_id)
        .join(Unit, Unit.id == Member.unit_id).where(Member.id.in_(ids))
    )}
    skills: dict[int, list[str]] = {}
    for m, s in session.execute(select(MemberSkill.member_id, MemberSkill.skill).where(MemberSkill.member_id.in_(ids))
                                .order_by(MemberSkill.skill)):
        skills.setdefault(m, []).append(s)
    out = []
    for h in hits:
        row = rows.get(h.member_id)
        if row is None or (district is not None and row[6] != district):
            continue
        out.append(NearbyOut(member_id=h.member_id, name=row[1], role=row[2], unit_id=row[3], team_id=row[4],
                             unit_name=row[5], skills=skills.get(h.member_id, []), distance_m=round(h.distance_m, 1),
                             eta_s=round(h.eta_s, 1), lon=h.lon, lat=h.lat))
    return out


def member_track(session: Session, who: Principal, member_id: int, since: datetime, until: datetime,
                 limit: int = 5000) -> list[TrackPoint]:
    """Return a member's kept track between two instants, oldest first (the member, their leader, operators).

    Raises NotFound, Forbidden.
    """
    row = session.execute(select(Member.unit_id, Unit.district_id).join(Unit, Unit.id == Member.unit_id)
                          .where(Member.id == member_id)).one_or_none()
    if row is None:
        raise NotFound(f"member {member_id} not found")
    unit_id, district_id = row
    allowed = (who.role == CITY_ADMIN or who.member_id == member_id
               or (who.role == DISTRICT_OPERATOR and who.district_id == district_id)
               or (who.role == UNIT_LEADER and who.unit_id == unit_id))
    if not allowed:
        raise Forbidden("you may not see this member's track")
    return list(session.scalars(
        select(TrackPoint).where(TrackPoint.member_id == member_id, TrackPoint.t >= since, TrackPoint.t <= until)
        .order_by(TrackPoint.t).limit(limit)
    ))
