// The member app's outbox: every action (accept, decline, arrived, SOS, note, reply) is kept in
// localStorage with an Idempotency-Key made when the member acted, and sent — now if the network
// allows, else when it comes back (the `online` event, and retries with backoff). The server runs
// each key at most once, so sending an item again after a lost answer never repeats the action.

import { ApiError, request } from "../api.js";

const STORE_KEY = "jiefang.member.outbox";
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** A fresh idempotency key (a UUID where the browser has one, else 128 random bits). */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** True when an error means "try again later" rather than "this action cannot be done". */
function retryable(error) {
  if (!(error instanceof ApiError)) return true;
  if (error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500) return true;
  return error.status === 409 && error.code === "idempotency_in_flight";
}

/**
 * The outbox. `onChange(items)` after every change of the items; `onDone(item, answer)` when the
 * server took an action; `onFailed(item, error)` when it refused it for good. A refused token (401)
 * keeps the items for the next sign-in (api.js tells the page to show the login).
 */
export class Outbox {
  constructor({ onChange, onDone, onFailed }) {
    this.handlers = { onChange, onDone, onFailed };
    this.items = this.load();
    this.flushing = null;
    this.timer = null;
    this.attempt = 0;
    for (const item of this.items) if (item.state === "sending") item.state = "pending"; // a closed tab
    window.addEventListener("online", () => {
      this.attempt = 0;
      this.flush();
    });
  }

  load() {
    try {
      const items = JSON.parse(localStorage.getItem(STORE_KEY) ?? "[]");
      return Array.isArray(items) ? items : [];
    } catch (error) {
      console.warn("outbox: unreadable store, starting empty", error);
      return [];
    }
  }

  save() {
    localStorage.setItem(STORE_KEY, JSON.stringify(this.items));
    this.handlers.onChange(this.items);
  }

  /** Keep an action (`kind`, POST `path`, JSON `body`, `ref` for the UI) and try to send it. */
  add(kind, path, body, ref = {}) {
    const item = {
      key: newKey(), kind, path, body, ref, state: "pending", at: Date.now(), tries: 0, message: null,
    };
    this.items.push(item);
    this.save();
    this.flush();
    return item;
  }

  /** Put back items taken from a copy of the store (a restored phone, or a lost answer). */
  restore(items) {
    for (const item of items) {
      if (!this.items.some((kept) => kept.key === item.key)) this.items.push({ ...item, state: "pending" });
    }
    this.save();
  }

  /** Forget an item that ended with a message the member has read. */
  dismiss(key) {
    this.items = this.items.filter((item) => item.key !== key);
    this.save();
  }

  pending() {
    return this.items.filter((item) => item.state !== "failed");
  }

  /** Send what waits, oldest first; resolves when done or when the network fails again. */
  flush() {
    if (!this.flushing) {
      this.flushing = this.send().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  async send() {
    clearTimeout(this.timer);
    if (!navigator.onLine) return; // the `online` event starts the next round
    // Oldest first, including what is added while this round runs; failed items stay put.
    for (let item = this.next(); item; item = this.next()) {
      item.state = "sending";
      item.tries += 1;
      this.save();
      try {
        const answer = await request(item.path, {
          method: "POST", body: item.body, headers: { "Idempotency-Key": item.key },
        });
        this.items = this.items.filter((kept) => kept.key !== item.key);
        this.save();
        this.attempt = 0;
        this.handlers.onDone(item, answer);
      } catch (error) {
        if (retryable(error) || error.status === 401) {
          item.state = "pending";
          this.save();
          if (error.status !== 401) this.retryLater();
          return; // keep the order: what comes after waits for this one
        }
        item.state = "failed";
        item.message = error.serverMessage ?? `HTTP ${error.status}`;
        this.save();
        this.handlers.onFailed(item, error);
      }
    }
  }

  next() {
    return this.items.find((item) => item.state === "pending");
  }

  retryLater() {
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), delay * (0.75 + Math.random() * 0.5));
  }
}
