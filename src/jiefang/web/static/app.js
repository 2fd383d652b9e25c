// Command-centre page: sign-in, header, stats strip and the map workspace wired together.

import * as api from "./api.js";
import {
  ACCOUNT_ROLES, FENCE_KINDS, formatNumber, label, language, setLanguage, t, translateDocument,
} from "./i18n.js";
import {
  DistrictLayer, GridLayer, addBaseTiles, createMap, describeError, relabelMapControls,
} from "./map.js";
import { UnitPanel } from "./panel.js";
import { CommandConsole } from "./command-console.js";
import { LivePicture } from "./picture.js";
import { UnitSearch } from "./search.js";
import { Legend, UnitLayer } from "./units.js";

const $ = (selector) => document.querySelector(selector);

const view = {
  loginView: $("#login-view"),
  loginForm: $("#login-form"),
  loginError: $("#login-error"),
  loginNotice: $("#login-notice"),
  loginSubmit: $("#login-submit"),
  username: $("#login-username"),
  password: $("#login-password"),
  workspace: $("#workspace"),
  stats: $("#stats-strip"),
  searchBox: $("#unit-search-box"),
  user: $("#current-user"),
  logout: $("#logout-button"),
  langSwitch: $("#lang-switch"),
  status: $("#map-status"),
  onDuty: $("#on-duty"),
  onDutyCount: $("#on-duty-count"),
  liveDot: $("#live-dot"),
  liveState: $("#live-state"),
};

const STAT_KEYS = ["districts", "streets", "grids", "police_grids", "units", "members"];
const session = { me: null, generation: 0 };
let workspace = null; // built on first sign-in, once the map container is visible

// ---- status line over the map -------------------------------------------------------------

const statusSources = new Map(); // source -> {text, tone}

function setStatus(source, text, tone = "info") {
  if (text) statusSources.set(source, { text, tone });
  else statusSources.delete(source);
  const latest = [...statusSources.values()].at(-1);
  view.status.hidden = !latest;
  view.status.textContent = latest ? latest.text : "";
  view.status.dataset.tone = latest ? latest.tone : "";
}

function clearStatus() {
  statusSources.clear();
  setStatus("", null);
}

// ---- sign-in ------------------------------------------------------------------------------

function showError(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}

function showLogin(noticeKey = null) {
  view.workspace.hidden = true;
  view.stats.hidden = true;
  view.searchBox.hidden = true;
  view.user.hidden = true;
  view.logout.hidden = true;
  view.loginView.hidden = false;
  view.loginNotice.dataset.key = noticeKey ?? "";
  showError(view.loginNotice, noticeKey ? t(noticeKey) : null);
  showError(view.loginError, null);
  view.password.value = "";
  view.loginSubmit.disabled = false;
  view.loginSubmit.textContent = t("auth.submit");
  (view.username.value ? view.password : view.username).focus();
}

async function submitLogin(event) {
  event.preventDefault();
  const username = view.username.value.trim();
  const password = view.password.value;
  if (!username || !password) {
    showError(view.loginError, t("auth.required"));
    (username ? view.password : view.username).focus();
    return;
  }
  view.loginSubmit.disabled = true;
  view.loginSubmit.textContent = t("auth.submitting");
  showError(view.loginError, null);
  api.clearToken();
  let answer;
  try {
    answer = await api.request("/api/auth/login", { method: "POST", body: { username, password } });
  } catch (error) {
    showError(view.loginError, describeError(error));
    view.password.select();
    view.password.focus();
    return;
  } finally {
    view.loginSubmit.disabled = false;
    view.loginSubmit.textContent = t("auth.submit");
  }
  api.setToken(answer.token);
  view.password.value = "";
  startSession();
}

async function logout() {
  try {
    await api.request("/api/auth/logout", { method: "POST" });
  } catch (error) {
    // The token is dropped either way; a failed call only means the server forgets it later.
    console.warn("logout request failed", error);
  }
  endSession("auth.loggedOut");
}

function endSession(noticeKey) {
  session.generation += 1; // answers of the ended session are ignored when they arrive
  session.me = null;
  api.clearToken();
  if (workspace) workspace.reset();
  clearStatus();
  view.user.textContent = "";
  for (const key of STAT_KEYS) {
    $(`#stat-${key}`).textContent = "–";
    $(`#stat-${key}`).dataset.value = "";
  }
  showLogin(noticeKey);
}

// ---- the signed-in workspace --------------------------------------------------------------

function buildWorkspace() {
  const map = createMap($("#map"));
  const districts = new DistrictLayer(map);
  const grids = new GridLayer(map, (text, tone) => setStatus("grids", text, tone));
  const panel = new UnitPanel($("#unit-panel"), {
    onClose: () => {
      units.select(null);
      requestAnimationFrame(() => map.invalidateSize());
    },
  });
  const units = new UnitLayer(map, (unit) => openUnit(unit));
  const legend = new Legend(units).addTo(map);
  let liveState = "connecting";
  const live = new LivePicture(map, {
    unitName: (unitId) => units.name(unitId),
    onMembers: () => {
      renderOnDuty();
      units.setStaffed(new Set([...live.members.onDuty.values()].map((m) => m.unitId)));
      legend.updateOverlays();
    },
    onFences: (count) => {
      if (live.fences.available) document.body.dataset.fencesShown = String(count);
      else delete document.body.dataset.fencesShown;
      legend.updateOverlays();
    },
    onState: (state) => renderLiveState(state),
    onError: (error) => {
      setStatus("live", error && t("map.loadFailed", { message: describeError(error) }), "error");
    },
    onEvent: (event) => commands.receive(event),
    onResync: () => commands.resync(),
  });
  const commands = new CommandConsole(map, {
    root: $("#console-panel"),
    positions: () => live.members.onDuty,
    onLayout: () => {
      if (!$("#console-panel").hidden) {
        panel.close();
        units.select(null);
      }
      requestAnimationFrame(() => map.invalidateSize());
    },
  });
  addLiveOverlays(legend, live);
  const search = new UnitSearch($("#unit-search"), $("#unit-search-results"), (unit) => {
    units.focus(unit.id);
    openUnit(unit);
  });
  let tiles = null;

  function renderOnDuty() {
    const members = live.members;
    view.onDuty.hidden = !members.available;
    if (!members.available) {
      delete document.body.dataset.membersOnDuty;
      return;
    }
    view.onDutyCount.textContent = t("live.onDuty", { n: formatNumber(members.count) });
    document.body.dataset.membersOnDuty = String(members.count);
  }

  function renderLiveState(state) {
    liveState = state;
    const key = { live: "live.connected", connecting: "live.connecting", offline: "live.reconnecting" }[state];
    view.liveDot.dataset.state = state;
    view.onDuty.title = t(key);
    view.liveState.textContent = t(key);
    setStatus("live-feed", state === "offline" ? t("live.reconnecting") : null, "warning");
  }

  function openUnit(unit) {
    commands.panel.close();
    units.select(unit.id);
    const wasHidden = $("#unit-panel").hidden;
    panel.show(unit.id, unit.name);
    if (wasHidden) requestAnimationFrame(() => map.invalidateSize());
  }

  return {
    map, districts, grids, units, legend, search, panel, live, commands,
    setTiles(config) {
      if (tiles) tiles.remove();
      tiles = addBaseTiles(map, config);
    },
    reset() {
      commands.disable();
      live.stop();
      view.onDuty.hidden = true;
      delete document.body.dataset.membersOnDuty;
      delete document.body.dataset.fencesShown;
      panel.close();
      grids.disable();
      districts.clear();
      units.clear();
      legend.setCounts({});
      search.reset();
      search.setUnits([]);
      delete document.body.dataset.unitsLoaded;
    },
    relabel() {
      relabelMapControls(map);
      districts.relabel();
      grids.relabel();
      units.relabel();
      legend.render();
      panel.render();
      live.relabel();
      commands.relabel();
      renderOnDuty();
      renderLiveState(liveState);
    },
  };
}

/** Toggles for the live layers in the legend, with the colours of the fence kinds. */
function addLiveOverlays(legend, live) {
  legend.addOverlay({
    key: "members",
    swatch: "swatch-members",
    label: () => t("legend.members"),
    count: () => live.members.count,
    available: () => live.members.available,
    visible: () => live.members.visible,
    setVisible: (shown) => live.members.setVisible(shown),
  });
  legend.addOverlay({
    key: "fences",
    swatch: "swatch-fences",
    label: () => t("legend.fences"),
    count: () => live.fences.count,
    available: () => live.fences.available,
    visible: () => live.fences.visible,
    setVisible: (shown) => live.fences.setVisible(shown),
    details: () => Object.keys(FENCE_KINDS).map((kind) => [`fence-kind-${kind}`, label(FENCE_KINDS, kind)]),
  });
}

async function startSession() {
  const generation = ++session.generation;
  const current = () => generation === session.generation;
  view.loginView.hidden = true;
  view.workspace.hidden = false;
  view.stats.hidden = false;
  view.searchBox.hidden = false;
  view.logout.hidden = false;
  if (!workspace) workspace = buildWorkspace();
  else workspace.reset();
  workspace.map.invalidateSize();
  $("#unit-search").focus({ preventScroll: true });
  workspace.live.start();

  const tasks = [
    loadMe(current).then(() => loadConsole(current)),
    loadStats(current),
    loadAreas(current),
    loadUnits(current),
  ];
  await Promise.allSettled(tasks);
}

async function guarded(source, current, work) {
  try {
    await work();
  } catch (error) {
    if (!current() || (error instanceof api.ApiError && error.status === 401)) return;
    setStatus(source, t("map.loadFailed", { message: describeError(error) }), "error");
  }
}

function loadMe(current) {
  return guarded("me", current, async () => {
    const me = await api.request("/api/auth/me");
    if (!current()) return;
    session.me = me;
    renderUser();
  });
}

function renderUser() {
  if (!session.me) return;
  view.user.textContent = t("auth.user", {
    name: session.me.username,
    role: label(ACCOUNT_ROLES, session.me.role),
  });
  view.user.hidden = false;
}

function loadStats(current) {
  return guarded("stats", current, async () => {
    const stats = await api.request("/api/stats");
    if (!current()) return;
    for (const key of STAT_KEYS) {
      const value = stats[key];
      $(`#stat-${key}`).textContent = typeof value === "number" ? formatNumber(value) : "–";
      $(`#stat-${key}`).dataset.value = String(value ?? "");
    }
  });
}

function loadConsole(current) {
  return guarded("console", current, async () => {
    if (!session.me) return;
    const config = await api.request("/api/map/config");
    if (!current()) return;
    await workspace.commands.enable(session.me.role, config);
  });
}

function loadAreas(current) {
  return guarded("areas", current, async () => {
    // Tiles first: district fills are lighter when a base map shows through.
    const config = await api.request("/api/map/config");
    if (!current()) return;
    workspace.setTiles(config);
    const districts = await api.request("/api/areas/geojson?level=district");
    if (!current()) return;
    workspace.districts.setData(districts);
    workspace.grids.enable();
  });
}

function loadUnits(current) {
  return guarded("units", current, async () => {
    setStatus("units", t("map.loadingUnits"));
    try {
      const points = await api.request("/api/units/points");
      if (!current()) return;
      const units = workspace.units.setPoints(points);
      workspace.legend.setCounts(workspace.units.countByCategory());
      workspace.search.setUnits(units);
      document.body.dataset.unitsLoaded = String(units.length);
    } finally {
      if (current()) setStatus("units", null);
    }
  });
}

// ---- language -----------------------------------------------------------------------------

function applyLanguage() {
  translateDocument();
  view.langSwitch.lang = language() === "zh" ? "en" : "zh-CN";
  renderUser();
  if (view.loginNotice.dataset.key) view.loginNotice.textContent = t(view.loginNotice.dataset.key);
  if (view.loginSubmit.disabled === false) view.loginSubmit.textContent = t("auth.submit");
  for (const key of STAT_KEYS) {
    const value = $(`#stat-${key}`).dataset.value;
    if (value) $(`#stat-${key}`).textContent = formatNumber(Number(value));
  }
  if (workspace) workspace.relabel();
}

// ---- start --------------------------------------------------------------------------------

api.onUnauthorized(() => endSession("auth.expired"));
view.loginForm.addEventListener("submit", submitLogin);
view.logout.addEventListener("click", logout);
view.langSwitch.addEventListener("click", () => {
  setLanguage(language() === "zh" ? "en" : "zh");
  applyLanguage();
});

applyLanguage();
if (api.getToken()) {
  startSession();
} else {
  showLogin();
}
