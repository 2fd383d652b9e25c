// The command console: a toolbar on the map and a side panel that shows one view at a time
// (incidents, a new incident, a map selection and its group command, fences, the duty board).
// Live events reach the view on show; a resync asks it to load afresh.

import { el } from "./panel.js";
import { t } from "./i18n.js";
import { describeError } from "./map.js";
import "./console-strings.js";

/** Format seconds as m:ss (or h:mm:ss). */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** A labelled form field. */
export function field(labelKey, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return el("div", { class: "field" }, el("label", { for: id }, t(labelKey)), control);
}

/** A <select> of [value, text] options. */
export function choice(options, selected = null, attributes = {}) {
  const select = el("select", attributes);
  for (const [value, text] of options) {
    const option = el("option", { value }, text);
    if (String(value) === String(selected)) option.selected = true;
    select.append(option);
  }
  return select;
}

export function button(textKey, onClick, attributes = {}, params = {}) {
  const b = el("button", { type: "button", class: "button button-small", ...attributes }, t(textKey, params));
  b.addEventListener("click", onClick);
  return b;
}

/** A paragraph for errors or notices inside a view (role=alert for errors). */
export function notice(text, tone = "error") {
  return el("p", { class: `console-notice console-${tone}`, role: tone === "error" ? "alert" : "status" }, text);
}

/** A view that shows what it fetched: `fetch()` stores it; a failure is kept in `error`. It
 * loads once it is built, again on `reload()` (a resync) and whenever a subclass calls `load()`. */
export class LoadedView {
  constructor(ctx, name) {
    this.ctx = ctx;
    this.name = name;
    this.error = null;
    queueMicrotask(() => this.load()); // after the subclass constructor has set its fields
  }

  async load() {
    try {
      await this.fetch();
      this.error = null;
    } catch (error) {
      this.error = describeError(error);
    }
    if (!this.disposed) this.ctx.panel.render();
  }

  reload() {
    this.load();
  }

  dispose() {
    this.disposed = true;
  }
}

export class ConsolePanel {
  constructor(root, { onLayout }) {
    this.root = root;
    this.title = root.querySelector("#console-title");
    this.body = root.querySelector("#console-body");
    this.onLayout = onLayout;
    this.view = null;
    this.history = [];
    root.querySelector("#console-close").addEventListener("click", () => this.close());
    root.querySelector("#console-back").addEventListener("click", () => this.back());
  }

  /** Show a view; `push` keeps the current one to come back to. */
  show(view, { push = false } = {}) {
    if (this.view) {
      this.view.dispose?.();
      if (push) this.history.push(this.view.reopen ?? null);
      else this.history = [];
    }
    this.view = view;
    const wasHidden = this.root.hidden;
    this.root.hidden = false;
    this.root.querySelector("#console-back").hidden = !this.history.some(Boolean);
    this.render();
    if (wasHidden) this.onLayout();
  }

  render() {
    if (!this.view) return;
    this.title.textContent = this.view.title();
    this.root.dataset.view = this.view.name;
    this.body.replaceChildren();
    this.view.render(this.body, () => this.render());
  }

  back() {
    const reopen = this.history.pop();
    if (reopen) {
      this.view?.dispose?.();
      this.view = null;
      this.show(reopen());
      return;
    }
    this.close();
  }

  close() {
    this.view?.dispose?.();
    this.view = null;
    this.history = [];
    if (!this.root.hidden) {
      this.root.hidden = true;
      delete this.root.dataset.view;
      this.onLayout();
    }
  }

  receive(event) {
    this.view?.onEvent?.(event);
  }

  resync() {
    this.view?.reload?.();
  }

  relabel() {
    this.render();
  }
}

/** The toolbar over the map: one button per tool, keyboard reachable, labelled in both languages. */
export const Toolbar = L.Control.extend({
  options: { position: "topleft" },

  initialize(tools, options) {
    L.Util.setOptions(this, options);
    this.tools = tools; // [{key, labelKey, run}]
  },

  onAdd() {
    const container = L.DomUtil.create("nav", "console-toolbar leaflet-bar");
    container.dataset.testid = "console-toolbar";
    L.DomEvent.disableClickPropagation(container);
    L.DomEvent.disableScrollPropagation(container);
    this.container = container;
    this.render();
    return container;
  },

  render() {
    if (!this.container) return;
    this.container.setAttribute("aria-label", t("console.toolbar"));
    this.container.replaceChildren(...this.tools.map((tool) => {
      const b = el("button", { type: "button", class: "console-tool", "data-testid": `tool-${tool.key}` },
        t(tool.labelKey));
      b.addEventListener("click", () => tool.run());
      return b;
    }));
  },
});
