"""What a simulated city day is made of: incidents, duty shifts, patrol positions, behaviour.

Pure and seeded: the same city, workload and seed always give the same day.

* **Incidents** come from a space-time Poisson process separable into a daily count per type, an
  hourly profile per type and a spatial intensity: most incidents happen at a unit's site (the
  shops, markets, compounds the units guard), the rest scattered around it; sites in the old
  core weigh more (more footfall per site). Default daily counts sum to about 2,300 a day for
  the whole city, i.e. ~100 an hour on average and ~200 at the evening peak — DESIGN.md's
  "incident peaks of hundreds per hour". Disputes and public-order cases dominate (most of what
  the units report are weak-signal and dispute cases); violent crime, public order and fire are
  denser at night, traffic accidents follow the rush hours, medical cases daytime activity.
* **Duty**: the synthetic city has no rosters (``jiefang seed`` writes none), so a plausible
  pattern is generated: guards and security officers in three 8-hour shifts round the clock,
  staff in day or late shifts, leaders in office hours, volunteers in 4-hour morning, evening
  and night patrols. The share rostered is scaled so the busiest hour holds 40,000 of the
  city's 227,000 members (DESIGN.md: "40,000+ on duty on an average day").
* **Positions**: a member on duty walks a loop around a point near their site (loop radius
  30–250 m, one round every 10–30 minutes) and reports a fix every 10–30 s.
* **Behaviour**: acknowledgement delay log-normal (median 8 s), a share who decline, a share who
  never answer; a share ride e-bikes, the rest walk (speeds and circuity from ``geo.travel``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from jiefang.areas.guangzhou import BY_CODE
from jiefang.errors import InvalidInput
from jiefang.simulation.city import CITY_PROJECTION, SCALES, SyntheticCity

DAY_S = 86_400
HOUR_S = 3_600
CITY_MEMBERS = SCALES["city"].members
CITY_PEAK_ON_DUTY = 40_000

# incidents per day for the whole city (scaled down with the city's unit count)
DEFAULT_DAILY_RATES: dict[str, float] = {
    "dispute": 900, "public_order": 500, "medical": 400, "traffic_accident": 300, "fire": 120,
    "missing_person": 60, "violent_crime": 40,
}
_FLAT = np.ones(24)
_DAY = np.array([2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 10, 10, 9, 9, 9, 9, 9, 9, 8, 7, 6, 4, 3], dtype=float)
_RUSH = np.array([1, 1, 1, 1, 1, 2, 5, 10, 12, 8, 6, 6, 6, 6, 6, 7, 9, 12, 11, 8, 5, 4, 3, 2], dtype=float)
_EVENING = np.array([5, 4, 3, 2, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 7, 7, 8, 9, 10, 11, 11, 9, 7], dtype=float)
_NIGHT = np.array([9, 9, 8, 6, 4, 2, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 5, 6, 7, 8, 9, 9], dtype=float)
HOURLY_PROFILE: dict[str, NDArray[np.float64]] = {
    "dispute": _EVENING, "public_order": _NIGHT, "violent_crime": _NIGHT, "fire": (_NIGHT + _DAY) / 2,
    "medical": _DAY, "traffic_accident": _RUSH, "missing_person": _DAY,
}
AT_SITE = 0.6  # share of incidents at a unit's own site (its unit does self-rescue)
AT_SITE_SD_M = 30.0
AROUND_SITE_SD_M = 400.0
CORE_WEIGHT = 1.5  # incidents per site in the old core relative to elsewhere

# role -> (relative chance of being rostered today, shift templates as (start h, length h, weight))
SHIFTS: dict[str, tuple[float, tuple[tuple[float, float, float], ...]]] = {
    "guard": (1.0, ((0, 8, 1), (8, 8, 1), (16, 8, 1))),
    "security_officer": (1.0, ((0, 8, 1), (8, 8, 1), (16, 8, 1))),
    "staff": (0.6, ((9, 8, 3), (13, 8, 2))),
    "leader": (0.6, ((8, 10, 1),)),
    "deputy": (0.6, ((8, 10, 1), (14, 8, 1))),
    "volunteer": (0.5, ((7, 4, 2), (17, 4, 3), (20, 4, 2), (22, 4, 1))),
}
PATROL_CENTRE_SD_M = 60.0  # a member's patrol loop is centred this near their site
NIGHT_HOURS = (20, 6)  # a shift starting from 20:00 to 05:59 is a night shift
NIGHT_VOLUNTEER_SHIFTS = ((20, 4, 2), (22, 4, 1))


@dataclass(frozen=True)
class Behaviour:
    """How members answer an alert and move (judgement, configurable)."""

    ack_median_s: float = 8.0
    ack_sigma: float = 0.7  # of the log-normal: p90 ≈ 2.5 × median
    decline_p: float = 0.08
    silent_p: float = 0.05  # never answer: the alert times out
    e_bike_share: float = 0.3
    on_scene_median_s: float = 1_200.0  # busy at the scene before free again

    def __post_init__(self) -> None:
        for name in ("decline_p", "silent_p", "e_bike_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInput(f"{name} must be between 0 and 1, got {getattr(self, name)!r}")
        if self.decline_p + self.silent_p > 1.0:
            raise InvalidInput("decline_p + silent_p must not exceed 1")
        if not (self.ack_median_s > 0 and self.ack_sigma >= 0 and self.on_scene_median_s > 0):
            raise InvalidInput("ack_median_s and on_scene_median_s must be positive, ack_sigma ≥ 0")


@dataclass(frozen=True)
class Workload:
    """The inputs of a simulated day; what-if options return a changed copy (``apply_what_if``)."""

    daily_rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DAILY_RATES))
    behaviour: Behaviour = field(default_factory=Behaviour)
    peak_on_duty_share: float = CITY_PEAK_ON_DUTY / CITY_MEMBERS
    night_volunteers: float = 0.0  # extra night-patrol volunteers, as a share of those rostered
    fix_interval_s: tuple[float, float] = (10.0, 30.0)


WHAT_IFS = {
    "night-volunteers": "extra volunteers on night patrols, e.g. +10%",
    "ack-delay": "acknowledgement delay multiplier, e.g. x1.5 or +50%",
    "decline": "decline probability, e.g. 0.15",
    "incidents": "incident rate multiplier, e.g. x2",
    "e-bike": "share of members on e-bikes, e.g. 0.5",
}


def _number(key: str, text: str) -> tuple[str, float]:
    """Return ('+', 0.1) for '+10%', ('x', 1.5) for 'x1.5', ('=', 0.15) for '0.15'."""
    t = text.strip()
    op = "x" if t[:1] in ("x", "×", "*") else "+" if t[:1] in ("+", "-") else "="
    body = t[1:] if op == "x" or t[:1] == "+" else t
    scale = 0.01 if body.endswith("%") else 1.0
    try:
        value = float(body.rstrip("%")) * scale
    except ValueError:
        raise InvalidInput(f"what-if {key}: cannot read {text!r} as a number (e.g. +10%, x1.5, 0.2)") from None
    if not np.isfinite(value):
        raise InvalidInput(f"what-if {key}: {text!r} is not finite")
    return op, value


def _changed(old: float, op: str, value: float) -> float:
    return old * value if op == "x" else old * (1 + value) if op == "+" else value


def apply_what_if(workload: Workload, option: str) -> Workload:
    """Return ``workload`` changed by one ``key=value`` option (see ``WHAT_IFS``).

    Raises InvalidInput for an unknown key or a value that cannot be read or is out of range.
    """
    key, sep, text = option.partition("=")
    key = key.strip()
    if not sep or key not in WHAT_IFS:
        raise InvalidInput(f"what-if must be key=value with key one of {', '.join(WHAT_IFS)}; got {option!r}")
    op, value = _number(key, text)
    b = workload.behaviour
    if key == "night-volunteers":
        share = value if op != "x" else value - 1
        if share < 0:
            raise InvalidInput("night-volunteers adds volunteers: give a share ≥ 0, e.g. +10%")
        return replace(workload, night_volunteers=workload.night_volunteers + share)
    if key == "ack-delay":
        median = _changed(b.ack_median_s, op, value)
        if median <= 0:
            raise InvalidInput("ack-delay must stay positive")
        return replace(workload, behaviour=replace(b, ack_median_s=median))
    if key == "incidents":
        factor = _changed(1.0, op, value)
        if factor < 0:
            raise InvalidInput("incidents multiplier must be ≥ 0")
        return replace(workload, daily_rates={k: v * factor for k, v in workload.daily_rates.items()})
    name = "decline_p" if key == "decline" else "e_bike_share"
    return replace(workload, behaviour=replace(b, **{name: _changed(getattr(b, name), op, value)}))


# ---- incidents ---------------------------------------------------------------------------------

@dataclass
class Incidents:
    """Incidents of a day in time order: seconds from midnight, type, place, site unit (-1: none)."""

    t_s: NDArray[np.float64]
    type: list[str]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    site_unit: NDArray[np.int64]
    district: NDArray[np.int64]  # index into city.districts

    def __len__(self) -> int:
        return int(self.t_s.size)

    def lonlat(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return WGS84 degrees of every incident."""
        return CITY_PROJECTION.to_lonlat(self.x, self.y)


def city_share(city: SyntheticCity) -> float:
    """Return the city's size relative to full-scale Guangzhou (by unit count)."""
    return len(city.units) / SCALES["city"].units


def unit_xy(city: SyntheticCity) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the projected metres of every unit's site."""
    return CITY_PROJECTION.to_xy(city.units.lon, city.units.lat)


def unit_district(city: SyntheticCity) -> NDArray[np.int64]:
    """Return each unit's district as an index into ``city.districts``."""
    index = {c: i for i, c in enumerate(city.districts.code)}
    return np.array([index[c] for c in city.units.district_code], dtype=np.int64)


def draw_incidents(rng: np.random.Generator, city: SyntheticCity, workload: Workload, hours: float) -> Incidents:
    """Return the incidents of the first ``hours`` of a day (see the module docstring)."""
    ux, uy = unit_xy(city)
    district = unit_district(city)
    core = np.array([BY_CODE[c].core for c in city.districts.code])[district]
    share = city_share(city)
    rates = {k: v * share for k, v in workload.daily_rates.items()}
    return draw_incidents_around(rng, ux, uy, np.where(core, CORE_WEIGHT, 1.0), district, rates, hours)


def draw_incidents_at(rng: np.random.Generator, lon: NDArray[np.float64], lat: NDArray[np.float64],
                      weight: NDArray[np.float64], district: NDArray[np.int64], daily_rates: dict[str, float],
                      hours: float, start_hour: int = 0) -> Incidents:
    """Return incidents around sites given in WGS84 degrees (see ``draw_incidents_around``)."""
    x, y = CITY_PROJECTION.to_xy(lon, lat)
    return draw_incidents_around(rng, x, y, weight, district, daily_rates, hours, start_hour)


def draw_incidents_around(rng: np.random.Generator, site_x: NDArray[np.float64], site_y: NDArray[np.float64],
                          weight: NDArray[np.float64], district: NDArray[np.int64], daily_rates: dict[str, float],
                          hours: float, start_hour: int = 0) -> Incidents:
    """Return the incidents from ``start_hour`` for ``hours`` at and around sites (projected metres)
    chosen by ``weight``, ``daily_rates`` per type spread over the hours by ``HOURLY_PROFILE``;
    ``site_unit`` indexes the sites, ``t_s`` counts seconds from midnight."""
    p = weight / weight.sum()
    times: list[NDArray[np.float64]] = []
    types: list[str] = []
    for kind, per_day in sorted(daily_rates.items()):
        profile = HOURLY_PROFILE.get(kind, _FLAT)
        hourly = per_day * profile / profile.sum()
        for h in range(start_hour, start_hour + int(np.ceil(hours))):
            span = min(1.0, start_hour + hours - h)
            n = rng.poisson(hourly[h % 24] * span)
            times.append((h + rng.random(n) * span) * HOUR_S)
            types += [kind] * n
    t = np.concatenate(times) if times else np.empty(0)
    n = t.size
    site = rng.choice(site_x.size, size=n, p=p)
    at_site = rng.random(n) < AT_SITE
    sd = np.where(at_site, AT_SITE_SD_M, AROUND_SITE_SD_M)
    x = site_x[site] + rng.standard_normal(n) * sd
    y = site_y[site] + rng.standard_normal(n) * sd
    order = np.argsort(t, kind="stable")
    return Incidents(t_s=t[order], type=[types[i] for i in order], x=x[order], y=y[order],
                     site_unit=np.where(at_site, site, -1)[order], district=district[site][order])


# ---- duty and patrols --------------------------------------------------------------------------

@dataclass
class DutyPlan:
    """When each member goes on and off duty, as events in time order, and how they patrol."""

    t_s: NDArray[np.float64]
    member: NDArray[np.int64]
    on: NDArray[np.bool_]
    centre_x: NDArray[np.float64]  # per member of the city
    centre_y: NDArray[np.float64]
    loop_m: NDArray[np.float64]
    loop_s: NDArray[np.float64]
    phase: NDArray[np.float64]
    fix_s: NDArray[np.float64]  # interval between position fixes
    fix_phase_s: NDArray[np.float64]
    e_bike: NDArray[np.bool_]

    def positions(self, members: NDArray[np.int64], t_s: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the projected metres each member last reported at time ``t_s`` (their latest fix)."""
        fix_at = t_s - np.mod(t_s - self.fix_phase_s[members], self.fix_s[members])
        angle = 2 * np.pi * fix_at / self.loop_s[members] + self.phase[members]
        r = self.loop_m[members]
        return self.centre_x[members] + r * np.cos(angle), self.centre_y[members] + r * np.sin(angle)


def _shift_choice(rng: np.random.Generator, templates: tuple[tuple[float, float, float], ...],
                  n: int) -> NDArray[np.float64]:
    """Return (start h, length h) rows drawn from weighted templates."""
    table = np.array(templates, dtype=float)
    pick = rng.choice(len(templates), size=n, p=table[:, 2] / table[:, 2].sum())
    return table[pick, :2]


def _on_duty_intervals(starts_h: NDArray[np.float64], lengths_h: NDArray[np.float64],
                       hours: float) -> list[tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]]:
    """Split shifts that wrap past midnight into the day's pieces: (row, on s, off s) per piece."""
    end = starts_h + lengths_h
    rows = np.arange(starts_h.size)
    wrap = end > 24
    pieces = [(rows, starts_h * HOUR_S, np.minimum(end, 24) * HOUR_S),
              (rows[wrap], np.zeros(int(wrap.sum())), (end[wrap] - 24) * HOUR_S)]
    limit = hours * HOUR_S
    out = []
    for r, on, off in pieces:
        keep = on < limit
        out.append((r[keep], on[keep], np.minimum(off[keep], limit)))
    return out


def shift_window(rng: np.random.Generator, role: str, start_hour: float, hours: float) -> tuple[float, float] | None:
    """Draw a shift for a member of ``role`` (``SHIFTS``) and return the part of it inside the
    window of ``hours`` from ``start_hour``, as (on, off) seconds from the window's start (off is
    inf when the shift outlasts the window); None when the shift misses the window."""
    _, templates = SHIFTS.get(role, SHIFTS["volunteer"])
    start, length = (float(v) for v in _shift_choice(rng, templates, 1)[0])
    end = start + length
    w0, w1 = start_hour, start_hour + hours
    for a, b in ((start - 24, end - 24), (start, end), (start + 24, end + 24)):  # yesterday's, today's, tomorrow's
        if a < w1 and b > w0:
            off = math.inf if b >= w1 else (b - w0) * HOUR_S
            return max(a - w0, 0.0) * HOUR_S, off
    return None


def plan_duty(rng: np.random.Generator, city: SyntheticCity, workload: Workload, hours: float) -> DutyPlan:
    """Return who is on duty when and how they patrol (see the module docstring)."""
    members = city.members
    n = len(members)
    extra_rng = np.random.default_rng(int(rng.integers(2**62)))  # what-ifs leave the baseline draws alone
    role = np.array(members.role)
    active = np.array(members.status) == "active"
    start, length = np.zeros(n), np.zeros(n)
    chance = np.zeros(n)
    for name, (weight, templates) in SHIFTS.items():
        mine = np.flatnonzero(role == name)
        shifts = _shift_choice(rng, templates, mine.size)
        start[mine], length[mine] = shifts[:, 0], shifts[:, 1]
        chance[mine] = weight
    draw = rng.random(n)
    scale = _roster_scale(chance * active, start, length, workload.peak_on_duty_share * n)
    rostered = active & (draw < chance * scale)
    if workload.night_volunteers > 0:
        rostered |= _extra_night_volunteers(extra_rng, role, active, rostered, start, length,
                                            workload.night_volunteers)
    who = np.flatnonzero(rostered)
    pieces = _on_duty_intervals(start[who], length[who], hours)
    t = np.concatenate([a for _, on, off in pieces for a in (on, off)])
    member = np.concatenate([who[r] for r, _, _ in pieces for _ in (0, 1)])
    on = np.concatenate([np.full(a.size, flag) for _, on_s, off_s in pieces
                         for a, flag in ((on_s, True), (off_s, False))])
    order = np.lexsort((~on, t))  # at the same second, off before on
    ux, uy = unit_xy(city)
    fix_lo, fix_hi = workload.fix_interval_s
    fix = rng.uniform(fix_lo, fix_hi, n)
    return DutyPlan(
        t_s=t[order], member=member[order], on=on[order],
        centre_x=ux[members.unit] + rng.standard_normal(n) * PATROL_CENTRE_SD_M,
        centre_y=uy[members.unit] + rng.standard_normal(n) * PATROL_CENTRE_SD_M,
        loop_m=rng.uniform(30, 250, n), loop_s=rng.uniform(600, 1_800, n), phase=rng.uniform(0, 2 * np.pi, n),
        fix_s=fix, fix_phase_s=rng.uniform(0, 1, n) * fix, e_bike=rng.random(n) < workload.behaviour.e_bike_share,
    )


def _hourly_load(weight: NDArray[np.float64], start: NDArray[np.float64], length: NDArray[np.float64]) -> NDArray:
    """Return the expected members on duty in each hour of the day given per-member weights."""
    load = np.zeros(24)
    for h in range(24):
        on = ((h >= start) & (h < start + length)) | (h + 24 < start + length)
        load[h] = float(weight[on].sum())
    return load


def _roster_scale(chance: NDArray[np.float64], start: NDArray[np.float64], length: NDArray[np.float64],
                  target_peak: float) -> float:
    """Return the factor on each member's rostering chance that puts ``target_peak`` on duty at
    the busiest hour."""
    peak = _hourly_load(chance, start, length).max()
    return float(target_peak / peak) if peak > 0 else 0.0


def _extra_night_volunteers(rng: np.random.Generator, role: NDArray[np.str_], active: NDArray[np.bool_],
                            rostered: NDArray[np.bool_], start: NDArray[np.float64], length: NDArray[np.float64],
                            share: float) -> NDArray[np.bool_]:
    """Roster ``share`` more volunteers on night patrols (changing ``start``/``length`` of those
    drawn in); return the mask of the extra members."""
    volunteer = role == "volunteer"
    night = (start >= NIGHT_HOURS[0]) | (start < NIGHT_HOURS[1])
    have = int((volunteer & rostered & night).sum())
    spare = np.flatnonzero(volunteer & active & ~rostered)
    extra = rng.choice(spare, size=min(spare.size, round(have * share)), replace=False)
    shifts = _shift_choice(rng, NIGHT_VOLUNTEER_SHIFTS, extra.size)
    start[extra], length[extra] = shifts[:, 0], shifts[:, 1]
    mask = np.zeros(role.size, dtype=bool)
    mask[extra] = True
    return mask
