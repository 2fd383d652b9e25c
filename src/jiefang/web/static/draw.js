// Drawing a shape on the map, for map selection (地图圈选) and the fence editor.
// Circle: click the centre, then click at the edge. Polygon: click each corner, then double-click,
// press Enter or call finish(). Escape cancels; Backspace takes back the last corner.

const STYLE = {
  color: "#7c3aed", weight: 2, fillColor: "#a78bfa", fillOpacity: 0.15, dashArray: "6 4", interactive: false,
};
const MIN_RADIUS_M = 10;

/** A closed GeoJSON ring from Leaflet corners, in [lon, lat] order. */
function ring(corners) {
  const coordinates = corners.map((p) => [p.lng, p.lat]);
  return [...coordinates, coordinates[0]];
}

export class DrawTool {
  constructor(map) {
    this.map = map;
    this.layer = L.layerGroup().addTo(map);
    this.mode = null;
    this.corners = [];
    this.centre = null;
    this.shape = null; // the finished selection, kept on the map until clear()
    this.handlers = {
      click: (event) => this.click(event.latlng),
      dblclick: (event) => {
        L.DomEvent.stop(event);
        this.finish();
      },
      mousemove: (event) => this.preview(event.latlng),
    };
    this.keydown = (event) => this.key(event);
  }

  get active() {
    return this.mode !== null;
  }

  /** Start drawing a "circle" or a "polygon"; `onDone(selection)` gets the API's selection shape. */
  start(mode, onDone, onChange = () => {}) {
    this.cancel();
    this.clear();
    this.mode = mode;
    this.onDone = onDone;
    this.onChange = onChange;
    this.corners = [];
    this.centre = null;
    this.map.doubleClickZoom.disable();
    this.map.getContainer().classList.add("drawing");
    this.map.on(this.handlers);
    document.addEventListener("keydown", this.keydown);
  }

  cancel() {
    if (!this.mode) return;
    this.stop();
    this.layer.clearLayers();
    this.shape = null;
  }

  clear() {
    this.layer.clearLayers();
    this.shape = null;
  }

  /** Show picked areas (GeoJSON features) as the selection. */
  showAreas(features) {
    this.layer.clearLayers();
    if (features.length) L.geoJSON(features, { style: () => ({ ...STYLE, dashArray: null }) }).addTo(this.layer);
  }

  stop() {
    this.mode = null;
    this.map.off(this.handlers);
    this.map.doubleClickZoom.enable();
    this.map.getContainer().classList.remove("drawing");
    document.removeEventListener("keydown", this.keydown);
  }

  key(event) {
    if (event.key === "Escape") this.cancel();
    else if (event.key === "Enter") this.finish();
    else if (event.key === "Backspace" && this.mode === "polygon" && this.corners.length) {
      this.corners.pop();
      this.redraw();
    } else return;
    event.preventDefault();
  }

  click(latlng) {
    if (this.mode === "circle") {
      if (!this.centre) {
        this.centre = latlng;
        this.redraw(latlng);
      } else {
        this.finishCircle(latlng);
      }
      return;
    }
    const last = this.corners.at(-1);
    if (!last || !last.equals(latlng)) this.corners.push(latlng); // a double-click clicks twice
    this.redraw();
  }

  preview(latlng) {
    if (this.mode === "circle" && this.centre) this.redraw(latlng);
    if (this.mode === "polygon" && this.corners.length) this.redraw(latlng);
  }

  redraw(pointer = null) {
    this.layer.clearLayers();
    if (this.mode === "circle" && this.centre) {
      const radius = pointer ? this.map.distance(this.centre, pointer) : 0;
      L.circle(this.centre, { ...STYLE, radius }).addTo(this.layer);
    } else if (this.mode === "polygon") {
      const points = pointer ? [...this.corners, pointer] : this.corners;
      if (points.length >= 2) L.polygon(points, STYLE).addTo(this.layer);
      for (const corner of this.corners) {
        L.circleMarker(corner, { radius: 4, color: STYLE.color, fillOpacity: 1, interactive: false }).addTo(this.layer);
      }
    }
    this.onChange(this.corners.length);
  }

  /** Finish the polygon (at least three corners); returns false when it is not complete yet. */
  finish() {
    if (this.mode !== "polygon" || this.corners.length < 3) return false;
    const selection = { kind: "polygon", polygon: { type: "Polygon", coordinates: [ring(this.corners)] } };
    this.stop();
    this.layer.clearLayers();
    this.shape = L.polygon(this.corners, { ...STYLE, dashArray: null }).addTo(this.layer);
    this.onDone(selection);
    return true;
  }

  finishCircle(edge) {
    const radius = this.map.distance(this.centre, edge);
    if (radius < MIN_RADIUS_M) return;
    const selection = {
      kind: "circle", center_lon: this.centre.lng, center_lat: this.centre.lat, radius_m: Math.round(radius),
    };
    this.stop();
    this.layer.clearLayers();
    this.shape = L.circle(this.centre, { ...STYLE, dashArray: null, radius }).addTo(this.layer);
    this.onDone(selection);
  }
}
