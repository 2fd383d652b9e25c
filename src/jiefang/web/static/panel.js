// Side panel with the details of one unit (GET /api/units/{id}).
// Everything from the API goes in through textContent, never as HTML.

import { request } from "./api.js";
import { CATEGORIES, EQUIPMENT, UNIT_STATUSES, areaName, formatNumber, label, t } from "./i18n.js";
import { el } from "./dom.js";
import { describeError } from "./map.js";

export { el };

export class UnitPanel {
  constructor(root, { onClose }) {
    this.root = root;
    this.title = root.querySelector("#unit-panel-title");
    this.body = root.querySelector("#unit-panel-body");
    this.onClose = onClose;
    this.unit = null;
    this.requestedId = null;
    this.state = "closed";
    this.error = null;
    this.returnFocus = null;
    root.querySelector("#unit-panel-close").addEventListener("click", () => this.close());
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
  }

  /** Open the panel for a unit and load its details; stale answers are dropped. */
  async show(unitId, fallbackName = "") {
    this.requestedId = unitId;
    this.unit = null;
    this.state = "loading";
    this.fallbackName = fallbackName;
    // Keyboard users get back to where they were (a marker, the search box) on close.
    if (!this.root.contains(document.activeElement)) this.returnFocus = document.activeElement;
    this.root.hidden = false;
    this.render();
    this.title.focus();
    try {
      const unit = await request(`/api/units/${encodeURIComponent(unitId)}`);
      if (this.requestedId !== unitId) return;
      this.unit = unit;
      this.state = "ready";
    } catch (error) {
      if (this.requestedId !== unitId) return;
      this.state = "error";
      this.error = describeError(error);
    }
    this.render();
  }

  close() {
    if (this.root.hidden) return;
    this.root.hidden = true;
    this.title.textContent = "";
    this.body.replaceChildren();
    this.requestedId = null;
    this.unit = null;
    this.state = "closed";
    this.onClose();
    if (this.returnFocus?.isConnected && this.returnFocus !== document.body) this.returnFocus.focus();
    this.returnFocus = null;
  }

  render() {
    if (this.state === "closed") return;
    this.root.setAttribute("aria-busy", String(this.state === "loading"));
    if (this.state === "loading") {
      this.title.textContent = this.fallbackName || t("panel.label");
      this.body.replaceChildren(el("p", { class: "panel-note" }, t("panel.loading")));
      return;
    }
    if (this.state === "error") {
      this.title.textContent = this.fallbackName || t("panel.label");
      this.body.replaceChildren(el("p", { class: "panel-error", role: "alert" }, this.error));
      return;
    }
    const unit = this.unit;
    this.title.textContent = unit.name;
    this.body.replaceChildren(
      this.badges(unit),
      this.facts(unit),
      this.leader(unit),
      this.teams(unit),
      this.equipment(unit),
    );
  }

  badges(unit) {
    return el(
      "p",
      { class: "panel-badges" },
      el("span", { class: `badge badge-category cat-${unit.category}`, "data-testid": "unit-category" },
        label(CATEGORIES, unit.category)),
      el("span", { class: `badge badge-status status-${unit.status}` }, label(UNIT_STATUSES, unit.status)),
      el("span", { class: "badge badge-members" },
        `${t("panel.members")} ${formatNumber(unit.member_count ?? 0)}`),
    );
  }

  facts(unit) {
    const rows = [
      ["panel.code", unit.code],
      ["panel.address", unit.address || t("panel.none")],
      ["panel.district", areaName(unit.district) || t("panel.none")],
      ["panel.street", areaName(unit.street) || t("panel.none")],
      ["panel.grid", areaName(unit.grid) || t("panel.none")],
      ["panel.policeGrid", areaName(unit.police_grid) || t("panel.none")],
      ["panel.location", `${Number(unit.lat).toFixed(5)}, ${Number(unit.lon).toFixed(5)}`],
    ];
    return el(
      "dl",
      { class: "facts", "data-testid": "unit-facts" },
      ...rows.flatMap(([key, value]) => [el("dt", {}, t(key)), el("dd", {}, value)]),
    );
  }

  leader(unit) {
    const section = el("section", { class: "panel-section", "aria-labelledby": "panel-leader" },
      el("h3", { id: "panel-leader" }, t("panel.leader")));
    if (!unit.leader) {
      section.append(el("p", { class: "panel-note" }, t("panel.noLeader")));
      return section;
    }
    const phone = unit.leader.phone;
    // A masked number (138****5678) cannot be dialled; only a full one becomes a tel: link.
    const phoneNode = phone && !phone.includes("*")
      ? el("a", { href: `tel:${phone}` }, phone)
      : el("span", {}, phone || t("panel.none"));
    section.append(el("p", { class: "leader" },
      el("span", { class: "leader-name", "data-testid": "unit-leader" }, unit.leader.name),
      el("span", { class: "leader-phone", "aria-label": t("panel.phone") }, phoneNode)));
    return section;
  }

  teams(unit) {
    const teams = unit.teams ?? [];
    const section = el("section", { class: "panel-section", "aria-labelledby": "panel-teams" },
      el("h3", { id: "panel-teams" }, `${t("panel.teams")} (${formatNumber(teams.length)})`));
    if (teams.length === 0) {
      section.append(el("p", { class: "panel-note" }, t("panel.noTeams")));
      return section;
    }
    section.append(el("ul", { class: "count-list", "data-testid": "unit-teams" },
      ...teams.map((team) => el("li", {},
        el("span", {}, team.name),
        el("span", { class: "count" }, t("panel.personCount", { n: formatNumber(team.member_count) }))))));
    return section;
  }

  equipment(unit) {
    const items = unit.equipment ?? [];
    const section = el("section", { class: "panel-section", "aria-labelledby": "panel-equipment" },
      el("h3", { id: "panel-equipment" }, t("panel.equipment")));
    if (items.length === 0) {
      section.append(el("p", { class: "panel-note" }, t("panel.noEquipment")));
      return section;
    }
    section.append(el("ul", { class: "count-list", "data-testid": "unit-equipment" },
      ...items.map((item) => el("li", {},
        el("span", {}, label(EQUIPMENT, item.kind)),
        el("span", { class: "count" }, t("panel.quantity", { n: formatNumber(item.quantity) }))))));
    return section;
  }
}
