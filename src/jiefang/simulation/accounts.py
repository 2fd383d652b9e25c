"""Demo accounts for the synthetic city: one per role, so every screen can be tried."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jiefang.areas.models import Area
from jiefang.errors import Conflict
from jiefang.people.accounts import ensure_account
from jiefang.people.models import Account, Member
from jiefang.people.security import verify_password
from jiefang.units.models import Unit

DEMO_DISTRICT_CODE = "440106"  # 天河区: the leader and member accounts come from a unit here


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    scope: str


def create_demo_accounts(session: Session, password: str) -> list[DemoAccount]:
    """Create (or reset) the city admin, one operator per district, a unit leader and a member.

    Raises Conflict if the database holds no district or no unit with a leader and a member.
    """
    made = [DemoAccount("admin", "city_admin", "广州市")]
    ensure_account(session, "admin", password, "city_admin")
    districts = session.scalars(select(Area).where(Area.level == "district").order_by(Area.code)).all()
    if not districts:
        raise Conflict("no districts: seed the city first (jiefang seed)")
    for d in districts:
        ensure_account(session, f"op-{d.code}", password, "district_operator", district_id=d.id)
        made.append(DemoAccount(f"op-{d.code}", "district_operator", d.name))
    demo_district = next((d for d in districts if d.code == DEMO_DISTRICT_CODE), districts[0])
    unit = session.scalar(
        select(Unit)
        .where(Unit.district_id == demo_district.id, Unit.leader_member_id.is_not(None))
        .order_by(Unit.id)
        .limit(1)
    )
    if unit is None:
        raise Conflict("no unit with a leader: seed the city first (jiefang seed)")
    ensure_account(session, "leader-demo", password, "unit_leader", district_id=unit.district_id,
                   unit_id=unit.id, member_id=unit.leader_member_id)
    made.append(DemoAccount("leader-demo", "unit_leader", unit.name))
    member = session.scalar(
        select(Member).where(Member.unit_id == unit.id, Member.id != unit.leader_member_id).order_by(Member.id).limit(1)
    )
    if member is not None:
        ensure_account(session, "member-demo", password, "member", district_id=unit.district_id,
                       unit_id=unit.id, member_id=member.id)
        made.append(DemoAccount("member-demo", "member", f"{member.name} @ {unit.name}"))
    return made


def demo_accounts_with_password(session: Session, password: str) -> list[str]:
    """Return the usernames of active demo accounts (admin, op-<district>, leader-demo, member-demo)
    whose password is ``password``."""
    demo = or_(Account.username.in_(("admin", "leader-demo", "member-demo")), Account.username.like("op-%"))
    rows = session.scalars(select(Account).where(Account.active.is_(True), demo).order_by(Account.username))
    return [a.username for a in rows if verify_password(a.password_hash, password)]
