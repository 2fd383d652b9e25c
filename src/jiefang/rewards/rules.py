"""The rewards rules file: points per kind of event."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from jiefang.errors import InvalidInput

SHIPPED = Path(__file__).with_name("rules.yaml")
RULES = ("duty_hour", "incident_accepted", "incident_arrived", "drill_answer", "report_verified", "honour_bravery")


@dataclass(frozen=True)
class Rules:
    points: dict[str, int]

    def __getitem__(self, rule: str) -> int:
        return self.points.get(rule, 0)


def load_rules(path: Path | None = None) -> Rules:
    """Return the rules in ``path`` (the shipped file if None).

    Raises InvalidInput naming the problem: unknown rule, negative or non-integer points.
    """
    raw = yaml.safe_load((path or SHIPPED).read_text(encoding="utf-8")) or {}
    points = raw.get("points") if isinstance(raw, dict) else None
    if not isinstance(points, dict):
        raise InvalidInput(f"{path or SHIPPED}: expected a 'points' mapping")
    for rule, value in points.items():
        if rule not in RULES:
            raise InvalidInput(f"{path or SHIPPED}: unknown rule {rule!r}; known: {', '.join(RULES)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidInput(f"{path or SHIPPED}: points of {rule} must be a whole number ≥ 0")
    return Rules(dict(points))
