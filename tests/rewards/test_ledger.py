"""Every point is traceable: balances recomputed from the events equal the stored ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from jiefang.db import utcnow
from jiefang.duty.models import DutySession
from jiefang.people.models import Member
from jiefang.reports.models import HazardReport
from jiefang.rewards.ledger import Earned, balances, new_entries
from jiefang.rewards.models import Honour, PointEntry
from jiefang.rewards.rules import load_rules
from jiefang.rewards.service import award, balances_of, collect

RULES = load_rules()
T0 = datetime(2026, 1, 1, tzinfo=UTC)

facts = st.dictionaries(  # one event per key: (member, rule, source type, source id) -> quantity
    keys=st.tuples(
        st.integers(1, 5),
        st.sampled_from(sorted(RULES.points)),
        st.sampled_from(["duty_session", "assignment", "hazard_report", "honour"]),
        st.integers(1, 30),
    ),
    values=st.integers(0, 12),
    max_size=40,
)


def _event(key: tuple[int, str, str, int], quantity: int) -> Earned:
    member_id, rule, source_type, source_id = key
    return Earned(member_id, rule, source_type, source_id, T0, quantity)


@given(data=st.data(), known=facts, cuts=st.lists(st.integers(0, 80), max_size=5))
def test_awarding_in_any_batches_gives_the_balances_of_the_distinct_events(data, known, cuts) -> None:
    # the sources report each event again and again (every award re-reads the recent past)
    keys = sorted(known)
    picks = data.draw(st.lists(st.sampled_from(keys), max_size=80)) if keys else []
    events = [_event(k, known[k]) for k in picks]
    ledger: dict = {}
    for upto in [*sorted(cuts), len(events)]:  # each award sees the events so far, the old ones again
        for entry in new_entries(RULES, events[:upto], set(ledger)):
            ledger[entry.key] = entry
    expected: dict[int, int] = {}
    for k in {*picks}:
        points = RULES[k[1]] * known[k]
        if points:
            expected[k[0]] = expected.get(k[0], 0) + points
    assert balances(ledger.values()) == expected


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    duty_minutes=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 900)), max_size=8),
    resolved=st.lists(st.tuples(st.integers(0, 4), st.booleans()), max_size=6),
    honours=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["approved", "rejected", "proposed"])), max_size=3),
    award_between=st.booleans(),
)
def test_stored_balances_equal_points_recomputed_from_events(
    sessions, duty_minutes, resolved, honours, award_between
) -> None:
    with sessions() as s:
        members = list(s.scalars(select(Member).order_by(Member.id).limit(5)))
        now = utcnow()
        for i, minutes in duty_minutes:
            m = members[i]
            start = now - timedelta(minutes=minutes + 5)
            s.add(
                DutySession(
                    member_id=m.id,
                    unit_id=m.unit_id,
                    checked_in_at=start,
                    check_in_lon=113.3,
                    check_in_lat=23.1,
                    check_in_distance_m=1.0,
                    checked_out_at=start + timedelta(minutes=minutes),
                )
            )
        s.commit()
        if award_between:
            award(s, RULES)
        for i, ok in resolved:
            s.add(
                HazardReport(
                    category="other",
                    lon=113.3,
                    lat=23.1,
                    position_source="device",
                    reporter_member_id=members[i].id,
                    status="resolved" if ok else "rejected",
                    closed_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        for i, state in honours:
            s.add(
                Honour(
                    member_id=members[i].id,
                    citation="勇救落水儿童",
                    status=state,
                    decided_at=now if state != "proposed" else None,
                )
            )
        s.commit()
        award(s, RULES)
        award(s, RULES)  # awarding again adds nothing
        recomputed = balances(new_entries(RULES, collect(s), set()))
        assert balances_of(s) == recomputed
        for entry in s.scalars(select(PointEntry)):  # every entry names a real event
            assert entry.source_type in {"duty_session", "assignment", "hazard_report", "honour"}
