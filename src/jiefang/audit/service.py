"""What is audited, writing entries, and reading them back within the caller's scope.

Audited: every request other than GET/HEAD/OPTIONS by a city admin, a district operator or a
unit leader (an operator action), and every successful read of an endpoint that returns members'
or parties' phone and ID numbers by a role that may see them in full (a personal-data view).
Members' own requests are not audited: they act on their own record only; nor are position
fixes (telemetry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiefang.audit.models import AuditEntry
from jiefang.audit.schemas import AuditKind, AuditOut
from jiefang.errors import Forbidden
from jiefang.pagination import paginate
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal
from jiefang.schemas import Page, PageParams

OPERATOR_ROLES = frozenset({CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints answering with members' or mediation parties' phone / ID numbers (in full for these roles).
PERSONAL_DATA_ROUTES = frozenset({
    "/api/members",
    "/api/members/{member_id}",
    "/api/units/{unit_id}",  # the leader's phone
    "/api/mediation/cases",
    "/api/mediation/cases/{case_id}",
    "/api/insurance/export.csv",
})
# Telemetry, not actions: position fixes (a city admin account may be a radio gateway sending
# thousands a second) would drown the log and slow the hot path.
TELEMETRY_ROUTES = frozenset({"/api/positions", "/api/positions/batch"})
TARGET_MAX = 400


@dataclass(frozen=True)
class AnsweredRequest:
    """What the audit needs to know of one answered request."""

    who: Principal
    method: str
    route: str
    path_params: dict[str, str]
    query: str
    status: int
    client_ip: str


def audit_kind(who: Principal, method: str, route: str, status: int) -> AuditKind | None:
    """Return "action", "view" or None (not audited) for a request of ``who`` answered with ``status``."""
    if who.role not in OPERATOR_ROLES:
        return None
    if method not in READ_METHODS:
        return None if route in TELEMETRY_ROUTES else "action"
    if route in PERSONAL_DATA_ROUTES and status < 400:
        return "view"
    return None


def entry_of(req: AnsweredRequest, kind: AuditKind) -> AuditEntry:
    """Return the audit entry of ``req``: target is its path ids, and for views its query string."""
    target = ",".join(f"{k}={v}" for k, v in sorted(req.path_params.items()))
    if kind == "view" and req.query:
        target = f"{target}?{req.query}" if target else f"?{req.query}"
    who = req.who
    return AuditEntry(account_id=who.account_id, username=who.username, role=who.role,
                      district_id=who.district_id, kind=kind, method=req.method, route=req.route[:200],
                      target=target[:TARGET_MAX], status=req.status, client_ip=req.client_ip[:64])


def record(session: Session, entry: AuditEntry) -> None:
    """Store ``entry`` and commit."""
    session.add(entry)
    session.commit()


def list_entries(
    session: Session,
    who: Principal,
    page: PageParams,
    *,
    username: str | None = None,
    kind: AuditKind | None = None,
    route: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditOut]:
    """Return audit entries newest first: all for a city admin, the district's accounts' for its
    operators; raises Forbidden for other roles."""
    stmt = select(AuditEntry)
    if who.role == DISTRICT_OPERATOR:
        stmt = stmt.where(AuditEntry.district_id == who.district_id, AuditEntry.role != CITY_ADMIN)
    elif who.role != CITY_ADMIN:
        raise Forbidden("the audit log is open to city admins and district operators")
    if username is not None:
        stmt = stmt.where(AuditEntry.username == username)
    if kind is not None:
        stmt = stmt.where(AuditEntry.kind == kind)
    if route is not None:
        stmt = stmt.where(AuditEntry.route == route)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    return paginate(session, stmt, page, [AuditEntry.at.desc(), AuditEntry.id.desc()], AuditOut.model_validate)
