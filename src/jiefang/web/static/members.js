// Members on duty on the map: small circles, clustered until street level, kept in step with
// the positions as they arrive. Built for ~40,000 members:
// - only the unclustered members in view are drawn, so SVG stays small;
// - a few changes are applied to the cluster in place, once a frame at most;
// - many changes (moving a marker costs markercluster ~0.2 ms, a whole city ~0.6 s) are applied
//   by building a second cluster group in time slices while the first stays on screen, then
//   swapping the two; at most every REBUILD_EVERY_MS.

import { request } from "./api.js";
import { t } from "./i18n.js";
import { clusterIconMaker } from "./map.js";

const CLUSTERING_OFF_ZOOM = 17;
const IN_PLACE_LIMIT = 250; // changes applied in place in one go (~50 ms); more: a rebuild
const REBUILD_EVERY_MS = 5_000;
const MEMBER_STYLE = {
  pane: "members",
  className: "member-marker",
  radius: 4, // inside a unit's marker, whose ring stays visible around a member at the post
  color: "#064e3b",
  weight: 1.5,
  fillColor: "#10b981",
  fillOpacity: 0.95,
};

const clusterIcon = clusterIconMaker({
  className: "member-cluster", labelKey: "members.clusterLabel", limits: [100, 1000], sides: [28, 34, 42],
});

/** Names of members, fetched once each from /api/members/{id}; null when not allowed or unknown. */
export class MemberNames {
  constructor() {
    this.pending = new Map(); // id -> Promise<string|null>
    this.names = new Map(); // id -> name, once loaded
  }

  /** The name if already loaded, else null. */
  known(memberId) {
    return this.names.get(memberId) ?? null;
  }

  /** Load a member's name; resolves to null when it cannot be read. */
  load(memberId) {
    if (!this.pending.has(memberId)) {
      const loading = request(`/api/members/${encodeURIComponent(memberId)}`).then(
        (member) => {
          this.names.set(memberId, member.name);
          return member.name;
        },
        (error) => {
          if (error.status !== 403 && error.status !== 404) console.warn("member name", memberId, error);
          return null;
        },
      );
      this.pending.set(memberId, loading);
    }
    return this.pending.get(memberId);
  }

  clear() {
    this.pending.clear();
    this.names.clear();
  }
}

/**
 * The on-duty layer. `onCount(n)` runs whenever the number of members on duty changes;
 * `unitName(unitId)` names a unit for the popups (null if unknown).
 */
export class MemberLayer {
  constructor(map, { names, unitName, onCount }) {
    this.map = map;
    this.names = names;
    this.unitName = unitName;
    this.onCount = onCount;
    // Just over the unit markers (a member at their post stays visible), under tooltips and
    // popups; its empty SVG lets the pointer through to what lies below (style.css).
    map.createPane("members").style.zIndex = 610;
    this.onDuty = new Map(); // member id -> {unitId, lon, lat}: the truth, always current
    this.changed = new Set(); // member ids changed since the shown group was brought in step
    this.rebuildNeeded = true;
    this.shown = this.makeGroup(); // the group on screen ...
    this.spare = this.makeGroup(); // ... and the one built in the background
    this.markers = new Map(); // member id -> marker in the shown group
    this.next = null; // {group, markers} being built, swapped in when complete
    this.busy = false; // a group is taking markers in time slices: leave the groups alone
    this.lastRebuild = -Infinity;
    this.frame = 0;
    this.timer = null;
    this.available = false;
    this.visible = true;
  }

  makeGroup() {
    const group = L.markerClusterGroup({
      // No animation: it drives markers by opacity and position, which circle markers lack.
      animate: false,
      chunkedLoading: true,
      chunkInterval: 50,
      chunkProgress: (done, total) => {
        if (done >= total) this.settled(group);
      },
      maxClusterRadius: 48,
      disableClusteringAtZoom: CLUSTERING_OFF_ZOOM,
      showCoverageOnHover: false,
      spiderfyOnMaxZoom: false,
      iconCreateFunction: clusterIcon,
    });
    group.on("click", (event) => this.openPopup(event.layer));
    group.on("clusterkeydown", (event) => {
      const key = event.originalEvent.key;
      if (key !== "Enter" && key !== " ") return;
      event.originalEvent.preventDefault();
      event.layer.zoomToBounds({ padding: [24, 24] });
    });
    return group;
  }

  get count() {
    return this.onDuty.size;
  }

  /** Show the layer only to those allowed to read positions (false hides and empties it). */
  setAvailable(available) {
    this.available = available;
    if (!available) this.onDuty.clear();
    this.rebuildNeeded = true;
    this.changed.clear();
    this.onCount(this.count);
    this.schedule();
  }

  setVisible(visible) {
    this.visible = visible;
    this.schedule();
  }

  /** Replace everyone with a GET /api/positions/live payload (parallel arrays). */
  setSnapshot({ member_ids: ids, unit_ids: units, lons, lats }) {
    this.onDuty.clear();
    for (let i = 0; i < ids.length; i += 1) {
      this.onDuty.set(ids[i], { unitId: units[i], lon: lons[i], lat: lats[i] });
    }
    this.rebuildNeeded = true;
    this.changed.clear();
    this.onCount(this.count);
    this.schedule();
  }

  /** Apply a "positions" event: `moved` rows [member, unit, lon, lat], `gone` member ids. */
  update(moved = [], gone = []) {
    if (!this.available) return;
    for (const [memberId, unitId, lon, lat] of moved) {
      this.onDuty.set(memberId, { unitId, lon, lat });
      this.changed.add(memberId);
    }
    for (const memberId of gone) {
      this.onDuty.delete(memberId);
      this.changed.add(memberId);
    }
    this.onCount(this.count);
    this.schedule();
  }

  schedule() {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.sync();
      });
    }
  }

  /** Bring the shown group in step with `onDuty` and the visibility. */
  sync() {
    if (this.busy) return; // picked up again when the slices are done
    if (!(this.available && this.visible)) {
      this.empty();
      return;
    }
    if (!this.map.hasLayer(this.shown)) {
      this.shown.addTo(this.map);
      this.rebuildNeeded = true;
    }
    if (this.rebuildNeeded) {
      this.rebuild();
    } else if (this.changed.size > IN_PLACE_LIMIT) {
      const wait = this.lastRebuild + REBUILD_EVERY_MS - performance.now();
      if (wait <= 0) this.rebuild();
      else if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.schedule();
        }, wait);
      }
    } else if (this.changed.size) {
      this.applyInPlace();
    }
  }

  /** Build the spare group from `onDuty`; it replaces the shown one once complete (settled). */
  rebuild() {
    const markers = new Map();
    for (const [memberId, member] of this.onDuty) markers.set(memberId, this.makeMarker(memberId, member));
    this.rebuildNeeded = false;
    this.changed.clear();
    this.lastRebuild = performance.now();
    const group = this.spare;
    // On the map but blank until complete (markercluster draws a group when it is done).
    // First, as being added reports an empty batch complete at once, which must not swap.
    group.addTo(this.map);
    this.next = { group, markers };
    this.busy = true; // before addLayers: a small batch completes (and reports) at once
    group.addLayers([...markers.values()]);
  }

  applyInPlace() {
    const removed = [];
    const moved = [];
    const added = [];
    for (const memberId of this.changed) {
      const member = this.onDuty.get(memberId);
      const marker = this.markers.get(memberId);
      if (!member) {
        if (marker) removed.push(marker);
        this.markers.delete(memberId);
      } else if (!marker) {
        const fresh = this.makeMarker(memberId, member);
        this.markers.set(memberId, fresh);
        added.push(fresh);
      } else {
        marker.member = { id: memberId, ...member };
        const at = marker.getLatLng();
        if (at.lat !== member.lat || at.lng !== member.lon) moved.push(marker);
      }
    }
    this.changed.clear();
    // Out of the group first, so that moving a marker does not re-cluster it one by one.
    this.shown.removeLayers([...removed, ...moved]);
    for (const marker of moved) marker.setLatLng([marker.member.lat, marker.member.lon]);
    this.busy = true;
    this.shown.addLayers([...moved, ...added]);
  }

  /** A group has taken all its markers: swap a rebuilt one in, then catch up. */
  settled(group) {
    this.busy = false;
    if (this.next?.group === group) {
      const old = this.shown;
      this.shown = group;
      this.markers = this.next.markers;
      this.spare = old;
      this.next = null;
      old.remove();
      old.clearLayers();
    }
    if (this.rebuildNeeded || this.changed.size || !(this.available && this.visible)) this.schedule();
  }

  /** Take both groups off the map and forget their markers. */
  empty() {
    for (const group of [this.shown, this.spare]) {
      group.remove();
      group.clearLayers();
    }
    this.markers.clear();
    this.rebuildNeeded = true;
    this.changed.clear();
  }

  makeMarker(memberId, member) {
    const marker = L.circleMarker([member.lat, member.lon], MEMBER_STYLE);
    marker.member = { id: memberId, ...member };
    return marker;
  }

  openPopup(marker) {
    const { id, unitId } = marker.member;
    const content = document.createElement("div");
    content.className = "member-popup";
    const name = document.createElement("strong");
    const unit = document.createElement("span");
    const fill = () => {
      name.textContent = this.names.known(id) ?? t("members.fallbackName", { id });
      const unitName = this.unitName(unitId);
      unit.textContent = unitName ? t("members.unit", { unit: unitName }) : "";
    };
    fill();
    content.append(name, unit);
    L.popup({ offset: [0, -4] }).setLatLng(marker.getLatLng()).setContent(content).openOn(this.map);
    this.names.load(id).then(fill);
  }

  relabel() {
    if (this.map.hasLayer(this.shown)) this.shown.refreshClusters();
  }

  /** Forget everyone (sign-out); groups still taking markers are emptied once they are done. */
  clear() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    clearTimeout(this.timer);
    this.timer = null;
    this.available = false;
    this.onDuty.clear();
    this.changed.clear();
    this.rebuildNeeded = true;
    if (this.busy) this.schedule();
    else this.empty();
    this.onCount(0);
  }
}
