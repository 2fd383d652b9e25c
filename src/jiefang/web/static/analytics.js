// Coverage analytics: hex map of travel time to the k-th nearest responder by hour (rosters) or
// live, the weakest streets/districts, placement of new units, and the governance index.
// Plain Leaflet (vendored) and hand-drawn SVG; the sign-in is the command centre's.

import * as api from "./api.js";
import { ACCOUNT_ROLES, LANGUAGES, label, language, setLanguage, t } from "./i18n.js";

const STRINGS = {
  zh: {
    title: "覆盖分析", subtitle: "1-3-5 覆盖 · 新建单元选址 · 综治指数", back: "返回指挥平台",
    district: "区", allCity: "全市", colourBy: "着色依据", byResponder: "第 k 近在岗队员", byUnit: "最近单元驻地", k: "第 k 近队员", live: "实时（在岗看板）",
    hour: "时段 {h}:00–{h}:59（排班）", hourLive: "实时在岗", overview: "覆盖情况",
    mapTitle: "六边形覆盖图", mapPick: "选择一个区以显示六边形覆盖图",
    gapsTitle: "薄弱区域（3分钟覆盖率由低到高）", placementTitle: "新建单元选址（最大覆盖）",
    sites: "新建数量 K", run: "计算选址", candidatesFile: "候选点文件（GeoJSON/CSV，可选）",
    badCandidates: "候选点文件中没有可用的点（GeoJSON 点要素，或含 lon,lat 列的 CSV）", indexTitle: "综治指数", month: "月份",
    "kpi.responders": "在岗队员", "kpi.area3": "3分钟面积覆盖", "kpi.weight": "1/3/5分钟需求覆盖",
    "kpi.grids": "3分钟网格覆盖", "kpi.units": "距单元3分钟面积",
    "col.area": "区域", "col.share": "3分钟覆盖率", "col.units": "单元3分钟", "col.gap": "未覆盖 km²",
    "col.rank": "排名", "col.score": "得分",
    "legend.1": "≤1分钟", "legend.3": "≤3分钟", "legend.5": "≤5分钟", "legend.more": ">5分钟", "legend.none": "不足k人",
    placement: "{method}{optimal}：新增覆盖 {gain}，上界 {bound}（差距 ≤ {gap}）；3分钟覆盖 {before} → {after}，用时 {s} 秒",
    optimal: "（已证最优）", noData: "无数据", loading: "正在计算…",
    signIn: "请先登录指挥平台。", signInLink: "前往登录", forbidden: "您的账号无权查看覆盖分析。",
    trend: "{name} 指数走势",
  },
  en: {
    title: "Coverage analytics", subtitle: "1-3-5 coverage · new unit placement · governance index",
    back: "Command centre", colourBy: "Colour by", byResponder: "k-th nearest on duty", byUnit: "Nearest unit site",
    district: "District", allCity: "Whole city", k: "k-th nearest responder",
    live: "Live (on-duty board)", hour: "Hour {h}:00–{h}:59 (rosters)", hourLive: "Live on duty",
    overview: "Coverage", mapTitle: "Hex coverage map", mapPick: "Choose a district to draw its hex map",
    gapsTitle: "Weakest areas (3-minute coverage, lowest first)", placementTitle: "Where to build new units (maximal covering)",
    sites: "New units K", run: "Place", candidatesFile: "Candidate sites file (GeoJSON/CSV, optional)",
    badCandidates: "No usable points in the candidates file (GeoJSON Point features, or CSV with lon,lat columns)", indexTitle: "Governance index", month: "Month",
    "kpi.responders": "On duty", "kpi.area3": "Area within 3 min", "kpi.weight": "Demand within 1/3/5 min",
    "kpi.grids": "Grids within 3 min", "kpi.units": "Area within 3 min of a unit",
    "col.area": "Area", "col.share": "3-min coverage", "col.units": "Units 3 min", "col.gap": "Uncovered km²",
    "col.rank": "Rank", "col.score": "Score",
    "legend.1": "≤1 min", "legend.3": "≤3 min", "legend.5": "≤5 min", "legend.more": ">5 min", "legend.none": "fewer than k",
    placement: "{method}{optimal}: newly covered {gain}, bound {bound} (gap ≤ {gap}); 3-min coverage {before} → {after}, {s} s",
    optimal: " (proved optimal)", noData: "no data", loading: "Computing…",
    signIn: "Please sign in at the command centre first.", signInLink: "Sign in",
    forbidden: "Your account may not read coverage analytics.", trend: "{name}: index by month",
  },
};

const COLOURS = [[60, "#15803d"], [180, "#84cc16"], [300, "#f59e0b"], [Infinity, "#dc2626"]];
const NONE_COLOUR = "#64748b";
const $ = (selector) => document.querySelector(selector);
const state = { me: null, districts: [], coverage: null, index: null, cells: new Map(), layer: null, sites: null, placement: null, trend: null, map: null, generation: 0 };

function c(key, params = {}) {
  const text = STRINGS[language()][key] ?? STRINGS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

function percent(rate) {
  if (rate === null || rate === undefined) return "—";
  return new Intl.NumberFormat(LANGUAGES[language()].locale, { style: "percent", maximumFractionDigits: 1 }).format(rate);
}

function number(value, digits = 2) {
  return new Intl.NumberFormat(LANGUAGES[language()].locale, { maximumFractionDigits: digits }).format(value);
}

function areaName(area) {
  return (language() === "en" ? area.name_en || area.name : area.name) || area.code;
}

function colour(seconds) {
  if (seconds === null || seconds === undefined) return NONE_COLOUR;
  return COLOURS.find(([limit]) => seconds <= limit)[1];
}

function setStatus(text, tone = "info", link = false) {
  const status = $("#report-status");
  status.hidden = !text;
  status.dataset.tone = tone;
  status.replaceChildren(text ?? "");
  if (link) status.append(" ", Object.assign(document.createElement("a"), { href: "/", textContent: c("signInLink") }));
}

function row(values, tag = "td") {
  const tr = document.createElement("tr");
  for (const value of values) {
    const cell = document.createElement(tag);
    if (value instanceof Node) cell.append(value); else cell.textContent = value;
    tr.append(cell);
  }
  return tr;
}

// ---- map ----------------------------------------------------------------------------------

function ensureMap() {
  if (state.map) return state.map;
  state.map = L.map("coverage-map", { preferCanvas: true, zoomSnap: 0.25 }).setView([23.13, 113.32], 11);
  return state.map;
}

async function cellsOf(districtId) {
  if (!state.cells.has(districtId)) {
    state.cells.set(districtId, await api.request(`/api/analytics/cells?district_id=${districtId}`));
  }
  return state.cells.get(districtId);
}

async function drawHexes(coverage) {
  const map = ensureMap();
  if (state.layer) state.layer.remove();
  state.layer = null;
  if (!coverage.district_id) return;
  const cells = await cellsOf(coverage.district_id);
  const boundary = new Map(cells.cell_ids.map((id, i) => [id, cells.boundaries[i]]));
  const renderer = L.canvas({ padding: 0.2 });
  const layer = L.layerGroup();
  let reached = 0;
  coverage.cell_ids.forEach((id, i) => {
    const ring = boundary.get(id);
    if (!ring) return;
    const fill = colour(($("#colour-by").value === "unit" ? coverage.unit_s : coverage.responder_s)[i]);
    if (fill !== NONE_COLOUR) reached += 1;
    L.polygon(ring, { renderer, stroke: false, fillColor: fill, fillOpacity: 0.6 }).addTo(layer);
  });
  state.layer = layer.addTo(map);
  const bounds = L.latLngBounds(cells.boundaries.flat());
  if (bounds.isValid() && !state.fitted) {
    map.fitBounds(bounds);
    state.fitted = true;
  }
  document.body.dataset.hexCells = String(coverage.cell_ids.length);
  document.body.dataset.hexReached = String(reached);
}

function renderLegend() {
  const items = [["legend.1", COLOURS[0][1]], ["legend.3", COLOURS[1][1]], ["legend.5", COLOURS[2][1]],
    ["legend.more", COLOURS[3][1]], ["legend.none", NONE_COLOUR]];
  $("#hex-legend").replaceChildren(...items.map(([key, fill]) => {
    const li = document.createElement("li");
    li.append(Object.assign(document.createElement("i"), { style: `background:${fill}` }), c(key));
    return li;
  }));
}

// ---- coverage figures and gaps ------------------------------------------------------------

function renderCoverage() {
  const cov = state.coverage;
  if (!cov) return;
  const kpis = [
    ["kpi.responders", number(cov.responders, 0)],
    ["kpi.area3", percent(cov.shares.area[1])],
    ["kpi.weight", cov.shares.weight.map(percent).join(" / ")],
    ["kpi.grids", percent(cov.grid_share[1])],
    ["kpi.units", percent(cov.shares.unit_area[1])],
  ];
  $("#kpis").replaceChildren(...kpis.map(([key, value]) => {
    const div = document.createElement("div");
    div.append(Object.assign(document.createElement("dt"), { textContent: c(key) }),
      Object.assign(document.createElement("dd"), { textContent: value }));
    return div;
  }));
  $("#gap-head").replaceChildren(...row([c("col.area"), c("col.share"), c("col.units"), c("col.gap")], "th").children);
  $("#gap-body").replaceChildren(...cov.areas.slice(0, 15).map((a) => {
    const tr = row([areaName(a), percent(a.weight_share[1]), percent(a.unit_area_share[1]), number(a.uncovered_km2_3min)]);
    tr.dataset.code = a.code;
    return tr;
  }));
}

function coverageQuery() {
  const params = new URLSearchParams({ k: $("#k").value });
  if (!$("#live").checked) params.set("hour", $("#hour").value);
  if ($("#district").value) params.set("district_id", $("#district").value);
  return params;
}

async function loadCoverage() {
  const generation = ++state.generation;
  setStatus(c("loading"));
  document.body.dataset.coverageLoaded = "";
  try {
    const coverage = await api.request(`/api/analytics/coverage?${coverageQuery()}`);
    if (generation !== state.generation) return;
    state.coverage = coverage;
    $("#report-body").hidden = false;
    setStatus(null);
    render();
    await drawHexes(coverage);
    document.body.dataset.coverageLoaded = coverage.hour === null ? "live" : String(coverage.hour);
  } catch (error) {
    handle(error);
  }
}

// ---- placement ----------------------------------------------------------------------------

/** Candidate sites from a GeoJSON file (Point / MultiPoint features) or a CSV with lon,lat columns. */
function parseCandidates(name, text) {
  if (/\.csv$/i.test(name)) {
    const [head, ...lines] = text.trim().split(/\r?\n/);
    const cols = head.split(",").map((h) => h.trim().toLowerCase());
    const [x, y] = [cols.indexOf("lon"), cols.indexOf("lat")];
    if (x < 0 || y < 0) return [];
    return lines.map((line) => line.split(",")).map((f) => ({ lon: Number(f[x]), lat: Number(f[y]) }))
      .filter((p) => Number.isFinite(p.lon) && Number.isFinite(p.lat));
  }
  const features = JSON.parse(text).features ?? [];
  return features.flatMap((f) => (f.geometry?.type === "Point" ? [f.geometry.coordinates]
    : f.geometry?.type === "MultiPoint" ? f.geometry.coordinates : []))
    .map(([lon, lat]) => ({ lon, lat }));
}

async function runPlacement() {
  const body = { k: Number($("#placement-k").value) || 10 };
  const file = $("#placement-file").files[0];
  if (file) {
    let candidates = [];
    try {
      candidates = parseCandidates(file.name, await file.text());
    } catch (error) {
      console.warn("could not read the candidates file", error);
    }
    if (!candidates.length) {
      $("#placement-result").textContent = c("badCandidates");
      return;
    }
    body.candidates = candidates;
  }
  if ($("#district").value) body.district_id = Number($("#district").value);
  $("#placement-result").textContent = c("loading");
  try {
    const result = await api.request("/api/analytics/placement", { method: "POST", body });
    if (state.sites) state.sites.remove();
    state.sites = L.layerGroup(result.sites.map((s, i) => L.circleMarker([s.lat, s.lon], {
      radius: 7, color: "#1e3a8a", weight: 2, fillColor: "#3b82f6", fillOpacity: 0.9,
    }).bindTooltip(`#${i + 1} +${number(s.gain, 3)}`))).addTo(ensureMap());
    state.placement = result;
    renderPlacement();
    document.body.dataset.placementSites = String(result.sites.length);
  } catch (error) {
    $("#placement-result").textContent = "";
    handle(error);
  }
}

function renderPlacement() {
  const result = state.placement;
  if (!result) return;
  $("#placement-result").textContent = c("placement", {
    method: result.method.toUpperCase(), optimal: result.optimal ? c("optimal") : "",
    gain: number(result.covered_weight, 3), bound: number(result.upper_bound, 3), gap: percent(result.gap),
    before: percent(result.before_share), after: percent(result.after_share), s: number(result.seconds, 2),
  });
}

// ---- governance index ---------------------------------------------------------------------

async function loadIndex() {
  try {
    state.index = await api.request(`/api/analytics/index?month=${$("#index-month").value}`);
    render();
    const mine = state.index.rows.find((r) => String(r.area_id) === $("#district").value) ?? state.index.rows[0];
    if (mine) state.trend = [mine, await api.request(`/api/analytics/index/history/${mine.area_id}`)];
    if (state.trend) drawTrend(...state.trend);
    document.body.dataset.indexLoaded = String(state.index.rows.length);
  } catch (error) {
    handle(error);
  }
}

function renderIndex() {
  if (!state.index?.rows.length) return;
  const parts = state.index.rows[0].parts;
  $("#index-head").replaceChildren(...row([c("col.rank"), c("col.area"), c("col.score"),
    ...parts.map((p) => `${language() === "en" ? p.name_en : p.name} ×${p.weight}`)], "th").children);
  $("#index-body").replaceChildren(...state.index.rows.map((r) => {
    const bar = Object.assign(document.createElement("span"), { className: "score-bar" });
    bar.style.width = `${Math.round(r.score ?? 0)}px`;
    const score = document.createElement("span");
    score.append(bar, ` ${r.score === null ? "—" : number(r.score, 1)}`);
    const cells = r.parts.map((p) => {
      const span = document.createElement("span");
      span.title = p.detail;
      if (p.value === null) {
        span.className = "no-data";
        span.textContent = c("noData");
      } else {
        span.textContent = `${percent(p.value)} → ${number(p.points, 1)}`;
      }
      return span;
    });
    const tr = row([r.rank ?? "—", areaName(r), score, ...cells]);
    tr.dataset.code = r.code;
    return tr;
  }));
}

function drawTrend(area, history) {
  const width = 620, height = 140, left = 36, right = 12, top = 24, bottom = 24;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  const el = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text) node.textContent = text;
    svg.append(node);
    return node;
  };
  el("text", { x: left, y: 14 }, c("trend", { name: areaName(area) }));
  const points = history.points.filter((p) => p.score !== null);
  const step = (width - left - right) / Math.max(1, points.length - 1);
  const y = (s) => top + (1 - s / 100) * (height - top - bottom);
  el("line", { x1: left, x2: width - right, y1: y(50), y2: y(50), class: "grid-line" });
  el("polyline", { points: points.map((p, i) => `${left + i * step},${y(p.score)}`).join(" "), fill: "none",
    stroke: "#1d4ed8", "stroke-width": 2 });
  points.forEach((p, i) => {
    el("circle", { cx: left + i * step, cy: y(p.score), r: 3, fill: "#1d4ed8" });
    el("text", { x: left + i * step, y: height - 6, "text-anchor": "middle", class: "axis-text" }, p.period);
  });
  $("#index-trend").replaceChildren(svg);
}

// ---- page ---------------------------------------------------------------------------------

function handle(error) {
  if (error instanceof api.ApiError && error.status === 401) return;
  if (error instanceof api.ApiError && error.status === 403) setStatus(c("forbidden"), "error");
  else setStatus(error instanceof api.ApiError ? (error.serverMessage ?? t("error.generic", { status: error.status }))
    : String(error.message ?? error), "error");
}

function render() {
  document.documentElement.lang = LANGUAGES[language()].htmlLang;
  document.title = c("title");
  for (const element of document.querySelectorAll("[data-c]")) element.textContent = c(element.dataset.c);
  const switcher = $("#lang-switch");
  switcher.textContent = t("lang.switch");
  switcher.setAttribute("aria-label", t("lang.switchLabel"));
  $("#hour-label").textContent = $("#live").checked ? c("hourLive") : c("hour", { h: $("#hour").value });
  $("#hour").disabled = $("#live").checked;
  if (state.me) {
    $("#current-user").textContent = t("auth.user", { name: state.me.username, role: label(ACCOUNT_ROLES, state.me.role) });
    $("#current-user").hidden = false;
  }
  for (const option of $("#district").options) {
    const d = state.districts.find((x) => String(x.id) === option.value);
    option.textContent = d ? areaName(d) : c("allCity");
  }
  renderLegend();
  renderCoverage();
  renderIndex();
  renderPlacement();
  if (state.trend) drawTrend(...state.trend);
}

async function start() {
  state.me = await api.request("/api/auth/me");
  const page = await api.request("/api/areas?level=district&page_size=50");
  state.districts = page.items;
  const select = $("#district");
  const mine = state.me.role === "district_operator" ? state.districts.filter((d) => d.id === state.me.district_id) : state.districts;
  if (state.me.role === "city_admin") select.append(new Option("", ""));
  for (const d of mine) select.append(new Option("", String(d.id)));
  const tianhe = mine.find((d) => d.code === "440106") ?? mine[0];
  if (tianhe) select.value = String(tianhe.id);
  const last = new Date();
  last.setDate(0); // the last day of the previous month
  $("#index-month").value = `${last.getFullYear()}-${String(last.getMonth() + 1).padStart(2, "0")}`;
  render();
  await loadCoverage();
  await loadIndex();
}

api.onUnauthorized(() => {
  $("#report-body").hidden = true;
  setStatus(c("signIn"), "info", true);
});
$("#lang-switch").addEventListener("click", () => {
  setLanguage(language() === "zh" ? "en" : "zh");
  render();
});
let hourTimer = null;
$("#hour").addEventListener("input", () => {
  render();
  clearTimeout(hourTimer);
  hourTimer = setTimeout(loadCoverage, 150);
});
$("#colour-by").addEventListener("change", () => state.coverage && drawHexes(state.coverage));
for (const id of ["#k", "#live"]) $(id).addEventListener("change", () => { render(); loadCoverage(); });
$("#district").addEventListener("change", () => { state.fitted = false; loadCoverage(); loadIndex(); });
$("#placement-run").addEventListener("click", runPlacement);
$("#index-month").addEventListener("change", loadIndex);

render();
if (api.getToken()) start().catch(handle);
else setStatus(c("signIn"), "info", true);
