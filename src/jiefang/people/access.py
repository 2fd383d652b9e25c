"""Who is asking, and what their role lets them see and change.

Scopes: a city admin sees and changes everything; a district operator changes what lies in their
district; a unit leader changes their own unit and its members; a member changes nothing but
their own password and sees their own record and their unit. Personal data (phone, ID number) is
shown in full only where the role needs it to act; everywhere else it is masked.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY_ADMIN = "city_admin"
DISTRICT_OPERATOR = "district_operator"
UNIT_LEADER = "unit_leader"
MEMBER = "member"


@dataclass(frozen=True)
class Principal:
    account_id: int
    username: str
    role: str
    district_id: int | None = None
    unit_id: int | None = None
    member_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == CITY_ADMIN


def can_manage_unit(who: Principal, unit_id: int, unit_district_id: int) -> bool:
    """Return True if ``who`` may change the unit (its record, teams, members)."""
    if who.role == CITY_ADMIN:
        return True
    if who.role == DISTRICT_OPERATOR:
        return who.district_id == unit_district_id
    if who.role == UNIT_LEADER:
        return who.unit_id == unit_id
    return False


def can_see_member_pii(who: Principal, member_id: int, unit_id: int, district_id: int) -> bool:
    """Return True if ``who`` may see a member's phone in full (to call them)."""
    return member_id == who.member_id or can_manage_unit(who, unit_id, district_id)


def can_see_id_number(who: Principal, member_id: int, district_id: int) -> bool:
    """Return True if ``who`` may see a member's resident ID number in full.

    Only the member and operators who register insurance and verify identity (city admin, the
    member's district operator) need it; unit leaders and other members never do.
    """
    if member_id == who.member_id or who.role == CITY_ADMIN:
        return True
    return who.role == DISTRICT_OPERATOR and who.district_id == district_id


def mask_phone(phone: str | None) -> str | None:
    """Return ``138****5678`` style masking of a phone number."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_id_number(id_number: str | None) -> str | None:
    """Return an ID number with all but the first 2 and last 2 characters masked."""
    if not id_number:
        return id_number
    if len(id_number) <= 4:
        return "*" * len(id_number)
    return f"{id_number[:2]}{'*' * (len(id_number) - 4)}{id_number[-2:]}"
