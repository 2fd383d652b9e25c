"""Scoring one drill against its 1-3-5 tiers from acknowledgements, arrivals and the video check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jiefang.drills.scoring import DrillFacts, score_drill

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_an_answer_in_time_and_a_muster_pass_without_waiting_for_the_deadlines() -> None:
    score = score_drill(DrillFacts(T0, alerted=3, muster_needed=2, acks=[at(25)], arrivals=[at(90), at(150)]), at(151))
    assert score.tiers == {"self_rescue": "passed", "mutual_aid": "passed", "reinforcement": "skipped"}
    assert score.done and score.passed is True and score.first_ack_s == 25 and score.mustered == 2


def test_tiers_stay_pending_until_their_deadline_then_fail() -> None:
    facts = DrillFacts(T0, alerted=2, muster_needed=2, acks=[at(70)], arrivals=[at(100)])
    early = score_drill(facts, at(59))
    assert early.tiers["self_rescue"] == "pending" and early.passed is None and not early.done
    late = score_drill(facts, at(181))
    assert late.tiers == {"self_rescue": "failed", "mutual_aid": "failed", "reinforcement": "skipped"}
    assert late.passed is False and late.first_ack_s == 70 and late.mustered == 1


def test_arrivals_after_three_minutes_do_not_count_as_muster() -> None:
    score = score_drill(DrillFacts(T0, alerted=1, muster_needed=1, acks=[at(5)], arrivals=[at(200)]), at(200))
    assert score.tiers["mutual_aid"] == "failed" and score.mustered == 0


def test_a_video_check_asked_decides_the_five_minute_tier() -> None:
    base = dict(started_at=T0, alerted=1, muster_needed=1, acks=[at(5)], arrivals=[at(60)], video_requested=True)
    waiting = score_drill(DrillFacts(**base), at(200))  # type: ignore[arg-type]
    assert waiting.tiers["reinforcement"] == "pending" and not waiting.done
    confirmed = score_drill(DrillFacts(**base, video_confirmed_at=at(240)), at(240))  # type: ignore[arg-type]
    assert confirmed.passed is True
    assert score_drill(DrillFacts(**base), at(301)).passed is False  # type: ignore[arg-type]


def test_a_unit_with_nobody_on_duty_fails_at_once() -> None:
    score = score_drill(DrillFacts(T0, alerted=0, muster_needed=2, acks=[], arrivals=[]), T0)
    assert score.done and score.passed is False and set(score.tiers.values()) == {"failed", "skipped"}
