"""Member roles, skills and account roles, with their Chinese and English labels."""

from __future__ import annotations

# role of a member inside a unit -> (中文, English)
MEMBER_ROLES: dict[str, tuple[str, str]] = {
    "leader": ("单元负责人", "Unit leader"),
    "deputy": ("副负责人", "Deputy leader"),
    "security_officer": ("安全员", "Security officer"),
    "guard": ("保安员", "Security guard"),
    "staff": ("商户员工", "Shop staff"),
    "volunteer": ("街坊志愿者", "Neighbourhood volunteer"),
}

# skill or certification -> (中文, English)
SKILLS: dict[str, tuple[str, str]] = {
    "first_aid": ("急救", "First aid"),
    "fire": ("消防", "Fire fighting"),
    "ex_military": ("退役军人", "Ex-military"),
    "mediation": ("调解", "Mediation"),
    "driving": ("驾驶", "Driving"),
}

# account role -> (中文, English); scope: city_admin none, district_operator a district,
# unit_leader a unit, member their own member record
ACCOUNT_ROLES: dict[str, tuple[str, str]] = {
    "city_admin": ("市级管理员", "City administrator"),
    "district_operator": ("区级值班员", "District operator"),
    "unit_leader": ("单元负责人", "Unit leader"),
    "member": ("队员", "Member"),
}

MEMBER_STATUSES = ("active", "inactive")
