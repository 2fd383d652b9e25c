"""Synthetic members of units: names, phones, resident ID numbers, roles, skills, insurance.

Rates are judgement, stated here so they can be argued with: guards are mostly men in their
forties, shop staff younger; about three members in ten hold a first-aid certificate and
more guards than volunteers are fire-trained or ex-military; most units' group insurance is
current, some has lapsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from jiefang.people.idcard import id_check_digits
from jiefang.people.vocab import SKILLS
from jiefang.simulation.city_names import person_names
from jiefang.simulation.city_units import CATEGORY_KEYS, UnitTable

SKILL_KEYS = tuple(SKILLS)

PHONE_PREFIXES = np.array([*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159,
                           *range(180, 190)], dtype=np.int64)

# share of the non-leader, non-deputy members per role, by site category:
# (security_officer, guard, staff, volunteer)
OTHER_ROLES = ("security_officer", "guard", "staff", "volunteer")
ROLE_SHARE: dict[str, tuple[float, float, float, float]] = {
    "business_district": (0.10, 0.35, 0.30, 0.25),
    "scenic_spot": (0.10, 0.40, 0.25, 0.25),
    "key_target": (0.15, 0.65, 0.15, 0.05),
    "enterprise": (0.12, 0.45, 0.35, 0.08),
    "crowded_place": (0.10, 0.45, 0.25, 0.20),
    "community_public": (0.08, 0.25, 0.05, 0.62),
    "urban_village": (0.06, 0.30, 0.04, 0.60),
    "hotel": (0.12, 0.40, 0.43, 0.05),
    "shop": (0.10, 0.05, 0.75, 0.10),
    "market": (0.10, 0.25, 0.45, 0.20),
}
ROLES = ("leader", "deputy", *OTHER_ROLES)
# per role: (share of men, mean age, sd of age)
ROLE_PEOPLE: dict[str, tuple[float, float, float]] = {
    "leader": (0.75, 46, 8), "deputy": (0.70, 43, 9), "security_officer": (0.80, 40, 9),
    "guard": (0.92, 41, 10), "staff": (0.45, 32, 9), "volunteer": (0.50, 46, 12),
}
# per role: probability of each skill; skills missing here get 0.1
SKILL_RATE: dict[str, dict[str, float]] = {
    "leader": {"first_aid": 0.6, "fire": 0.6, "ex_military": 0.15, "mediation": 0.4, "driving": 0.6},
    "deputy": {"first_aid": 0.5, "fire": 0.5, "ex_military": 0.12, "mediation": 0.3, "driving": 0.55},
    "security_officer": {"first_aid": 0.6, "fire": 0.7, "ex_military": 0.12, "mediation": 0.15,
                         "driving": 0.5},
    "guard": {"first_aid": 0.3, "fire": 0.5, "ex_military": 0.18, "mediation": 0.05, "driving": 0.35},
    "staff": {"first_aid": 0.12, "fire": 0.25, "ex_military": 0.03, "mediation": 0.05, "driving": 0.3},
    "volunteer": {"first_aid": 0.2, "fire": 0.15, "ex_military": 0.06, "mediation": 0.25,
                  "driving": 0.3},
}
INSURERS = (("中国人民财产保险", "PICC", 0.35), ("中国平安财产保险", "PAIC", 0.25),
            ("中国太平洋财产保险", "CPIC", 0.20), ("中国人寿财产保险", "CLPC", 0.12),
            ("中华联合财产保险", "CUIC", 0.08))
UNIT_POLICY_LAPSED = 0.10  # units whose group policy has expired
MEMBER_UNINSURED = 0.03
MEMBER_EXPIRED = 0.03  # individually expired on top of lapsed units
MEMBER_INACTIVE = 0.03


@dataclass
class MemberTable:
    """Members column by column; ``team`` indexes the unit's team list, ``skills`` is a bit mask
    over ``SKILL_KEYS`` (bit i set: the member holds ``SKILL_KEYS[i]``)."""

    unit: NDArray[np.int64]
    team: NDArray[np.int64]
    name: list[str]
    male: NDArray[np.bool_]
    phone: list[str]
    id_number: list[str]
    birth_date: list[date]
    role: list[str]
    status: list[str]
    skills: NDArray[np.uint8]
    insurer: list[str | None]
    insurance_policy_no: list[str | None]
    insurance_expires_on: list[date | None]

    def __len__(self) -> int:
        return len(self.name)

    def skill_names(self, i: int) -> tuple[str, ...]:
        """Return the skills member ``i`` holds."""
        return tuple(k for b, k in enumerate(SKILL_KEYS) if self.skills[i] >> b & 1)


def _redraw_until_unique(
    values: NDArray[np.int64], redraw: Callable[[NDArray[np.int64]], NDArray[np.int64]]
) -> NDArray[np.int64]:
    """Replace later duplicates with fresh draws until all values differ."""
    while True:
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        dup = order[1:][ordered[1:] == ordered[:-1]]
        if dup.size == 0:
            return values
        values[dup] = redraw(dup)


def _roles(
    rng: np.random.Generator, category: NDArray[np.int64], unit: NDArray[np.int64],
    position: NDArray[np.int64], sizes: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Return a role index (into ``ROLES``) per member: position 0 leads, 1 (and 2 in very
    large units) deputise, the rest follow the category's role shares."""
    share = np.array([ROLE_SHARE[k] for k in CATEGORY_KEYS])[category[unit]]
    cumulative = np.cumsum(share / share.sum(axis=1, keepdims=True), axis=1)
    other = (rng.random(unit.size)[:, None] > cumulative).sum(axis=1)
    roles = 2 + np.minimum(other, len(OTHER_ROLES) - 1)
    size = sizes[unit]
    roles[(position == 1) & (size >= 8)] = 1
    roles[(position == 2) & (size >= 60)] = 1
    roles[position == 0] = 0
    return roles


def _birth_dates(
    rng: np.random.Generator, roles: NDArray[np.int64], as_of: date
) -> NDArray[np.datetime64]:
    """Return birth dates giving every member an age of 18 to 65 on ``as_of``."""
    people = np.array([ROLE_PEOPLE[r] for r in ROLES])[roles]
    # two days' margin on each side keeps the whole-year age inside 18..65 across leap years
    years = np.clip(people[:, 1] + people[:, 2] * rng.standard_normal(roles.size),
                    18 + 2 / 365, 66 - 2 / 365)
    days = np.round(years * 365.2425).astype(np.int64)
    return np.datetime64(as_of, "D") - days


def _skills(rng: np.random.Generator, roles: NDArray[np.int64]) -> NDArray[np.uint8]:
    """Return each member's skills as a bit mask over ``SKILL_KEYS``."""
    rates = np.array([[SKILL_RATE[r].get(k, 0.1) for k in SKILL_KEYS] for r in ROLES])[roles]
    held = rng.random(rates.shape) < rates
    return (held * (1 << np.arange(len(SKILL_KEYS)))).sum(axis=1).astype(np.uint8)


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    """Return ``n`` distinct 11-digit mobile numbers (13x/15x/18x)."""

    def draw(idx: NDArray[np.int64]) -> NDArray[np.int64]:
        prefix = PHONE_PREFIXES[rng.integers(0, PHONE_PREFIXES.size, size=idx.size)]
        return prefix * 10**8 + rng.integers(0, 10**8, size=idx.size)

    return [str(p) for p in _redraw_until_unique(draw(np.arange(n)), draw)]


def _id_numbers(
    rng: np.random.Generator, region: NDArray[np.int64], birth: NDArray[np.datetime64],
    male: NDArray[np.bool_],
) -> list[str]:
    """Return distinct 18-digit resident ID numbers: region, birth date, sequence (odd for men),
    GB 11643 check character."""
    ymd = np.array([d.replace("-", "") for d in np.datetime_as_string(birth, unit="D")], dtype=np.int64)
    head = region * 10**11 + ymd * 10**3

    def draw(idx: NDArray[np.int64]) -> NDArray[np.int64]:
        return head[idx] + 2 * rng.integers(0, 500, size=idx.size) + male[idx]

    bodies = [f"{b:017d}" for b in _redraw_until_unique(draw(np.arange(male.size)), draw)]
    return [b + c for b, c in zip(bodies, id_check_digits(bodies), strict=True)]


def _insurance(
    rng: np.random.Generator, unit: NDArray[np.int64], district: NDArray[np.int64], as_of: date,
) -> tuple[list[str | None], list[str | None], list[date | None]]:
    """Return insurer, policy number and expiry per member; most current, some lapsed or none.

    A unit buys one group policy for its members (so a lapse hits the whole unit); a few
    members are uninsured or individually expired.
    """
    n_units, n = int(unit.max(initial=-1)) + 1, unit.size
    p = np.array([w for _, _, w in INSURERS])
    unit_insurer = rng.choice(len(INSURERS), size=n_units, p=p / p.sum())
    lapsed = rng.random(n_units) < UNIT_POLICY_LAPSED
    unit_days = np.where(lapsed, -rng.integers(1, 120, n_units), rng.integers(20, 366, n_units))
    days = unit_days[unit]
    own_expired = rng.random(n) < MEMBER_EXPIRED
    days[own_expired] = -rng.integers(1, 200, size=int(own_expired.sum()))
    expires = (np.datetime64(as_of, "D") + days).astype(object)
    uninsured = rng.random(n) < MEMBER_UNINSURED
    serial = rng.permutation(n) + 10**7
    ins, year = unit_insurer[unit], as_of.year
    insurer = [None if uninsured[i] else INSURERS[ins[i]][0] for i in range(n)]
    policy = [
        None if uninsured[i] else f"{INSURERS[ins[i]][1]}{year}{district[i]}{serial[i]:08d}"
        for i in range(n)
    ]
    expiry = [None if uninsured[i] else expires[i] for i in range(n)]
    return insurer, policy, expiry


def build_members(
    rng: np.random.Generator, units: UnitTable, category: NDArray[np.int64], as_of: date
) -> MemberTable:
    """Return the members of ``units`` (``units.size`` per unit, in unit order), member 0 of each
    unit its leader."""
    sizes = units.size
    unit = np.repeat(np.arange(sizes.size), sizes)
    position = np.arange(unit.size) - np.repeat(units.member_start, sizes)
    n_teams = np.array([len(t) for t in units.teams])
    roles = _roles(rng, category, unit, position, sizes)
    male_share = np.array([ROLE_PEOPLE[r][0] for r in ROLES])[roles]
    male = rng.random(unit.size) < male_share
    birth = _birth_dates(rng, roles, as_of)
    district = np.array([int(c) for c in units.district_code], dtype=np.int64)[unit]
    status = np.where((rng.random(unit.size) < MEMBER_INACTIVE) & (position > 0), "inactive", "active")
    insurer, policy, expiry = _insurance(rng, unit, district, as_of)
    return MemberTable(
        unit=unit,
        team=position % n_teams[unit],
        name=person_names(rng, male),
        male=male,
        phone=_phones(rng, unit.size),
        id_number=_id_numbers(rng, district, birth, male),
        birth_date=list(birth.astype(object)),
        role=[ROLES[r] for r in roles],
        status=status.tolist(),
        skills=_skills(rng, roles),
        insurer=insurer,
        insurance_policy_no=policy,
        insurance_expires_on=expiry,
    )
