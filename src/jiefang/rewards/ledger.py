"""The points ledger's pure core: from earned events to entries, and balances from entries.

An ``Earned`` is one fact that deserves points (a closed duty session of 3 hours, an accepted
alert); its ``key`` (rule, source type, source id, member) is unique, so awarding the same
events again adds nothing, and every entry names the event it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from jiefang.rewards.rules import Rules

Key = tuple[str, str, int, int]


@dataclass(frozen=True)
class Earned:
    member_id: int
    rule: str
    source_type: str
    source_id: int
    at: datetime
    quantity: int = 1  # hours for duty_hour, 1 otherwise

    @property
    def key(self) -> Key:
        return (self.rule, self.source_type, self.source_id, self.member_id)


@dataclass(frozen=True)
class Entry:
    key: Key
    member_id: int
    points: int
    at: datetime


def new_entries(rules: Rules, earned: Iterable[Earned], existing: set[Key]) -> list[Entry]:
    """Return the entries of events not yet in the ledger (``existing`` keys), one per event.

    Events worth no points (a rule at 0, a duty session under an hour) make no entry.
    """
    out: dict[Key, Entry] = {}
    for e in earned:
        points = rules[e.rule] * e.quantity
        if points > 0 and e.key not in existing and e.key not in out:
            out[e.key] = Entry(e.key, e.member_id, points, e.at)
    return list(out.values())


def balances(entries: Iterable[Entry]) -> dict[int, int]:
    """Return points per member."""
    total: dict[int, int] = defaultdict(int)
    for e in entries:
        total[e.member_id] += e.points
    return dict(total)
