// The member app (/app): sign in, go on duty by scanning the post's code, send positions while on
// duty, receive alerts live (sound, vibration), answer them, navigate, report arrival, talk on the
// incident, read and answer group commands, call for help (SOS), report hazards. Actions go through
// the outbox (queue.js), so they survive a dead network and are never done twice.

import { ApiError, clearToken, getToken, onUnauthorized, request, setToken } from "../api.js";
import { language, setLanguage, t, translateDocument } from "../i18n.js";
import { LiveFeed } from "../live.js";
import { Outbox, newKey } from "./queue.js";
import { canScan, startScanner, tokenOf } from "./scanner.js";
import { VoicePanel } from "../voice.js";
import { HazardReports } from "./reports.js";

const TOKEN_KEEP = "jiefang.member.token"; // survives closing the installed app, unlike sessionStorage
const ME_KEEP = "jiefang.member.me";
const FIX_EVERY_MS = 10_000;
const FIX_MAX_AGE_MS = 120_000;
const ACTIVE = new Set(["alerted", "accepted", "arrived"]);
const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  duty: null,
  shifts: [],
  alerts: new Map(), // assignment id -> {assignment fields, incident: {type, lon, lat, address}}
  incidents: new Map(), // incident id -> what the member may know of it
  notes: new Map(), // incident id -> notes
  commands: [],
  commandsAvailable: true,
  fix: null,
  feedState: "offline",
};
const cards = new Map(); // assignment id -> AlertCard
let watchId = null;
let voice = null; // push to talk, while signed in
let fixTimer = null;
let lastSentFix = 0;
let lastSentT = 0;

// ---------------------------------------------------------------- outbox

const outbox = new Outbox({
  onChange: renderOutbox,
  onDone: actionDone,
  onFailed: (item, error) => {
    notify(t("member.outbox.failed", { what: describeItem(item), why: refusal(error) }), "error");
    if (item.ref.assignment) refreshAlerts().catch(() => {});
    if (item.ref.command) refreshCommands().catch(() => {});
    renderAll();
    console.info("outbox: refused for good", item.kind, error.status);
  },
});

function actionDone(item, answer) {
  if (["accept", "decline", "arrived"].includes(item.kind) && answer) {
    const alert = state.alerts.get(answer.id);
    if (alert) Object.assign(alert, answer);
  } else if (item.kind === "sos" || item.kind === "report") {
    notify(t(item.kind === "sos" ? "member.sos.sent" : "member.report.sent", { id: answer.id }), "ok");
  } else if (item.kind === "note" && answer) {
    addNote(answer);
  } else if ((item.kind === "reply" || item.kind === "read") && answer) {
    const i = state.commands.findIndex((c) => c.id === answer.id);
    if (i >= 0) state.commands[i] = answer;
  }
  renderAll();
}

/** Why the server will not do an action, in the member's language (its own words stay on the item). */
function refusal(error) {
  const key = `member.outbox.why.${error.status}`;
  const text = t(key);
  return text === key ? (error.serverMessage ?? `HTTP ${error.status}`) : text;
}

function describeItem(item) {
  return t(`member.outbox.kind.${item.kind}`);
}

function pendingFor(predicate) {
  return outbox.items.filter((item) => item.state !== "failed" && predicate(item));
}

// ---------------------------------------------------------------- notices, sound, vibration

let noticeTimer = null;
function notify(text, kind = "info") {
  const notice = $("notice");
  notice.textContent = text;
  notice.dataset.kind = kind;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (kind !== "error") noticeTimer = setTimeout(() => (notice.hidden = true), 8000);
}

let audio = null;
function unlockAudio() {
  // Browsers start sound only after a gesture: make the context on the first tap, play it later.
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch (error) {
    console.info("no Web Audio here", error);
  }
}

function ring(pulses = 3) {
  navigator.vibrate?.([400, 150, 400, 150, 400].slice(0, pulses * 2 - 1));
  if (!audio || audio.state !== "running") return;
  const start = audio.currentTime;
  for (let i = 0; i < pulses; i += 1) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = i % 2 ? 660 : 880;
    gain.gain.setValueAtTime(0.3, start + i * 0.35);
    gain.gain.exponentialRampToValueAtTime(0.001, start + i * 0.35 + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start(start + i * 0.35);
    osc.stop(start + i * 0.35 + 0.3);
  }
}

// ---------------------------------------------------------------- formatting

function clock(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(language() === "en" ? "en-GB" : "zh-CN", {
    hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(iso));
}

function typeLabel(type) {
  const key = `member.type.${type}`;
  const text = t(key);
  return text === key ? type : text;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// ---------------------------------------------------------------- position

function watchPosition() {
  if (watchId !== null || !navigator.geolocation) return;
  const failed = (error) => console.info("geolocation:", error.message);
  watchId = navigator.geolocation.watchPosition(gotFix, failed, {
    enableHighAccuracy: true, maximumAge: 5_000, timeout: 30_000,
  });
  fixTimer = setInterval(() => sendDueFix(failed), FIX_EVERY_MS);
}

/** Every FIX_EVERY_MS on duty: the newest fix if it has not gone out yet, else a fresh one (the
 * phone's watch is silent while the member stands still, and the centre should still see them). */
function sendDueFix(failed) {
  if (state.fix && state.fix.t > lastSentT) {
    sendFix();
    return;
  }
  navigator.geolocation.getCurrentPosition((p) => gotFix(p, true), failed, {
    enableHighAccuracy: true, maximumAge: FIX_EVERY_MS / 2, timeout: FIX_EVERY_MS * 0.9,
  });
}

function stopWatching() {
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  clearInterval(fixTimer);
  watchId = null;
}

function fixOf(position) {
  const c = position.coords;
  return {
    lon: c.longitude, lat: c.latitude, accuracy_m: Math.min(c.accuracy ?? 50, 5000), t: position.timestamp / 1000,
    speed_mps: c.speed ?? null, heading_deg: c.heading ?? null,
  };
}

/** A fix from the phone; sent at once if due (`due`: the periodic one), else kept for the map and SOS. */
function gotFix(position, due = false) {
  state.fix = fixOf(position);
  for (const card of cards.values()) card.placeMe();
  if (state.duty && (due || Date.now() - lastSentFix >= FIX_EVERY_MS)) sendFix();
}

function sendFix() {
  const fix = { ...state.fix };
  if (typeof fix.speed_mps !== "number" || !(fix.speed_mps >= 0)) delete fix.speed_mps;
  if (typeof fix.heading_deg !== "number" || !(fix.heading_deg >= 0 && fix.heading_deg <= 360)) delete fix.heading_deg;
  lastSentFix = Date.now();
  lastSentT = fix.t;
  if (state.feedState === "live") {
    feed.send({ type: "fixes", ref: Date.now(), fixes: [fix] });
  } else if (navigator.onLine) {
    request("/api/positions", { method: "POST", body: fix }).catch((error) => console.info("position:", error));
  } // offline: a stale position is no use later; the next fix goes out when back online
}

/** The phone's position now (a recent fix, else a fresh one); rejects when there is none. */
function currentPosition() {
  if (state.fix && Date.now() - state.fix.t * 1000 < FIX_MAX_AGE_MS) return Promise.resolve(state.fix);
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error(t("member.position.none")));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => {
        state.fix = fixOf(position);
        resolve(state.fix);
      },
      () => reject(new Error(t("member.position.none"))),
      { enableHighAccuracy: true, maximumAge: 10_000, timeout: 15_000 },
    );
  });
}

// ---------------------------------------------------------------- duty

async function refreshDuty() {
  const [duty, shifts] = await Promise.all([request("/api/duty/me"), request("/api/duty/my-shifts")]);
  state.duty = duty;
  state.shifts = shifts ?? [];
  if (state.duty) watchPosition();
  renderDuty();
}

function renderDuty() {
  const line = $("duty-state");
  line.dataset.on = String(Boolean(state.duty));
  line.textContent = state.duty
    ? t("member.duty.on", { since: clock(state.duty.checked_in_at) })
    : t("member.duty.off");
  $("scan").hidden = Boolean(state.duty);
  $("check-out").hidden = !state.duty;
  const list = $("shifts");
  list.replaceChildren();
  const today = new Date().toDateString();
  const mine = state.shifts.filter((s) => new Date(s.starts_at).toDateString() === today
    || new Date(s.ends_at).toDateString() === today);
  for (const shift of mine) {
    list.append(el("li", { text: t("member.duty.shift", {
      name: shift.name, start: clock(shift.starts_at), end: clock(shift.ends_at),
    }) }));
  }
  if (!mine.length) list.append(el("li", { class: "m-muted", text: t("member.duty.noShift") }));
}

let stopCamera = null;

async function openScanner() {
  unlockAudio();
  $("scan-message").textContent = "";
  $("scan-code").value = "";
  $("scan-dialog").showModal();
  const video = $("scan-video");
  if (!canScan()) {
    $("scan-hint").textContent = t("member.scan.noCamera");
    return;
  }
  $("scan-hint").textContent = t("member.scan.pointCamera");
  video.hidden = false;
  try {
    stopCamera = await startScanner(video, (text) => scanned(text));
  } catch (error) {
    video.hidden = true;
    $("scan-hint").textContent = t("member.scan.noCamera");
    console.info("camera:", error);
  }
}

function closeScanner() {
  stopCamera?.();
  stopCamera = null;
  $("scan-video").hidden = true;
  if ($("scan-dialog").open) $("scan-dialog").close();
}

/** A post code was read (camera, manual entry, or a test standing in for the camera): go on duty. */
async function scanned(text) {
  const token = tokenOf(text);
  if (!token) {
    $("scan-message").textContent = t("member.scan.empty");
    return;
  }
  try {
    const fix = await currentPosition();
    state.duty = await request("/api/duty/check-in", {
      method: "POST", body: { token, lon: fix.lon, lat: fix.lat, accuracy_m: fix.accuracy_m },
      headers: { "Idempotency-Key": newKey() },
    });
    closeScanner();
    watchPosition();
    sendFix();
    notify(t("member.duty.checkedIn"), "ok");
    renderDuty();
  } catch (error) {
    const why = messageOf(error);
    if ($("scan-dialog").open) $("scan-message").textContent = why;
    else notify(why, "error");
  }
}

async function checkOut() {
  try {
    await request("/api/duty/check-out", { method: "POST", body: {}, headers: { "Idempotency-Key": newKey() } });
    state.duty = null;
    stopWatching();
    notify(t("member.duty.checkedOut"), "ok");
    renderDuty();
  } catch (error) {
    notify(messageOf(error), "error");
  }
}

function messageOf(error) {
  if (error instanceof ApiError) {
    return error.status === 0 ? t("member.offline.action") : (error.serverMessage ?? `HTTP ${error.status}`);
  }
  return String(error.message ?? error);
}

// ---------------------------------------------------------------- alerts

async function incidentOf(id) {
  if (!state.incidents.has(id)) {
    const detail = await request(`/api/incidents/${id}`);
    state.incidents.set(id, { type: detail.type, lon: detail.lon, lat: detail.lat, address: detail.address,
      status: detail.status });
  }
  return state.incidents.get(id);
}

async function refreshAlerts() {
  const mine = await request("/api/alerts/mine");
  const seen = new Set();
  for (const a of mine) {
    if (!ACTIVE.has(a.status)) continue;
    seen.add(a.id);
    state.alerts.set(a.id, { ...state.alerts.get(a.id), ...a, incident: await incidentOf(a.incident_id) });
  }
  for (const id of [...state.alerts.keys()]) if (!seen.has(id)) state.alerts.delete(id);
  renderAlerts();
}

function alertArrived(event) {
  const incident = { type: event.incident_type, lon: event.lon, lat: event.lat, address: event.address };
  state.incidents.set(event.incident_id, incident);
  state.alerts.set(event.assignment_id, {
    id: event.assignment_id, incident_id: event.incident_id, tier: event.tier, status: "alerted",
    eta_s: event.eta_s, distance_m: event.distance_m, answer_by: event.answer_by, incident,
    drill: Boolean(event.drill),
  });
  renderAlerts();
  ring(3);
  notify(t("member.alert.new", { type: typeLabel(event.incident_type) }), "error");
}

/** The status the member sees: the server's, moved on by answers still waiting in the outbox. */
function shownStatus(alert) {
  const waiting = pendingFor((item) => item.ref.assignment === alert.id);
  let status = alert.status;
  for (const item of waiting) status = { accept: "accepted", decline: "declined", arrived: "arrived" }[item.kind];
  return { status, waiting };
}

function answer(alert, kind) {
  unlockAudio();
  $("notice").hidden = true; // the "new alert" call has been answered
  outbox.add(kind, `/api/alerts/${alert.id}/${kind}`, undefined, { assignment: alert.id });
  renderAlerts();
}

class AlertCard {
  constructor(alert) {
    this.id = alert.id;
    this.map = null;
    this.root = el("article", { class: "m-alert", "data-testid": "alert-card", "data-assignment": alert.id });
    this.title = el("h2");
    this.where = el("p");
    this.meta = el("p", { class: "m-muted" });
    this.status = el("p", { class: "m-alert-status", "data-testid": "alert-status" });
    this.actions = el("div", { class: "m-row" });
    this.nav = el("div", { class: "m-nav" });
    this.mapBox = el("div", { class: "m-map", "data-testid": "alert-map" });
    this.notes = new NotesPanel(alert.incident_id);
    this.root.append(this.title, this.where, this.meta, this.status, this.actions, this.nav, this.mapBox,
      this.notes.root);
  }

  update(alert) {
    const { status, waiting } = shownStatus(alert);
    const incident = alert.incident;
    this.root.dataset.status = status;
    // a readiness drill (拉动测试) is never to be taken for a real incident
    this.root.dataset.drill = String(Boolean(alert.drill));
    this.title.textContent = t(alert.drill ? "member.alert.drillTitle" : "member.alert.title",
      { type: typeLabel(incident.type) });
    this.where.textContent = incident.address || `${incident.lat.toFixed(5)}, ${incident.lon.toFixed(5)}`;
    const minutes = Math.max(1, Math.round((alert.eta_s ?? 60) / 60));
    this.meta.textContent = t("member.alert.meta", {
      tier: t(`member.tier.${alert.tier}`), minutes, metres: Math.round(alert.distance_m ?? 0),
    }) + (status === "alerted" && alert.answer_by ? ` · ${t("member.alert.answerBy", { at: clock(alert.answer_by) })}` : "");
    this.status.replaceChildren(t(`member.alert.status.${status}`));
    if (waiting.length) {
      this.status.append(" ", el("span", { class: "m-pending", "data-testid": "alert-pending",
        text: t("member.outbox.pending") }));
    }
    this.actions.replaceChildren();
    if (status === "alerted") {
      this.actions.append(
        el("button", { class: "m-button m-accept", type: "button", "data-testid": "accept",
          text: t("member.alert.accept"), onclick: () => answer(alert, "accept") }),
        el("button", { class: "m-button m-decline", type: "button", "data-testid": "decline",
          text: t("member.alert.decline"), onclick: () => answer(alert, "decline") }),
      );
    } else if (status === "accepted") {
      this.actions.append(el("button", { class: "m-button m-arrived", type: "button", "data-testid": "arrived",
        text: t("member.alert.arrived"), onclick: () => answer(alert, "arrived") }));
    }
    this.nav.replaceChildren(...(status === "accepted" ? navigationLinks(incident) : []));
    this.notes.render();
    if (!this.map && window.L && this.root.isConnected) this.drawMap(incident);
  }

  drawMap(incident) {
    // No animations: a card (and its map) may go away at any moment, mid-zoom.
    this.map = L.map(this.mapBox, { zoomControl: false, attributionControl: false, zoomAnimation: false,
      fadeAnimation: false, markerZoomAnimation: false });
    const spot = [incident.lat, incident.lon];
    this.incidentMarker = L.circleMarker(spot, { radius: 10, color: "#7f1212", fillColor: "#dc2626",
      fillOpacity: 0.9 }).addTo(this.map).bindTooltip(t("member.map.incident"));
    L.circle(spot, { radius: 100, color: "#dc2626", weight: 1, fill: false, dashArray: "4 4" }).addTo(this.map);
    this.map.setView(spot, 16);
    this.placeMe();
  }

  placeMe() {
    if (!this.map || !state.fix) return;
    const me = [state.fix.lat, state.fix.lon];
    if (!this.meMarker) {
      this.meMarker = L.circleMarker(me, { radius: 8, color: "#1e3a8a", fillColor: "#2563eb", fillOpacity: 0.9 })
        .addTo(this.map).bindTooltip(t("member.map.me"));
      this.map.fitBounds(L.latLngBounds([me, this.incidentMarker.getLatLng()]).pad(0.4), { maxZoom: 17, animate: false });
    } else {
      this.meMarker.setLatLng(me);
    }
  }

  remove() {
    this.map?.remove();
    this.root.remove();
  }
}

function navigationLinks(incident) {
  const { lat, lon } = incident;
  const name = encodeURIComponent(incident.address || t("member.map.incident"));
  const links = [
    [t("member.nav.geo"), `geo:${lat},${lon}?q=${lat},${lon}(${name})`, "nav-geo"],
    [t("member.nav.amap"),
      `https://uri.amap.com/navigation?to=${lon},${lat},${name}&mode=walk&coordinate=wgs84&callnative=1`, "nav-amap"],
    [t("member.nav.baidu"), `https://api.map.baidu.com/direction?destination=latlng:${lat},${lon}|name:${name}`
      + "&coord_type=wgs84&mode=walking&output=html&src=jiefang.member", "nav-baidu"],
  ];
  return links.map(([text, href, testid]) => el("a", { class: "m-button", href, target: "_blank",
    rel: "noopener", "data-testid": testid, text }));
}

function renderAlerts() {
  const box = $("alerts");
  const shown = [...state.alerts.values()].filter((a) => ACTIVE.has(shownStatus(a).status))
    .sort((a, b) => b.id - a.id);
  for (const [id, card] of cards) {
    if (!shown.some((a) => a.id === id)) {
      card.remove();
      cards.delete(id);
    }
  }
  for (const alert of shown) {
    let card = cards.get(alert.id);
    if (!card) {
      card = new AlertCard(alert);
      cards.set(alert.id, card);
      box.prepend(card.root);
      card.notes.load();
    }
    card.update(alert);
  }
}

function answerEvent(event, status) {
  const alert = state.alerts.get(event.assignment_id);
  if (!alert) return;
  alert.status = status;
  renderAlerts();
}

// ---------------------------------------------------------------- incident notes

function addNote(note) {
  const list = state.notes.get(note.incident_id) ?? [];
  if (!list.some((n) => n.id === note.id)) list.push(note);
  state.notes.set(note.incident_id, list);
  for (const card of cards.values()) if (card.notes.incidentId === note.incident_id) card.notes.render();
}

class NotesPanel {
  constructor(incidentId) {
    this.incidentId = incidentId;
    this.available = true;
    this.list = el("ul", { class: "m-list", "data-testid": "notes" });
    this.input = el("input", { maxlength: "1000", autocomplete: "off", "data-testid": "note-text",
      "aria-label": t("member.notes.placeholder"), placeholder: t("member.notes.placeholder") });
    this.form = el("form", { class: "m-note-form", novalidate: true },
      this.input, el("button", { class: "m-button", type: "submit", "data-testid": "note-send",
        text: t("member.notes.send") }));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      outbox.add("note", `/api/incidents/${this.incidentId}/notes`, { text }, { incident: this.incidentId, text });
      this.input.value = "";
      this.render();
    });
    this.heading = el("h3", { text: t("member.notes.heading") });
    this.root = el("section", { class: "m-notes" }, this.heading, this.list, this.form);
  }

  async load() {
    try {
      const notes = await request(`/api/incidents/${this.incidentId}/notes`);
      for (const note of notes ?? []) addNote(note);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) this.available = false;
      else console.info("notes:", error);
    }
    this.render();
  }

  render() {
    this.root.hidden = !this.available;
    this.heading.textContent = t("member.notes.heading");
    this.list.replaceChildren();
    for (const note of state.notes.get(this.incidentId) ?? []) {
      this.list.append(el("li", {}, el("span", { class: "m-note-who", text: note.author }),
        `${note.text} `, el("span", { class: "m-muted", text: clock(note.at) })));
    }
    for (const item of pendingFor((i) => i.kind === "note" && i.ref.incident === this.incidentId)) {
      this.list.append(el("li", {}, el("span", { class: "m-note-who", text: state.me?.username ?? "" }),
        `${item.ref.text} `, el("span", { class: "m-pending", text: t("member.outbox.pending") })));
    }
  }
}

// ---------------------------------------------------------------- group commands

async function refreshCommands() {
  try {
    state.commands = (await request("/api/commands/mine")) ?? [];
    state.commandsAvailable = true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) state.commandsAvailable = false;
    else throw error;
  }
  renderCommands();
}

function commandArrived(event) {
  if (state.commands.some((c) => c.id === event.command_id)) return;
  state.commands.unshift({ id: event.command_id, text: event.text, priority: event.priority,
    reply_required: event.reply_required, sent_at: event.sent_at, sender: event.sender,
    delivered_at: null, read_at: null, reply: null, replied_at: null });
  request(`/api/commands/${event.command_id}/delivered`, { method: "POST" })
    .catch((error) => console.info("delivered receipt:", error));
  renderCommands();
  ring(event.priority === "normal" ? 1 : 3);
  notify(t("member.commands.new", { sender: event.sender }), event.priority === "normal" ? "info" : "error");
}

function markRead(command) {
  if (command.read_at || pendingFor((i) => i.kind === "read" && i.ref.command === command.id).length) return;
  outbox.add("read", `/api/commands/${command.id}/read`, undefined, { command: command.id });
}

function renderCommands() {
  $("commands").hidden = !state.commandsAvailable;
  const list = $("command-list");
  list.replaceChildren();
  let unread = 0;
  for (const command of state.commands) {
    const readWaiting = pendingFor((i) => i.kind === "read" && i.ref.command === command.id).length > 0;
    const isUnread = !command.read_at && !readWaiting;
    if (isUnread) unread += 1;
    const reply = pendingFor((i) => i.kind === "reply" && i.ref.command === command.id)[0];
    const item = el("li", { class: "m-command", "data-testid": "command", "data-priority": command.priority,
      "data-unread": String(isUnread), "data-command": command.id });
    item.append(
      el("div", { class: "m-command-meta", text: `${t(`member.priority.${command.priority}`)} · ${command.sender} · `
        + clock(command.sent_at) }),
      el("div", { class: "m-command-text", text: command.text }),
    );
    if (isUnread) {
      item.append(el("button", { class: "m-button", type: "button", "data-testid": "command-read",
        text: t("member.commands.markRead"), onclick: () => markRead(command) }));
    }
    if (command.reply || reply) {
      item.append(el("p", { class: "m-muted", "data-testid": "command-reply" },
        t("member.commands.replied", { text: command.reply ?? reply.ref.text }), " ",
        reply ? el("span", { class: "m-pending", text: t("member.outbox.pending") }) : null));
    } else if (command.reply_required) {
      const input = el("input", { maxlength: "500", "data-testid": "command-reply-text",
        "aria-label": t("member.commands.replyLabel"), placeholder: t("member.commands.replyLabel") });
      const form = el("form", { novalidate: true }, input, el("button", { class: "m-button m-primary", type: "submit",
        "data-testid": "command-reply-send", text: t("member.commands.reply") }));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        markRead(command);
        outbox.add("reply", `/api/commands/${command.id}/reply`, { text }, { command: command.id, text });
        renderCommands();
      });
      item.append(form);
    }
    list.append(item);
  }
  $("commands-empty").hidden = state.commands.length > 0;
  $("commands-unread").hidden = unread === 0;
  $("commands-unread").textContent = String(unread);
}

// ---------------------------------------------------------------- SOS and reports

async function sendSos() {
  $("sos-dialog").close();
  await reportHere("sos", { type: "public_order", description: t("member.sos.description") });
}

async function reportHere(kind, fields) {
  let fix;
  try {
    fix = await currentPosition();
  } catch (error) {
    notify(error.message, "error");
    return;
  }
  outbox.add(kind, "/api/incidents/sos", { lon: fix.lon, lat: fix.lat, accuracy_m: fix.accuracy_m, ...fields });
  notify(t(navigator.onLine ? "member.outbox.sending" : "member.outbox.queued", {
    what: t(`member.outbox.kind.${kind}`) }), "info");
}

// ---------------------------------------------------------------- outbox list, connection state

function renderOutbox() {
  const items = outbox.items;
  $("outbox").hidden = items.length === 0;
  const list = $("outbox-list");
  list.replaceChildren();
  for (const item of items) {
    const failed = item.state === "failed";
    const row = el("li", { "data-testid": "outbox-item", "data-kind": item.kind, "data-state": item.state },
      `${describeItem(item)} `,
      el("span", { class: failed ? "m-failed" : "m-pending",
        text: failed ? t("member.outbox.refused") : t("member.outbox.pending") }));
    if (failed) {
      row.append(el("p", { class: "m-error", text: item.message }),
        el("button", { class: "m-button", type: "button", "data-testid": "outbox-dismiss",
          text: t("member.outbox.dismiss"), onclick: () => outbox.dismiss(item.key) }));
    }
    list.append(row);
  }
  if (cards.size) renderAlerts();
  renderNetState();
}

function renderNetState() {
  const net = $("net-state");
  const shown = navigator.onLine ? state.feedState : "offline";
  net.dataset.state = shown;
  const waiting = outbox.pending().length;
  net.textContent = t(`member.net.${shown}`) + (waiting ? ` · ${waiting}` : ""); // the header is narrow
  const full = t(`member.net.${shown}`) + (waiting ? ` · ${t("member.net.waiting", { n: waiting })}` : "");
  net.setAttribute("aria-label", full);
  net.title = full;
}

// ---------------------------------------------------------------- sign-in and the live feed

const hazards = new HazardReports({
  form: $("report-form"), category: $("report-type"), text: $("report-text"), photos: $("report-photos"),
  list: $("my-reports"), position: () => currentPosition(), notify,
});

const feed = new LiveFeed({
  onEvent: (event) => {
    switch (event.type) {
      case "dispatch.alert":
        alertArrived(event);
        break;
      case "dispatch.accepted":
        answerEvent(event, "accepted");
        voice?.reloadGroups(); // the incident's talk group is now theirs
        break;
      case "dispatch.declined":
        answerEvent(event, "declined");
        break;
      case "dispatch.arrived":
        answerEvent(event, "arrived");
        break;
      case "dispatch.timed_out":
        answerEvent(event, "timed_out");
        break;
      case "incident.closed":
        for (const alert of state.alerts.values()) if (alert.incident_id === event.incident_id) alert.status = "closed";
        renderAlerts();
        break;
      case "incident.note":
        addNote(event);
        break;
      case "command.sent":
        commandArrived(event);
        break;
      case "report.status":
        hazards.changed(event);
        break;
      case "duty.check_in":
      case "duty.check_out":
        refreshDuty().catch((error) => console.info("duty:", error));
        break;
      default:
        break;
    }
  },
  onReload: () => refreshAll(),
  onState: (feedState) => {
    state.feedState = feedState;
    renderNetState();
    if (feedState === "live") outbox.flush();
  },
  onUnauthorized: () => signedOut(t("auth.expired")),
});

async function refreshAll() {
  const parts = [refreshDuty(), refreshAlerts(), refreshCommands()];
  const results = await Promise.allSettled(parts);
  for (const result of results) {
    if (result.status === "rejected") console.info("refresh:", result.reason);
  }
}

async function startApp() {
  try {
    state.me = await request("/api/auth/me");
    localStorage.setItem(ME_KEEP, JSON.stringify(state.me));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 0) return; // 401: the handler shows the login
    state.me = JSON.parse(localStorage.getItem(ME_KEEP) ?? "null"); // offline: carry on with what we knew
  }
  $("login").hidden = true;
  $("app").hidden = false;
  $("sos").hidden = false;
  $("logout").hidden = false;
  document.body.dataset.ready = "true";
  renderAll();
  feed.start();
  hazards.load();
  voice?.stop();
  voice = new VoicePanel();
  voice.mount($("voice-box"));
  voice.start();
  outbox.flush();
}

function signedOut(message = "") {
  feed.stop();
  voice?.stop();
  voice = null;
  stopWatching();
  localStorage.removeItem(TOKEN_KEEP);
  document.body.dataset.ready = "false";
  $("app").hidden = true;
  $("sos").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-message").textContent = message;
}

async function login(event) {
  event.preventDefault();
  unlockAudio();
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  if (!username || !password) {
    $("login-message").textContent = t("auth.required");
    return;
  }
  $("login-submit").disabled = true;
  try {
    const answer = await request("/api/auth/login", { method: "POST", body: { username, password } });
    setToken(answer.token);
    localStorage.setItem(TOKEN_KEEP, answer.token);
    $("login-password").value = "";
    await startApp();
  } catch (error) {
    $("login-message").textContent = messageOf(error);
  } finally {
    $("login-submit").disabled = false;
  }
}

async function logout() {
  try {
    await request("/api/auth/logout", { method: "POST" });
  } catch (error) {
    console.info("logout:", error);
  }
  clearToken();
  signedOut(t("auth.loggedOut"));
}

function renderAll() {
  translate();
  voice?.render();
  renderDuty();
  renderAlerts();
  renderCommands();
  renderOutbox();
}

function translate() {
  translateDocument();
  document.title = t("member.title");
  hazards.render();
  for (const card of cards.values()) card.notes.heading.textContent = t("member.notes.heading");
}

function wire() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("lang-switch").addEventListener("click", () => {
    setLanguage(language() === "zh" ? "en" : "zh");
    renderAll();
  });
  $("scan").addEventListener("click", openScanner);
  $("scan-cancel").addEventListener("click", closeScanner);
  $("scan-dialog").addEventListener("close", () => stopCamera?.());
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    scanned($("scan-code").value);
  });
  $("check-out").addEventListener("click", checkOut);
  $("sos").addEventListener("click", () => {
    unlockAudio();
    $("sos-dialog").showModal();
  });
  $("sos-confirm").addEventListener("click", sendSos);
  $("sos-cancel").addEventListener("click", () => $("sos-dialog").close());
  window.addEventListener("online", renderNetState);
  window.addEventListener("offline", renderNetState);
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  onUnauthorized(() => signedOut(t("auth.expired")));
}

// For tests and kiosk integrations: what the camera would hand over, and the outbox.
window.jiefangMember = {
  scan: (text) => scanned(text),
  flush: () => outbox.flush(),
  outboxItems: () => JSON.parse(JSON.stringify(outbox.items)),
  restoreOutbox: (items) => outbox.restore(items),
};

wire();
translate();
if (!getToken() && localStorage.getItem(TOKEN_KEEP)) setToken(localStorage.getItem(TOKEN_KEEP));
if (getToken()) startApp();
else signedOut();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app" })
    .catch((error) => console.info("service worker not registered:", error));
}
