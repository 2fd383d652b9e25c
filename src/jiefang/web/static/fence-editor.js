// The fence editor and the on-duty board in the console: save a drawn shape as an electronic
// fence (电子围栏), list and delete fences, and count who is on duty by level with empty posts.

import { request } from "./api.js";
import { LoadedView, button, choice, field, notice } from "./console.js";
import { FENCE_KINDS, formatNumber, label, t } from "./i18n.js";
import { describeError } from "./map.js";
import { el } from "./panel.js";

/** Save the drawn selection as a fence: name, kind, and the patrolling team for a patrol zone. */
export class FenceFormView {
  constructor(ctx, selection) {
    this.ctx = ctx;
    this.selection = selection;
    this.name = "fence-form";
    this.error = null;
  }

  title() {
    return t("fence.new");
  }

  render(body) {
    const name = el("input", { type: "text", maxlength: "120", required: "", "data-testid": "fence-name" });
    const kind = choice(Object.keys(FENCE_KINDS).map((k) => [k, label(FENCE_KINDS, k)]), "sensitive_area",
      { "data-testid": "fence-kind" });
    const team = el("input", { type: "number", min: "1", step: "1", "data-testid": "fence-team" });
    const teamField = field("fence.team", team);
    teamField.hidden = true;
    kind.addEventListener("change", () => {
      teamField.hidden = kind.value !== "patrol_zone";
    });
    const form = el("form", { class: "console-form", "data-testid": "fence-form" }, field("fence.name", name),
      field("fence.kind", kind), teamField, this.error ? notice(this.error) : "",
      el("button", { type: "submit", class: "button button-primary", "data-testid": "fence-save" }, t("fence.save")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const shape = this.selection.kind === "polygon"
        ? { polygon: this.selection.polygon }
        : { center_lon: this.selection.center_lon, center_lat: this.selection.center_lat,
          radius_m: this.selection.radius_m };
      const body = { name: name.value.trim(), kind: kind.value, ...shape };
      if (kind.value === "patrol_zone") body.team_id = Number(team.value) || null;
      try {
        await request("/api/fences", { method: "POST", body });
        this.ctx.panel.show(new FenceListView(this.ctx, t("fence.saved", { name: body.name })));
      } catch (error) {
        this.error = describeError(error);
        this.ctx.panel.render();
      }
    });
    body.append(form);
    name.focus();
  }

  dispose() {
    this.ctx.draw.clear();
  }
}

/** The fences the operator may see, each with a delete button. */
export class FenceListView extends LoadedView {
  constructor(ctx, message = null) {
    super(ctx, "fences");
    this.message = message;
    this.fences = null;
  }

  title() {
    return t("fence.list");
  }

  async fetch() {
    this.fences = await request("/api/fences");
  }

  onEvent(event) {
    if (event.type === "fence.created" || event.type === "fence.retired") this.load();
  }

  render(body) {
    body.append(el("p", { class: "button-row" },
      button("fence.drawPolygon", () => this.ctx.drawFor("polygon", "fence"), { "data-testid": "fence-draw-polygon" }),
      " ", button("fence.drawCircle", () => this.ctx.drawFor("circle", "fence"), { "data-testid": "fence-draw-circle" })));
    if (this.message) body.append(notice(this.message, "info"));
    if (this.error) body.append(notice(this.error));
    if (!this.fences) return;
    if (!this.fences.length) body.append(el("p", { class: "console-empty" }, t("fence.none")));
    body.append(el("ul", { class: "console-list", "data-testid": "fence-list" }, ...this.fences.map((f) =>
      el("li", { "data-fence": String(f.id) }, `${f.name} · ${label(FENCE_KINDS, f.kind)} `,
        button("fence.retire", () => this.retire(f.id), { "data-testid": `retire-${f.id}` })))));
  }

  async retire(fenceId) {
    try {
      await request(`/api/fences/${fenceId}`, { method: "DELETE" });
      this.message = null;
    } catch (error) {
      this.error = describeError(error);
    }
    this.load();
  }

}

/** How many are on duty per district, street, grid or unit, and the posts left empty. */
export class BoardView extends LoadedView {
  constructor(ctx, level = "district") {
    super(ctx, "board");
    this.level = level;
    this.reopen = () => new BoardView(ctx, this.level);
    this.board = null;
    this.empty = [];
  }

  title() {
    return t("board.title");
  }

  async fetch() {
    [this.board, this.empty] = await Promise.all([
      request(`/api/duty/board?level=${this.level}`), request("/api/duty/empty-posts"),
    ]);
  }

  onEvent(event) {
    if (event.type === "duty.check_in" || event.type === "duty.check_out") {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), 1000);
    }
  }

  render(body) {
    const level = choice(["city", "district", "street", "grid", "unit"].map((k) => [k, t(`level.${k}`)]), this.level,
      { "data-testid": "board-level" });
    level.addEventListener("change", () => {
      this.level = level.value;
      this.load();
    });
    body.append(field("board.level", level));
    if (this.error) body.append(notice(this.error));
    if (!this.board) return;
    body.append(el("p", { "data-testid": "board-total" }, t("board.total", { n: formatNumber(this.board.total_on_duty) })));
    const rows = this.board.counts.map((c) => el("tr", {}, el("td", {}, c.name),
      el("td", { class: "number" }, formatNumber(c.on_duty))));
    body.append(el("table", { class: "console-table", "data-testid": "board" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("board.name")),
        el("th", { scope: "col" }, t("board.onDuty")))), el("tbody", {}, ...rows)));
    if (this.empty.length) {
      body.append(el("h3", {}, t("board.emptyPosts")), el("ul", { class: "console-list compact" },
        ...this.empty.slice(0, 100).map((p) => el("li", {}, `${p.unit_name} · ${p.shift_name} · ${p.on_duty}/${p.min_on_duty}`))));
    }
  }

  dispose() {
    super.dispose();
    clearTimeout(this.timer);
  }
}
