"""Readiness drills (拉动测试) in the in-process city day: planned by the project's own scheduler,
scored by its own scoring rule.

* **Plan**: ``drills.scheduler.plan_drills`` on a ``UnitPool`` built from the simulated day's duty
  plan (a unit is on duty in a quarter-hour when one of its members is on duty at its middle);
  every unit is new (never drilled, no failures), the day's count is the scheduler's city rate
  (``drills_per_day``) scaled to the units and to the simulated hours. No database.
* **Fire**: at its planned time a drill alerts the unit's members on duty, as ``drills.execution``
  does. A member busy at an incident does not answer; the others answer with the day's member
  behaviour (their own drill draws: accept after the log-normal delay, decline, or never answer)
  and, when they accept, travel from their latest fix to the unit's site by their mode.
* **Score**: ``drills.scoring.score_drill`` with the acknowledgement and arrival times, once
  every deadline has passed; members needed at the post as the server's default setting.

Drills are not incidents: they alert nobody away from incidents and never count in compliance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.table import Table

from jiefang.config import Settings
from jiefang.drills.scheduler import NEVER, SLOT_S, SLOTS_PER_DAY, DrillPolicy, UnitPool, drills_per_day, plan_drills
from jiefang.drills.scoring import DrillFacts, score_drill
from jiefang.simulation.results import percentiles
from jiefang.simulation.workload import DAY_S, Behaviour, DutyPlan

MUSTER_MIN: int = Settings.model_fields["drills_muster_min"].default
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # the simulated day's midnight, for the scoring rule's datetimes
PLAN_DAY = EPOCH.toordinal()


@dataclass(frozen=True)
class DrillAnswer:
    """One member's answer to a drill alert: seconds from the alert to the acknowledgement and to
    arriving at the post (inf: never)."""

    ack_s: float
    arrive_s: float


def unit_duty_slots(duty: DutyPlan, member_unit: NDArray[np.int64], units: int, hours: float) -> NDArray[np.bool_]:
    """Return (units, 96): someone of the unit is on duty at the middle of the quarter-hour
    (quarter-hours past ``hours`` are off)."""
    order = np.lexsort((duty.t_s, duty.member))
    t, m, on = duty.t_s[order], duty.member[order], duty.on[order]
    starts = np.flatnonzero(on)
    nxt = starts + 1
    closed = (nxt < t.size) & (m[np.minimum(nxt, t.size - 1)] == m[starts])
    end = np.where(closed, t[np.minimum(nxt, t.size - 1)], hours * 3600.0)
    first = np.clip(np.ceil(t[starts] / SLOT_S - 0.5), 0, SLOTS_PER_DAY).astype(np.int64)
    last = np.clip(np.ceil(np.minimum(end, hours * 3600.0) / SLOT_S - 0.5), 0, SLOTS_PER_DAY).astype(np.int64)
    diff = np.zeros((units, SLOTS_PER_DAY + 1), dtype=np.int64)
    unit = member_unit[m[starts]]
    np.add.at(diff, (unit, first), 1)
    np.add.at(diff, (unit, last), -1)
    return np.asarray(np.cumsum(diff, axis=1)[:, :SLOTS_PER_DAY] > 0, dtype=np.bool_)


def plan_day_drills(on_duty: NDArray[np.bool_], district: NDArray[np.int64], hours: float,
                    seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return the unit indexes and the seconds after midnight of the simulated day's drills."""
    n = on_duty.shape[0]
    per_day = round(drills_per_day(n) * min(hours, 24.0) * 3600 / DAY_S)
    pool = UnitPool(unit_ids=np.arange(n, dtype=np.int64), district=district, on_duty=on_duty,
                    last_day=np.full(n, NEVER, dtype=np.int64), registered_day=np.full(n, PLAN_DAY, dtype=np.int64),
                    fail_share=np.zeros(n))
    plan = plan_drills(pool, PLAN_DAY, DrillPolicy(per_day=per_day), seed)
    return plan.unit_ids, plan.at_s


def answer(b: Behaviour, u: float, z: float, travel_s: float) -> DrillAnswer:
    """Return a member's answer from their uniform draw ``u`` and normal draw ``z`` (as for incidents)."""
    if u < b.silent_p + b.decline_p:
        return DrillAnswer(math.inf, math.inf)
    ack_s = b.ack_median_s * math.exp(b.ack_sigma * z)
    return DrillAnswer(ack_s, ack_s + travel_s)


def score(t_s: float, answers: list[DrillAnswer], alerted: int) -> tuple[bool, float, int]:
    """Return (passed, seconds to the first acknowledgement (inf: none), members mustered) of a
    drill fired at ``t_s`` by ``drills.scoring.score_drill``."""
    start = EPOCH + timedelta(seconds=t_s)
    facts = DrillFacts(started_at=start, alerted=alerted,
                       muster_needed=min(MUSTER_MIN, alerted) if alerted else MUSTER_MIN,
                       acks=[start + timedelta(seconds=a.ack_s) for a in answers if math.isfinite(a.ack_s)],
                       arrivals=[start + timedelta(seconds=a.arrive_s) for a in answers if math.isfinite(a.arrive_s)])
    s = score_drill(facts, start + timedelta(days=1))
    return bool(s.passed), math.inf if s.first_ack_s is None else s.first_ack_s, s.mustered


@dataclass
class DrillLog:
    """The day's drills, one entry per drill fired."""

    unit: list[int]
    t_s: list[float]
    alerted: list[int]
    passed: list[bool]
    first_ack_s: list[float]
    mustered: list[int]

    @classmethod
    def empty(cls) -> DrillLog:
        return cls([], [], [], [], [], [])

    def add(self, unit: int, t_s: float, alerted: int, passed: bool, first_ack_s: float, mustered: int) -> None:
        self.unit.append(unit)
        self.t_s.append(t_s)
        self.alerted.append(alerted)
        self.passed.append(passed)
        self.first_ack_s.append(first_ack_s)
        self.mustered.append(mustered)


def drill_figures(log: DrillLog, unit_district: NDArray[np.int64], district_names: list[str]) -> dict[str, Any]:
    """Return drills fired, pass rate overall and by district, time-to-first-acknowledgement
    percentiles and how many drills mustered 0, 1, 2, 3+ members."""
    passed = np.array(log.passed, dtype=bool)
    district = unit_district[np.array(log.unit, dtype=np.int64)] if log.unit else np.zeros(0, dtype=np.int64)
    mustered = np.minimum(np.array(log.mustered, dtype=np.int64), 3)
    by_district = {
        district_names[g]: {"drills": int((district == g).sum()),
                            "pass_rate": round(float(passed[district == g].mean()), 4)}
        for g in range(len(district_names)) if (district == g).any()
    }
    return {
        "fired": int(passed.size),
        "passed": int(passed.sum()),
        "pass_rate": round(float(passed.mean()), 4) if passed.size else None,
        "nobody_on_duty": int(sum(1 for a in log.alerted if a == 0)),
        "first_ack_s": percentiles(np.array(log.first_ack_s, dtype=np.float64)),
        "mustered": {("3+" if k == 3 else str(k)): int((mustered == k).sum()) for k in range(4)},
        "by_district": by_district,
    }


def drill_table(figures: dict[str, Any], baseline: dict[str, Any] | None = None) -> Table:
    """Return a rich table of the day's drills (with the change against ``baseline`` when given)."""
    ack, mustered = figures["first_ack_s"], figures["mustered"]
    table = Table(title=f"readiness drills: {figures['fired']} fired (not counted in compliance)")
    for col in ("", "pass rate", "first ack p50", "p90", "mustered 0/1/2/3+"):
        table.add_column(col, justify="left" if not col else "right")
    rate = "—" if figures["pass_rate"] is None else f"{100 * figures['pass_rate']:.1f} %"
    if baseline is not None and baseline["pass_rate"] is not None and figures["pass_rate"] is not None:
        rate += f" ({100 * (figures['pass_rate'] - baseline['pass_rate']):+.1f} pt)"
    secs = ["never" if ack[p] is None else f"{ack[p]:.0f} s" for p in ("p50", "p90")]
    table.add_row("all", rate, *secs, "/".join(str(v) for v in mustered.values()))
    for name, f in figures["by_district"].items():
        table.add_row(f"{name} ({f['drills']})", f"{100 * f['pass_rate']:.1f} %", "", "", "")
    return table


def save_drill_chart(out: Path, log: DrillLog, label: str = "") -> Path:
    """Write the histogram of the drills' time to first acknowledgement and members mustered as PNG;
    return the file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, (ack, muster) = plt.subplots(1, 2, figsize=(10, 4))
    acks = np.array(log.first_ack_s, dtype=np.float64)
    ack.hist(np.minimum(acks[np.isfinite(acks)], 120), bins=list(range(0, 125, 5)), color="#6baed6")
    ack.axvline(60, color="grey", linestyle=":")
    ack.set_xlabel(f"seconds to first acknowledgement (120 = 2 min or later; {int((~np.isfinite(acks)).sum())} none)")
    ack.set_ylabel("drills")
    counts = np.bincount(np.minimum(np.array(log.mustered, dtype=np.int64), 3), minlength=4)
    muster.bar(["0", "1", "2", "3+"], counts, color="#fd8d3c")
    muster.set_xlabel("members at the post within 3 min")
    fig.suptitle(f"Readiness drills {label}".strip())
    path = out / "drills.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
