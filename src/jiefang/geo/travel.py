"""Travel time without a road network: straight-line metres × road circuity ÷ speed of the mode.

A member walking, running, riding an e-bike or driving covers the straight-line distance to a
scene more slowly than the crow flies: streets wind, so the path is ``circuity`` times longer
(1.3 is the usual figure for dense Chinese street grids). Speeds are judgement for urban
Guangzhou, configurable: walk 1.4 m/s, run 3 m/s, e-bike 5.5 m/s (≈ 20 km/h), car 8 m/s
(≈ 29 km/h, city traffic with signals).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from jiefang.errors import InvalidInput

# mode of travel -> (中文, English)
TRAVEL_MODES: dict[str, tuple[str, str]] = {
    "walk": ("步行", "Walking"),
    "run": ("跑步", "Running"),
    "e_bike": ("电动车", "E-bike"),
    "car": ("汽车", "Car"),
}
MODE_KEYS = tuple(TRAVEL_MODES)
DEFAULT_SPEEDS_MPS: dict[str, float] = {"walk": 1.4, "run": 3.0, "e_bike": 5.5, "car": 8.0}
DEFAULT_CIRCUITY = 1.3


@dataclass(frozen=True, eq=False)
class TravelModel:
    """Speed per mode of travel and a road-circuity factor; ETAs in seconds from metres."""

    speeds_mps: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_MPS))
    circuity: float = DEFAULT_CIRCUITY
    _speeds: NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.speeds_mps) - set(MODE_KEYS)
        if unknown:
            raise InvalidInput(f"unknown travel modes {sorted(unknown)}; known: {', '.join(MODE_KEYS)}")
        missing = set(MODE_KEYS) - set(self.speeds_mps)
        if missing:
            raise InvalidInput(f"no speed for travel modes {sorted(missing)}")
        for mode, speed in self.speeds_mps.items():
            if not (math.isfinite(speed) and speed > 0):
                raise InvalidInput(f"speed of {mode!r} must be a positive number of m/s, got {speed!r}")
        if not (math.isfinite(self.circuity) and self.circuity >= 1.0):
            raise InvalidInput(f"circuity must be at least 1, got {self.circuity!r}")
        speeds = np.array([self.speeds_mps[m] for m in MODE_KEYS], dtype=np.float64)
        speeds.flags.writeable = False
        object.__setattr__(self, "_speeds", speeds)

    @property
    def speed_by_code(self) -> NDArray[np.float64]:
        """Return the speed of each mode in m/s, indexed by ``mode_code``."""
        return self._speeds

    def speed_mps(self, mode: str) -> float:
        """Return the speed of ``mode`` in m/s. Raises InvalidInput for an unknown mode."""
        return float(self.speeds_mps[_checked(mode)])

    def eta_s(self, distance_m: float, mode: str) -> float:
        """Return the seconds to cover straight-line ``distance_m`` by ``mode`` along streets.

        Raises InvalidInput for an unknown mode.
        """
        return float(distance_m) * self.circuity / self.speed_mps(mode)

    def etas_s(self, distance_m: ArrayLike, mode_codes: ArrayLike) -> NDArray[np.float64]:
        """Return ETAs in seconds for arrays of straight-line metres and ``mode_code`` values."""
        speeds = self._speeds[np.asarray(mode_codes, dtype=np.intp)]
        return np.asarray(distance_m, dtype=np.float64) * self.circuity / speeds

    def reach_m(self, eta_s: float, mode: str) -> float:
        """Return the straight-line metres reachable by ``mode`` within ``eta_s`` seconds.

        The inverse of ``eta_s``, e.g. how far away a walking member may be and still arrive
        within the 3 minutes of mutual aid. Raises InvalidInput for an unknown mode.
        """
        return max(float(eta_s), 0.0) * self.speed_mps(mode) / self.circuity


def mode_code(mode: str) -> int:
    """Return the small integer standing for ``mode`` in arrays. Raises InvalidInput if unknown."""
    return MODE_KEYS.index(_checked(mode))


def _checked(mode: str) -> str:
    if mode not in TRAVEL_MODES:
        raise InvalidInput(f"unknown travel mode {mode!r}; known: {', '.join(MODE_KEYS)}")
    return mode
