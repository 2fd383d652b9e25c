"""``jiefang simulate --mode api``: play part of a day against a RUNNING server, through its HTTP
and WebSocket API only (nothing here calls into the server's code).

An admin account picks a sample of members near each other (units in a bounding box, a few
members each), creates or reuses a login for each (``sim-m<member id>``) and reads the QR token
of each unit's duty post the way a leader's page does (creating a post when the unit has none).
Each member client checks in with that token when its shift starts (a shift drawn from the
roster pattern of ``workload.SHIFTS`` for its role; members whose shift misses the window are not
sampled) and out when it ends, sends a fix every 10–30 simulated seconds,
listens on ``/api/ws`` for its alerts, accepts or declines after its delay (``Behaviour``), moves
towards the scene at walking or e-bike speed and confirms arrival. An operator (the admin)
creates incidents from the space-time Poisson model around the sample's sites and closes them
after ``close_after_s``.

The driver's clock runs ``speed`` times faster than real time and scales every delay and travel
by it; the server's timers (acknowledgement timeouts, tier deadlines, the sweep) run in real
time. So two sets of figures come out: *server-measured* compliance (real seconds against the
real 1-3-5 deadlines: optimistic, since members answer and travel ``speed`` times faster), and
*scaled* response times (the server's timestamps × ``speed``, i.e. simulated seconds, which also
scales the server's own processing time by ``speed``). Load figures (requests, latencies,
errors) are real.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from websockets.asyncio.client import connect

from jiefang.drills.scheduler import drills_per_day
from jiefang.errors import Conflict, InvalidInput
from jiefang.geo.projection import haversine_m
from jiefang.geo.travel import TravelModel
from jiefang.incidents.playbooks import TIER_ORDER
from jiefang.simulation.latency import LoadRecorder
from jiefang.simulation.results import save_charts, save_json, summarise, tier_table, tier_time_s
from jiefang.simulation.workload import DAY_S, HOUR_S, Behaviour, Workload, draw_incidents_at, shift_window

TIANHE_CORE = (113.30, 23.10, 113.40, 23.16)  # min lon, min lat, max lon, max lat


DRILL_WAIT_S = 20.0  # real seconds the end waits for the server to score running drills


@dataclass(frozen=True)
class DriverOptions:
    url: str
    scale: str = "small"
    hours: float = 1.0
    seed: int = 0
    speed: float = 60.0
    members: int = 40
    username: str = "admin"
    password: str = ""
    start_hour: int = 9
    incidents_per_hour: float = 60.0  # simulated hours; spread over types as DEFAULT_DAILY_RATES
    per_unit: int = 3
    bbox: tuple[float, float, float, float] = TIANHE_CORE
    close_after_s: float = 900.0  # simulated
    drain_s: float = 360.0  # simulated time after the window for the last incidents to be answered
    min_fix_real_s: float = 1.0  # a member client sends at most one fix per real second
    member_password: str = "sim-member-pass-1"
    behaviour: Behaviour = field(default_factory=Behaviour)


class Clock:
    """Simulated seconds from the start of the run, ``speed`` times faster than real time."""

    def __init__(self, speed: float) -> None:
        self.speed, self.t0 = speed, time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self.t0) * self.speed

    async def sleep(self, sim_s: float) -> None:
        await asyncio.sleep(max(sim_s, 0.0) / self.speed)


@dataclass
class SimMember:
    member_id: int
    unit_id: int
    lon: float
    lat: float
    token: str = ""
    e_bike: bool = False
    target: tuple[float, float, float, float] | None = None  # lon, lat, leave at, arrive at (sim s)
    origin: tuple[float, float] = (0.0, 0.0)
    post_token: str = ""
    on_s: float = 0.0  # shift inside the window, sim seconds from its start (off: inf = to the end)
    off_s: float = math.inf
    off_duty: asyncio.Event = field(default_factory=asyncio.Event)


class ApiDriver:
    """One run against a server (see the module docstring)."""

    def __init__(self, options: DriverOptions, console: Console) -> None:
        self.o, self.console = options, console
        self.rng = np.random.default_rng(options.seed)
        self.travel = TravelModel()
        self.load = LoadRecorder()
        self.clock = Clock(options.speed)
        self.http: httpx.AsyncClient
        self.admin = ""
        self.members: list[SimMember] = []
        self.incidents: list[dict[str, Any]] = []  # id, type, sim created, real created
        self.alerts_seen: list[tuple[int, float]] = []  # incident id, real time the alert frame came
        self.unit_sites: dict[int, tuple[float, float]] = {}
        self.drills: list[int] = []  # ids of the drills launched
        self.stop = asyncio.Event()

    # ---- HTTP ----------------------------------------------------------------------------------

    async def call(self, method: str, path: str, token: str, group: str, expected: tuple[int, ...] = (),
                   **kw: Any) -> httpx.Response | None:
        """Send one request, timed under ``group``; return the response or None on a network error.

        Statuses other than 2xx count as errors, except ``expected`` ones (e.g. 409 for an alert
        that timed out before the member answered), which are counted as refused."""
        started = time.perf_counter()
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = await self.http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            self.load.record(group, time.perf_counter() - started, f"{type(exc).__name__}")
            return None
        outcome = None if r.is_success else str(r.status_code)
        self.load.record(group, time.perf_counter() - started, outcome, refused=r.status_code in expected)
        return r

    async def login(self, username: str, password: str) -> str | None:
        r = await self.call("POST", "/api/auth/login", "", "login", json={"username": username, "password": password})
        return r.json()["token"] if r is not None and r.status_code == 200 else None

    # ---- set-up --------------------------------------------------------------------------------

    async def setup(self) -> None:
        """Log the admin in, pick the sample, make member logins and get the post tokens."""
        token = await self.login(self.o.username, self.o.password)
        if token is None:
            raise InvalidInput(f"cannot log in to {self.o.url} as {self.o.username}: check --username/--password")
        self.admin = token
        bbox = ",".join(f"{v:.5f}" for v in self.o.bbox)
        r = await self.call("GET", "/api/units", token, "setup", params={"bbox": bbox, "page_size": 500})
        units = r.json()["items"] if r is not None and r.is_success else []
        if not units:
            raise Conflict(f"no units in {bbox} on {self.o.url}: seed the city first (jiefang seed)")
        for i in self.rng.permutation(len(units)):
            if len(self.members) >= self.o.members:
                break
            await self._take_unit(units[int(i)])
        if not self.members:
            raise Conflict("no member of the sampled units could log in")

    async def _take_unit(self, unit: dict[str, Any]) -> None:
        r = await self.call("GET", "/api/members", self.admin, "setup",
                            params={"unit_id": unit["id"], "page_size": 50})
        staff = [m for m in (r.json()["items"] if r is not None and r.is_success else []) if m["status"] == "active"]
        if not staff:
            return
        post = await self._post_token(unit)
        if post is None:
            return
        post_token, post_lon, post_lat = post
        taken = 0
        for m in staff:
            if len(self.members) >= self.o.members or taken >= self.o.per_unit:
                break
            window = shift_window(self.rng, m["role"], self.o.start_hour, self.o.hours)
            if window is None:  # not rostered in this window
                continue
            token = await self._member_login(m["id"])
            if token is None:
                continue
            sim = SimMember(m["id"], unit["id"], post_lon, post_lat, token, post_token=post_token,
                            e_bike=bool(self.rng.random() < self.o.behaviour.e_bike_share),
                            on_s=window[0], off_s=window[1])
            if sim.on_s > 0 or await self.check_in(sim):
                self.members.append(sim)
                self.unit_sites[unit["id"]] = (unit["lon"], unit["lat"])
                taken += 1

    async def check_in(self, m: SimMember) -> bool:
        """Scan the post's code where the member stands; return whether they are on duty."""
        r = await self.call("POST", "/api/duty/check-in", m.token, "check-in",
                            json={"token": m.post_token, "lon": m.lon, "lat": m.lat, "accuracy_m": 10})
        return r is not None and r.is_success

    async def _post_token(self, unit: dict[str, Any]) -> tuple[str, float, float] | None:
        """Return the QR token of the unit's first post and where the post stands (creating a post
        at the unit's site when it has none)."""
        r = await self.call("GET", f"/api/units/{unit['id']}/posts", self.admin, "setup")
        posts = r.json() if r is not None and r.is_success else []
        if not posts:
            r = await self.call("POST", f"/api/units/{unit['id']}/posts", self.admin, "setup",
                                json={"name": "模拟岗 simulation post", "lon": unit["lon"], "lat": unit["lat"]})
            if r is None or not r.is_success:
                return None
            posts = [r.json()]
        r = await self.call("GET", f"/api/posts/{posts[0]['id']}/token", self.admin, "setup")
        if r is None or not r.is_success:
            return None
        return r.json()["token"], posts[0]["lon"], posts[0]["lat"]

    async def _member_login(self, member_id: int) -> str | None:
        username = f"sim-m{member_id}"
        await self.call("POST", "/api/accounts", self.admin, "setup", (409,),
                        json={"username": username, "password": self.o.member_password, "role": "member",
                              "member_id": member_id})  # 409 when it exists: reused below
        return await self.login(username, self.o.member_password)

    # ---- member clients ------------------------------------------------------------------------

    def position(self, m: SimMember) -> tuple[float, float]:
        """Where the member is now (sim clock): walking to a scene, or on a loop round their post."""
        t = self.clock.now()
        if m.target is not None:
            lon, lat, leave, arrive = m.target
            f = min(max((t - leave) / max(arrive - leave, 1e-9), 0.0), 1.0)
            return m.origin[0] + f * (lon - m.origin[0]), m.origin[1] + f * (lat - m.origin[1])
        angle = 2 * math.pi * t / 900 + m.member_id
        return m.lon + 0.0008 * math.cos(angle), m.lat + 0.0008 * math.sin(angle)  # ~80 m loop

    async def member_client(self, m: SimMember) -> None:
        """Go on duty at the shift's start, send fixes and answer alerts, go off duty at its end."""
        if m.on_s > 0:
            await _wait_or_stop(self.stop, (m.on_s - self.clock.now()) / self.o.speed)
            if self.stop.is_set() or not await self.check_in(m):
                return
        loops = [asyncio.create_task(self.send_fixes(m)), asyncio.create_task(self.listen(m))]
        if math.isfinite(m.off_s):
            await _wait_or_stop(self.stop, (m.off_s - self.clock.now()) / self.o.speed)
        else:
            await self.stop.wait()
        m.off_duty.set()
        await asyncio.gather(*loops, return_exceptions=True)
        if not self.stop.is_set():
            await self.call("POST", "/api/duty/check-out", m.token, "check-in", json={})

    def _stopped(self, m: SimMember) -> bool:
        return self.stop.is_set() or m.off_duty.is_set()

    async def send_fixes(self, m: SimMember) -> None:
        rng = np.random.default_rng([self.o.seed, m.member_id])
        while not self._stopped(m):
            lon, lat = self.position(m)
            await self.call("POST", "/api/positions", m.token, "position",
                            json={"lon": lon, "lat": lat, "t": time.time(), "accuracy_m": 10})
            wait = max(float(rng.uniform(10, 30)) / self.o.speed, self.o.min_fix_real_s)
            await _wait_or_stop(m.off_duty, wait)

    async def listen(self, m: SimMember) -> None:
        """Hold the member's WebSocket; answer each alert in its own task."""
        ws_url = self.o.url.replace("http", "ws", 1).rstrip("/") + "/api/ws"
        rng = np.random.default_rng([self.o.seed, m.member_id, 1])
        tasks: set[asyncio.Task[None]] = set()
        try:
            async with connect(ws_url) as ws:
                await ws.send(json.dumps({"type": "auth", "token": m.token}))
                while not self._stopped(m):
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    event = json.loads(raw)
                    if event.get("type") == "dispatch.alert" and event.get("member_id") == m.member_id:
                        self.alerts_seen.append((event["incident_id"], time.monotonic()))
                        task = asyncio.create_task(self.answer(m, event, rng))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
        except Exception as exc:  # a dropped socket ends this member's alerts, counted as an error
            self.load.record("websocket", 0.0, type(exc).__name__)
        for task in tasks:
            task.cancel()

    async def answer(self, m: SimMember, alert: dict[str, Any], rng: np.random.Generator) -> None:
        """Answer after the member's delay; when accepting, walk or ride there and confirm arrival."""
        b = self.o.behaviour
        u = rng.random()
        if u < b.silent_p:
            return
        await self.clock.sleep(b.ack_median_s * math.exp(b.ack_sigma * rng.standard_normal()))
        aid = alert["assignment_id"]
        if u < b.silent_p + b.decline_p or m.target is not None:  # busy at another scene: declines
            await self.call("POST", f"/api/alerts/{aid}/decline", m.token, "answer", (409,))
            return
        r = await self.call("POST", f"/api/alerts/{aid}/accept", m.token, "answer", (409,))
        if r is None or not r.is_success:
            return
        m.origin = self.position(m)
        distance = float(haversine_m(m.origin[0], m.origin[1], alert["lon"], alert["lat"]))
        eta = self.travel.eta_s(distance, "e_bike" if m.e_bike else "walk")
        leave = self.clock.now()
        m.target = (alert["lon"], alert["lat"], leave, leave + eta)
        await self.clock.sleep(eta)
        await self.call("POST", f"/api/alerts/{aid}/arrived", m.token, "answer", (409,))
        if not alert.get("drill"):  # a drill is over once at the post
            await self.clock.sleep(b.on_scene_median_s)
        m.target = None

    # ---- the operator --------------------------------------------------------------------------

    async def operate(self) -> None:
        """Create the incidents at their simulated times and close each after ``close_after_s``."""
        sites = np.array([[m.lon, m.lat, m.unit_id] for m in {m.unit_id: m for m in self.members}.values()])
        wl = Workload()
        total = sum(wl.daily_rates.values())
        rates = {k: v / total * self.o.incidents_per_hour * 24 for k, v in wl.daily_rates.items()}
        plan = draw_incidents_at(self.rng, sites[:, 0], sites[:, 1], np.ones(len(sites)),
                                 np.zeros(len(sites), dtype=np.int64), rates, self.o.hours, self.o.start_hour)
        lons, lats = plan.lonlat()
        closers: list[asyncio.Task[None]] = []
        for i in range(len(plan)):
            await self.clock.sleep(plan.t_s[i] - self.o.start_hour * HOUR_S - self.clock.now())
            body: dict[str, Any] = {"type": plan.type[i], "lon": float(lons[i]), "lat": float(lats[i])}
            if plan.site_unit[i] >= 0:
                body["unit_id"] = int(sites[plan.site_unit[i], 2])
            real = time.monotonic()
            r = await self.call("POST", "/api/incidents", self.admin, "incident", json=body)
            if r is not None and r.is_success:
                self.incidents.append({"id": r.json()["id"], "type": plan.type[i], "sim": self.clock.now(),
                                       "real": real, "hour": int(plan.t_s[i] // HOUR_S)})
                closers.append(asyncio.create_task(self._close_later(r.json()["id"])))
        # members go on answering the last incidents until their reinforcements are due
        await self.clock.sleep(self.o.hours * HOUR_S + self.o.drain_s - self.clock.now())
        for task in closers:
            task.cancel()

    async def launch_drills(self) -> None:
        """Drill driven units now and then (``POST /api/drills/adhoc`` on a 1 m circle at the unit's
        site), at the scheduler's daily rate scaled to the units and the window: at least one."""
        rng = np.random.default_rng([self.o.seed, 2])
        units = sorted(self.unit_sites)
        n = min(len(units), max(1, round(drills_per_day(len(units)) * self.o.hours * HOUR_S / DAY_S)))
        picked = rng.choice(units, size=n, replace=False)
        for unit_id, at in zip(picked, np.sort(rng.uniform(0, self.o.hours * HOUR_S, n)), strict=True):
            await self.clock.sleep(float(at) - self.clock.now())
            lon, lat = self.unit_sites[int(unit_id)]
            body = {"selection": {"kind": "circle", "center_lon": lon, "center_lat": lat, "radius_m": 1.0},
                    "max_units": 1}
            r = await self.call("POST", "/api/drills/adhoc", self.admin, "drill", (422,), json=body)
            if r is not None and r.is_success:
                self.drills.extend(d["id"] for d in r.json())

    async def drill_results(self) -> dict[str, int]:
        """Return the launched drills by the status the server gave them, after waiting up to
        ``DRILL_WAIT_S`` real seconds for it to score those still running."""
        status: dict[int, str] = {}
        deadline = time.monotonic() + DRILL_WAIT_S
        while True:
            for i in self.drills:
                if status.get(i, "running") == "running":
                    r = await self.call("GET", f"/api/drills/{i}", self.admin, "report")
                    status[i] = r.json()["status"] if r is not None and r.is_success else "unknown"
            if "running" not in status.values() or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        values = list(status.values())
        return {"fired": len(self.drills), **{k: values.count(k) for k in ("passed", "failed", "running")}}

    async def _close_later(self, incident_id: int) -> None:
        await self.clock.sleep(self.o.close_after_s)
        await self.call("POST", f"/api/incidents/{incident_id}/close", self.admin, "incident", (409,),
                        json={"outcome": "resolved"})

    # ---- the run -------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        # one connection per member client and then some: the client must not be the bottleneck
        limits = httpx.Limits(max_connections=2 * self.o.members + 10, max_keepalive_connections=self.o.members + 10)
        async with httpx.AsyncClient(base_url=self.o.url, timeout=30, limits=limits) as self.http:
            await self.setup()
            on_now = sum(m.on_s == 0 for m in self.members)
            self.console.print(f"{len(self.members)} member clients in {len({m.unit_id for m in self.members})} units"
                               f" ({on_now} on duty at the start, the rest per their shifts); "
                               f"playing {self.o.hours:g} h from {self.o.start_hour:02d}:00 at ×{self.o.speed:g}")
            self.load.start()
            self.clock = Clock(self.o.speed)
            clients = [asyncio.create_task(self.member_client(m)) for m in self.members]
            drilling = asyncio.create_task(self.launch_drills())
            await self.operate()
            await drilling
            drills = await self.drill_results()
            self.stop.set()
            await asyncio.gather(*clients, return_exceptions=True)
            self.load.finish()
            details = [(inc["hour"], await self._detail(inc["id"])) for inc in self.incidents]
            await self._finish()
        return {**self.figures([(hour, d) for hour, d in details if d is not None]), "drills": drills}

    async def _detail(self, incident_id: int) -> dict[str, Any] | None:
        r = await self.call("GET", f"/api/incidents/{incident_id}", self.admin, "report")
        return r.json() if r is not None and r.is_success else None

    async def _finish(self) -> None:
        """Close what is still open and take the members off duty."""
        for inc in self.incidents:
            await self.call("POST", f"/api/incidents/{inc['id']}/close", self.admin, "report", (409,),
                            json={"outcome": "resolved"})
        for m in self.members:
            await self.call("POST", "/api/duty/check-out", m.token, "check-in", (404,), json={})

    def figures(self, hour_details: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        """Return server-measured and scaled compliance, and the load figures, from each incident's
        hour and detail."""
        n = len(hour_details)
        details = [d for _, d in hour_details]
        times = [_tier_times(d) for d in details]
        server_passed = np.zeros((n, 3), dtype=bool)
        for i, d in enumerate(details):
            for c in d["compliance"]:
                server_passed[i, TIER_ORDER.index(c["tier"])] = c["passed"]
        server_s = np.array([[real for real, _ in t] for t in times], dtype=float).reshape(n, 3)
        deadlines = np.array([[deadline for _, deadline in t] for t in times], dtype=float).reshape(n, 3)
        scaled_s = server_s * self.o.speed
        hour = np.array([h for h, _ in hour_details], dtype=np.int64)
        server = summarise(server_passed, server_s, hour, {})
        scaled = summarise(scaled_s <= deadlines, scaled_s, hour, {})
        created = {inc["id"]: inc["real"] for inc in self.incidents}
        first: dict[int, float] = {}  # later alerts are refills after a decline or time-out: not delivery
        for i, at in self.alerts_seen:
            if i in created:
                first[i] = min(first.get(i, math.inf), at - created[i])
        seen = np.array(list(first.values())) * 1000
        return {
            "mode": "api", "url": self.o.url, "scale": self.o.scale, "speed": self.o.speed, "hours": self.o.hours,
            "seed": self.o.seed,
            "members": len(self.members), "incidents": n,
            "answered": int(sum(1 for d in details if any(a["status"] in ("accepted", "arrived")
                                                          for a in d["assignments"]))),
            "server_measured": server, "scaled": scaled, "load": self.load.figures(),
            # incident POST sent -> its first alert frame on a member's socket (real)
            "alert_delivery_ms": {f"p{p}": round(float(np.percentile(seen, p)), 1) for p in (50, 99)}
            if seen.size else None,
            "_scaled_times": scaled_s.tolist(),
        }


def _tier_times(detail: dict[str, Any]) -> list[tuple[float, float]]:
    """Return (real seconds to the tier's response, its deadline in seconds) per tier of an incident."""
    reported = datetime.fromisoformat(detail["reported_at"])

    def since(at: str | None) -> float:
        return math.inf if at is None else (datetime.fromisoformat(at) - reported).total_seconds()

    out = []
    for tier in TIER_ORDER:
        spec = next(t for t in detail["tiers"] if t["tier"] == tier)
        mine = [a for a in detail["assignments"] if a["tier"] == tier]
        first = min([since(a["answered_at"]) for a in mine if a["status"] in ("accepted", "arrived")]
                    + [since(a["arrived_at"]) for a in mine], default=math.inf)
        arrivals = [since(a["arrived_at"]) for a in mine if a["arrived_at"] is not None]
        out.append((tier_time_s(tier, spec["needed"], first, arrivals), since(spec["deadline_at"])))
    return out


async def _wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def run_api_study(console: Console, options: DriverOptions, out: Path | None) -> dict[str, Any]:
    """Run the driver, print its figures with rich and save JSON + charts under ``out``.

    Raises InvalidInput (cannot log in, bad options) or Conflict (nothing to drive).
    """
    if not options.password:
        raise InvalidInput("give the admin password: --password or JIEFANG_SIMULATE_PASSWORD")
    if options.scale not in ("small", "city"):
        raise InvalidInput("scale must be small or city")
    if not options.url.startswith(("http://", "https://")):
        raise InvalidInput(f"--url must be an http:// or https:// address, got {options.url!r}")
    figures = asyncio.run(ApiDriver(options, console).run())
    scaled_times = np.array(figures.pop("_scaled_times"), dtype=float).reshape(-1, 3)
    console.print(f"{figures['incidents']} incidents created, {figures['answered']} answered by the "
                  f"{figures['members']} member clients")
    console.print(tier_table("scaled (simulated seconds = server timestamps × speed)", figures["scaled"]["tiers"]))
    console.print(tier_table("server-measured (real seconds against real deadlines)",
                             figures["server_measured"]["tiers"]))
    console.print(LoadRecorder.table(figures["load"]))
    drills = figures["drills"]
    console.print(f"drills (scored by the server): {drills['fired']} fired, {drills['passed']} passed, "
                  f"{drills['failed']} failed, {drills['running']} still running at the end")
    if out is not None:
        save_json(out / "simulation.json", figures)
        save_charts(out, scaled_times, figures["scaled"], "(API mode, scaled)")
        console.print(f"saved {out / 'simulation.json'} and charts under {out}")
    return figures
