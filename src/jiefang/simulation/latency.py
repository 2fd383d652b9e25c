"""Load figures of a driver run: requests per second, latency percentiles and errors by kind of request."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import numpy as np
from rich.table import Table


class LoadRecorder:
    """Collects the latency and outcome of every request, grouped (``position``, ``answer``, ...)."""

    def __init__(self) -> None:
        self._latency_s: dict[str, list[float]] = defaultdict(list)
        self._errors: dict[str, Counter[str]] = defaultdict(Counter)
        self._refused: Counter[str] = Counter()
        self._started: float | None = None
        self._wall_s = 0.0

    def start(self) -> None:
        """Start the window that requests per second are counted over (setup before it is excluded)."""
        self._started = time.perf_counter()

    def finish(self) -> None:
        if self._started is not None:
            self._wall_s = time.perf_counter() - self._started

    def record(self, group: str, latency_s: float, error: str | None, *, refused: bool = False) -> None:
        """Record one request: its latency and, when it failed, the status code or exception name;
        ``refused``: an answer the protocol allows (e.g. 409 for an alert already timed out), not an error."""
        self._latency_s[group].append(latency_s)
        if refused:
            self._refused[group] += 1
        elif error is not None:
            self._errors[group][error] += 1

    def figures(self) -> dict[str, Any]:
        """Return per group and in total: requests, requests/s over the run, p50/p99 ms, errors."""
        wall = self._wall_s or 1.0
        rows: dict[str, Any] = {}
        for group in sorted(set(self._latency_s) | set(self._errors)):
            rows[group] = self._row(np.array(self._latency_s[group]), self._errors[group], wall)
            rows[group]["refused"] = self._refused[group]
        everything = np.concatenate([np.array(v) for v in self._latency_s.values()]) if self._latency_s else np.empty(0)
        total: Counter[str] = Counter()
        for c in self._errors.values():
            total.update(c)
        return {"wall_s": round(self._wall_s, 2), "groups": rows,
                "total": {**self._row(everything, total, wall), "refused": sum(self._refused.values())}}

    @staticmethod
    def _row(latency_s: np.ndarray, errors: Counter[str], wall_s: float) -> dict[str, Any]:
        ms = latency_s * 1000
        return {
            "requests": int(ms.size), "per_s": round(ms.size / wall_s, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 1) if ms.size else None,
            "p99_ms": round(float(np.percentile(ms, 99)), 1) if ms.size else None,
            "errors": int(sum(errors.values())), "error_kinds": dict(errors),
        }

    @staticmethod
    def table(figures: dict[str, Any]) -> Table:
        """Return a rich table of ``figures()``."""
        table = Table(title=f"load over {figures['wall_s']} s (real)")
        for col in ("requests", "count", "per s", "p50 ms", "p99 ms", "errors", "refused (409)"):
            table.add_column(col, justify="left" if col == "requests" else "right")
        for name, row in [*figures["groups"].items(), ("total", figures["total"])]:
            errors = ", ".join(f"{k}×{v}" for k, v in row["error_kinds"].items())
            table.add_row(name, str(row["requests"]), f"{row['per_s']:.1f}", str(row["p50_ms"]), str(row["p99_ms"]),
                          f"{row['errors']}" + (f" ({errors})" if errors else ""), str(row["refused"]))
        return table
