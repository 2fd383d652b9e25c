"""The governance index (综治指数): a transparent weighted mean of named components (pure).

Each component value lies in 0..1 (1 best). Components without data for an area are left out and
the remaining weights re-scaled to sum to 1, so a score is always Σ effective_weight × value × 100
and decomposes exactly into its parts; the parts say which were left out and why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from jiefang.errors import InvalidInput


@dataclass(frozen=True)
class Component:
    """One input of the index, with its configured weight."""

    key: str
    weight: float
    name: str
    name_en: str
    description: str = ""


@dataclass(frozen=True)
class Part:
    """A component's share of one score."""

    key: str
    value: float | None  # 0..1, None when there is no data
    weight: float  # configured
    effective_weight: float  # after re-weighting over the components with data; 0 without data
    points: float  # effective_weight × value × 100: the parts' points add up to the score


@dataclass(frozen=True)
class Score:
    """An area's index score (0..100, None when no component has data) and its parts."""

    score: float | None
    parts: tuple[Part, ...]


def load_components(path: Path | None = None) -> tuple[Component, ...]:
    """Return the components of the weights file at ``path`` (the shipped one if None).

    Raises InvalidInput when the file is malformed, a weight is negative, or all weights are 0.
    """
    if path is None:
        text = resources.files("jiefang.analytics").joinpath("index_weights.yaml").read_text(encoding="utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read the index weights file {path}: {exc}") from exc
    try:
        raw = yaml.safe_load(text)
        items = raw["components"].items()
        components = tuple(
            Component(
                key=str(k),
                weight=float(v["weight"]),
                name=str(v.get("name", k)),
                name_en=str(v.get("name_en", k)),
                description=str(v.get("description", "")),
            )
            for k, v in items
        )
    except (yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InvalidInput(
            f"index weights file: expected components: {{key: {{weight: number, ...}}}} ({exc})"
        ) from exc
    if any(not math.isfinite(c.weight) or c.weight < 0 for c in components):
        raise InvalidInput("index weights must be non-negative numbers")
    if sum(c.weight for c in components) <= 0:
        raise InvalidInput("at least one index weight must be positive")
    return components


def compose(values: Mapping[str, float | None], components: tuple[Component, ...]) -> Score:
    """Return the score of one area from its component ``values`` (missing keys mean no data).

    Raises InvalidInput when a value lies outside 0..1.
    """
    for key, value in values.items():
        if value is not None and not (0.0 <= value <= 1.0):
            raise InvalidInput(f"index component {key!r} must lie in 0..1, got {value}")
    present = [c for c in components if values.get(c.key) is not None and c.weight > 0]
    total = sum(c.weight for c in present)
    parts = []
    for c in components:
        value = values.get(c.key)
        effective = c.weight / total if value is not None and total > 0 and c.weight > 0 else 0.0
        parts.append(Part(c.key, value, c.weight, effective, effective * (value or 0.0) * 100.0))
    score = sum(p.points for p in parts) if present else None
    return Score(score=score, parts=tuple(parts))


def trend_value(this_period: int, same_period_last_year: int) -> float | None:
    """Return the incident-trend component: 1 − r/2 clipped to 0..1 with r = this ÷ last year.

    A halving scores 0.75, no change 0.5, a doubling 0; None when last year had no incidents.
    """
    if same_period_last_year <= 0:
        return None
    return min(1.0, max(0.0, 1.0 - this_period / same_period_last_year / 2.0))


def rate(numerator: int, denominator: int) -> float | None:
    """Return numerator ÷ denominator, or None when the denominator is 0."""
    return None if denominator <= 0 else numerator / denominator
