// The live picture on the map: members on duty, electronic fences and fence alerts. Loaded
// over HTTP, then kept in step by the live feed; events arriving during a load wait for it.

import { ApiError, epochSeconds, request } from "./api.js";
import { AlertList, alertOf } from "./alerts.js";
import { FenceLayer } from "./fences.js";
import { t } from "./i18n.js";
import { LiveFeed } from "./live.js";
import { MemberLayer, MemberNames } from "./members.js";

const RETRY_MS = 10_000;
const FENCE_EVENTS_LIMIT = 200;
const ALERT_ZOOM = 16;

/** Whether a fence event is an alert for the list: entering a sensitive area, a patrol absence. */
function isAlert(kind, fenceKind) {
  return kind === "patrol_absence" || (kind === "enter" && fenceKind === "sensitive_area");
}

function isRefusal(error) {
  return error instanceof ApiError && error.status === 403;
}

/**
 * Callbacks: `unitName(unitId)` (null if unknown), `onMembers(n)` and `onFences(n)` with the
 * counts shown, `onState("connecting" | "live" | "offline")`, `onError(error | null)`; every live
 * event also goes to `onEvent(event)`, and `onResync()` runs when everything is loaded afresh.
 */
export class LivePicture {
  constructor(map, { unitName, onMembers, onFences, onState, onError, onEvent = () => {}, onResync = () => {} }) {
    this.map = map;
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.unitName = unitName;
    this.onState = onState;
    this.onError = onError;
    this.names = new MemberNames();
    this.members = new MemberLayer(map, { names: this.names, unitName, onCount: onMembers });
    this.fences = new FenceLayer(map, { onCount: onFences });
    this.alerts = new AlertList(
      (alert) => this.describeAlert(alert),
      (alert) => map.setView([alert.lat, alert.lon], Math.max(map.getZoom(), ALERT_ZOOM)),
    ).addTo(map);
    this.feed = new LiveFeed({
      onEvent: (event) => this.receive(event),
      onReload: () => this.reload(),
      onState: (state) => this.stateChanged(state),
      onUnauthorized: () => this.checkSession(),
    });
    this.stopped = true;
    this.loads = 0; // generation of the latest load: older answers are dropped
    this.loading = false;
    this.loaded = false;
    this.buffer = [];
    this.retryTimer = null;
    this.restartTimer = null;
  }

  start() {
    this.stop();
    this.stopped = false;
    this.loading = true; // the first load comes on the socket's hello
    this.feed.start();
  }

  stop() {
    this.stopped = true;
    this.loads += 1;
    this.loading = false;
    this.loaded = false;
    this.buffer = [];
    clearTimeout(this.retryTimer);
    clearTimeout(this.restartTimer);
    this.feed.stop();
    this.members.clear();
    this.fences.clear();
    this.alerts.clear();
    this.names.clear();
  }

  stateChanged(state) {
    this.onState(state);
    // No socket (a proxy without WebSocket, say): still show the picture as of now.
    if (state === "offline" && !this.loaded && !this.stopped) this.reload();
  }

  /** Fetch members on duty and fences afresh; a 403 hides that layer (not an operator). */
  async reload() {
    const generation = ++this.loads;
    this.onResync();
    this.loading = true;
    this.buffer = [];
    clearTimeout(this.retryTimer);
    const [positions, fences] = await Promise.allSettled([request("/api/positions/live"), request("/api/fences")]);
    if (generation !== this.loads) return;
    const failed = [positions, fences].find((answer) => answer.status === "rejected" && !isRefusal(answer.reason));
    if (failed) {
      if (failed.reason instanceof ApiError && failed.reason.status === 401) return; // the session ends
      this.onError(failed.reason);
      this.retryTimer = setTimeout(() => this.reload(), RETRY_MS);
      return;
    }
    this.onError(null);
    this.members.setAvailable(positions.status === "fulfilled");
    if (positions.status === "fulfilled") this.members.setSnapshot(positions.value);
    this.fences.setAvailable(fences.status === "fulfilled");
    if (fences.status === "fulfilled") this.fences.setFences(fences.value);
    this.alerts.setEnabled(fences.status === "fulfilled");
    this.loaded = true;
    this.loading = false;
    if (!this.members.available && !this.fences.available) {
      this.feed.stop(); // nothing of this picture for this account
      this.buffer = [];
      return;
    }
    const waiting = this.buffer;
    this.buffer = [];
    for (const event of waiting) this.apply(event);
    if (this.fences.available) this.loadAlerts(generation);
  }

  /** The latest stored alerts, so that the list is not empty after a reload. */
  async loadAlerts(generation) {
    let rows;
    try {
      rows = await request(`/api/fence-events?limit=${FENCE_EVENTS_LIMIT}`);
    } catch (error) {
      if (!isRefusal(error) && error.status !== 401) console.warn("fence events", error);
      return;
    }
    if (generation !== this.loads) return;
    const alerts = rows
      .filter((row) => isAlert(row.kind, this.fences.get(row.fence_id)?.kind))
      .map((row) => alertOf({
        kind: row.kind, fenceId: row.fence_id, fenceName: this.fences.get(row.fence_id)?.name,
        memberId: row.member_id, lon: row.lon, lat: row.lat, t: epochSeconds(row.at),
      }));
    this.addAlerts(alerts);
  }

  receive(event) {
    if (this.stopped) return;
    if (this.loading) this.buffer.push(event);
    else this.apply(event);
    this.onEvent(event); // after the members moved, so listeners read where they are now
  }

  apply(event) {
    switch (event.type) {
      case "positions":
        this.members.update(event.moved, event.gone);
        break;
      case "duty.check_out":
        this.members.update([], [event.member_id]);
        break;
      case "fence.created":
        if (this.fences.available && event.fence) this.fences.add(event.fence);
        break;
      case "fence.retired":
        this.fences.remove(event.fence_id);
        break;
      case "fence.enter":
      case "fence.patrol_absence": {
        const kind = event.type.slice("fence.".length);
        if (!this.alerts.enabled || !isAlert(kind, event.fence_kind)) break;
        this.addAlerts([alertOf({
          kind, fenceId: event.fence_id, fenceName: this.fences.get(event.fence_id)?.name,
          memberId: event.member_id, unitId: event.unit_id, lon: event.lon, lat: event.lat, t: event.t,
        })]);
        break;
      }
      default:
        break; // duty.check_in: the next "positions" event places the member
    }
  }

  addAlerts(alerts) {
    if (!alerts.length) return;
    this.alerts.add(...alerts);
    const names = new Set(alerts.map((alert) => alert.memberId));
    Promise.all([...names].map((id) => this.names.load(id))).then(() => this.alerts.render());
  }

  describeAlert(alert) {
    const member = this.names.known(alert.memberId) ?? t("members.fallbackName", { id: alert.memberId });
    const fence = alert.fenceName || t("fences.fallbackName", { id: alert.fenceId });
    const text = t(alert.kind === "enter" ? "alerts.enter" : "alerts.absence", { member, fence });
    const detail = alert.unitId === null ? null : this.unitName(alert.unitId);
    return { text, detail };
  }

  /** The socket refused the token: a 401 on /me ends the session; otherwise try again later. */
  async checkSession() {
    try {
      await request("/api/auth/me");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
    }
    if (!this.stopped) this.restartTimer = setTimeout(() => this.feed.start(), RETRY_MS);
  }

  relabel() {
    this.members.relabel();
    this.fences.relabel();
    this.alerts.render();
  }
}
