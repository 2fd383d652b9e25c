// Map selection (地图圈选) and group commands (群指令) in the console: what a drawn shape holds,
// composing a command to the members on duty inside, and following its receipts live.

import { epochSeconds, request } from "./api.js";
import { PRIORITIES } from "./console-strings.js";
import { LoadedView, button, choice, field, notice } from "./console.js";
import { CATEGORIES, formatNumber, formatTime, label, t } from "./i18n.js";
import { describeError } from "./map.js";
import { el } from "./panel.js";

const LISTED = 50;

function counts(title, entries, describe = (key) => key) {
  return el("div", { class: "counts" }, el("h4", {}, title), el("ul", {},
    ...Object.entries(entries).map(([key, n]) => el("li", {}, `${describe(key)} `, el("strong", {}, formatNumber(n))))));
}

/** What a selection holds, and the form to send it a group command. */
export class SelectionView extends LoadedView {
  constructor(ctx, selection) {
    super(ctx, "selection");
    this.selection = selection;
    this.result = null;
  }

  title() {
    return t("selection.title");
  }

  async fetch() {
    this.result = await request("/api/selection", { method: "POST", body: this.selection });
  }

  render(body) {
    if (this.error) body.append(notice(this.error));
    const r = this.result;
    if (!r) {
      if (!this.error) body.append(el("p", {}, t("console.loading")));
      return;
    }
    body.append(el("dl", { class: "selection-summary", "data-testid": "selection-summary" },
      el("dt", {}, t("selection.area", { km2: r.area_km2.toFixed(2) })),
      el("dd", { "data-testid": "selection-units", "data-value": String(r.units) },
        t("selection.units", { n: formatNumber(r.units) })),
      el("dd", { "data-testid": "selection-members", "data-value": String(r.members) },
        t("selection.members", { n: formatNumber(r.members) }))));
    if (r.units) body.append(counts(t("selection.byCategory"), r.units_by_category, (k) => label(CATEGORIES, k)));
    if (this.drilled !== undefined) body.append(notice(t("selection.drilled", { n: this.drilled }), "info"));
    else if (r.units) {
      body.append(el("p", {}, button("selection.drill", () => this.drill(), { "data-testid": "selection-drill" })));
    }
    if (r.members) body.append(counts(t("selection.bySkill"), r.members_by_skill, (k) => this.ctx.skillName(k)));
    if (!r.members) {
      body.append(el("p", { class: "console-empty" }, t("selection.nobody")));
      return;
    }
    const people = el("ul", { class: "console-list compact", "data-testid": "selection-list" },
      ...r.member_list.slice(0, LISTED).map((m) => el("li", { "data-member": String(m.member_id) },
        `${m.name} · ${m.unit_name}`)));
    if (r.members > LISTED) people.append(el("li", {}, t("selection.more", { n: r.members - LISTED })));
    body.append(people, this.compose(r.members));
  }

  /** Launch a readiness drill (拉动测试) of every unit inside, now. */
  async drill() {
    try {
      const drills = await request("/api/drills/adhoc", { method: "POST", body: { selection: this.selection } });
      this.drilled = drills.length;
      } catch (error) {
      this.error = describeError(error);
    }
    this.ctx.panel.render();
  }

  compose(n) {
    const text = el("textarea", { rows: "3", maxlength: "1000", required: "", "data-testid": "command-text" });
    const priority = choice(Object.keys(PRIORITIES).map((k) => [k, label(PRIORITIES, k)]), "normal",
      { "data-testid": "command-priority" });
    const reply = el("input", { type: "checkbox", "data-testid": "command-reply" });
    const form = el("form", { class: "console-section console-form", "data-testid": "command-form" },
      el("h3", {}, t("command.compose")), field("command.text", text), field("command.priority", priority),
      el("label", { class: "checkbox" }, reply, ` ${t("command.replyRequired")}`),
      el("button", { type: "submit", class: "button button-primary", "data-testid": "command-send" },
        t("command.send", { n: formatNumber(n) })));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!text.value.trim()) return;
      form.querySelector("button[type=submit]").disabled = true;
      try {
        const sent = await request("/api/commands", { method: "POST", body: {
          selection: this.selection, text: text.value.trim(), priority: priority.value, reply_required: reply.checked,
        } });
        this.ctx.openCommand(sent.id);
      } catch (error) {
        this.error = describeError(error);
        this.ctx.panel.render();
      }
    });
    return form;
  }

  dispose() {
    super.dispose();
    this.ctx.draw.clear();
  }
}

/** A sent command and each recipient's receipt, kept current by command.receipt events. */
export class CommandView extends LoadedView {
  constructor(ctx, commandId) {
    super(ctx, "command");
    this.id = commandId;
    this.reopen = () => new CommandView(ctx, commandId);
    this.command = null;
  }

  title() {
    return t("command.title", { id: this.id });
  }

  async fetch() {
    this.command = await request(`/api/commands/${this.id}`);
  }

  onEvent(event) {
    if (event.type !== "command.receipt" || event.command_id !== this.id || !this.command) return;
    const receipt = this.command.receipts.find((r) => r.member_id === event.member_id);
    if (!receipt) return;
    Object.assign(receipt, {
      delivered_at: event.delivered_at, read_at: event.read_at, reply: event.reply, replied_at: event.replied_at,
    });
    const all = this.command.receipts;
    this.command.delivered = all.filter((r) => r.delivered_at).length;
    this.command.read = all.filter((r) => r.read_at).length;
    this.command.replied = all.filter((r) => r.replied_at).length;
    this.ctx.panel.render();
  }

  render(body) {
    if (this.error) body.append(notice(this.error));
    const c = this.command;
    if (!c) return;
    const when = (iso) => (iso ? formatTime(epochSeconds(iso)) : "");
    body.append(
      el("blockquote", { class: `command-text priority-${c.priority}` }, c.text),
      el("p", {}, `${label(PRIORITIES, c.priority)} · `, t("command.sentBy", { sender: c.sender, time: when(c.sent_at) })),
      el("p", { "data-testid": "command-progress", "data-delivered": String(c.delivered), "data-read": String(c.read),
        "data-replied": String(c.replied) },
      t("command.progress", { delivered: c.delivered, n: c.recipients, read: c.read, replied: c.replied })));
    const head = el("tr", {}, ...["incident.member", "command.delivered", "command.read", "command.reply"]
      .map((key) => el("th", { scope: "col" }, t(key))));
    const rows = c.receipts.map((r) => el("tr", {
      "data-member": String(r.member_id),
      "data-state": r.replied_at ? "replied" : r.read_at ? "read" : r.delivered_at ? "delivered" : "pending",
    },
    el("td", {}, r.name, el("br"), el("small", {}, r.unit_name)),
    el("td", {}, r.delivered_at ? when(r.delivered_at) : t("command.pending")),
    el("td", {}, when(r.read_at)),
    el("td", { class: "reply" }, r.reply ?? "")));
    body.append(el("table", { class: "console-table", "data-testid": "receipts" },
      el("thead", {}, head), el("tbody", {}, ...rows)));
  }

}

/** Commands sent in the operator's scope, newest first. */
export class CommandListView extends LoadedView {
  constructor(ctx) {
    super(ctx, "commands");
    this.reopen = () => new CommandListView(ctx);
    this.commands = null;
  }

  title() {
    return t("command.history");
  }

  async fetch() {
    this.commands = await request("/api/commands?limit=50");
  }

  onEvent(event) {
    if (event.type.startsWith("command.")) this.load();
  }

  render(body) {
    if (this.error) body.append(notice(this.error));
    if (!this.commands) return;
    if (!this.commands.length) {
      body.append(el("p", { class: "console-empty" }, t("command.none")));
      return;
    }
    body.append(el("ul", { class: "console-list" }, ...this.commands.map((c) => {
      const row = el("button", { type: "button", class: "console-row" },
        el("strong", {}, c.text.length > 40 ? `${c.text.slice(0, 40)}…` : c.text),
        el("span", {}, t("command.progress", {
          delivered: c.delivered, n: c.recipients, read: c.read, replied: c.replied,
        })));
      row.addEventListener("click", () => this.ctx.openCommand(c.id, true));
      return el("li", {}, row);
    })));
  }

}
