"""HTTP route of the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from jiefang.api.deps import PageDep, PrincipalDep, SessionDep, require_roles
from jiefang.audit import service
from jiefang.audit.schemas import AuditKind, AuditOut
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR
from jiefang.schemas import Page, UtcDatetime

router = APIRouter(prefix="/api", tags=["audit"])


@router.get("/audit", response_model=Page[AuditOut], dependencies=[require_roles(CITY_ADMIN, DISTRICT_OPERATOR)])
def list_audit(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    username: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")] = None,
    kind: AuditKind | None = None,
    route: Annotated[str | None, Query(max_length=200, pattern=r"^/[^\x00-\x1f\x7f]*$",
                                       examples=["/api/members/{member_id}"])] = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
) -> Page[AuditOut]:
    """Operator actions and personal-data views, newest first: every entry for a city admin, the
    entries of their district's operators and unit leaders for a district operator."""
    return service.list_entries(session, who, page, username=username, kind=kind, route=route,
                                since=since, until=until)
