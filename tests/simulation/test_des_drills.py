"""Readiness drills in the in-process city day: planned by the scheduler, scored by the scoring
rule, reproducible, sensitive to how members answer, and apart from incident compliance."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from jiefang.simulation import des
from jiefang.simulation.des import day_figures, simulate_day
from jiefang.simulation.drills import DrillAnswer, score
from jiefang.simulation.workload import Behaviour, Workload


def test_drills_are_reproducible_for_a_seed(small_city) -> None:  # type: ignore[no-untyped-def]
    a = day_figures(small_city, simulate_day(small_city, Workload(), seed=5, hours=24))["drills"]
    b = day_figures(small_city, simulate_day(small_city, Workload(), seed=5, hours=24))["drills"]

    assert a["fired"] > 0
    assert a == b


def test_drill_pass_rate_falls_when_members_answer_slower_or_fewer_are_on_duty(small_city) -> None:  # type: ignore[no-untyped-def]
    base = Workload()
    slow = replace(base, behaviour=Behaviour(ack_median_s=120.0))
    few = replace(base, peak_on_duty_share=base.peak_on_duty_share / 4)
    rate = {name: day_figures(small_city, simulate_day(small_city, w, seed=1, hours=24))["drills"]["pass_rate"]
            for name, w in (("base", base), ("slow", slow), ("few", few))}

    assert rate["slow"] < rate["base"]
    assert rate["few"] < rate["base"]


def test_drills_do_not_count_in_incident_compliance(small_city, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with_drills = simulate_day(small_city, Workload(), seed=2, hours=24)
    monkeypatch.setattr(des, "plan_day_drills", lambda *a: (np.zeros(0, np.int64), np.zeros(0, np.int64)))
    without = simulate_day(small_city, Workload(), seed=2, hours=24)

    assert len(with_drills.drills.unit) > 0 and len(without.drills.unit) == 0
    np.testing.assert_array_equal(with_drills.tier_time_s, without.tier_time_s)
    assert with_drills.counts == without.counts


def test_a_drill_passes_on_a_quick_ack_and_two_at_the_post_and_fails_without_anyone() -> None:
    quick = [DrillAnswer(10.0, 100.0), DrillAnswer(20.0, 150.0), DrillAnswer(math.inf, math.inf)]

    assert score(0.0, quick, 3) == (True, 10.0, 2)
    assert score(0.0, [*quick[:1], DrillAnswer(20.0, 400.0)], 2)[0] is False
    assert score(0.0, [], 0) == (False, math.inf, 0)
    assert np.isinf(score(0.0, [DrillAnswer(math.inf, math.inf)], 1)[1])
