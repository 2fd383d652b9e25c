// Minimum emergency units on the map: clustered lightweight markers coloured by site category
// and ringed while someone of the unit is on duty, and the legend that names the colours and
// filters categories.

import { CATEGORIES, formatNumber, label, t } from "./i18n.js";
import { clusterIconMaker } from "./map.js";

export const CLUSTERING_OFF_ZOOM = 16;
const FOCUS_ZOOM = 15; // close enough to see the unit's grid and its neighbours

const ICONS = Object.fromEntries(
  Object.keys(CATEGORIES).map((category) => [
    category,
    L.divIcon({ className: `unit-marker cat-${category}`, iconSize: [14, 14], html: "" }),
  ]),
);
const FALLBACK_ICON = L.divIcon({ className: "unit-marker cat-unknown", iconSize: [14, 14] });

// A marker that tags its element with the unit id (for tests and styling) and a spoken label.
const UnitMarker = L.Marker.extend({
  onAdd(map) {
    L.Marker.prototype.onAdd.call(this, map);
    const element = this.getElement();
    element.dataset.unitId = String(this.unit.id);
    element.dataset.testid = "unit-marker";
    element.classList.toggle("is-selected", this.selected === true);
    element.classList.toggle("is-staffed", this.staffed === true);
    describeMarker(this);
    return this;
  },
});

function describeMarker(marker) {
  const element = marker.getElement();
  if (!element) return;
  const staffed = marker.staffed ? ` · ${t("units.staffed")}` : "";
  const text = `${marker.unit.name} · ${label(CATEGORIES, marker.unit.category)}${staffed}`;
  element.setAttribute("aria-label", text);
  element.title = text;
}

function isActivation(keyEvent) {
  if (keyEvent.key !== "Enter" && keyEvent.key !== " ") return false;
  keyEvent.preventDefault(); // no page scroll on Space
  return true;
}

const clusterIcon = clusterIconMaker({
  className: "unit-cluster", labelKey: "map.clusterLabel", limits: [50, 500], sides: [32, 40, 50],
});

/** All units of the city as one clustered layer; `onSelect(unit)` runs on click or Enter. */
export class UnitLayer {
  constructor(map, onSelect) {
    this.map = map;
    this.onSelect = onSelect;
    this.markers = new Map(); // unit id -> marker
    this.hidden = new Set(); // categories switched off in the legend
    this.selectedId = null;
    this.cluster = L.markerClusterGroup({
      chunkedLoading: true,
      chunkInterval: 100,
      maxClusterRadius: 56,
      disableClusteringAtZoom: CLUSTERING_OFF_ZOOM,
      showCoverageOnHover: false,
      spiderfyOnMaxZoom: false,
      iconCreateFunction: clusterIcon,
    }).addTo(map);
    // One listener on the group rather than one per marker: 23,000 markers at full scale.
    this.cluster.on("click", (event) => this.onSelect(event.layer.unit));
    // Leaflet makes markers focusable but only opens popups on Enter; activate ours by hand.
    this.cluster.on("keydown", (event) => {
      if (isActivation(event.originalEvent)) this.onSelect(event.layer.unit);
    });
    this.cluster.on("clusterkeydown", (event) => {
      if (isActivation(event.originalEvent)) event.layer.zoomToBounds({ padding: [24, 24] });
    });
  }

  /** Replace the units with an /api/units/points payload; returns the list of units. */
  setPoints(payload) {
    this.clear();
    const column = Object.fromEntries(payload.fields.map((name, index) => [name, index]));
    const units = payload.rows.map((row) => ({
      id: row[column.id],
      lon: row[column.lon],
      lat: row[column.lat],
      category: row[column.category],
      status: row[column.status],
      name: row[column.name],
    }));
    const visible = [];
    for (const unit of units) {
      const marker = new UnitMarker([unit.lat, unit.lon], {
        icon: ICONS[unit.category] ?? FALLBACK_ICON,
        keyboard: true,
        riseOnHover: true,
      });
      marker.unit = unit;
      this.markers.set(unit.id, marker);
      if (!this.hidden.has(unit.category)) visible.push(marker);
    }
    this.cluster.addLayers(visible);
    return units;
  }

  /** Mark the units with someone on duty (a ring round their marker); the others stay plain. */
  setStaffed(unitIds) {
    for (const [unitId, marker] of this.markers) {
      const staffed = unitIds.has(unitId);
      if (marker.staffed === staffed) continue;
      marker.staffed = staffed;
      marker.getElement()?.classList.toggle("is-staffed", staffed);
      describeMarker(marker);
    }
    document.body.dataset.unitsStaffed = String(unitIds.size);
  }

  /** The name of a unit on the map, or null. */
  name(unitId) {
    return this.markers.get(unitId)?.unit.name ?? null;
  }

  /** Number of units per category key. */
  countByCategory() {
    const counts = {};
    for (const marker of this.markers.values()) {
      counts[marker.unit.category] = (counts[marker.unit.category] ?? 0) + 1;
    }
    return counts;
  }

  setCategoryVisible(category, visible) {
    if (visible) this.hidden.delete(category);
    else this.hidden.add(category);
    const affected = [...this.markers.values()].filter((m) => m.unit.category === category);
    if (visible) this.cluster.addLayers(affected);
    else this.cluster.removeLayers(affected);
  }

  /** Centre the map on a unit close enough for its own marker to show, and highlight it. */
  focus(unitId) {
    const marker = this.markers.get(unitId);
    if (!marker) return;
    if (this.hidden.has(marker.unit.category)) this.setCategoryVisible(marker.unit.category, true);
    this.select(unitId);
    this.map.setView(marker.getLatLng(), Math.max(this.map.getZoom(), FOCUS_ZOOM), { animate: false });
    // A close neighbour may still share its cluster: zoom on until the unit stands alone.
    this.cluster.zoomToShowLayer(marker, () => {});
  }

  select(unitId) {
    const previous = this.markers.get(this.selectedId);
    if (previous) {
      previous.selected = false;
      previous.getElement()?.classList.remove("is-selected");
    }
    this.selectedId = unitId;
    const marker = this.markers.get(unitId);
    if (marker) {
      marker.selected = true;
      marker.getElement()?.classList.add("is-selected");
    }
  }

  relabel() {
    for (const marker of this.markers.values()) describeMarker(marker);
    this.cluster.refreshClusters();
  }

  clear() {
    this.cluster.clearLayers();
    this.markers.clear();
    this.selectedId = null;
  }
}

/**
 * Legend control: one toggle button per category with its colour and count, then one per
 * live layer added with `addOverlay`.
 */
export const Legend = L.Control.extend({
  options: { position: "topright" },

  initialize(units, options) {
    L.Util.setOptions(this, options);
    this.units = units;
    this.counts = {};
    this.overlays = [];
  },

  onAdd() {
    const container = L.DomUtil.create("section", "legend");
    this.collapsed = false;
    container.id = "legend";
    container.dataset.testid = "legend";
    L.DomEvent.disableClickPropagation(container);
    L.DomEvent.disableScrollPropagation(container);
    this.container = container;
    this.render();
    return container;
  },

  setCounts(counts) {
    this.counts = counts;
    this.render();
  },

  /**
   * Add a toggle for a live layer: {key, swatch (class), label(), count(), available(),
   * visible(), setVisible(shown), details() -> [[class, text], ...] for the key below}.
   */
  addOverlay(overlay) {
    this.overlays.push(overlay);
    this.render();
  },

  /** Refresh the live layers' counts in place: they change every few seconds, focus stays put. */
  updateOverlays() {
    if (!this.container) return;
    for (const overlay of this.overlays) {
      const button = this.container.querySelector(`[data-overlay="${overlay.key}"]`);
      if (Boolean(button) !== overlay.available()) {
        this.render(); // a layer came or went: rebuild, keeping the focus where it was
        return;
      }
      if (button) button.querySelector(".legend-count").textContent = formatNumber(overlay.count());
    }
  },

  render() {
    if (!this.container) return;
    const container = this.container;
    const focused = container.contains(document.activeElement) ? document.activeElement : null;
    container.replaceChildren();
    container.setAttribute("aria-labelledby", "legend-title");
    container.classList.toggle("is-collapsed", this.collapsed);
    const title = L.DomUtil.create("h2", "legend-title", container);
    title.id = "legend-title";
    const toggle = L.DomUtil.create("button", "legend-toggle", title);
    toggle.type = "button";
    toggle.id = "legend-toggle";
    toggle.setAttribute("aria-expanded", String(!this.collapsed));
    toggle.setAttribute("aria-controls", "legend-body");
    toggle.textContent = t("legend.title");
    toggle.addEventListener("click", () => {
      this.collapsed = !this.collapsed;
      this.render();
      this.container.querySelector("#legend-toggle").focus();
    });
    const body = L.DomUtil.create("div", "legend-body", container);
    body.id = "legend-body";
    body.hidden = this.collapsed;
    const list = L.DomUtil.create("ul", "legend-list", body);
    for (const category of Object.keys(CATEGORIES)) {
      const item = L.DomUtil.create("li", "", list);
      const button = L.DomUtil.create("button", "legend-item", item);
      button.type = "button";
      button.dataset.category = category;
      const shown = !this.units.hidden.has(category);
      button.setAttribute("aria-pressed", String(shown));
      button.title = t("legend.toggle", { category: label(CATEGORIES, category) });
      L.DomUtil.create("span", `legend-swatch cat-${category}`, button).setAttribute("aria-hidden", "true");
      L.DomUtil.create("span", "legend-label", button).textContent = label(CATEGORIES, category);
      L.DomUtil.create("span", "legend-count", button).textContent = formatNumber(this.counts[category] ?? 0);
      button.addEventListener("click", () => {
        this.units.setCategoryVisible(category, this.units.hidden.has(category));
        this.render();
        this.container.querySelector(`[data-category="${category}"]`)?.focus();
      });
    }
    this.renderOverlays(body);
    const areas = L.DomUtil.create("ul", "legend-areas", body);
    const district = L.DomUtil.create("li", "", areas);
    L.DomUtil.create("span", "legend-line legend-line-district", district).setAttribute("aria-hidden", "true");
    district.append(t("legend.districts"));
    const grid = L.DomUtil.create("li", "", areas);
    L.DomUtil.create("span", "legend-line legend-line-grid", grid).setAttribute("aria-hidden", "true");
    grid.append(t("legend.grids"));
    const staffed = L.DomUtil.create("li", "", areas);
    L.DomUtil.create("span", "legend-shape legend-staffed", staffed).setAttribute("aria-hidden", "true");
    staffed.append(t("legend.staffed"));
    for (const overlay of this.overlays.filter((o) => o.available() && o.details)) {
      for (const [className, text] of overlay.details()) {
        const item = L.DomUtil.create("li", "", areas);
        L.DomUtil.create("span", `legend-shape ${className}`, item).setAttribute("aria-hidden", "true");
        item.append(text);
      }
    }
    L.DomUtil.create("p", "legend-hint", body).textContent = t("map.gridHint");
    if (focused?.dataset.overlay) container.querySelector(`[data-overlay="${focused.dataset.overlay}"]`)?.focus();
    else if (focused?.dataset.category) container.querySelector(`[data-category="${focused.dataset.category}"]`)?.focus();
  },

  renderOverlays(body) {
    const shown = this.overlays.filter((overlay) => overlay.available());
    if (!shown.length) return;
    L.DomUtil.create("h3", "legend-subtitle", body).textContent = t("legend.live");
    const list = L.DomUtil.create("ul", "legend-list", body);
    for (const overlay of shown) {
      const button = L.DomUtil.create("button", "legend-item", L.DomUtil.create("li", "", list));
      button.type = "button";
      button.dataset.overlay = overlay.key;
      button.setAttribute("aria-pressed", String(overlay.visible()));
      button.title = t("legend.toggleLayer", { layer: overlay.label() });
      L.DomUtil.create("span", `legend-swatch ${overlay.swatch}`, button).setAttribute("aria-hidden", "true");
      L.DomUtil.create("span", "legend-label", button).textContent = overlay.label();
      L.DomUtil.create("span", "legend-count", button).textContent = formatNumber(overlay.count());
      button.addEventListener("click", () => {
        overlay.setVisible(!overlay.visible());
        this.render();
        this.container.querySelector(`[data-overlay="${overlay.key}"]`)?.focus();
      });
    }
  },
});
