// Wires the command console into the map workspace: the toolbar's tools, the views they open,
// the incident markers, and live events to whichever view is showing. Operators only.

import { request } from "./api.js";
import { CommandListView, CommandView, SelectionView } from "./commands.js";
import { ConsolePanel, Toolbar, button, choice, field, notice } from "./console.js";
import { BoardView, FenceFormView, FenceListView } from "./fence-editor.js";
import { SKILLS, areaName, label, t } from "./i18n.js";
import { INCIDENT_EVENTS, IncidentDetailView, IncidentLayer, IncidentListView, NewIncidentView } from "./incidents.js";
import { DrawTool } from "./draw.js";
import { VoicePanel } from "./voice.js";
import { describeError } from "./map.js";
import { el } from "./panel.js";

const OPERATOR_ROLES = new Set(["city_admin", "district_operator"]);

/** While a shape is being drawn: how to draw it, with Finish (polygon) and Cancel buttons. */
class DrawHintView {
  constructor(ctx, mode, purpose) {
    this.ctx = ctx;
    this.mode = mode;
    this.name = `draw-${mode}`;
    this.purpose = purpose;
    this.corners = 0;
  }

  title() {
    return t(this.purpose === "fence" ? "fence.new" : "selection.title");
  }

  render(body) {
    body.append(el("p", { class: "draw-hint", role: "status" },
      t(this.mode === "circle" ? "draw.circleHint" : "draw.polygonHint")));
    if (this.mode === "polygon") {
      body.append(el("p", { "data-testid": "draw-corners" }, t("draw.corners", { n: this.corners })),
        button("draw.finish", () => this.ctx.draw.finish(), { "data-testid": "draw-finish" }));
    }
    body.append(" ", button("draw.cancel", () => this.ctx.panel.close(), { "data-testid": "draw-cancel" }));
  }

  corner(n) {
    this.corners = n;
    const count = this.ctx.panel.body.querySelector("[data-testid=draw-corners]");
    if (count) count.textContent = t("draw.corners", { n });
  }

  dispose() {
    if (this.ctx.draw.active) this.ctx.draw.cancel();
  }
}

/** Shown while the operator picks the incident's location on the map. */
class PickPointView {
  constructor(ctx) {
    this.ctx = ctx;
    this.name = "pick-point";
    this.onClick = (event) => ctx.panel.show(new NewIncidentView(ctx, event.latlng.lng, event.latlng.lat));
    ctx.map.getContainer().classList.add("drawing");
    ctx.map.once("click", this.onClick);
  }

  title() {
    return t("incident.new");
  }

  render(body) {
    body.append(el("p", { class: "draw-hint", role: "status" }, t("incident.pickPoint")),
      button("draw.cancel", () => this.ctx.panel.close(), { "data-testid": "draw-cancel" }));
  }

  dispose() {
    this.ctx.map.off("click", this.onClick);
    this.ctx.map.getContainer().classList.remove("drawing");
  }
}

/** Pick whole grids, streets or districts by clicking them; Finish selects them. */
class AreaPickView {
  constructor(ctx) {
    this.ctx = ctx;
    this.name = "pick-areas";
    this.level = "grid";
    this.picked = new Map(); // area id -> GeoJSON feature
    this.error = null;
    this.onClick = (event) => this.toggle(event.latlng);
    ctx.map.getContainer().classList.add("drawing");
    ctx.map.on("click", this.onClick);
  }

  title() {
    return t("selection.title");
  }

  async toggle({ lng, lat }) {
    try {
      const feature = await request(`/api/areas/at?lon=${lng}&lat=${lat}&level=${this.level}`);
      if (this.picked.has(feature.id)) this.picked.delete(feature.id);
      else this.picked.set(feature.id, feature);
      this.error = null;
    } catch (error) {
      this.error = describeError(error);
    }
    this.ctx.draw.showAreas([...this.picked.values()]);
    this.ctx.panel.render();
  }

  render(body) {
    const level = choice(["grid", "street", "district"].map((k) => [k, t(`level.${k}`)]), this.level,
      { "data-testid": "pick-level" });
    level.addEventListener("change", () => {
      this.level = level.value;
      this.picked.clear();
      this.ctx.draw.showAreas([]);
      this.ctx.panel.render();
    });
    body.append(el("p", { class: "draw-hint", role: "status" }, t("draw.areasHint")), field("board.level", level));
    if (this.error) body.append(notice(this.error));
    body.append(el("ul", { class: "console-list compact", "data-testid": "picked-areas" },
      ...[...this.picked.values()].map((f) => el("li", { "data-area": String(f.id) }, areaName(f.properties)))));
    const finish = button("draw.finish", () => {
      const ids = [...this.picked.keys()];
      this.finished = true;
      this.ctx.panel.show(new SelectionView(this.ctx, { kind: "areas", area_ids: ids }));
    }, { "data-testid": "draw-finish" });
    finish.disabled = this.picked.size === 0;
    body.append(finish, " ", button("draw.cancel", () => this.ctx.panel.close(), { "data-testid": "draw-cancel" }));
  }

  dispose() {
    this.ctx.map.off("click", this.onClick);
    this.ctx.map.getContainer().classList.remove("drawing");
    if (!this.finished) this.ctx.draw.clear();
  }
}

/** Push-to-talk with the groups of the operator's district (open incidents, ad-hoc groups). */
class VoiceView {
  constructor(ctx) {
    this.ctx = ctx;
    this.name = "voice";
    this.voice = new VoicePanel({ preempt: true }); // the command centre may cut in
    this.box = el("div", { class: "voice", "data-testid": "voice" });
    this.voice.mount(this.box);
    this.voice.start();
  }

  title() {
    return t("voice.title");
  }

  render(body) {
    body.append(this.box);
    this.voice.render();
  }

  dispose() {
    this.voice.stop();
  }
}

export class CommandConsole {
  constructor(map, { root, positions, onLayout }) {
    this.map = map;
    this.types = new Map();
    const ctx = {
      map,
      types: this.types,
      positions,
      skillName: (key) => label(SKILLS, key),
      openIncident: (id, push = false) => ctx.panel.show(new IncidentDetailView(ctx, id), { push }),
      openCommand: (id, push = false) => ctx.panel.show(new CommandView(ctx, id), { push }),
      drawFor: (mode, purpose) => this.drawFor(mode, purpose),
    };
    ctx.panel = new ConsolePanel(root, { onLayout });
    ctx.draw = new DrawTool(map);
    ctx.layer = new IncidentLayer(map, { types: this.types, onPick: (id) => ctx.openIncident(id) });
    this.ctx = ctx;
    this.toolbar = new Toolbar([
      { key: "incidents", labelKey: "console.incidents", run: () => ctx.panel.show(new IncidentListView(ctx)) },
      { key: "new-incident", labelKey: "console.newIncident", run: () => ctx.panel.show(new PickPointView(ctx)) },
      { key: "circle", labelKey: "console.circle", run: () => this.drawFor("circle", "selection") },
      { key: "polygon", labelKey: "console.polygon", run: () => this.drawFor("polygon", "selection") },
      { key: "areas", labelKey: "console.areas", run: () => ctx.panel.show(new AreaPickView(ctx)) },
      { key: "fences", labelKey: "console.fence", run: () => ctx.panel.show(new FenceListView(ctx)) },
      { key: "commands", labelKey: "console.commands", run: () => ctx.panel.show(new CommandListView(ctx)) },
      { key: "board", labelKey: "console.board", run: () => ctx.panel.show(new BoardView(ctx)) },
      { key: "voice", labelKey: "voice.title", run: () => ctx.panel.show(new VoiceView(ctx)) },
    ]);
    this.enabled = false;
  }

  get panel() {
    return this.ctx.panel;
  }

  drawFor(mode, purpose) {
    const hint = new DrawHintView(this.ctx, mode, purpose);
    this.ctx.panel.show(hint);
    this.ctx.draw.start(mode, (selection) => {
      this.ctx.panel.show(purpose === "fence" ? new FenceFormView(this.ctx, selection)
        : new SelectionView(this.ctx, selection));
    }, (n) => hint.corner(n));
  }

  /** Turn the console on for an operator (toolbar, incident markers); off for anyone else. */
  async enable(role, mapConfig) {
    this.disable();
    if (!OPERATOR_ROLES.has(role)) return;
    this.enabled = true;
    this.toolbar.addTo(this.map);
    this.ctx.layer.setReach(mapConfig?.reach_m);
    document.body.dataset.console = "on";
    try {
      const types = await request("/api/incident-types");
      for (const type of types) this.types.set(type.type, type);
    } catch (error) {
      console.warn("incident types", error);
    }
    await this.ctx.layer.load();
  }

  disable() {
    this.enabled = false;
    this.ctx.panel.close();
    this.ctx.draw.cancel();
    this.ctx.layer.clear();
    this.toolbar.remove();
    delete document.body.dataset.console;
  }

  receive(event) {
    if (!this.enabled) return;
    if (INCIDENT_EVENTS.test(event.type)) this.ctx.layer.schedule();
    this.ctx.panel.receive(event);
  }

  resync() {
    if (!this.enabled) return;
    this.ctx.layer.schedule();
    this.ctx.panel.resync();
  }

  relabel() {
    this.toolbar.render();
    this.ctx.panel.relabel();
    this.ctx.layer.draw();
  }
}
