// Readiness drills (拉动测试) report: pass rate by district, acknowledgement times, a map of weak
// units, the ranking by area or unit with weekly trends, and the units to follow up.
// Charts are small hand-drawn SVG; the map is the vendored Leaflet (global `L`) with district outlines.

import * as api from "./api.js";
import { ACCOUNT_ROLES, LANGUAGES, label, language, t } from "./i18n.js";
import {
  chart, day, describeError, groupName as sharedGroupName, number, pageStrings, percent, row, setStatus, startReportPage, svg,
} from "./report.js";

const STRINGS = {
  zh: {
    title: "拉动测试",
    badge: "演练",
    subtitle: "随机拉动 · 1分钟响应 · 3分钟集结 · 5分钟视频点名",
    back: "返回指挥平台",
    groupBy: "排名范围",
    window: "时间范围",
    export: "导出 CSV",
    overview: "总体情况",
    barsTitle: "各区拉动测试通过率",
    histTitle: "首次响应用时分布",
    mapTitle: "薄弱单元分布",
    legendFlagged: "连续两次未通过",
    legendWeak: "有未通过记录",
    weakTitle: "需跟进的单元",
    tableTitle: "按{group}排名",
    "group.district": "区", "group.street": "镇街", "group.grid": "综合网格", "group.unit": "应急单元",
    "days.7": "近 7 天", "days.28": "近 4 周", "days.90": "近 90 天", "days.365": "近一年",
    "col.rank": "排名", "col.drills": "测试次数", "col.passed": "通过", "col.failed": "未通过",
    "col.rate": "通过率", "col.ack": "响应中位数", "col.flagged": "需跟进单元", "col.trend": "每周趋势",
    "col.unit": "应急单元", "col.flag": "连续未通过", "col.last": "最近测试",
    "kpi.drills": "测试次数", "kpi.rate": "通过率", "kpi.ack": "首次响应中位数", "kpi.flagged": "需跟进单元",
    total: "合计",
    unassigned: "未归属",
    seconds: "{n} 秒",
    minute: "{n}分钟",
    overflow: "≥2分",
    axisSeconds: "秒",
    windowText: "{since} 至 {until}",
    loading: "正在加载…",
    noData: "该时间范围内暂无测试结果",
    noWeak: "暂无需跟进的单元",
    signIn: "请先登录指挥平台。",
    signInLink: "前往登录",
    forbidden: "您的账号无权查看拉动测试结果。",
    barLabel: "{group}：{rate}（{passed}/{drills}）",
    histLabel: "{range}：{n} 次",
    yes: "是",
    markerLabel: "{name}：通过率 {rate}，未通过 {failed} 次",
  },
  en: {
    title: "Readiness drills",
    badge: "DRILL",
    subtitle: "Unannounced pull tests · answer in 1 min · muster in 3 min · video check in 5 min",
    back: "Command centre",
    groupBy: "Rank by",
    window: "Period",
    export: "Export CSV",
    overview: "Overview",
    barsTitle: "Drill pass rate by district",
    histTitle: "Time to first acknowledgement",
    mapTitle: "Weak units",
    legendFlagged: "Failed twice in a row",
    legendWeak: "Failed a drill",
    weakTitle: "Units to follow up",
    tableTitle: "Ranking by {group}",
    "group.district": "district", "group.street": "street", "group.grid": "grid", "group.unit": "unit",
    "days.7": "Last 7 days", "days.28": "Last 4 weeks", "days.90": "Last 90 days", "days.365": "Last year",
    "col.rank": "Rank", "col.drills": "Drills", "col.passed": "Passed", "col.failed": "Failed",
    "col.rate": "Pass rate", "col.ack": "Median answer", "col.flagged": "Units to follow up", "col.trend": "Weekly trend",
    "col.unit": "Unit", "col.flag": "Failed twice", "col.last": "Last drill",
    "kpi.drills": "Drills", "kpi.rate": "Pass rate", "kpi.ack": "Median first answer", "kpi.flagged": "Units to follow up",
    total: "Total",
    unassigned: "Unassigned",
    seconds: "{n} s",
    minute: "{n} min",
    overflow: "≥2 min",
    axisSeconds: "seconds",
    windowText: "{since} to {until}",
    loading: "Loading…",
    noData: "No drill results in this period",
    noWeak: "No unit to follow up",
    signIn: "Please sign in at the command centre first.",
    signInLink: "Sign in",
    forbidden: "Your account may not read drill results.",
    barLabel: "{group}: {rate} ({passed}/{drills})",
    histLabel: "{range}: {n}",
    yes: "yes",
    markerLabel: "{name}: pass rate {rate}, failed {failed}",
  },
};

const c = pageStrings(STRINGS);
const $ = (selector) => document.querySelector(selector);
const state = { me: null, summary: null, districts: null, weak: [], outlines: null, map: null, layer: null,
  generation: 0 };

function seconds(value) {
  return value === null || value === undefined ? "—" : c("seconds", { n: number(Math.round(value)) });
}

function groupName(group) {
  return sharedGroupName(group, c("unassigned"));
}

// ---- charts -------------------------------------------------------------------------------

function drawDistrictBars(container, groups) {
  container.replaceChildren();
  const scored = groups.filter((g) => g.drills > 0);
  if (!scored.length) {
    container.append(Object.assign(document.createElement("p"), { className: "chart-empty", textContent: c("noData") }));
    return;
  }
  const bar = 16, gap = 8, left = 110, right = 110, top = 22, width = 620;
  const plot = width - left - right;
  const root = chart(width, top + scored.length * (bar + gap) + 4, c("barsTitle"));
  for (const share of [0, 0.5, 1]) {
    const x = left + share * plot;
    root.append(svg("line", { x1: x, x2: x, y1: top - 4, y2: top + scored.length * (bar + gap) - gap, class: "grid-line" }));
    root.append(svg("text", { x, y: top - 8, "text-anchor": "middle", class: "axis-text" }, percent(share)));
  }
  scored.forEach((group, i) => {
    const y = top + i * (bar + gap);
    root.append(svg("text", { x: left - 8, y: y + bar - 3, "text-anchor": "end" }, groupName(group)));
    root.append(svg("rect", { x: left, y, width: plot, height: bar, rx: 2, class: "fail-bar" }));
    const rect = svg("rect", { x: left, y, width: Math.max(group.pass_rate * plot, 1), height: bar, rx: 2,
      class: "pass-bar", "data-rate": group.pass_rate });
    rect.append(svg("title", {}, c("barLabel", { group: groupName(group), rate: percent(group.pass_rate),
      passed: group.passed, drills: group.drills })));
    root.append(rect);
    root.append(svg("text", { x: left + plot + 6, y: y + bar - 3, class: "axis-text" },
      `${percent(group.pass_rate)} (${group.passed}/${group.drills})`));
  });
  container.append(root);
}

function drawHistogram(container, bins) {
  container.replaceChildren();
  const width = 620, height = 280, left = 44, right = 12, top = 28, bottom = 40, overflowGap = 8;
  const binWidth = (width - left - right - overflowGap) / bins.length;
  const plotHeight = height - top - bottom;
  const counts = bins.map((b) => b.count);
  const peak = Math.max(1, ...counts);
  const step = Math.max(1, Math.ceil(peak / 4));
  const yMax = step * Math.ceil(peak / step);
  const y = (n) => top + plotHeight - (n / yMax) * plotHeight;
  const binS = bins[0].to_s - bins[0].from_s;
  const xOf = (s) => left + (s / binS) * binWidth;
  const root = chart(width, height, c("histTitle"));
  for (let n = 0; n <= yMax; n += step) {
    root.append(svg("line", { x1: left, x2: width - right, y1: y(n), y2: y(n), class: "grid-line" }));
    root.append(svg("text", { x: left - 6, y: y(n) + 4, "text-anchor": "end", class: "axis-text" }, number(n)));
  }
  bins.forEach((bin, i) => {
    const overflow = bin.to_s === null;
    const x = left + i * binWidth + (overflow ? overflowGap : 0);
    const rect = svg("rect", { x: x + 1, y: y(bin.count), width: binWidth - 2, height: y(0) - y(bin.count),
      class: `ack-bar${overflow ? " is-overflow" : ""}`, "data-count": bin.count });
    const range = overflow ? c("overflow") : `${bin.from_s}–${bin.to_s} ${c("axisSeconds")}`;
    rect.append(svg("title", {}, c("histLabel", { range, n: bin.count })));
    root.append(rect);
    if (!overflow && bin.from_s % 20 === 0) {
      root.append(svg("text", { x: xOf(bin.from_s), y: height - bottom + 16, "text-anchor": "middle",
        class: "axis-text" }, String(bin.from_s)));
    }
  });
  root.append(svg("text", { x: left + (bins.length - 0.5) * binWidth + overflowGap, y: height - bottom + 16,
    "text-anchor": "middle", class: "axis-text" }, c("overflow")));
  root.append(svg("text", { x: left + (width - left - right) / 2, y: height - 6, "text-anchor": "middle",
    class: "axis-text" }, c("axisSeconds")));
  const mark = xOf(60);
  root.append(svg("line", { x1: mark, x2: mark, y1: top - 6, y2: y(0), class: "mark-line", "data-mark-s": 60 }));
  root.append(svg("text", { x: mark, y: top - 10, "text-anchor": "middle", class: "mark-text" }, c("minute", { n: 1 })));
  container.append(root);
}

function sparkline(trend) {
  const root = svg("svg", { viewBox: "0 0 96 22", class: "spark", role: "img" });
  root.append(svg("title", {}, trend.map((v) => percent(v)).join(" · ")));
  const step = trend.length > 1 ? 92 / (trend.length - 1) : 0;
  const points = trend.map((v, i) => (v === null ? null : [2 + i * step, 20 - v * 18])).filter(Boolean);
  if (points.length > 1) root.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" ") }));
  for (const [x, yy] of points) root.append(svg("circle", { cx: x, cy: yy, r: 1.8 }));
  return root;
}

// ---- the map of weak units ------------------------------------------------------------------

function drawMap() {
  if (!state.map) {
    state.map = L.map("weak-map", { zoomControl: true, attributionControl: false }).setView([23.13, 113.35], 9);
    if (state.outlines) {
      L.geoJSON(state.outlines, { style: { color: "#64748b", weight: 1, fillColor: "#f1f5f9", fillOpacity: 0.6 } })
        .addTo(state.map);
    }
    state.layer = L.layerGroup().addTo(state.map);
  }
  state.map.invalidateSize();
  state.layer.clearLayers();
  for (const unit of state.weak) {
    const marker = L.circleMarker([unit.lat, unit.lon], {
      radius: unit.flagged ? 7 : 5, weight: 1, color: "#fff", fillOpacity: 0.9,
      fillColor: unit.flagged ? "#b91c1c" : "#f59e0b", className: unit.flagged ? "weak-flagged" : "weak-unit",
    });
    marker.bindTooltip(c("markerLabel", { name: unit.name, rate: percent(unit.pass_rate), failed: unit.failed }));
    state.layer.addLayer(marker);
  }
  if (state.weak.length) {
    state.map.fitBounds(L.latLngBounds(state.weak.map((u) => [u.lat, u.lon])).pad(0.5), { maxZoom: 13 });
  }
}

// ---- KPIs and tables ------------------------------------------------------------------------

function renderKpis(total) {
  const entries = [
    [c("kpi.drills"), number(total.drills)],
    [c("kpi.rate"), percent(total.pass_rate)],
    [c("kpi.ack"), seconds(total.median_ack_s)],
    [c("kpi.flagged"), number(total.flagged_units)],
  ];
  $("#kpis").replaceChildren(...entries.map(([term, value]) => {
    const div = document.createElement("div");
    div.append(Object.assign(document.createElement("dt"), { textContent: term }),
      Object.assign(document.createElement("dd"), { textContent: value }));
    return div;
  }));
}

function nameCell(name, code) {
  const span = document.createElement("span");
  span.textContent = name;
  if (code && code !== name) span.append(Object.assign(document.createElement("span"), { className: "code", textContent: code }));
  return span;
}

function cells(group, first, rank) {
  return [rank, first, number(group.drills), number(group.passed), number(group.failed), percent(group.pass_rate),
    seconds(group.median_ack_s), number(group.flagged_units), sparkline(group.trend)];
}

function renderRanking(summary) {
  $("#table-title").textContent = c("tableTitle", { group: c(`group.${summary.group_by}`) });
  $("#table-head").replaceChildren(...row([c("col.rank"), c(`group.${summary.group_by}`), c("col.drills"),
    c("col.passed"), c("col.failed"), c("col.rate"), c("col.ack"), c("col.flagged"), c("col.trend")], "th").children);
  $("#table-body").replaceChildren(...summary.groups.map((group) => {
    const tr = row(cells(group, nameCell(groupName(group), group.code), String(group.rank)));
    tr.dataset.id = group.id ?? "";
    return tr;
  }));
  if (!summary.groups.length) {
    const empty = row([c("noData")]);
    empty.firstChild.colSpan = 9;
    $("#table-body").append(empty);
  }
  $("#table-foot").replaceChildren(row(cells(summary.total, c("total"), "")));
}

function renderWeak(units) {
  $("#weak-head").replaceChildren(...row([c("col.unit"), c("col.drills"), c("col.failed"), c("col.rate"),
    c("col.flag"), c("col.last")], "th").children);
  $("#weak-body").replaceChildren(...units.map((unit) => {
    const flag = Object.assign(document.createElement("span"), { className: unit.flagged ? "flag" : "",
      textContent: unit.flagged ? `⚑ ${c("yes")}` : "" });
    const tr = row([nameCell(unit.name, unit.code), number(unit.drills), number(unit.failed), percent(unit.pass_rate),
      flag, unit.last_drill_at ? day(unit.last_drill_at) : "—"]);
    tr.dataset.unitId = unit.unit_id;
    tr.dataset.flagged = String(unit.flagged);
    return tr;
  }));
  if (!units.length) {
    const empty = row([c("noWeak")]);
    empty.firstChild.colSpan = 6;
    $("#weak-body").append(empty);
  }
}

// ---- page ---------------------------------------------------------------------------------

function render() {
  document.documentElement.lang = LANGUAGES[language()].htmlLang;
  document.title = c("title");
  for (const element of document.querySelectorAll("[data-c]")) element.textContent = c(element.dataset.c);
  const switcher = $("#lang-switch");
  switcher.textContent = t("lang.switch");
  switcher.setAttribute("aria-label", t("lang.switchLabel"));
  switcher.lang = language() === "zh" ? "en" : "zh-CN";
  for (const option of $("#group-by").options) option.textContent = c(`group.${option.value}`);
  for (const option of $("#window-days").options) option.textContent = c(`days.${option.value}`);
  if (state.me) {
    $("#current-user").textContent = t("auth.user", { name: state.me.username, role: label(ACCOUNT_ROLES, state.me.role) });
    $("#current-user").hidden = false;
  }
  if (!state.summary) return;
  const { summary } = state;
  $("#report-window").textContent = c("windowText", { since: day(summary.since), until: day(summary.until) });
  renderKpis(summary.total);
  drawDistrictBars($("#district-bars"), state.districts.groups);
  drawHistogram($("#ack-histogram"), summary.ack_histogram);
  renderRanking(summary);
  renderWeak(state.weak);
  drawMap();
}

function query(groupBy) {
  const until = new Date();
  const since = new Date(until.getTime() - Number($("#window-days").value) * 86_400_000);
  const params = { since: since.toISOString(), until: until.toISOString() };
  return new URLSearchParams(groupBy ? { group_by: groupBy, ...params } : params);
}

async function load() {
  const generation = ++state.generation;
  const groupBy = $("#group-by").value;
  setStatus(c("loading"));
  document.body.dataset.drillsLoaded = "";
  try {
    const [summary, districts, weak] = await Promise.all([
      api.request(`/api/drills/summary?${query(groupBy)}`),
      groupBy === "district" ? null : api.request(`/api/drills/summary?${query("district")}`),
      api.request(`/api/drills/weak-units?${query(null)}`),
    ]);
    if (!state.outlines) {
      state.outlines = await api.request("/api/areas/geojson?level=district").catch((error) => {
        console.warn("district outlines unavailable", error);
        return null;
      });
    }
    if (generation !== state.generation) return;
    Object.assign(state, { summary, districts: districts ?? summary, weak });
    $("#report-body").hidden = false;
    setStatus(null);
    render();
    document.body.dataset.drillsLoaded = String(summary.groups.length);
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof api.ApiError && error.status === 401) return; // handled by onUnauthorized
    if (error instanceof api.ApiError && error.status === 403) setStatus(c("forbidden"), "error");
    else setStatus(describeError(error), "error");
  }
}

const csv = (groupBy) => [`/api/drills/summary.csv?${query(groupBy)}`, "drills.csv"];
startReportPage({ state, render, load, csv, c });
