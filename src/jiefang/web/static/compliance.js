// 1-3-5 compliance report: pass rates per district, first-arrival histogram, table per group.
// Charts are small hand-drawn SVG; the sign-in is the command centre's (token in sessionStorage).

import * as api from "./api.js";
import { ACCOUNT_ROLES, LANGUAGES, label, language, t } from "./i18n.js";
import {
  chart, day, describeError, groupName as sharedGroupName, locale, pageStrings, percent, row, setStatus, startReportPage, svg,
} from "./report.js";

const STRINGS = {
  zh: {
    title: "1-3-5 达标统计",
    subtitle: "1分钟自救 · 3分钟互救 · 5分钟增援",
    back: "返回指挥平台",
    groupBy: "分组",
    window: "时间范围",
    export: "导出 CSV",
    overview: "总体情况",
    barsTitle: "各区 1-3-5 达标率",
    histTitle: "首位队员到场用时分布",
    tableTitle: "按{group}统计",
    "group.city": "全市", "group.district": "区", "group.street": "镇街", "group.grid": "综合网格",
    "group.unit": "应急单元", "group.type": "事件类型",
    "days.7": "近 7 天", "days.30": "近 30 天", "days.90": "近 90 天", "days.365": "近一年",
    "tier.self_rescue": "1分钟自救", "tier.mutual_aid": "3分钟互救", "tier.reinforcement": "5分钟增援",
    "col.group": "分组", "col.incidents": "事件数", "col.falseAlarms": "误报", "col.all": "三项全达标",
    "col.selfMedian": "自救响应中位数", "col.arrivalMedian": "到场中位数", "col.arrivalP90": "到场 P90",
    "kpi.incidents": "事件数", "kpi.all": "三项全达标率", "kpi.arrivalMedian": "首位到场中位数",
    total: "合计",
    unassigned: "未归属",
    seconds: "{n} 秒",
    minute: "{n}分钟",
    overflow: "≥10分",
    axisMinutes: "分钟",
    axisCount: "事件数",
    windowText: "{since} 至 {until}",
    loading: "正在加载统计…",
    noData: "该时间范围内暂无事件",
    noDistricts: "暂无分区数据",
    signIn: "请先登录指挥平台。",
    signInLink: "前往登录",
    forbidden: "您的账号无权查看达标统计。",
    barLabel: "{group} · {tier}：{rate}（{passed}/{assessed}）",
    histLabel: "{range}：{n} 起",
  },
  en: {
    title: "1-3-5 compliance",
    subtitle: "1 min self-rescue · 3 min mutual aid · 5 min reinforcement",
    back: "Command centre",
    groupBy: "Group by",
    window: "Period",
    export: "Export CSV",
    overview: "Overview",
    barsTitle: "1-3-5 pass rates by district",
    histTitle: "Time to first responder on scene",
    tableTitle: "By {group}",
    "group.city": "City", "group.district": "District", "group.street": "Street", "group.grid": "Grid",
    "group.unit": "Unit", "group.type": "Incident type",
    "days.7": "Last 7 days", "days.30": "Last 30 days", "days.90": "Last 90 days", "days.365": "Last year",
    "tier.self_rescue": "1 min self-rescue", "tier.mutual_aid": "3 min mutual aid",
    "tier.reinforcement": "5 min reinforcement",
    "col.group": "Group", "col.incidents": "Incidents", "col.falseAlarms": "False alarms", "col.all": "All three",
    "col.selfMedian": "Self-rescue median", "col.arrivalMedian": "Arrival median", "col.arrivalP90": "Arrival p90",
    "kpi.incidents": "Incidents", "kpi.all": "All three passed", "kpi.arrivalMedian": "Median first arrival",
    total: "Total",
    unassigned: "Unassigned",
    seconds: "{n} s",
    minute: "{n} min",
    overflow: "≥10 min",
    axisMinutes: "minutes",
    axisCount: "incidents",
    windowText: "{since} to {until}",
    loading: "Loading…",
    noData: "No incidents in this period",
    noDistricts: "No district data",
    signIn: "Please sign in at the command centre first.",
    signInLink: "Sign in",
    forbidden: "Your account may not read compliance reports.",
    barLabel: "{group} · {tier}: {rate} ({passed}/{assessed})",
    histLabel: "{range}: {n}",
  },
};

const TIERS = ["self_rescue", "mutual_aid", "reinforcement"];
const MARKS_S = [60, 180, 300];
const $ = (selector) => document.querySelector(selector);

const state = { me: null, summary: null, districts: null, generation: 0 };
const c = pageStrings(STRINGS);

// ---- formatting ---------------------------------------------------------------------------

function seconds(value) {
  if (value === null || value === undefined) return "—";
  return c("seconds", { n: new Intl.NumberFormat(locale()).format(Math.round(value)) });
}

function groupName(group) {
  return sharedGroupName(group, c("unassigned"));
}

// ---- the district bars --------------------------------------------------------------------

function drawDistrictBars(container, groups) {
  container.replaceChildren();
  const legend = $("#bars-legend");
  legend.replaceChildren(...TIERS.map((tier) => {
    const item = document.createElement("li");
    item.className = `tier-${tier}`;
    item.textContent = c(`tier.${tier}`);
    return item;
  }));
  if (!groups.length) {
    container.append(Object.assign(document.createElement("p"), { className: "chart-empty", textContent: c("noDistricts") }));
    return;
  }
  const bar = 11, gap = 2, rowGap = 12, left = 120, right = 60, top = 22, width = 620;
  const rowHeight = TIERS.length * (bar + gap) + rowGap;
  const plot = width - left - right;
  const root = chart(width, top + groups.length * rowHeight + 4, c("barsTitle"));
  for (const share of [0, 0.5, 1]) {
    const x = left + share * plot;
    root.append(svg("line", { x1: x, x2: x, y1: top - 4, y2: top + groups.length * rowHeight - rowGap, class: "grid-line" }));
    root.append(svg("text", { x, y: top - 8, "text-anchor": "middle", class: "axis-text" }, percent(share)));
  }
  groups.forEach((group, row) => {
    const y0 = top + row * rowHeight;
    root.append(svg("text", { x: left - 8, y: y0 + (TIERS.length * (bar + gap)) / 2 + 4, "text-anchor": "end" },
      groupName(group)));
    group.tiers.forEach((tier, i) => {
      const y = y0 + i * (bar + gap);
      const rate = tier.pass_rate ?? 0;
      const rect = svg("rect", {
        x: left, y, width: Math.max(rate * plot, tier.pass_rate === null ? 0 : 1), height: bar,
        rx: 2, class: `rate-bar tier-${tier.tier}`, "data-tier": tier.tier,
      });
      rect.append(svg("title", {}, c("barLabel", {
        group: groupName(group), tier: c(`tier.${tier.tier}`), rate: percent(tier.pass_rate),
        passed: tier.passed, assessed: tier.assessed,
      })));
      root.append(rect);
      root.append(svg("text", { x: left + rate * plot + 4, y: y + bar - 2, class: "axis-text" }, percent(tier.pass_rate)));
    });
  });
  container.append(root);
}

// ---- the first-arrival histogram ----------------------------------------------------------

function drawHistogram(container, counts, binS, maxS) {
  container.replaceChildren();
  const width = 620, height = 300, left = 44, right = 12, top = 28, bottom = 40;
  const bins = counts.length;
  const overflowGap = 8;
  const binWidth = (width - left - right - overflowGap) / bins;
  const plotHeight = height - top - bottom;
  const peak = Math.max(1, ...counts);
  const step = Math.max(1, Math.ceil(peak / 4));
  const yMax = step * Math.ceil(peak / step);
  const y = (n) => top + plotHeight - (n / yMax) * plotHeight;
  const xOf = (s) => left + (s / binS) * binWidth;
  const root = chart(width, height, c("histTitle"));

  for (let n = 0; n <= yMax; n += step) {
    root.append(svg("line", { x1: left, x2: width - right, y1: y(n), y2: y(n), class: "grid-line" }));
    root.append(svg("text", { x: left - 6, y: y(n) + 4, "text-anchor": "end", class: "axis-text" },
      new Intl.NumberFormat(locale()).format(n)));
  }
  counts.forEach((count, i) => {
    const overflow = i === bins - 1;
    const x = left + i * binWidth + (overflow ? overflowGap : 0);
    const rect = svg("rect", {
      x: x + 1, y: y(count), width: binWidth - 2, height: y(0) - y(count),
      class: `hist-bar${overflow ? " is-overflow" : ""}`, "data-count": count,
    });
    const range = overflow ? c("overflow") : `${(i * binS) / 60}–${((i + 1) * binS) / 60} ${c("axisMinutes")}`;
    rect.append(svg("title", {}, c("histLabel", { range, n: count })));
    root.append(rect);
  });
  for (let minute = 0; minute * 60 < maxS; minute += 2) { // 10 min would crowd the overflow label
    root.append(svg("text", { x: xOf(minute * 60), y: height - bottom + 16, "text-anchor": "middle", class: "axis-text" },
      String(minute)));
  }
  root.append(svg("text", { x: left + (bins - 0.5) * binWidth + overflowGap, y: height - bottom + 16,
    "text-anchor": "middle", class: "axis-text" }, c("overflow")));
  root.append(svg("text", { x: left + (width - left - right) / 2, y: height - 6, "text-anchor": "middle",
    class: "axis-text" }, c("axisMinutes")));
  for (const s of MARKS_S) {
    const x = xOf(s);
    root.append(svg("line", { x1: x, x2: x, y1: top - 6, y2: y(0), class: "mark-line", "data-mark-s": s }));
    root.append(svg("text", { x, y: top - 10, "text-anchor": "middle", class: "mark-text" },
      c("minute", { n: s / 60 })));
  }
  container.append(root);
}

// ---- KPIs and table -----------------------------------------------------------------------

function renderKpis(total) {
  const rate = (tier) => percent(total.tiers.find((x) => x.tier === tier)?.pass_rate ?? null);
  const entries = [
    [c("kpi.incidents"), new Intl.NumberFormat(locale()).format(total.incidents)],
    ...TIERS.map((tier) => [c(`tier.${tier}`), rate(tier)]),
    [c("kpi.all"), percent(total.all_pass_rate)],
    [c("kpi.arrivalMedian"), seconds(total.first_arrival.median_s)],
  ];
  $("#kpis").replaceChildren(...entries.map(([term, value]) => {
    const div = document.createElement("div");
    div.append(Object.assign(document.createElement("dt"), { textContent: term }),
      Object.assign(document.createElement("dd"), { textContent: value }));
    return div;
  }));
}

function cells(group, first) {
  return [
    first,
    new Intl.NumberFormat(locale()).format(group.incidents),
    new Intl.NumberFormat(locale()).format(group.false_alarms),
    ...group.tiers.map((tier) => percent(tier.pass_rate)),
    percent(group.all_pass_rate),
    seconds(group.self_rescue_first_action.median_s),
    seconds(group.first_arrival.median_s),
    seconds(group.first_arrival.p90_s),
  ];
}

function nameCell(group) {
  const span = document.createElement("span");
  span.textContent = groupName(group);
  if (group.code && group.code !== groupName(group)) {
    span.append(Object.assign(document.createElement("span"), { className: "code", textContent: group.code }));
  }
  return span;
}

function renderTable(summary) {
  $("#table-title").textContent = c("tableTitle", { group: c(`group.${summary.group_by}`) });
  $("#table-head").replaceChildren(...row([
    c(`group.${summary.group_by}`), c("col.incidents"), c("col.falseAlarms"), ...TIERS.map((tier) => c(`tier.${tier}`)),
    c("col.all"), c("col.selfMedian"), c("col.arrivalMedian"), c("col.arrivalP90"),
  ], "th").children);
  $("#table-body").replaceChildren(...summary.groups.map((group) => {
    const tr = row(cells(group, nameCell(group)));
    tr.dataset.code = group.code ?? "";
    return tr;
  }));
  if (!summary.groups.length) {
    const empty = row([c("noData")]);
    empty.firstChild.colSpan = 10;
    $("#table-body").append(empty);
  }
  $("#table-foot").replaceChildren(row(cells(summary.total, c("total"))));
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
  drawHistogram($("#arrival-histogram"), summary.total.arrival_histogram, summary.bin_s, summary.histogram_max_s);
  renderTable(summary);
}

function query(groupBy) {
  const until = new Date();
  const since = new Date(until.getTime() - Number($("#window-days").value) * 86_400_000);
  return new URLSearchParams({ group_by: groupBy, since: since.toISOString(), until: until.toISOString() });
}

async function load() {
  const generation = ++state.generation;
  const groupBy = $("#group-by").value;
  setStatus(c("loading"));
  document.body.dataset.complianceLoaded = "";
  try {
    const summary = await api.request(`/api/compliance?${query(groupBy)}`);
    const districts = groupBy === "district" ? summary : await api.request(`/api/compliance?${query("district")}`);
    if (generation !== state.generation) return;
    Object.assign(state, { summary, districts });
    $("#report-body").hidden = false;
    setStatus(null);
    render();
    document.body.dataset.complianceLoaded = String(summary.groups.length);
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof api.ApiError && error.status === 401) return; // handled by onUnauthorized
    if (error instanceof api.ApiError && error.status === 403) setStatus(c("forbidden"), "error");
    else setStatus(describeError(error), "error");
  }
}

const csv = (groupBy) => [`/api/compliance.csv?${query(groupBy)}`, "compliance.csv"];
startReportPage({ state, render, load, csv, c });
