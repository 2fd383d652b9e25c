"""Resident ID number check characters (GB 11643)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiefang.people.idcard import id_check_digit, id_check_digits

ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(18)]  # the 18th weight (1) covers the check


def test_id_check_digit_matches_published_examples() -> None:
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_id_check_digit_makes_weighted_sum_one_mod_11(body: str) -> None:
    number = body + id_check_digit(body)
    values = [10 if c == "X" else int(c) for c in number]
    assert sum(v * w for v, w in zip(values, ID_WEIGHTS, strict=True)) % 11 == 1
    assert id_check_digits([body]) == [number[-1]]


@settings(max_examples=30, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=17, max_size=17),
    st.integers(0, 16),
    st.integers(1, 9),
)
def test_id_check_digit_detects_any_single_digit_change(body: str, pos: int, shift: int) -> None:
    changed = body[:pos] + str((int(body[pos]) + shift) % 10) + body[pos + 1 :]
    assert id_check_digit(changed) != id_check_digit(body)


@pytest.mark.parametrize("bad", ["", "1234567890123456", "1234567890123456X", "１２３４５６７８９０１２３４５６７"])
def test_id_check_digit_rejects_malformed_bodies(bad: str) -> None:
    with pytest.raises(ValueError):
        id_check_digit(bad)
