// Electronic fences (电子围栏) on the map: polygons and circles coloured by kind, each naming
// itself in a tooltip; added and retired as the live feed reports it.

import { FENCE_KINDS, label, t } from "./i18n.js";

// Colours of the kinds; style.css repeats them for the legend (.fence-kind-*).
const KIND_COLOURS = {
  sensitive_area: { color: "#b91c1c", fillColor: "#ef4444" },
  patrol_zone: { color: "#1d4ed8", fillColor: "#3b82f6" },
  incident_perimeter: { color: "#c2410c", fillColor: "#f97316" },
};
const FALLBACK_COLOURS = { color: "#475569", fillColor: "#94a3b8" };
// Drawing order, back to front: a sensitive area inside a patrol zone stays on top.
const STACKING = ["patrol_zone", "incident_perimeter", "sensitive_area"];

function styleOf(kind) {
  return {
    pane: "fences",
    className: `fence fence-${kind}`,
    weight: 2,
    opacity: 0.9,
    fillOpacity: kind === "sensitive_area" ? 0.16 : 0.1,
    dashArray: kind === "incident_perimeter" ? "6 4" : null,
    ...(KIND_COLOURS[kind] ?? FALLBACK_COLOURS),
  };
}

/** The fence's kind in the selected language (the server's Chinese label for an unknown kind). */
export function fenceKindLabel(fence) {
  return fence.kind in FENCE_KINDS ? label(FENCE_KINDS, fence.kind) : fence.kind_label ?? fence.kind;
}

function describe(fence) {
  return t("fences.label", { name: fence.name, kind: fenceKindLabel(fence) });
}

/** A Leaflet layer for a fence: its GeoJSON polygon, or a circle of radius_m metres. */
function draw(fence) {
  const style = styleOf(fence.kind);
  if (fence.polygon) return L.geoJSON(fence.polygon, { ...style, style: () => style });
  const { center_lon: lon, center_lat: lat, radius_m: radius } = fence;
  if ([lon, lat, radius].every(Number.isFinite)) return L.circle([lat, lon], { ...style, radius });
  console.warn("fence without a shape", fence.id);
  return null;
}

/** The fence layer; `onCount(n)` runs whenever the number of fences shown changes. */
export class FenceLayer {
  constructor(map, { onCount }) {
    this.map = map;
    this.onCount = onCount;
    map.createPane("fences").style.zIndex = 397; // over the grids, under units and members
    this.group = L.featureGroup();
    this.layers = new Map(); // fence id -> layer, carrying `.fence`
    this.available = false;
    this.visible = true;
  }

  get count() {
    return this.layers.size;
  }

  /** The fence with this id, if shown. */
  get(fenceId) {
    return this.layers.get(fenceId)?.fence ?? null;
  }

  /** Show the layer only to those allowed to read fences (false hides and empties it). */
  setAvailable(available) {
    this.available = available;
    if (!available) this.removeAll();
    this.show();
  }

  setVisible(visible) {
    this.visible = visible;
    this.show();
  }

  show() {
    const wanted = this.available && this.visible;
    if (wanted && !this.map.hasLayer(this.group)) {
      this.group.addTo(this.map);
      this.restack();
    }
    if (!wanted && this.map.hasLayer(this.group)) this.group.remove();
  }

  /** Replace the fences with a GET /api/fences list. */
  setFences(fences) {
    this.removeAll();
    for (const fence of fences) this.put(fence);
    this.restack();
  }

  /** Add or replace a fence (a retired one is removed). */
  add(fence) {
    this.put(fence);
    this.restack();
  }

  put(fence) {
    this.remove(fence.id);
    if (fence.active === false) return;
    const layer = draw(fence);
    if (!layer) return;
    layer.fence = fence;
    layer.bindTooltip(() => describe(layer.fence), { sticky: true, className: "fence-label" });
    this.layers.set(fence.id, layer);
    this.group.addLayer(layer);
    this.onCount(this.count);
  }

  remove(fenceId) {
    const layer = this.layers.get(fenceId);
    if (!layer) return;
    this.group.removeLayer(layer);
    this.layers.delete(fenceId);
    this.onCount(this.count);
  }

  restack() {
    if (!this.map.hasLayer(this.group)) return; // paths exist on the map only
    for (const kind of STACKING) {
      for (const layer of this.layers.values()) if (layer.fence.kind === kind) layer.bringToFront();
    }
  }

  removeAll() {
    this.group.clearLayers();
    this.layers.clear();
    this.onCount(0);
  }

  relabel() {
    // Tooltips are built on demand, so only an open one needs refreshing.
    for (const layer of this.layers.values()) {
      if (layer.isTooltipOpen()) layer.getTooltip().update();
    }
  }

  clear() {
    this.available = false;
    this.removeAll();
    this.show();
  }
}
