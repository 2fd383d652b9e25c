// Helpers of the report pages: page strings, number formats, small SVG charts, tables, CSV download.
// Each page keeps its own strings ({zh, en}); the sign-in is the command centre's (token in sessionStorage).

import * as api from "./api.js";
import { LANGUAGES, language, setLanguage, t } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** Return a function looking up a page string in the selected language, with {name} parameters. */
export function pageStrings(strings) {
  return (key, params = {}) => {
    const text = strings[language()][key] ?? strings.zh[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
  };
}

export function locale() {
  return LANGUAGES[language()].locale;
}

export function percent(rate) {
  if (rate === null || rate === undefined) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(rate);
}

export function number(value) {
  return new Intl.NumberFormat(locale()).format(value);
}

export function day(iso) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium" }).format(new Date(iso));
}

export function describeError(error) {
  if (error instanceof api.ApiError) {
    if (error.status === 0) return t("error.network");
    return error.serverMessage ?? t("error.generic", { status: error.status });
  }
  console.error(error);
  return String(error.message ?? error);
}

export function svg(tag, attrs = {}, text = null) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

export function chart(width, height, title) {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  root.append(svg("title", {}, title));
  return root;
}

/** A table row of values (text or nodes). */
export function row(values, tag = "td") {
  const tr = document.createElement("tr");
  for (const value of values) {
    const cell = document.createElement(tag);
    if (value instanceof Node) cell.append(value);
    else cell.textContent = value;
    tr.append(cell);
  }
  return tr;
}

/** Download an authenticated CSV; returns null or the HTTP status of a failure. */
export async function downloadCsv(path, fallbackName) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${api.getToken()}` } });
  if (!response.ok) return response.status;
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return null;
}

/** Show a message in the page's status line (none: hide it); `signInLinkText` adds a sign-in link. */
export function setStatus(text, tone = "info", signInLinkText = null) {
  const status = document.querySelector("#report-status");
  status.hidden = !text;
  status.dataset.tone = tone;
  status.replaceChildren(text ?? "");
  if (signInLinkText) {
    status.append(" ", Object.assign(document.createElement("a"), { href: "/", textContent: signInLinkText }));
  }
}

/** An area's or group's name in the selected language, its code, or `unassigned`. */
export function groupName(group, unassigned) {
  const name = language() === "en" ? group.name_en || group.name : group.name;
  return name || group.code || unassigned;
}

/**
 * Wire a report page and load it: sign-in (the command centre's token), language switch,
 * the #group-by and #window-days selectors, CSV export of `csv(groupBy)` → [path, file name].
 * `c` is the page's strings (signIn, signInLink); `state.me` receives the signed-in account.
 */
export function startReportPage({ state, render, load, csv, c }) {
  const $ = (selector) => document.querySelector(selector);
  const askToSignIn = () => {
    $("#report-body").hidden = true;
    setStatus(c("signIn"), "info", c("signInLink"));
  };
  const exportCsv = async () => {
    const failed = await downloadCsv(...csv($("#group-by").value));
    if (failed) setStatus(t("error.generic", { status: failed }), "error");
  };
  api.onUnauthorized(askToSignIn);
  $("#lang-switch").addEventListener("click", () => {
    setLanguage(language() === "zh" ? "en" : "zh");
    render();
  });
  $("#group-by").addEventListener("change", load);
  $("#window-days").addEventListener("change", load);
  $("#export-csv").addEventListener("click", () => exportCsv().catch((error) => setStatus(describeError(error), "error")));
  render();
  if (!api.getToken()) {
    askToSignIn();
    return;
  }
  api.request("/api/auth/me").then((me) => {
    state.me = me;
    render();
  }).catch((error) => console.warn("could not read the signed-in user", error));
  load();
}
