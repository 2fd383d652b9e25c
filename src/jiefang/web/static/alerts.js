// The latest fence alerts (a member entering a sensitive area, a patrol absence), newest
// first, as a map control; each alert centres the map on where it happened.

import { formatTime, t } from "./i18n.js";

export const ALERT_LIMIT = 20;

/** An alert from a live event (fence.enter / fence.patrol_absence) or a GET /api/fence-events row. */
export function alertOf({ kind, fenceId, fenceName = null, memberId, unitId = null, lon, lat, t: epochSeconds }) {
  // Whole seconds in the key: the stored event keeps the same instant to the microsecond only.
  const key = `${kind}:${fenceId}:${memberId}:${Math.floor(epochSeconds)}`;
  return { key, kind, fenceId, fenceName, memberId, unitId, lon, lat, t: epochSeconds };
}

/**
 * The alert list. `describe(alert)` returns {text, detail} in the selected language;
 * `onPick(alert)` runs when an alert is chosen.
 */
export const AlertList = L.Control.extend({
  options: { position: "bottomleft" },

  initialize(describe, onPick, options) {
    L.Util.setOptions(this, options);
    this.describe = describe;
    this.onPick = onPick;
    this.alerts = [];
    this.collapsed = false;
    this.enabled = false;
  },

  onAdd() {
    const container = L.DomUtil.create("section", "alerts");
    container.id = "alerts";
    container.dataset.testid = "alerts";
    container.setAttribute("aria-labelledby", "alerts-title");
    L.DomEvent.disableClickPropagation(container);
    L.DomEvent.disableScrollPropagation(container);
    const title = L.DomUtil.create("h2", "alerts-title", container);
    title.id = "alerts-title";
    this.toggle = L.DomUtil.create("button", "alerts-toggle", title);
    this.toggle.type = "button";
    this.toggle.setAttribute("aria-controls", "alerts-list");
    this.toggle.addEventListener("click", () => {
      this.collapsed = !this.collapsed;
      this.render();
    });
    // A log that keeps its items: screen readers then read out only the alerts inserted.
    this.list = L.DomUtil.create("ol", "alerts-list", container);
    this.list.id = "alerts-list";
    this.list.setAttribute("role", "log");
    this.empty = L.DomUtil.create("p", "alerts-empty", container);
    this.items = new Map(); // alert key -> li
    this.container = container;
    this.render();
    return container;
  },

  /** Show the list (to those who may see fences) or hide it. */
  setEnabled(enabled) {
    this.enabled = enabled;
    this.render();
  },

  /** Add alerts (any order); keeps the newest ALERT_LIMIT, each once. */
  add(...alerts) {
    const known = new Set(this.alerts.map((alert) => alert.key));
    const fresh = alerts.filter((alert) => !known.has(alert.key) && known.add(alert.key));
    if (!fresh.length) return;
    // A stable sort: alerts already listed keep their order, so their nodes never move.
    this.alerts = [...this.alerts, ...fresh].sort((a, b) => b.t - a.t).slice(0, ALERT_LIMIT);
    this.render();
  },

  clear() {
    this.alerts = [];
    this.enabled = false;
    this.render();
  },

  render() {
    if (!this.container) return;
    this.container.hidden = !this.enabled;
    this.container.classList.toggle("is-collapsed", this.collapsed);
    this.toggle.setAttribute("aria-expanded", String(!this.collapsed));
    this.toggle.replaceChildren(t("alerts.title"));
    if (this.alerts.length) {
      L.DomUtil.create("span", "alerts-count", this.toggle).textContent = String(this.alerts.length);
    }
    this.list.hidden = this.collapsed; // hidden only on request: a hidden log announces nothing
    this.empty.hidden = this.collapsed || this.alerts.length > 0;
    this.empty.textContent = t("alerts.empty");

    const wanted = new Set(this.alerts.map((alert) => alert.key));
    for (const [key, item] of this.items) {
      if (!wanted.has(key)) {
        item.remove();
        this.items.delete(key);
      }
    }
    let next = null; // insert each new alert before the next older one already listed
    for (const alert of [...this.alerts].reverse()) {
      let item = this.items.get(alert.key);
      if (!item) {
        item = this.createItem(alert);
        this.items.set(alert.key, item);
        this.list.insertBefore(item, next);
      }
      this.fillItem(item, alert);
      next = item;
    }
  },

  createItem(alert) {
    const item = L.DomUtil.create("li", `alert alert-${alert.kind}`);
    item.dataset.testid = "alert";
    const button = L.DomUtil.create("button", "alert-button", item);
    button.type = "button";
    L.DomUtil.create("span", "alert-text", button);
    const meta = L.DomUtil.create("span", "alert-meta", button);
    const time = L.DomUtil.create("time", "", meta);
    time.dateTime = new Date(alert.t * 1000).toISOString();
    L.DomUtil.create("span", "alert-detail", meta);
    button.addEventListener("click", () => this.onPick(alert));
    return item;
  },

  /** Put the alert's words in the selected language; only text that changed is touched. */
  fillItem(item, alert) {
    const { text, detail } = this.describe(alert);
    const set = (element, value) => {
      if (element.textContent !== value) element.textContent = value;
    };
    const button = item.querySelector(".alert-button");
    button.title = t("alerts.locate", { text });
    set(item.querySelector(".alert-text"), text);
    set(item.querySelector("time"), formatTime(alert.t));
    set(item.querySelector(".alert-detail"), detail ? ` · ${detail}` : "");
  },
});
