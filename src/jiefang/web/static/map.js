// The Leaflet map of Guangzhou with its area layers: district boundaries and, close up,
// comprehensive grids (综合网格) of the visible area. Leaflet is the global `L`.

import { ApiError, request } from "./api.js";
import { areaName, formatNumber, t } from "./i18n.js";

export const GUANGZHOU_CENTER = [23.13, 113.35];
export const GUANGZHOU_ZOOM = 9;
export const GRID_MIN_ZOOM = 13;

// Soft fills so that neighbouring districts read apart on the plain background.
const DISTRICT_FILLS = [
  "#fdf6e3", "#eef6ec", "#eaf1fb", "#fbeff2", "#f1eefb", "#e8f6f4",
  "#fbf3e4", "#f0f4e6", "#eef2f7", "#fcefe8", "#f5f0e6",
];

/**
 * A markercluster `iconCreateFunction`: a round count sized by how many it holds.
 * `limits` are the counts where small turns medium and medium turns large; `sides` the
 * pixel sides of the three sizes; the icon gets the classes `${className} ${className}-<size>`.
 */
export function clusterIconMaker({ className, labelKey, limits, sides }) {
  return (cluster) => {
    const count = cluster.getChildCount();
    const size = count < limits[0] ? "small" : count < limits[1] ? "medium" : "large";
    const side = sides[{ small: 0, medium: 1, large: 2 }[size]];
    const text = document.createElement("span");
    text.textContent = formatNumber(count);
    text.setAttribute("aria-label", t(labelKey, { n: count }));
    return L.divIcon({
      html: text.outerHTML,
      className: `${className} ${className}-${size}`,
      iconSize: L.point(side, side),
    });
  };
}

/** Create the map in `container`, centred on Guangzhou, with panes for the area layers. */
export function createMap(container) {
  const map = L.map(container, {
    center: GUANGZHOU_CENTER,
    zoom: GUANGZHOU_ZOOM,
    minZoom: 7,
    maxZoom: 18,
    zoomSnap: 1,
    zoomControl: false,
  });
  L.control.zoom({ zoomInTitle: t("map.zoomIn"), zoomOutTitle: t("map.zoomOut") }).addTo(map);
  map.createPane("districts").style.zIndex = 380;
  map.createPane("grids").style.zIndex = 390;
  map.createPane("districtLabels").style.zIndex = 395;
  map.getPane("districtLabels").style.pointerEvents = "none";
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  map.attributionControl.setPrefix(false);
  // Where the map is looking, on the element: for styles by zoom and for tests that click places.
  const mark = () => {
    const { lat, lng } = map.getCenter();
    container.dataset.zoom = String(map.getZoom());
    container.dataset.center = `${lat.toFixed(7)},${lng.toFixed(7)}`;
  };
  map.on("moveend zoomend", mark);
  mark();
  return map;
}

/** Put the zoom buttons' names in the selected language. */
export function relabelMapControls(map) {
  const buttons = { ".leaflet-control-zoom-in": "map.zoomIn", ".leaflet-control-zoom-out": "map.zoomOut" };
  for (const [selector, key] of Object.entries(buttons)) {
    const button = map.getContainer().querySelector(selector);
    button?.setAttribute("title", t(key));
    button?.setAttribute("aria-label", t(key));
  }
}

/** Base tiles from the server's map config; returns the layer, or null when none configured. */
export function addBaseTiles(map, config) {
  if (!config || !config.tile_url) {
    map.getContainer().classList.remove("has-tiles");
    return null;
  }
  map.getContainer().classList.add("has-tiles");
  return L.tileLayer(config.tile_url, {
    attribution: config.attribution ?? "",
    maxZoom: 18,
  }).addTo(map);
}

/** District polygons with a permanent label each; labels follow the selected language. */
export class DistrictLayer {
  constructor(map) {
    this.map = map;
    this.layer = null;
    map.on("zoomend", () => this.fitLabels());
  }

  setData(featureCollection) {
    this.clear();
    let index = 0;
    this.layer = L.geoJSON(featureCollection, {
      pane: "districts",
      interactive: false,
      style: () => ({
        className: "district",
        color: "#4b5d75",
        weight: 1.6,
        fillColor: DISTRICT_FILLS[index++ % DISTRICT_FILLS.length],
        fillOpacity: this.map.getContainer().classList.contains("has-tiles") ? 0.12 : 0.92,
      }),
      onEachFeature: (feature, layer) => {
        layer.feature = feature;
        layer.bindTooltip(areaName(feature.properties), {
          permanent: true,
          direction: "center",
          className: "district-label",
          pane: "districtLabels",
          interactive: false,
        });
      },
    }).addTo(this.map);
    for (const path of this.map.getPane("districts").querySelectorAll("path.district")) {
      path.setAttribute("aria-hidden", "true");
    }
    this.fitLabels();
    return this.layer.getLayers().length;
  }

  /** Fade out the labels of districts too small on screen to hold them (the centre at zoom 9). */
  fitLabels() {
    if (!this.layer) return;
    this.layer.eachLayer((layer) => {
      const element = layer.getTooltip()?.getElement();
      if (!element) return;
      const bounds = layer.getBounds();
      const topLeft = this.map.latLngToLayerPoint(bounds.getNorthWest());
      const bottomRight = this.map.latLngToLayerPoint(bounds.getSouthEast());
      const fits = bottomRight.x - topLeft.x > element.offsetWidth * 1.6
        && bottomRight.y - topLeft.y > element.offsetHeight * 3;
      element.classList.toggle("is-cramped", !fits);
    });
  }

  bounds() {
    return this.layer ? this.layer.getBounds() : null;
  }

  relabel() {
    if (!this.layer) return;
    this.layer.eachLayer((layer) => layer.setTooltipContent(areaName(layer.feature.properties)));
    this.fitLabels();
  }

  clear() {
    if (this.layer) this.layer.remove();
    this.layer = null;
  }
}

/**
 * Comprehensive grids of the visible bounding box, shown from GRID_MIN_ZOOM on and reloaded
 * after every move. `onStatus(text|null, tone)` reports loading and refusals (422: too many).
 */
export class GridLayer {
  constructor(map, onStatus) {
    this.map = map;
    this.onStatus = onStatus;
    this.layer = L.geoJSON(null, {
      pane: "grids",
      style: { className: "grid", color: "#2f5d8c", weight: 1, dashArray: "4 3", fillOpacity: 0.03 },
      onEachFeature: (feature, layer) => {
        layer.bindTooltip(() => areaName(feature.properties), { sticky: true, className: "grid-label" });
      },
    });
    this.controller = null;
    this.timer = null;
    this.loadedKey = null;
    this.enabled = false;
    this.onMoveEnd = () => this.scheduleReload();
  }

  enable() {
    if (this.enabled) return;
    this.enabled = true;
    this.map.on("moveend", this.onMoveEnd);
    this.scheduleReload();
  }

  disable() {
    this.enabled = false;
    this.map.off("moveend", this.onMoveEnd);
    this.abort();
    this.hide();
  }

  scheduleReload() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), 200);
  }

  abort() {
    clearTimeout(this.timer);
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  hide() {
    this.layer.clearLayers();
    this.layer.remove();
    this.loadedKey = null;
  }

  async reload() {
    if (!this.enabled) return;
    if (this.map.getZoom() < GRID_MIN_ZOOM) {
      this.abort();
      this.hide();
      this.onStatus(null);
      return;
    }
    const bbox = this.map.getBounds().toBBoxString(); // minLon,minLat,maxLon,maxLat
    if (bbox === this.loadedKey) return;
    this.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.onStatus(t("map.loadingGrids"), "info");
    try {
      const collection = await request(
        `/api/areas/geojson?level=grid&bbox=${encodeURIComponent(bbox)}`,
        { signal: controller.signal },
      );
      if (controller.signal.aborted) return;
      this.layer.clearLayers();
      this.layer.addData(collection);
      this.layer.addTo(this.map);
      this.loadedKey = bbox;
      this.onStatus(null);
    } catch (error) {
      if (error.name === "AbortError") return;
      this.hide();
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 422) {
        this.onStatus(error.serverMessage ?? t("map.gridsTooMany"), "warning");
      } else {
        this.onStatus(t("map.loadFailed", { message: describeError(error) }), "error");
      }
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  relabel() {
    // Tooltips are built on demand from the feature, so only an open one needs refreshing.
    this.layer.eachLayer((layer) => layer.isTooltipOpen() && layer.getTooltip().update());
  }
}

/** Human message for an error: the server's message, or a localised fallback. */
export function describeError(error) {
  if (error instanceof ApiError) {
    if (error.status === 0) return t("error.network");
    return error.serverMessage ?? t("error.generic", { status: error.status });
  }
  console.error(error);
  return String(error.message ?? error);
}
