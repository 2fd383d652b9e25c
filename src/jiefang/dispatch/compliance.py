"""Did the response meet 1-3-5? Per incident and tier, from the stored alerts and arrivals.

* self-rescue (1 minute): the first acceptance or arrival of a self-rescue responder within the
  tier's deadline — the unit at the scene started handling it;
* mutual aid (3 minutes) and reinforcement (5 minutes): at least as many of the tier's
  responders on scene by the deadline as the playbook asks for.

A tier that asks for nobody passes.

Roll-ups (``compliance_summary``) group the incidents a caller may see by area, unit or type and
count, per tier, how many passed. A tier is *pending* while its incident is open and its deadline
has not come; otherwise it is decided at its deadline (or when the incident is closed). Incidents
closed as false alarms are counted but left out of every rate and time.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, literal, or_, select
from sqlalchemy.orm import Session

from jiefang.areas.models import Area
from jiefang.db import utcnow
from jiefang.dispatch.models import Assignment, TierState
from jiefang.dispatch.schemas import ComplianceSummary, GroupBy, GroupCompliance, Seconds, TierRollup
from jiefang.errors import Forbidden, InvalidInput
from jiefang.incidents.models import Incident
from jiefang.incidents.playbooks import TIER_ORDER, Playbook
from jiefang.incidents.schemas import TierCompliance
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal
from jiefang.units.models import Unit

GROUP_BYS: tuple[GroupBy, ...] = ("city", "district", "street", "grid", "unit", "type")
BIN_S = 30
HISTOGRAM_MAX_S = 600  # 10 minutes; later arrivals share the overflow bin
MAX_WINDOW = timedelta(days=366)
OPEN = ("reported", "dispatching", "on_scene")
ROLLUP_ROLES = (CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER)


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else (later - earlier).total_seconds()


def tier_compliance(reported_at: datetime, tiers: Iterable[TierState],
                    assignments: Iterable[Assignment]) -> list[TierCompliance]:
    """Return the pass/fail of each tier of one incident."""
    by_tier: dict[str, list[Assignment]] = {}
    for a in assignments:
        by_tier.setdefault(a.tier, []).append(a)
    out = []
    for tier in tiers:
        deadline_s = round((tier.deadline_at - reported_at).total_seconds())
        mine = by_tier.get(tier.tier, [])
        actions = [t for a in mine for t in (_seconds(a.answered_at, reported_at) if a.status in ("accepted", "arrived")
                                             else None, _seconds(a.arrived_at, reported_at)) if t is not None]
        first = min(actions) if actions else None
        on_time = sum(1 for a in mine if a.arrived_at is not None and a.arrived_at <= tier.deadline_at)
        if tier.needed == 0:
            passed = True
        elif tier.tier == "self_rescue":
            passed = first is not None and first <= deadline_s
        else:
            passed = on_time >= tier.needed
        out.append(TierCompliance(tier=tier.tier, deadline_s=deadline_s, needed=tier.needed,
                                  on_scene_in_time=on_time, first_action_s=first, passed=passed))
    return out


# ---- one incident's result: the row the roll-ups add up ------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What one incident's response achieved, reduced to what the roll-ups count."""

    key: int | str | None  # the group it falls in
    false_alarm: bool
    tiers: dict[str, str]  # tier -> passed, failed or pending
    self_rescue_s: float | None  # first accept or arrival of the self-rescue tier
    first_arrival_s: float | None  # first responder on scene, any tier


def assess(key: int | str | None, reported_at: datetime, status: str, tiers: Sequence[TierState],
           assignments: Sequence[Assignment], now: datetime) -> Outcome:
    """Return the outcome of one incident as of ``now``."""
    deadlines = {t.tier: t.deadline_at for t in tiers}
    verdicts: dict[str, str] = {}
    first_action: float | None = None
    for c in tier_compliance(reported_at, tiers, assignments):
        if c.passed:
            verdicts[c.tier] = "passed"
        elif status in OPEN and deadlines[c.tier] > now:
            verdicts[c.tier] = "pending"
        else:
            verdicts[c.tier] = "failed"
        if c.tier == "self_rescue":
            first_action = c.first_action_s
    arrivals = [a.arrived_at for a in assignments if a.arrived_at is not None]
    return Outcome(key, status == "false_alarm", verdicts, first_action,
                   _seconds(min(arrivals), reported_at) if arrivals else None)


# ---- pure aggregation ---------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-quantile (0..1) of values, linear between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def arrival_histogram(seconds: Iterable[float]) -> list[int]:
    """Return counts in BIN_S-wide bins from 0 to HISTOGRAM_MAX_S, then one overflow bin."""
    bins = [0] * (HISTOGRAM_MAX_S // BIN_S + 1)
    for s in seconds:
        bins[min(int(max(s, 0.0) // BIN_S), len(bins) - 1)] += 1
    return bins


def _rate(passed: int, assessed: int) -> float | None:
    return passed / assessed if assessed else None


def _distribution(values: list[float]) -> Seconds:
    return Seconds(n=len(values), median_s=percentile(values, 0.5), p90_s=percentile(values, 0.9))


@dataclass
class Label:
    id: int | None = None
    code: str | None = None
    name: str | None = None
    name_en: str | None = None


def rollup(outcomes: Sequence[Outcome], label: Label) -> GroupCompliance:
    """Return the 1-3-5 record of a group of incident outcomes."""
    counted = [o for o in outcomes if not o.false_alarm]
    tiers = []
    for tier in TIER_ORDER:
        verdicts = [o.tiers[tier] for o in counted if tier in o.tiers]
        passed, pending = verdicts.count("passed"), verdicts.count("pending")
        assessed = len(verdicts) - pending
        tiers.append(TierRollup(tier=tier, assessed=assessed, passed=passed, pending=pending,
                                pass_rate=_rate(passed, assessed)))
    all_passed = sum(1 for o in counted if o.tiers and all(v == "passed" for v in o.tiers.values()))
    all_failed = sum(1 for o in counted if "failed" in o.tiers.values())
    arrivals = [o.first_arrival_s for o in counted if o.first_arrival_s is not None]
    return GroupCompliance(
        id=label.id, code=label.code, name=label.name, name_en=label.name_en,
        incidents=len(outcomes), false_alarms=len(outcomes) - len(counted), tiers=tiers,
        all_assessed=all_passed + all_failed, all_passed=all_passed,
        all_pass_rate=_rate(all_passed, all_passed + all_failed),
        self_rescue_first_action=_distribution([o.self_rescue_s for o in counted if o.self_rescue_s is not None]),
        first_arrival=_distribution(arrivals), arrival_histogram=arrival_histogram(arrivals),
    )


# ---- loading: a few queries, then the pure part -------------------------------------------

_GROUP_COLUMNS = {"district": "district_id", "street": "street_id", "grid": "grid_id", "unit": "unit_id",
                  "type": "type"}


def _group_column(group_by: GroupBy) -> ColumnElement[Any]:
    name = _GROUP_COLUMNS.get(group_by)
    return Incident.__table__.c[name] if name else literal(None)


def _labels(session: Session, group_by: GroupBy, keys: set[int | str | None],
            playbooks: Mapping[str, Playbook]) -> dict[int | str | None, Label]:
    """Return the label of each group key: area or unit code and name, or the playbook's names."""
    labels: dict[int | str | None, Label] = {None: Label()}
    ids = [k for k in keys if isinstance(k, int)]
    if group_by == "city":
        labels[None] = Label(name="全市", name_en="City")
    elif group_by == "type":
        for k in keys:
            book = playbooks.get(str(k))
            labels[k] = Label(code=str(k), name=book.name_zh if book else None, name_en=book.name_en if book else None)
    elif group_by == "unit" and ids:
        for uid, code, name in session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(ids))):
            labels[uid] = Label(uid, code, name)
    elif ids:
        rows = session.execute(select(Area.id, Area.code, Area.name, Area.name_en).where(Area.id.in_(ids)))
        for aid, code, name, name_en in rows:
            labels[aid] = Label(aid, code, name, name_en)
    return labels


def check_window(since: datetime, until: datetime) -> None:
    """Raise InvalidInput unless since < until and the window is at most MAX_WINDOW."""
    if since >= until:
        raise InvalidInput("since must be before until")
    if until - since > MAX_WINDOW:
        raise InvalidInput(f"the window may span at most {MAX_WINDOW.days} days")


def compliance_summary(session: Session, who: Principal, group_by: GroupBy, since: datetime, until: datetime,
                       playbooks: Mapping[str, Playbook], now: datetime | None = None) -> ComplianceSummary:
    """Return the 1-3-5 compliance of the incidents ``who`` may see reported in [since, until), by group.

    Raises Forbidden for members, InvalidInput for an unknown group_by or a bad window.
    """
    # incidents.service imports this module for per-incident compliance: import it late
    from jiefang.incidents.service import visible_incidents

    if who.role not in ROLLUP_ROLES:
        raise Forbidden("compliance roll-ups are for operators and unit leaders")
    if group_by not in GROUP_BYS:
        raise InvalidInput(f"group_by must be one of {', '.join(GROUP_BYS)}")
    check_window(since, until)
    now = now or utcnow()
    chosen = select(Incident.id).where(visible_incidents(who), Incident.drill.is_(False),  # type: ignore[arg-type]
                                       Incident.reported_at >= since,
                                       Incident.reported_at < until)
    incidents = session.execute(select(Incident.id, Incident.reported_at, Incident.status, _group_column(group_by))
                                .where(Incident.id.in_(chosen))).all()
    tiers: dict[int, list[TierState]] = {}
    for t in session.scalars(select(TierState).where(TierState.incident_id.in_(chosen)).order_by(TierState.id)):
        tiers.setdefault(t.incident_id, []).append(t)
    answered: dict[int, list[Assignment]] = {}  # alerts never answered count for nothing
    for a in session.scalars(select(Assignment).where(
            Assignment.incident_id.in_(chosen),
            or_(Assignment.answered_at.is_not(None), Assignment.arrived_at.is_not(None)))):
        answered.setdefault(a.incident_id, []).append(a)
    by_group: dict[int | str | None, list[Outcome]] = {}
    for incident_id, reported_at, status, key in incidents:
        outcome = assess(key, reported_at, status, tiers.get(incident_id, []), answered.get(incident_id, []), now)
        by_group.setdefault(key, []).append(outcome)
    labels = _labels(session, group_by, set(by_group), playbooks)
    groups = [rollup(outcomes, labels.get(key) or Label(code=str(key))) for key, outcomes in by_group.items()]
    groups.sort(key=lambda g: (g.code is None, g.code or ""))
    everything = [o for outcomes in by_group.values() for o in outcomes]
    total = rollup(everything, Label(name="全部", name_en="All"))
    return ComplianceSummary(group_by=group_by, since=since, until=until, bin_s=BIN_S,
                             histogram_max_s=HISTOGRAM_MAX_S, total=total, groups=groups)


# ---- export -------------------------------------------------------------------------------

def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _cell(text: str | None) -> str:
    """Names are typed by people: keep a spreadsheet from reading one as a formula."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary_csv(summary: ComplianceSummary) -> str:
    """Return the summary as CSV, one row per group and a last row for all; a BOM lets Excel read UTF-8."""
    bins = [f"arrival_{i * BIN_S}_{(i + 1) * BIN_S}s" for i in range(HISTOGRAM_MAX_S // BIN_S)]
    header = ["group_by", "id", "code", "name", "name_en", "incidents", "false_alarms"]
    for tier in TIER_ORDER:
        header += [f"{tier}_assessed", f"{tier}_passed", f"{tier}_pending", f"{tier}_pass_rate"]
    header += ["all_assessed", "all_passed", "all_pass_rate", "self_rescue_n", "self_rescue_median_s",
               "self_rescue_p90_s", "arrival_n", "arrival_median_s", "arrival_p90_s",
               *bins, f"arrival_{HISTOGRAM_MAX_S}s_plus"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for g in [*summary.groups, summary.total]:
        row: list[object] = [summary.group_by if g is not summary.total else "total", g.id or "", _cell(g.code),
                             _cell(g.name), _cell(g.name_en), g.incidents, g.false_alarms]
        for t in g.tiers:
            row += [t.assessed, t.passed, t.pending, _fmt(t.pass_rate, 4)]
        sr, fa = g.self_rescue_first_action, g.first_arrival
        row += [g.all_assessed, g.all_passed, _fmt(g.all_pass_rate, 4), sr.n, _fmt(sr.median_s), _fmt(sr.p90_s),
                fa.n, _fmt(fa.median_s), _fmt(fa.p90_s), *g.arrival_histogram]
        writer.writerow(row)
    return "\ufeff" + out.getvalue()
