"""A city day as a discrete-event simulation in this process: no server, no database.

The live picture is the project's own ``PositionIndex`` and responders are picked by the
dispatcher's own ``select_tier`` with the playbooks' tiers, widening the search radius like
``dispatch.service`` does, so the simulation answers with the same nearest-responder rule as
the server. Events (in time order, from one heap): a clock tick every ``tick_s`` that applies
members going on and off duty and moves everyone on duty to their latest reported fix;
incidents; answers (accept after a delay, decline, or silence until the tier's acknowledgement
timeout, which alerts the next best); arrivals after the travel time; release after the time
spent on scene. A tier still short searches again every ``SHORT_RETRY_S`` until its deadline,
as the server's sweep does. An incident not placed at a unit's site is at the nearest site within
``SITE_RADIUS_M``, as intake decides. A member alerted is busy (out of the index) until they decline,
time out silently, or finish at the scene.

Compliance is judged as ``dispatch.compliance`` does: self-rescue passes when a self-rescue
responder accepts or arrives within its deadline, mutual aid and reinforcement when as many
responders as the playbook asks are on scene by theirs.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from jiefang.dispatch.selection import Candidate, select_tier
from jiefang.dispatch.service import RADIUS_GROWTH, tier_need
from jiefang.geo.travel import TravelModel, mode_code
from jiefang.incidents.playbooks import Playbook, load_playbooks
from jiefang.incidents.service import SITE_RADIUS_M
from jiefang.simulation.city import CITY_PROJECTION, SyntheticCity
from jiefang.simulation.drills import DrillLog, answer, drill_figures, plan_day_drills, score, unit_duty_slots
from jiefang.simulation.results import percentiles, summarise, tier_figures, tier_time_s
from jiefang.simulation.workload import (
    HOUR_S,
    DutyPlan,
    Incidents,
    Workload,
    draw_incidents,
    plan_duty,
    unit_district,
    unit_xy,
)
from jiefang.tracking.index import OnDutyMember, PositionIndex, PositionStore

TICK_S = 60.0
SHORT_RETRY_S = 10.0
DRAWS_PER_MEMBER = 4  # behaviour draws kept per member, reused in turn (common random numbers)
COVER_S = 60.0  # an incident is covered when a member on duty can reach it this fast by e-bike
NIGHT = (20, 6)
Progress = Callable[[float, float], None]  # (simulated seconds done, total)


class Kind(IntEnum):
    TICK = 0
    INCIDENT = 1
    ANSWER = 2
    TIMEOUT = 3
    ARRIVE = 4
    RELEASE = 5
    RETRY = 6
    DRILL = 7


@dataclass
class DayResult:
    """Per incident: type, district, hour, each tier's pass and response time (inf: never);
    per hour: members on duty; counts of alerts, declines and time-outs."""

    incidents: Incidents
    tier_passed: NDArray[np.bool_]  # (incidents, 3) in TIER_ORDER
    tier_time_s: NDArray[np.float64]  # (incidents, 3)
    nearest_m: NDArray[np.float64]  # nearest member on duty when the incident came in
    on_duty_by_hour: list[int]
    counts: dict[str, int]
    drills: DrillLog = field(default_factory=DrillLog.empty)
    wall_s: float = 0.0


@dataclass
class _Case:
    """One incident being answered."""

    index: int
    t0: float
    lon: float
    lat: float
    site_unit_id: int | None
    book: Playbook
    taken: set[int] = field(default_factory=set)
    radius_m: list[float] = field(default_factory=list)
    active: list[int] = field(default_factory=lambda: [0, 0, 0])
    first_action: list[float] = field(default_factory=lambda: [math.inf] * 3)
    arrivals: list[list[float]] = field(default_factory=lambda: [[], [], []])
    retrying: list[bool] = field(default_factory=lambda: [False, False, False])  # a search again is due


@dataclass
class _Alert:
    case: _Case
    tier: int
    member: int  # index into city.members
    eta_s: float
    accept: bool
    draw: int
    status: str = "alerted"


def nearest_responder_m(store: PositionStore, lon: float, lat: float) -> float:
    """Return the straight-line metres to the nearest member on duty (inf when none)."""
    hits = store.nearest(lon, lat, 1)
    return hits[0].distance_m if hits else math.inf


class CityDay:
    """The simulation state; ``run`` plays it. Member and unit ids in the index are index + 1."""

    def __init__(self, city: SyntheticCity, workload: Workload, seed: int, hours: float,
                 tick_s: float = TICK_S) -> None:
        streams = np.random.SeedSequence(seed).spawn(4)
        self.city, self.workload, self.hours, self.tick_s = city, workload, hours, tick_s
        self.incidents = draw_incidents(np.random.default_rng(streams[0]), city, workload, hours)
        self.duty: DutyPlan = plan_duty(np.random.default_rng(streams[1]), city, workload, hours)
        # Each member's answers come from their own few draws, so a what-if run meets the same
        # people behaving the same way and differs from the baseline only by what it changed.
        rng = np.random.default_rng(streams[2])
        n = len(city.members)
        self.draw_u = rng.random((n, DRAWS_PER_MEMBER), dtype=np.float32)
        self.draw_z = rng.standard_normal((n, DRAWS_PER_MEMBER, 2), dtype=np.float32)
        drill_rng = np.random.default_rng(streams[3])  # drills draw apart: incidents meet the same answers
        self.drill_u = drill_rng.random(n)
        self.drill_z = drill_rng.standard_normal(n)
        self.drill_plan = plan_day_drills(unit_duty_slots(self.duty, city.members.unit, len(city.units), hours),
                                          unit_district(city), hours, int(drill_rng.integers(2**31)))
        self.drills = DrillLog.empty()
        self.travel = TravelModel()
        self.alerted = np.zeros(n, dtype=np.int64)
        self.books = load_playbooks()
        self.store = PositionIndex(CITY_PROJECTION)
        self.sites = cKDTree(np.column_stack(unit_xy(city)))
        self.on_duty = np.zeros(n, dtype=bool)
        self.busy = np.zeros(n, dtype=bool)
        self.unit = city.members.unit
        self._next_duty = 0
        self._heap: list[tuple[float, int, Kind, object]] = []
        self._seq = 0
        m = len(self.incidents)
        self.passed = np.zeros((m, 3), dtype=bool)
        self.time_s = np.full((m, 3), math.inf)
        self.nearest_m = np.full(m, math.inf)
        self.cases: list[_Case] = []
        self.on_duty_by_hour: list[int] = []
        self.counts = {"alerts": 0, "accepted": 0, "declined": 0, "timed_out": 0, "retries": 0}

    def unit_of(self, member_id: int) -> int | None:
        return int(self.unit[member_id - 1]) + 1

    def _push(self, t: float, kind: Kind, payload: object = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, payload))

    # ---- duty and positions ----------------------------------------------------------------

    def _member(self, m: int, t: float) -> OnDutyMember:
        x, y = self.duty.positions(np.array([m]), t)
        lon, lat = CITY_PROJECTION.to_lonlat(x, y)
        u = int(self.unit[m])
        return OnDutyMember(member_id=m + 1, unit_id=u + 1, lon=float(lon[0]), lat=float(lat[0]),
                            role=self.city.members.role[m], skills=frozenset(self.city.members.skill_names(m)),
                            equipment=frozenset(self.city.units.equipment[u]),
                            mode="e_bike" if self.duty.e_bike[m] else "walk")

    def _free(self, m: int, t: float) -> None:
        self.busy[m] = False
        if self.on_duty[m]:
            self.store.upsert(self._member(m, t))

    def _tick(self, t: float) -> None:
        d = self.duty
        while self._next_duty < d.t_s.size and d.t_s[self._next_duty] <= t:
            i = self._next_duty
            m = int(d.member[i])
            self.on_duty[m] = bool(d.on[i])
            if not self.busy[m]:
                if d.on[i]:
                    self.store.upsert(self._member(m, t))
                else:
                    self.store.remove(m + 1)
            self._next_duty += 1
        free = np.flatnonzero(self.on_duty & ~self.busy)
        if free.size:
            x, y = d.positions(free, t)
            lon, lat = CITY_PROJECTION.to_lonlat(x, y)
            self.store.update_positions(free + 1, lon, lat)
        if t % HOUR_S < self.tick_s:
            self.on_duty_by_hour.append(int(self.on_duty.sum()))

    # ---- dispatch ----------------------------------------------------------------------------

    def _incident(self, i: int, t: float) -> None:
        inc = self.incidents
        lon, lat = (float(v[0]) for v in CITY_PROJECTION.to_lonlat(inc.x[i:i + 1], inc.y[i:i + 1]))
        site = int(inc.site_unit[i])
        if site < 0:  # as intake does: an incident this near a unit's site is at that unit
            distance, nearest = self.sites.query((inc.x[i], inc.y[i]))
            site = int(nearest) if distance <= SITE_RADIUS_M else -1
        book = self.books[inc.type[i]]
        case = _Case(i, t, lon, lat, site + 1 if site >= 0 else None, book,
                     radius_m=[s.search_radius_m for s in book.tiers])
        self.cases.append(case)
        self.nearest_m[i] = nearest_responder_m(self.store, lon, lat)
        for k in range(3):
            self._fill(case, k, t)

    def _fill(self, case: _Case, k: int, t: float) -> None:
        """Alert members until tier ``k`` has what it needs, widening the search like the server."""
        spec = case.book.tiers[k]
        missing = spec.responders - case.active[k]
        while missing > 0:
            picks = select_tier(self.store, case.lon, case.lat, tier_need(spec, case.radius_m[k], missing),
                                case.taken, self.unit_of, case.site_unit_id)
            for c in picks:
                self._alert(case, k, c, t)
            missing -= len(picks)
            if missing <= 0 or case.radius_m[k] >= spec.max_radius_m:
                break
            case.radius_m[k] = min(case.radius_m[k] * RADIUS_GROWTH, spec.max_radius_m)
        if missing > 0 and not case.retrying[k] and t + SHORT_RETRY_S <= case.t0 + spec.deadline_s:
            case.retrying[k] = True
            self._push(t + SHORT_RETRY_S, Kind.RETRY, (case, k))

    def _alert(self, case: _Case, k: int, c: Candidate, t: float) -> None:
        m = c.member_id - 1
        self.store.remove(c.member_id)
        self.busy[m] = True
        case.active[k] += 1
        self.counts["alerts"] += 1
        b = self.workload.behaviour
        j = self.alerted[m] % DRAWS_PER_MEMBER
        self.alerted[m] += 1
        u = float(self.draw_u[m, j])
        delay = float(b.ack_median_s * math.exp(b.ack_sigma * self.draw_z[m, j, 0]))
        alert = _Alert(case, k, m, c.eta_s, accept=u >= b.decline_p + b.silent_p, draw=int(j))
        timeout = case.book.tiers[k].ack_timeout_s
        if u < b.silent_p or delay >= timeout:
            self._push(t + timeout, Kind.TIMEOUT, alert)
        if u >= b.silent_p and (alert.accept or delay < timeout):
            self._push(t + delay, Kind.ANSWER, alert)

    def _answer(self, a: _Alert, t: float) -> None:
        case, k = a.case, a.tier
        if not a.accept:
            self.counts["declined"] += 1
            a.status = "declined"
            case.active[k] -= 1
            self._free(a.member, t)
            self._fill(case, k, t)
            return
        self.counts["accepted"] += 1
        if a.status == "timed_out":  # a late acceptance still counts
            case.active[k] += 1
        a.status = "accepted"
        case.first_action[k] = min(case.first_action[k], t - case.t0)
        self._push(t + a.eta_s, Kind.ARRIVE, a)

    def _timeout(self, a: _Alert, t: float) -> None:
        if a.status != "alerted":
            return
        self.counts["timed_out"] += 1
        a.status = "timed_out"
        a.case.active[a.tier] -= 1
        if not a.accept:  # silent: back on patrol, available to others
            self._free(a.member, t)
        self._fill(a.case, a.tier, t)

    def _arrive(self, a: _Alert, t: float) -> None:
        a.case.arrivals[a.tier].append(t - a.case.t0)
        a.case.first_action[a.tier] = min(a.case.first_action[a.tier], t - a.case.t0)
        b = self.workload.behaviour
        busy_s = b.on_scene_median_s * math.exp(0.5 * float(self.draw_z[a.member, a.draw, 1]))
        self._push(t + busy_s, Kind.RELEASE, a.member)

    # ---- the run -------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> DayResult:
        """Play the day; return per-incident compliance and response times."""
        end = self.hours * HOUR_S
        for t in np.arange(0.0, end, self.tick_s):
            self._push(float(t), Kind.TICK)
        for i, t0 in enumerate(self.incidents.t_s):
            self._push(float(t0), Kind.INCIDENT, i)
        for u, at in zip(*self.drill_plan, strict=True):
            if at < end:
                self._push(float(at), Kind.DRILL, int(u))
        handlers: dict[Kind, Callable[[object, float], None]] = {
            Kind.INCIDENT: lambda p, t: self._incident(p, t),  # type: ignore[arg-type]
            Kind.ANSWER: lambda p, t: self._answer(p, t),  # type: ignore[arg-type]
            Kind.TIMEOUT: lambda p, t: self._timeout(p, t),  # type: ignore[arg-type]
            Kind.ARRIVE: lambda p, t: self._arrive(p, t),  # type: ignore[arg-type]
            Kind.RELEASE: lambda p, t: self._free(p, t),  # type: ignore[arg-type]
            Kind.RETRY: lambda p, t: self._retry(p, t),  # type: ignore[arg-type]
            Kind.DRILL: lambda p, t: self._drill(p, t),  # type: ignore[arg-type]
        }
        while self._heap:
            t, _, kind, payload = heapq.heappop(self._heap)
            if kind == Kind.TICK:
                self._tick(t)
                if progress is not None:
                    progress(t + self.tick_s, end)
            else:
                handlers[kind](payload, t)
        return self._result()

    def _drill(self, u: int, t: float) -> None:
        """Alert unit ``u``'s members on duty; those not busy at an incident answer and go to the post."""
        alerted = np.flatnonzero(self.on_duty & (self.unit == u))
        free = alerted[~self.busy[alerted]]
        x, y = self.duty.positions(free, t)
        units = self.city.units
        sx, sy = (float(v[0]) for v in CITY_PROJECTION.to_xy(units.lon[u:u + 1], units.lat[u:u + 1]))
        modes = np.where(self.duty.e_bike[free], mode_code("e_bike"), mode_code("walk"))
        travel_s = self.travel.etas_s(np.hypot(x - sx, y - sy), modes)
        b = self.workload.behaviour
        answers = [answer(b, float(self.drill_u[m]), float(self.drill_z[m]), float(s))
                   for m, s in zip(free, travel_s, strict=True)]
        passed, first_ack_s, mustered = score(t, answers, int(alerted.size))
        self.drills.add(u, t, int(alerted.size), passed, first_ack_s, mustered)

    def _retry(self, payload: tuple[_Case, int], t: float) -> None:
        case, k = payload
        self.counts["retries"] += 1
        case.retrying[k] = False
        self._fill(case, k, t)

    def _result(self) -> DayResult:
        for case in self.cases:
            for k, spec in enumerate(case.book.tiers):
                when = tier_time_s(spec.tier, spec.responders, case.first_action[k], case.arrivals[k])
                self.time_s[case.index, k] = when
                self.passed[case.index, k] = when <= spec.deadline_s
        return DayResult(self.incidents, self.passed, self.time_s, self.nearest_m, self.on_duty_by_hour,
                         dict(self.counts), self.drills)


def simulate_day(city: SyntheticCity, workload: Workload, *, seed: int = 0, hours: float = 24.0,
                 progress: Progress | None = None, tick_s: float = TICK_S) -> DayResult:
    """Return the result of simulating ``hours`` of a day of ``city`` under ``workload``."""
    started = time.perf_counter()
    result = CityDay(city, workload, seed, hours, tick_s).run(progress)
    result.wall_s = time.perf_counter() - started
    return result


def day_figures(city: SyntheticCity, result: DayResult) -> dict[str, Any]:
    """Return the figures of a simulated day (``results.summarise``) by district and by type,
    with the members on duty per hour, the event counts and the wall time."""
    inc = result.incidents
    types = sorted(set(inc.type))
    type_index = np.array([types.index(t) for t in inc.type], dtype=np.int64)
    figures = summarise(result.tier_passed, result.tier_time_s, (inc.t_s // HOUR_S).astype(np.int64),
                        {"district": (inc.district, city.districts.name), "type": (type_index, types)})
    figures["nearest_member_m"] = percentiles(result.nearest_m)
    cover_m = TravelModel().reach_m(COVER_S, "e_bike")
    hour = inc.t_s // HOUR_S % 24
    night = (hour >= NIGHT[0]) | (hour < NIGHT[1])
    figures["covered_share"] = round(float((result.nearest_m <= cover_m).mean()), 4) if len(inc) else None
    figures["night"] = {
        "incidents": int(night.sum()),
        "covered_share": round(float((result.nearest_m[night] <= cover_m).mean()), 4) if night.any() else None,
        "tiers": tier_figures(result.tier_passed[night], result.tier_time_s[night]),
    }
    for i, n in enumerate(result.on_duty_by_hour):
        if i < len(figures["hourly"]):
            figures["hourly"][i]["on_duty"] = n
    figures["peak_on_duty"] = max(result.on_duty_by_hour, default=0)
    figures["counts"] = result.counts
    figures["drills"] = drill_figures(result.drills, unit_district(city), list(city.districts.name))
    figures["wall_s"] = round(result.wall_s, 2)
    return figures
