// Operator page of hazard reports (弱信号): reports on a map and in a list with workflow actions,
// early-warning hotspots drawn as circles. Sign-in is the command centre's (token in sessionStorage).

import * as api from "./api.js";
import { ACCOUNT_ROLES, LANGUAGES, label, language, setLanguage, t } from "./i18n.js";
import { describeError, pageStrings } from "./report.js";

const STRINGS = {
  zh: {
    title: "隐患上报处置", subtitle: "弱信号感知 · 发现在早 · 化解在小", back: "返回指挥平台",
    filter: "状态", listTitle: "上报列表", "filter.open": "待处置", "filter.": "全部",
    "filter.resolved": "已办结", "filter.rejected": "已驳回",
    "status.new": "新上报", "status.assigned": "已分派", "status.in_progress": "处置中",
    "status.resolved": "已办结", "status.rejected": "已驳回",
    "action.in_progress": "开始处置", "action.resolved": "办结", "action.rejected": "驳回",
    "cat.fire_hazard": "消防隐患", "cat.public_order": "治安隐患", "cat.suspicious": "可疑人员/车辆",
    "cat.dispute": "矛盾纠纷", "cat.fraud": "诈骗线索", "cat.traffic": "交通隐患",
    "cat.facility_damage": "设施损坏", "cat.other": "其他",
    overdue: "已超时", due: "时限 {time}", hotspots: "预警热点 {n} 处",
    hotspot: "预警热点：{n} 条相关上报（预期 {expected}）", empty: "暂无上报",
    loading: "正在加载…", signIn: "请先登录指挥平台。", signInLink: "前往登录",
    forbidden: "您的账号无权处置隐患上报。", photos: "{n} 张照片",
  },
  en: {
    title: "Hazard reports", subtitle: "Weak signals · caught early · settled small", back: "Command centre",
    filter: "Status", listTitle: "Reports", "filter.open": "Open", "filter.": "All",
    "filter.resolved": "Resolved", "filter.rejected": "Rejected",
    "status.new": "New", "status.assigned": "Assigned", "status.in_progress": "In progress",
    "status.resolved": "Resolved", "status.rejected": "Rejected",
    "action.in_progress": "Start", "action.resolved": "Resolve", "action.rejected": "Reject",
    "cat.fire_hazard": "Fire hazard", "cat.public_order": "Public-order risk",
    "cat.suspicious": "Suspicious person/vehicle", "cat.dispute": "Dispute", "cat.fraud": "Fraud or scam",
    "cat.traffic": "Traffic hazard", "cat.facility_damage": "Facility damage", "cat.other": "Other",
    overdue: "Overdue", due: "Due {time}", hotspots: "{n} hotspot alerts",
    hotspot: "Hotspot: {n} related reports (expected {expected})", empty: "No reports",
    loading: "Loading…", signIn: "Please sign in at the command centre first.", signInLink: "Sign in",
    forbidden: "Your account may not handle hazard reports.", photos: "{n} photos",
  },
};
const c = pageStrings(STRINGS);
const NEXT = { new: ["in_progress", "rejected"], assigned: ["in_progress", "resolved", "rejected"],
  in_progress: ["resolved", "rejected"], resolved: [], rejected: [] };
const COLOURS = { new: "#d93025", assigned: "#f29900", in_progress: "#f29900", resolved: "#188038", rejected: "#80868b" };
const $ = (selector) => document.querySelector(selector);
const state = { me: null, reports: [], hotspots: [], selected: null };
let map = null;
let reportLayer = null;
let hotspotLayer = null;

function setStatus(text, tone = "info", link = false) {
  const status = $("#report-status");
  status.hidden = !text;
  status.dataset.tone = tone;
  status.replaceChildren(text ?? "");
  if (link) status.append(" ", Object.assign(document.createElement("a"), { href: "/", textContent: c("signInLink") }));
}

function time(iso) {
  return new Intl.DateTimeFormat(LANGUAGES[language()].locale, { dateStyle: "short", timeStyle: "short" })
    .format(new Date(iso));
}

function ensureMap() {
  if (map) return;
  map = L.map("signals-map", { zoomControl: true }).setView([23.13, 113.32], 11);
  reportLayer = L.layerGroup().addTo(map);
  hotspotLayer = L.layerGroup().addTo(map);
  api.request("/api/areas/geojson?level=district").then((geojson) => {
    L.geoJSON(geojson, { style: { color: "#5f6b7a", weight: 1, fillOpacity: 0.04 } }).addTo(map).bringToBack();
  }).catch((error) => console.warn("district boundaries not loaded", error));
}

async function showPhotos(report, box) {
  for (const photo of report.photos) {
    const response = await fetch(photo.url, { headers: { Authorization: `Bearer ${api.getToken()}` } });
    if (!response.ok) continue;
    const img = Object.assign(document.createElement("img"), { alt: c("photos", { n: 1 }) });
    img.src = URL.createObjectURL(await response.blob());
    box.append(img);
  }
}

function item(report) {
  const li = document.createElement("li");
  li.className = "signal-item";
  li.dataset.reportId = report.id;
  li.dataset.testid = "report-item";
  li.setAttribute("data-testid", "report-item");
  li.classList.toggle("selected", state.selected === report.id);
  const title = document.createElement("h3");
  const badge = Object.assign(document.createElement("span"), { className: "signal-status",
    textContent: c(`status.${report.status}`) });
  badge.dataset.status = report.status;
  badge.setAttribute("data-testid", "report-status");
  title.append(badge, `#${report.id} ${c(`cat.${report.category}`)}`);
  if (report.overdue) title.append(Object.assign(document.createElement("span"), { className: "signal-overdue",
    textContent: c("overdue") }));
  const meta = Object.assign(document.createElement("p"), { className: "signal-meta" });
  meta.textContent = [time(report.created_at), report.text, report.due_at ? c("due", { time: time(report.due_at) }) : ""]
    .filter(Boolean).join(" · ");
  const photos = Object.assign(document.createElement("div"), { className: "signal-photos" });
  const actions = Object.assign(document.createElement("div"), { className: "signal-actions" });
  for (const next of NEXT[report.status]) {
    const button = Object.assign(document.createElement("button"), { type: "button", className: "button",
      textContent: c(`action.${next}`) });
    button.setAttribute("data-testid", `action-${next}`);
    button.addEventListener("click", () => move(report, next, button));
    actions.append(button);
  }
  li.append(title, meta, photos, actions);
  li.addEventListener("click", (event) => {
    if (event.target.tagName !== "BUTTON") select(report.id);
  });
  if (report.photos.length) showPhotos(report, photos).catch((error) => console.warn("photo", error));
  return li;
}

function select(id) {
  state.selected = id;
  const report = state.reports.find((r) => r.id === id);
  if (report && map) map.setView([report.lat, report.lon], Math.max(map.getZoom(), 15), { animate: false });
  for (const li of document.querySelectorAll(".signal-item")) li.classList.toggle("selected", Number(li.dataset.reportId) === id);
}

async function move(report, status, button) {
  button.disabled = true;
  try {
    await api.request(`/api/reports/${report.id}/status`, { method: "POST", body: { status } });
    await load();
  } catch (error) {
    setStatus(describeError(error), "error");
    button.disabled = false;
  }
}

function draw() {
  ensureMap();
  map.invalidateSize(); // the map was laid out while its section was still hidden
  reportLayer.clearLayers();
  hotspotLayer.clearLayers();
  for (const r of state.reports) {
    const marker = L.circleMarker([r.lat, r.lon], { radius: 7, color: "#fff", weight: 2, fillOpacity: 0.9,
      fillColor: COLOURS[r.status], className: `report-marker report-${r.status}` });
    marker.bindTooltip(`#${r.id} ${c(`cat.${r.category}`)} · ${c(`status.${r.status}`)}`);
    marker.on("click", () => select(r.id));
    reportLayer.addLayer(marker);
  }
  for (const h of state.hotspots) {
    L.circle([h.lat, h.lon], { radius: Math.max(h.radius_m, 150), color: "#b00020", weight: 2, dashArray: "6 4",
      fillOpacity: 0.12, className: "hotspot-circle" })
      .bindTooltip(c("hotspot", { n: h.reports, expected: h.expected.toFixed(2) }))
      .addTo(hotspotLayer);
  }
  const points = [...state.reports.map((r) => [r.lat, r.lon]), ...state.hotspots.map((h) => [h.lat, h.lon])];
  if (points.length && !state.fitted) {
    map.fitBounds(points, { maxZoom: 15, padding: [30, 30], animate: false });
    state.fitted = true;
  }
}

function render() {
  document.documentElement.lang = LANGUAGES[language()].htmlLang;
  document.title = c("title");
  for (const element of document.querySelectorAll("[data-c]")) element.textContent = c(element.dataset.c);
  const switcher = $("#lang-switch");
  switcher.textContent = t("lang.switch");
  switcher.setAttribute("aria-label", t("lang.switchLabel"));
  for (const option of $("#status-filter").options) option.textContent = c(`filter.${option.value}`);
  if (state.me) {
    $("#current-user").textContent = t("auth.user", { name: state.me.username, role: label(ACCOUNT_ROLES, state.me.role) });
    $("#current-user").hidden = false;
  }
  $("#hotspot-count").textContent = state.hotspots.length ? c("hotspots", { n: state.hotspots.length }) : "";
  const list = $("#report-list");
  list.replaceChildren(...state.reports.map(item));
  if (!state.reports.length) list.append(Object.assign(document.createElement("li"), { textContent: c("empty") }));
}

async function load() {
  document.body.dataset.reportsLoaded = "";
  const filter = $("#status-filter").value;
  try {
    const all = await api.request(`/api/reports?limit=500${filter && filter !== "open" ? `&status=${filter}` : ""}`);
    const reports = filter === "open" ? all.filter((r) => NEXT[r.status].length) : all;
    const hotspots = await api.request("/api/hotspots");
    Object.assign(state, { reports, hotspots });
    $("#report-body").hidden = false;
    setStatus(null);
    render();
    draw();
    document.body.dataset.reportsLoaded = String(reports.length + 1);
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 401) return;
    if (error instanceof api.ApiError && error.status === 403) setStatus(c("forbidden"), "error");
    else setStatus(describeError(error), "error");
  }
}

api.onUnauthorized(() => {
  $("#report-body").hidden = true;
  setStatus(c("signIn"), "info", true);
});
$("#lang-switch").addEventListener("click", () => {
  setLanguage(language() === "zh" ? "en" : "zh");
  render();
  draw();
});
$("#status-filter").addEventListener("change", load);
render();
if (api.getToken()) {
  api.request("/api/auth/me").then((me) => {
    state.me = me;
    render();
  }).catch((error) => console.warn("could not read the signed-in user", error));
  load();
  setInterval(load, 30_000); // new reports and hotspots without a reload
} else {
  setStatus(c("signIn"), "info", true);
}
