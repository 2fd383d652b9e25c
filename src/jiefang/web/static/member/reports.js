// Hazard reports (弱信号) from the member app: category, what they see, photos and the phone's
// position, sent as multipart to POST /api/reports; then the member follows each report's status.
// The multipart body is built once, so a retry with the same Idempotency-Key sends the same bytes.

import { ApiError, epochSeconds, getToken, request } from "../api.js";
import { formatTime, language, t } from "../i18n.js";
import { newKey } from "./queue.js";

export class HazardReports {
  /** `position()` resolves to the phone's fix {lon, lat} (or rejects); `notify(text, kind)`. */
  constructor({ form, category, text, photos, list, position, notify }) {
    Object.assign(this, { form, category, text, photos, list, position, notify });
    this.categories = [];
    this.mine = [];
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  async load() {
    try {
      [this.categories, this.mine] = await Promise.all([
        request("/api/reports/categories"), request("/api/reports/mine"),
      ]);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 0) console.info("reports:", error);
    }
    this.render();
  }

  async submit() {
    const data = new FormData();
    data.set("category", this.category.value);
    data.set("text", this.text.value.trim());
    try {
      const fix = await this.position();
      data.set("lon", String(fix.lon));
      data.set("lat", String(fix.lat));
    } catch {
      // without a fix the server reads the first photo's GPS
    }
    for (const file of this.photos.files) data.append("photos", file);
    const body = new Response(data);
    const blob = await body.blob(); // one boundary for every retry of this key
    const headers = { Authorization: `Bearer ${getToken()}`, "Idempotency-Key": newKey(),
      "Content-Type": body.headers.get("Content-Type") };
    this.notify(t("member.hazard.sending"), "info");
    for (let attempt = 0; attempt < 3; attempt += 1) {
      let response;
      try {
        response = await fetch("/api/reports", { method: "POST", headers, body: blob });
      } catch {
        if (!navigator.onLine) break;
        await new Promise((done) => setTimeout(done, 1000 * (attempt + 1)));
        continue;
      }
      const answer = await response.json().catch(() => null);
      if (response.ok) {
        this.notify(t("member.hazard.sent", { id: answer.id }), "ok");
        this.form.reset();
        this.mine = [answer, ...this.mine.filter((r) => r.id !== answer.id)];
        this.render();
        return;
      }
      if (response.status !== 409) {
        this.notify(answer?.message ?? `HTTP ${response.status}`, "error");
        return;
      }
      await new Promise((done) => setTimeout(done, 1000)); // the same key still in flight
    }
    this.notify(t("member.hazard.offline"), "error");
  }

  /** A report.status event for one of the member's reports. */
  changed(event) {
    const report = this.mine.find((r) => r.id === event.report_id);
    if (!report) {
      this.load();
      return;
    }
    report.status = event.status;
    report.updates = [...(report.updates ?? []), { at: new Date().toISOString(), status: event.status,
      note: event.note ?? null }];
    this.render();
  }

  render() {
    const chosen = this.category.value;
    this.category.replaceChildren(...this.categories.map((c) => {
      const option = document.createElement("option");
      option.value = c.code;
      option.textContent = language() === "en" ? c.name_en : c.name_zh;
      return option;
    }));
    if (chosen) this.category.value = chosen;
    if (!this.mine.length) {
      const empty = document.createElement("li");
      empty.className = "m-muted";
      empty.textContent = t("member.hazard.none");
      this.list.replaceChildren(empty);
      return;
    }
    this.list.replaceChildren(...this.mine.map((r) => {
      const item = document.createElement("li");
      item.dataset.report = String(r.id);
      item.dataset.status = r.status;
      item.dataset.testid = "my-report";
      const when = formatTime(epochSeconds(r.created_at));
      item.textContent = `#${r.id} ${r.category_name ?? r.category} · ${when} · `;
      const status = document.createElement("strong");
      status.textContent = t(`member.hazard.status.${r.status}`);
      item.append(status);
      return item;
    }));
  }
}
