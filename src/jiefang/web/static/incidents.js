// Incidents in the command console: markers of open incidents, the list, the detail with its
// 1-3-5 clocks, responders, reach rings and notes, adding or standing down responders, closing,
// and reporting a new incident by clicking the map.

import { epochSeconds, request } from "./api.js";
import { ASSIGNMENT_STATUSES, INCIDENT_STATUSES, TIER_NAMES, TIER_STATUSES } from "./console-strings.js";
import { button, choice, clock, field, notice } from "./console.js";
import { formatNumber, formatTime, label, language, t } from "./i18n.js";
import { describeError } from "./map.js";
import { el } from "./panel.js";

const OPEN_LIMIT = 200;
const REFRESH_MS = 250; // events come in bursts (a wave of alerts): fetch once per burst
const RING_STYLE = { color: "#b45309", weight: 1.5, fill: false, dashArray: "4 6", interactive: false };
/** Events that change an incident or its responders. */
export const INCIDENT_EVENTS = /^(incident\.|dispatch\.)/;
const ACTIVE = ["alerted", "accepted", "arrived"];

export function typeName(types, type) {
  const known = types.get(type);
  if (!known) return type;
  return language() === "en" ? known.name_en : known.name_zh;
}

function icon(incident) {
  return L.divIcon({
    className: `incident-marker incident-${incident.status} severity-${incident.severity}`,
    html: "<span aria-hidden=\"true\">!</span>",
    iconSize: [26, 26],
  });
}

/** Open incidents on the map, and the focused one's reach rings and responder lines. */
export class IncidentLayer {
  constructor(map, { types, onPick }) {
    this.map = map;
    this.types = types;
    this.onPick = onPick;
    map.createPane("incidents").style.zIndex = 640;
    this.markers = L.layerGroup().addTo(map);
    this.focusLayer = L.layerGroup().addTo(map);
    this.reach = {};
    this.timer = null;
    this.open = [];
  }

  setReach(reach) {
    this.reach = reach ?? {};
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), REFRESH_MS);
  }

  async load() {
    try {
      this.open = await request(`/api/incidents?open_only=true&limit=${OPEN_LIMIT}`);
    } catch (error) {
      console.warn("open incidents", error);
      return;
    }
    this.draw();
  }

  draw() {
    this.markers.clearLayers();
    for (const incident of this.open) {
      const marker = L.marker([incident.lat, incident.lon], {
        icon: icon(incident), pane: "incidents", keyboard: true,
        title: `${typeName(this.types, incident.type)} · ${incident.address ?? ""}`,
      });
      marker.on("click", () => this.onPick(incident.id));
      marker.addTo(this.markers);
    }
    document.body.dataset.openIncidents = String(this.open.length);
  }

  /** Draw the 1/3/5-minute reach rings, each active responder's trail since the report, and a
   * line from where they are now to the incident. */
  focus(incident, positions = new Map(), trails = new Map()) {
    this.focusLayer.clearLayers();
    if (!incident) return;
    const centre = [incident.lat, incident.lon];
    for (const [seconds, metres] of Object.entries(this.reach)) {
      L.circle(centre, { ...RING_STYLE, radius: metres, className: `reach-ring reach-${seconds}` })
        .bindTooltip(`${Number(seconds) / 60} min`, { permanent: false })
        .addTo(this.focusLayer);
    }
    for (const a of incident.assignments ?? []) {
      if (!ACTIVE.includes(a.status)) continue;
      const trail = trails.get(a.member_id) ?? [];
      if (trail.length > 1) {
        L.polyline(trail, { color: "#0f766e", weight: 3, opacity: 0.7, className: "responder-trail",
          interactive: false }).addTo(this.focusLayer);
      }
      const where = positions.get(a.member_id);
      if (!where || a.status === "arrived") continue;
      L.polyline([[where.lat, where.lon], centre], {
        color: a.status === "accepted" ? "#15803d" : "#64748b", weight: 2, dashArray: "2 6",
        className: `responder-line responder-${a.status}`, interactive: false,
      }).addTo(this.focusLayer);
    }
  }

  clear() {
    clearTimeout(this.timer);
    this.markers.clearLayers();
    this.focusLayer.clearLayers();
    this.open = [];
    delete document.body.dataset.openIncidents;
  }
}

/** The list of open incidents, newest first, each with its running clock. */
export class IncidentListView {
  constructor(ctx) {
    this.ctx = ctx;
    this.name = "incidents";
    this.reopen = () => new IncidentListView(ctx);
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  title() {
    return t("incident.list");
  }

  render(body) {
    this.body = body;
    const open = this.ctx.layer.open;
    if (!open.length) {
      body.append(el("p", { class: "console-empty" }, t("incident.none")));
      return;
    }
    const list = el("ul", { class: "console-list", "data-testid": "incident-list" });
    for (const incident of open) {
      const row = el("button", { type: "button", class: "console-row", "data-incident": String(incident.id) },
        el("strong", {}, typeName(this.ctx.types, incident.type)),
        el("span", {}, incident.address ?? ""),
        el("span", { class: "badge" }, label(INCIDENT_STATUSES, incident.status)),
        el("span", { class: "clock", "data-since": String(epochSeconds(incident.reported_at)) }, ""));
      row.addEventListener("click", () => this.ctx.openIncident(incident.id, true));
      list.append(el("li", {}, row));
    }
    body.append(list);
    this.tick();
  }

  tick() {
    for (const span of this.body?.querySelectorAll(".clock[data-since]") ?? []) {
      span.textContent = clock(Date.now() / 1000 - Number(span.dataset.since));
    }
  }

  onEvent(event) {
    if (INCIDENT_EVENTS.test(event.type)) this.ctx.layer.load().then(() => this.ctx.panel.render());
  }

  reload() {
    this.ctx.layer.load().then(() => this.ctx.panel.render());
  }

  dispose() {
    clearInterval(this.ticker);
  }
}

/** One incident: clocks, tiers, responders, notes, actions. */
export class IncidentDetailView {
  constructor(ctx, incidentId) {
    this.ctx = ctx;
    this.id = incidentId;
    this.name = "incident";
    this.reopen = () => new IncidentDetailView(ctx, incidentId);
    this.incident = null;
    this.notes = [];
    this.trails = new Map(); // member id -> [[lat, lon], ...] since the report, grown by live positions
    this.nearby = null;
    this.error = null;
    this.timer = null;
    this.ticker = setInterval(() => this.tick(), 1000);
    this.load();
  }

  title() {
    return this.incident ? typeName(this.ctx.types, this.incident.type) : t("console.loading");
  }

  async load() {
    try {
      const [incident, notes] = await Promise.all([
        request(`/api/incidents/${this.id}`), request(`/api/incidents/${this.id}/notes`),
      ]);
      this.incident = incident;
      this.notes = notes;
      this.error = null;
    } catch (error) {
      this.error = describeError(error);
    }
    if (this.disposed) return;
    this.loadTrails();
    this.refocus();
    this.ctx.panel.render();
  }

  refocus() {
    this.ctx.layer.focus(this.incident, this.ctx.positions(), this.trails);
  }

  /** The kept track of each new active responder since the report (the live feed extends it). */
  loadTrails() {
    const since = encodeURIComponent(this.incident?.reported_at ?? "");
    for (const a of this.incident?.assignments ?? []) {
      if (!ACTIVE.includes(a.status) || this.trails.has(a.member_id)) continue;
      const now = this.ctx.positions().get(a.member_id);
      this.trails.set(a.member_id, now ? [[now.lat, now.lon]] : []);
      request(`/api/members/${a.member_id}/track?since=${since}`).then((points) => {
        const live = this.trails.get(a.member_id) ?? [];
        this.trails.set(a.member_id, [...points.map((p) => [p.lat, p.lon]), ...live]);
        if (!this.disposed) this.refocus();
      }, (error) => console.warn("track", error));
    }
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), REFRESH_MS);
  }

  onEvent(event) {
    if (event.incident_id === this.id && INCIDENT_EVENTS.test(event.type)) this.schedule();
    if (event.type === "positions" && this.incident) {
      for (const [memberId, , lon, lat] of event.moved ?? []) this.trails.get(memberId)?.push([lat, lon]);
      this.refocus();
    }
  }

  reload() {
    this.load();
  }

  dispose() {
    this.disposed = true;
    clearInterval(this.ticker);
    clearTimeout(this.timer);
    this.ctx.layer.focus(null);
  }

  tick() {
    for (const span of this.body?.querySelectorAll("[data-until]") ?? []) {
      const left = Number(span.dataset.until) - Date.now() / 1000;
      span.textContent = left > 0 ? t("incident.deadlineIn", { time: clock(left) }) : t("incident.deadlinePassed");
      span.classList.toggle("late", left <= 0);
    }
    for (const span of this.body?.querySelectorAll(".clock[data-since]") ?? []) {
      const end = span.dataset.end ? Number(span.dataset.end) : Date.now() / 1000;
      span.textContent = clock(end - Number(span.dataset.since));
    }
  }

  render(body) {
    this.body = body;
    if (this.error) body.append(notice(this.error));
    const incident = this.incident;
    if (!incident) return;
    const closed = Boolean(incident.closed_at);
    body.append(
      el("p", { class: "incident-head", "data-testid": "incident-status" },
        el("span", { class: "badge" }, label(INCIDENT_STATUSES, incident.status)), " ",
        t("incident.severityN", { n: incident.severity }), " · ", incident.address ?? ""),
      el("p", {}, `${t("incident.elapsed")} `,
        el("strong", {
          class: "clock", "data-testid": "incident-clock", "data-since": String(epochSeconds(incident.reported_at)),
          "data-end": closed ? String(epochSeconds(incident.closed_at)) : null,
        }, ""),
        ` · ${t("incident.reportedAt")} ${formatTime(epochSeconds(incident.reported_at))}`),
    );
    if (incident.description) body.append(el("p", { class: "incident-description" }, incident.description));
    body.append(this.tiers(incident, closed), this.responders(incident, closed));
    if (!closed) body.append(this.adding(incident));
    body.append(this.notesBlock());
    if (!closed) body.append(this.closing());
    else body.append(notice(t("incident.closed", { outcome: label(INCIDENT_STATUSES, incident.status) }), "info"));
    this.tick();
  }

  tiers(incident, closed) {
    const verdicts = new Map((incident.compliance ?? []).map((c) => [c.tier, c]));
    const rows = incident.tiers.map((tier) => {
      const verdict = verdicts.get(tier.tier);
      const until = epochSeconds(tier.deadline_at);
      const decided = verdict && (verdict.passed || closed || until <= Date.now() / 1000);
      const state = decided
        ? el("span", { class: `verdict ${verdict.passed ? "passed" : "failed"}` },
          t(verdict.passed ? "incident.passed" : "incident.failed"))
        : el("span", { class: "countdown", "data-until": String(until) }, "");
      return el("li", { "data-tier": tier.tier },
        el("strong", {}, label(TIER_NAMES, tier.tier)), " ",
        t("incident.needed", { n: tier.needed }), " · ", label(TIER_STATUSES, tier.status), " · ", state);
    });
    return el("section", { class: "console-section" },
      el("h3", {}, t("incident.tiers")), el("ul", { class: "tier-list", "data-testid": "tiers" }, ...rows));
  }

  responders(incident, closed) {
    const section = el("section", { class: "console-section" }, el("h3", {}, t("incident.responders")));
    if (!incident.assignments.length) {
      section.append(el("p", { class: "console-empty" }, t("incident.noResponders")));
      return section;
    }
    const head = el("tr", {}, ...["incident.member", "incident.tier", "incident.status", "incident.eta"]
      .map((key) => el("th", { scope: "col" }, t(key))), el("th", {}, ""));
    const rows = incident.assignments.map((a) => {
      const action = !closed && ["alerted", "accepted"].includes(a.status)
        ? button("incident.standDown", () => this.act(`/api/incidents/${this.id}/responders/${a.id}/stand-down`),
          { "data-testid": `stand-down-${a.member_id}` })
        : "";
      return el("tr", { "data-member": String(a.member_id), "data-status": a.status },
        el("td", {}, a.member_name ?? `#${a.member_id}`, el("br"), el("small", {}, a.unit_name ?? "")),
        el("td", {}, label(TIER_NAMES, a.tier)),
        el("td", { class: `status-${a.status}` }, label(ASSIGNMENT_STATUSES, a.status)),
        el("td", {}, clock(a.eta_s), el("br"), el("small", {}, `${formatNumber(Math.round(a.distance_m))} m`)),
        el("td", {}, action));
    });
    section.append(el("table", { class: "console-table", "data-testid": "responders" },
      el("thead", {}, head), el("tbody", {}, ...rows)));
    return section;
  }

  adding(incident) {
    const section = el("section", { class: "console-section" });
    section.append(button("incident.add", () => this.loadNearby(incident), { "data-testid": "add-responder" }));
    if (this.nearby === null) return section;
    const taken = new Set(incident.assignments.filter((a) => ["alerted", "accepted", "arrived"].includes(a.status))
      .map((a) => a.member_id));
    const free = this.nearby.filter((m) => !taken.has(m.member_id));
    if (!free.length) {
      section.append(el("p", { class: "console-empty" }, t("incident.nobodyNear")));
      return section;
    }
    const tierSelect = choice(Object.keys(TIER_NAMES).map((k) => [k, label(TIER_NAMES, k)]), "mutual_aid",
      { "aria-label": t("incident.tier") });
    const list = el("ul", { class: "console-list" }, ...free.map((m) => el("li", {},
      `${m.name} · ${m.unit_name} · ${formatNumber(Math.round(m.distance_m))} m `,
      button("incident.dispatch", () => this.act(`/api/incidents/${this.id}/responders`,
        { member_id: m.member_id, tier: tierSelect.value }), { "data-testid": `dispatch-${m.member_id}` }))));
    section.append(el("p", {}, t("incident.addHint")), tierSelect, list);
    return section;
  }

  async loadNearby(incident) {
    try {
      this.nearby = await request(`/api/positions/nearby?lon=${incident.lon}&lat=${incident.lat}&k=12`);
    } catch (error) {
      this.error = describeError(error);
    }
    this.ctx.panel.render();
  }

  notesBlock() {
    const section = el("section", { class: "console-section" }, el("h3", {}, t("incident.notes")));
    const list = el("ol", { class: "notes", "data-testid": "notes" }, ...this.notes.map((n) => el("li", {},
      el("strong", {}, n.author), ` ${formatTime(epochSeconds(n.at))} `, el("span", {}, n.text))));
    const empty = this.notes.length ? "" : el("p", { class: "console-empty" }, t("incident.noNotes"));
    const input = el("input", { type: "text", maxlength: "1000", placeholder: t("incident.notePlaceholder"),
      "aria-label": t("incident.notePlaceholder"), "data-testid": "note-text" });
    const form = el("form", { class: "inline-form" }, input,
      el("button", { type: "submit", class: "button button-small" }, t("incident.send")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (input.value.trim()) this.act(`/api/incidents/${this.id}/notes`, { text: input.value.trim() });
    });
    section.append(empty, list, form);
    return section;
  }

  closing() {
    const outcome = choice(["resolved", "false_alarm", "handed_to_police"]
      .map((k) => [k, label(INCIDENT_STATUSES, k)]), "resolved", { "data-testid": "close-outcome" });
    const notes = el("textarea", { rows: "2", maxlength: "2000" });
    const form = el("form", { class: "console-section" }, el("h3", {}, t("incident.closeTitle")),
      field("incident.outcome", outcome), field("incident.closeNotes", notes),
      el("button", { type: "submit", class: "button button-primary", "data-testid": "close-incident" },
        t("incident.closeSubmit")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.act(`/api/incidents/${this.id}/close`, { outcome: outcome.value, notes: notes.value.trim() || null });
    });
    return form;
  }

  async act(path, body = undefined) {
    try {
      await request(path, { method: "POST", body });
      this.error = null;
      this.nearby = null;
    } catch (error) {
      this.error = describeError(error);
    }
    await this.load();
  }
}

/** Report an incident at a point picked on the map; it is dispatched at once. */
export class NewIncidentView {
  constructor(ctx, lon, lat) {
    this.ctx = ctx;
    this.name = "new-incident";
    this.lon = lon;
    this.lat = lat;
    this.error = null;
    this.marker = L.marker([lat, lon], { pane: "incidents", opacity: 0.7 }).addTo(ctx.map);
  }

  title() {
    return t("incident.new");
  }

  render(body) {
    const types = [...this.ctx.types.values()];
    const type = choice(types.map((x) => [x.type, typeName(this.ctx.types, x.type)]), types[0]?.type,
      { "data-testid": "incident-type" });
    const severity = choice([1, 2, 3, 4].map((n) => [n, t("incident.severityN", { n })]),
      types[0]?.default_severity ?? 2, { "data-testid": "incident-severity" });
    type.addEventListener("change", () => {
      severity.value = String(this.ctx.types.get(type.value)?.default_severity ?? 2);
    });
    const address = el("input", { type: "text", maxlength: "200", "data-testid": "incident-address" });
    const description = el("textarea", { rows: "3", maxlength: "2000" });
    const form = el("form", { class: "console-form", "data-testid": "new-incident" },
      el("p", {}, `${this.lat.toFixed(5)}, ${this.lon.toFixed(5)}`),
      field("incident.type", type), field("incident.severity", severity),
      field("incident.address", address), field("incident.description", description),
      this.error ? notice(this.error) : "",
      el("button", { type: "submit", class: "button button-primary", "data-testid": "submit-incident" },
        t("incident.submit")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      form.querySelector("button[type=submit]").disabled = true;
      try {
        const created = await request("/api/incidents", { method: "POST", body: {
          type: type.value, severity: Number(severity.value), lon: this.lon, lat: this.lat,
          address: address.value.trim() || null, description: description.value.trim() || null,
        } });
        this.ctx.layer.schedule();
        this.ctx.openIncident(created.id, false);
      } catch (error) {
        this.error = describeError(error);
        this.ctx.panel.render();
      }
    });
    body.append(form);
    type.focus();
  }

  dispose() {
    this.marker.remove();
  }
}
