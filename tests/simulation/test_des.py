"""The in-process city-day simulator: validated against the Poisson closed form, reproducible,
and what-if options change what they say."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from jiefang.cli import app
from jiefang.errors import InvalidInput
from jiefang.simulation.city import CITY_PROJECTION
from jiefang.simulation.des import day_figures, nearest_responder_m, simulate_day
from jiefang.simulation.workload import Workload, apply_what_if, draw_incidents, plan_duty, shift_window
from jiefang.tracking.index import OnDutyMember, PositionIndex

SIDE_M = 20_000.0
DENSITY_PER_KM2 = 50.0  # 50 members per km²: mean nearest distance 1/(2√λ) ≈ 71 m


def test_nearest_responder_distance_matches_poisson_closed_form() -> None:
    """On a uniform (Poisson) layout of density λ, P(D ≤ r) = 1 − exp(−λπr²).

    Kolmogorov–Smirnov over 3,000 query points well inside the square (so the edge does not
    lengthen distances): the statistic must stay under 0.03 (the 1 % critical value for n=3,000
    is 0.030), fixed seed.
    """
    rng = np.random.default_rng(2024)
    lam = DENSITY_PER_KM2 / 1e6
    n = rng.poisson(lam * SIDE_M**2)
    x, y = rng.uniform(-SIDE_M / 2, SIDE_M / 2, (2, n))
    lon, lat = CITY_PROJECTION.to_lonlat(x, y)
    store = PositionIndex(CITY_PROJECTION)
    for i in range(n):
        store.upsert(OnDutyMember(member_id=i + 1, unit_id=1, lon=float(lon[i]), lat=float(lat[i])))
    qx, qy = rng.uniform(-SIDE_M / 4, SIDE_M / 4, (2, 3_000))
    qlon, qlat = CITY_PROJECTION.to_lonlat(qx, qy)
    d = np.array([nearest_responder_m(store, float(a), float(b)) for a, b in zip(qlon, qlat, strict=True)])

    result = stats.kstest(d, lambda r: 1 - np.exp(-lam * math.pi * np.asarray(r) ** 2))

    assert result.statistic < 0.03, result
    assert abs(d.mean() - 1 / (2 * math.sqrt(lam))) / (1 / (2 * math.sqrt(lam))) < 0.03


def test_nearest_responder_is_infinite_with_nobody_on_duty() -> None:
    assert nearest_responder_m(PositionIndex(CITY_PROJECTION), 113.3, 23.1) == math.inf


def test_same_seed_gives_the_same_day_and_another_seed_another(small_city) -> None:  # type: ignore[no-untyped-def]
    a = simulate_day(small_city, Workload(), seed=3, hours=3)
    b = simulate_day(small_city, Workload(), seed=3, hours=3)
    c = simulate_day(small_city, Workload(), seed=4, hours=3)

    assert len(a.incidents) > 0
    np.testing.assert_array_equal(a.tier_time_s, b.tier_time_s)
    np.testing.assert_array_equal(a.incidents.t_s, b.incidents.t_s)
    assert a.counts == b.counts
    assert not np.array_equal(a.incidents.t_s, c.incidents.t_s)


def test_more_night_volunteers_put_more_incidents_within_reach(small_city) -> None:  # type: ignore[no-untyped-def]
    base = Workload(daily_rates={"public_order": 30_000, "violent_crime": 10_000})  # plenty of night incidents
    more = apply_what_if(base, "night-volunteers=+100%")
    before = day_figures(small_city, simulate_day(small_city, base, seed=1, hours=6))
    after = day_figures(small_city, simulate_day(small_city, more, seed=1, hours=6))

    assert before["incidents"] == after["incidents"] > 30  # the same incidents, night hours only
    assert max(after["hourly"][h]["on_duty"] - before["hourly"][h]["on_duty"] for h in range(6)) > 0
    assert after["night"]["covered_share"] > before["night"]["covered_share"]
    assert after["nearest_member_m"]["p50"] < before["nearest_member_m"]["p50"]


def test_incidents_follow_the_hourly_profiles_and_the_core(small_city) -> None:  # type: ignore[no-untyped-def]
    incidents = draw_incidents(np.random.default_rng(0), small_city, Workload(), 24)
    hour = (incidents.t_s // 3600).astype(int)
    violent = np.array([t in ("violent_crime", "public_order") for t in incidents.type])
    night = (hour >= 20) | (hour < 6)
    assert violent[night].mean() > violent[~night].mean()
    assert np.all(np.diff(incidents.t_s) >= 0)


def test_duty_plan_peaks_near_the_city_share_of_forty_thousand(small_city) -> None:  # type: ignore[no-untyped-def]
    plan = plan_duty(np.random.default_rng(0), small_city, Workload(), 24)
    on = np.zeros(len(small_city.members), dtype=bool)
    peak, i = 0, 0
    for t in range(0, 86_400, 3_600):
        while i < plan.t_s.size and plan.t_s[i] <= t:
            on[plan.member[i]] = plan.on[i]
            i += 1
        peak = max(peak, int(on.sum()))
    expected = 40_000 / 227_000 * len(small_city.members)
    assert abs(peak - expected) / expected < 0.15


@pytest.mark.parametrize("option, message", [
    ("nobody=+1", "key=value"), ("ack-delay", "key=value"), ("decline=lots", "cannot read"),
    ("decline=1.5", "between 0 and 1"), ("night-volunteers=-10%", "≥ 0"), ("ack-delay=x0", "positive"),
])
def test_bad_what_if_is_refused_with_a_message(option: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        apply_what_if(Workload(), option)


def test_what_if_changes_the_named_input() -> None:
    assert apply_what_if(Workload(), "ack-delay=x1.5").behaviour.ack_median_s == pytest.approx(12.0)
    assert apply_what_if(Workload(), "night-volunteers=+10%").night_volunteers == pytest.approx(0.1)
    assert apply_what_if(Workload(), "incidents=x2").daily_rates["fire"] == pytest.approx(240)


def test_cli_des_mode_prints_compliance_and_saves_json_and_charts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sim"
    result = CliRunner().invoke(app, ["simulate", "--mode", "des", "--scale", "small", "--hours", "2",
                                      "--what-if", "ack-delay=x2", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "simulation.json").read_text(encoding="utf-8"))
    assert set(data["baseline"]["tiers"]) == {"self_rescue", "mutual_aid", "reinforcement"}
    assert 0 <= data["baseline"]["tiers"]["self_rescue"]["compliance"] <= 1
    assert data["what_if"] == ["ack-delay=x2"]
    assert (out / "baseline" / "response_times.png").stat().st_size > 0
    assert (out / "what_if_run" / "hourly.png").stat().st_size > 0
    assert "readiness drills" in result.output
    assert {"fired", "pass_rate", "first_ack_s", "mustered", "by_district"} <= set(data["baseline"]["drills"])
    assert (out / "baseline" / "drills.png").stat().st_size > 0


def test_cli_refuses_a_bad_what_if_with_a_message() -> None:
    result = CliRunner().invoke(app, ["simulate", "--scale", "small", "--what-if", "weather=bad"])
    assert result.exit_code == 2
    assert "what-if must be key=value" in result.output


@pytest.mark.parametrize("role, start_hour, hours, expected", [
    ("leader", 9, 1.0, (0.0, math.inf)),  # 08:00–18:00 covers the window
    ("leader", 17, 2.0, (0.0, 3_600.0)),  # goes off at 18:00, an hour in
    ("leader", 6, 3.0, (7_200.0, math.inf)),  # comes on at 08:00, two hours in
    ("leader", 20, 4.0, None),  # not on duty in the evening
])
def test_shift_window_is_the_part_of_the_shift_inside_the_window(role, start_hour, hours, expected) -> None:  # type: ignore[no-untyped-def]
    assert shift_window(np.random.default_rng(0), role, start_hour, hours) == expected


def test_night_shift_wraps_past_midnight() -> None:
    rng = np.random.default_rng(0)
    windows = {shift_window(rng, "guard", 23, 2.0) for _ in range(50)}
    # 16–24 ends at midnight, 00–08 starts then, 08–16 misses 23:00–01:00
    assert windows == {(0.0, 3_600.0), (3_600.0, math.inf), None}
