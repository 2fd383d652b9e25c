"""Duty posts and their QR codes, check-in (立码报) and check-out, automatic check-out.

Every check-in and check-out is written to the database, with an audit row, before the member
is answered; refused attempts are audited too.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiefang.config import Settings
from jiefang.db import utcnow
from jiefang.duty.models import DutyAudit, DutyPost, DutySession, ServerSecret, UnitHelper
from jiefang.duty.qr import read_post_token, sign_post_token
from jiefang.duty.rosters import running_rostered_shifts
from jiefang.duty.schemas import CheckIn, PostIn
from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.events import EventBus
from jiefang.geo.projection import haversine_m
from jiefang.insurance.service import has_cover
from jiefang.people.access import Principal, can_manage_unit
from jiefang.people.models import Member
from jiefang.units.models import Unit

QR_SECRET_NAME = "qr_signing_key"


def qr_secret(session: Session, settings: Settings) -> bytes:
    """Return the QR signing key: from settings, else generated once and kept in the database."""
    if settings.qr_secret:
        return settings.qr_secret.encode()
    row = session.get(ServerSecret, QR_SECRET_NAME)
    if row is None:
        session.add(ServerSecret(name=QR_SECRET_NAME, value=secrets.token_hex(32)))
        try:
            session.commit()
        except IntegrityError:  # another worker created it first: use theirs
            session.rollback()
        row = session.get_one(ServerSecret, QR_SECRET_NAME)
    return row.value.encode()


def _audit(
    session: Session, who: Principal | None, action: str, member_id: int | None, unit_id: int | None, **detail: object
) -> None:
    session.add(
        DutyAudit(
            account_id=who.account_id if who and who.account_id else None,
            member_id=member_id,
            unit_id=unit_id,
            action=action,
            detail=json.dumps(detail, ensure_ascii=False),
        )
    )


def _managed_unit(session: Session, who: Principal, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    if not can_manage_unit(who, unit.id, unit.district_id):
        raise Forbidden(f"your role ({who.role}) may not manage posts of unit {unit.code}")
    return unit


def create_post(session: Session, who: Principal, unit_id: int, data: PostIn, max_distance_m: float = 2000) -> DutyPost:
    """Add a post to a unit, within ``max_distance_m`` of its site; raises NotFound, Forbidden, InvalidInput."""
    unit = _managed_unit(session, who, unit_id)
    distance = float(haversine_m(unit.lon, unit.lat, data.lon, data.lat))
    if distance > max_distance_m:
        raise InvalidInput(
            f"the post is {distance:.0f} m from the unit's site; posts must be within {max_distance_m:.0f} m"
        )
    post = DutyPost(unit_id=unit.id, name=data.name, lon=data.lon, lat=data.lat)
    session.add(post)
    session.commit()
    return post


def get_post(session: Session, post_id: int) -> DutyPost:
    """Return a post; raises NotFound."""
    post = session.get(DutyPost, post_id)
    if post is None:
        raise NotFound(f"post {post_id} not found")
    return post


def list_posts(session: Session, unit_id: int) -> list[DutyPost]:
    """Return the posts of a unit."""
    return list(session.scalars(select(DutyPost).where(DutyPost.unit_id == unit_id).order_by(DutyPost.id)))


def managed_post(session: Session, who: Principal, post_id: int) -> DutyPost:
    """Return a post of a unit the caller manages; raises NotFound, Forbidden."""
    post = get_post(session, post_id)
    _managed_unit(session, who, post.unit_id)
    return post


def post_token(session: Session, settings: Settings, post: DutyPost) -> str:
    """Return the current QR token text of a post."""
    return sign_post_token(qr_secret(session, settings), post.id, post.token_version)


def rotate_post(session: Session, who: Principal, post_id: int) -> DutyPost:
    """Issue a new code for a post: every earlier print stops working. Raises NotFound, Forbidden."""
    post = managed_post(session, who, post_id)
    post.token_version += 1
    _audit(session, who, "rotate_qr", None, post.unit_id, post_id=post.id, version=post.token_version)
    session.commit()
    return post


def open_session(session: Session, member_id: int) -> DutySession | None:
    """Return the member's open duty session, if any."""
    return session.scalar(
        select(DutySession).where(DutySession.member_id == member_id, DutySession.checked_out_at.is_(None))
    )


def _refuse(session: Session, who: Principal, member_id: int | None, unit_id: int | None, exc: Exception) -> None:
    """Audit a refused check-in in its own transaction, then let the error reach the member."""
    session.rollback()
    _audit(session, who, "check_in_refused", member_id, unit_id, reason=str(exc))
    session.commit()


def check_in(
    session: Session, settings: Settings, who: Principal, data: CheckIn, now: datetime | None = None,
    bus: EventBus | None = None,
) -> DutySession:
    """Put the caller's member on duty at the post named by the scanned token.

    Scanning again at the same unit returns the open session unchanged; at another unit the old
    session is closed first. Raises Forbidden (no member, not of this unit), InvalidInput (forged
    or rotated code, too far from the post with the distance, fix too imprecise), NotFound.
    """
    now = now or utcnow()
    if who.member_id is None:
        raise Forbidden("only members go on duty; this account has no member record")
    member = session.get(Member, who.member_id)
    if member is None or member.status != "active":
        raise Forbidden("your member record is missing or inactive")
    post: DutyPost | None = None
    try:
        token = read_post_token(qr_secret(session, settings), data.token)
        post = session.get(DutyPost, token.post_id)
        if post is None or not post.active:
            raise InvalidInput("this post no longer exists or is closed")
        if token.version != post.token_version:
            raise InvalidInput("this QR code was replaced by a newer one: scan the code now posted")
        as_helper = member.unit_id != post.unit_id
        if as_helper and session.get(UnitHelper, (post.unit_id, member.id)) is None:
            raise Forbidden("you are not a member or registered helper of this unit")
        if data.accuracy_m is not None and data.accuracy_m > settings.checkin_max_accuracy_m:
            raise InvalidInput(f"GPS fix too imprecise ({data.accuracy_m:.0f} m): wait for a better fix")
        distance = float(haversine_m(post.lon, post.lat, data.lon, data.lat))
        if distance > settings.checkin_radius_m:
            raise InvalidInput(
                f"you are {distance:.0f} m from post {post.name}; "
                f"check in within {settings.checkin_radius_m:.0f} m of it"
            )
    except (InvalidInput, Forbidden) as exc:
        _refuse(session, who, member.id, post.unit_id if post else None, exc)
        raise
    duty = _start(session, settings, who, member, post, as_helper, distance, data, now)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    uninsured = duty.checked_in_at == now and not has_cover(session, member.id, today)
    if uninsured:
        # flagged, not refused: audited, and the operators see it on the check-in event and in
        # GET /api/insurance/uncovered-on-duty
        _audit(session, who, "check_in_uninsured", member.id, duty.unit_id, session_id=duty.id)
        session.commit()
    _announce(session, bus, "duty.check_in", duty, uninsured=uninsured)
    return duty


def _start(
    session: Session,
    settings: Settings,
    who: Principal,
    member: Member,
    post: DutyPost,
    as_helper: bool,
    distance: float,
    data: CheckIn,
    now: datetime,
) -> DutySession:
    current = open_session(session, member.id)
    if current is not None and current.unit_id == post.unit_id:
        return current
    if current is not None:
        _close(session, who, current, now, "moved")
    tz = ZoneInfo(settings.timezone)
    shift_id, ends_at = None, now + timedelta(seconds=settings.unrostered_duty_s)
    for shift, _start_at, end_at, members in running_rostered_shifts(session, [post.unit_id], now, tz):
        if member.id in members:
            shift_id, ends_at = shift.id, end_at + timedelta(seconds=settings.checkout_grace_s)
            break
    duty = DutySession(
        member_id=member.id,
        unit_id=post.unit_id,
        post_id=post.id,
        shift_id=shift_id,
        as_helper=as_helper,
        checked_in_at=now,
        check_in_lon=data.lon,
        check_in_lat=data.lat,
        check_in_accuracy_m=data.accuracy_m,
        check_in_distance_m=round(distance, 1),
        auto_checkout_at=ends_at,
    )
    session.add(duty)
    _audit(
        session,
        who,
        "check_in",
        member.id,
        post.unit_id,
        post_id=post.id,
        distance_m=round(distance, 1),
        shift_id=shift_id,
        as_helper=as_helper,
    )
    try:
        session.commit()
    except IntegrityError:
        # a concurrent scan by the same member won the unique open-session index: use that one
        session.rollback()
        existing = open_session(session, member.id)
        if existing is None:
            raise
        return existing
    return duty


def _announce(session: Session, bus: EventBus | None, type_: str, duty: DutySession, **extra: Any) -> None:
    """Publish a committed check-in or check-out for the board, the map and the live tracker."""
    if bus is None:
        return
    district_id = session.scalar(select(Unit.district_id).where(Unit.id == duty.unit_id))
    # end the read before publishing: the live tracker's subscriber opens its own session, and a
    # burst of check-ins each holding one connection while waiting for a second runs the pool dry
    session.commit()
    bus.publish(type_, member_id=duty.member_id, unit_id=duty.unit_id, district_id=district_id,
                session_id=duty.id, reason=duty.check_out_reason, **extra)


def _close(session: Session, who: Principal | None, duty: DutySession, at: datetime, reason: str) -> None:
    duty.checked_out_at = at
    duty.check_out_reason = reason
    _audit(session, who, "check_out", duty.member_id, duty.unit_id, session_id=duty.id, reason=reason)


def check_out(
    session: Session, settings: Settings, who: Principal, token: str | None, now: datetime | None = None,
    bus: EventBus | None = None,
) -> DutySession:
    """End the caller's duty, by scanning the post's code or with the off-duty button.

    Raises Forbidden without a member, NotFound if not on duty, InvalidInput for a bad code.
    """
    now = now or utcnow()
    if who.member_id is None:
        raise Forbidden("only members go off duty; this account has no member record")
    duty = open_session(session, who.member_id)
    if duty is None:
        raise NotFound("you are not on duty")
    reason = "manual"
    if token:
        post_token_ = read_post_token(qr_secret(session, settings), token)
        post = session.get(DutyPost, post_token_.post_id)
        if post is None or post.unit_id != duty.unit_id or post_token_.version != post.token_version:
            raise InvalidInput("this code is not a current code of the unit you are on duty at")
        reason = "scan"
    _close(session, who, duty, now, reason)
    session.commit()
    _announce(session, bus, "duty.check_out", duty)
    return duty


def close_expired(session: Session, now: datetime | None = None, bus: EventBus | None = None) -> int:
    """Check out every session past its shift end plus grace; return how many were closed."""
    now = now or utcnow()
    expired = session.scalars(
        select(DutySession).where(DutySession.checked_out_at.is_(None), DutySession.auto_checkout_at <= now)
    ).all()
    for duty in expired:
        _close(session, None, duty, duty.auto_checkout_at or now, "shift_end")
    session.commit()
    for duty in expired:
        _announce(session, bus, "duty.check_out", duty)
    return len(expired)


def register_helper(session: Session, who: Principal, unit_id: int, member_id: int) -> None:
    """Let a member of another unit check in at this unit; raises NotFound, Forbidden, InvalidInput."""
    unit = _managed_unit(session, who, unit_id)
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found")
    if member.unit_id == unit.id:
        raise InvalidInput("this member already belongs to the unit")
    if session.get(UnitHelper, (unit.id, member.id)) is None:
        session.add(UnitHelper(unit_id=unit.id, member_id=member.id))
    session.commit()


def force_check_out(
    session: Session, who: Principal, session_id: int, now: datetime | None = None, bus: EventBus | None = None
) -> DutySession:
    """An operator or leader ends a member's duty; raises NotFound, Forbidden."""
    duty = session.get(DutySession, session_id)
    if duty is None or duty.checked_out_at is not None:
        raise NotFound(f"open duty session {session_id} not found")
    _managed_unit(session, who, duty.unit_id)
    _close(session, who, duty, now or utcnow(), "operator")
    session.commit()
    _announce(session, bus, "duty.check_out", duty)
    return duty
