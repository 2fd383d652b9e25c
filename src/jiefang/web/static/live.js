// Client of the live-event socket /api/ws: signs in with the page's token, hands every event
// on, and after a drop reconnects with backoff asking for what it missed (`since`).

import { getToken } from "./api.js";

const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
const PING_EVERY_MS = 25_000; // keeps idle proxies from closing the socket
const UNAUTHORIZED = 4401;

/**
 * The event feed. Handlers:
 * - `onEvent(event)` for every new event, in order, each once;
 * - `onReload()` when the state must be fetched afresh: first connection, a restarted server,
 *   or the server's "resync" (it no longer holds all the events missed since `since`);
 * - `onState("connecting" | "live" | "offline")`;
 * - `onUnauthorized()` when the server refuses the token (the feed then stops).
 */
export class LiveFeed {
  constructor({ onEvent, onReload, onState, onUnauthorized }) {
    this.handlers = { onEvent, onReload, onState, onUnauthorized };
    this.socket = null;
    this.stopped = true;
    this.lastSeq = null;
    this.needsReload = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.lastSeq = null;
    this.needsReload = true;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = null; // its close event is then ignored
    if (socket) socket.close(1000);
  }

  connect() {
    const token = getToken();
    if (!token) {
      this.stop();
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/api/ws`);
    this.socket = socket;
    this.handlers.onState("connecting");
    socket.addEventListener("open", () => {
      const auth = { type: "auth", token };
      if (!this.needsReload && this.lastSeq !== null) auth.since = this.lastSeq;
      socket.send(JSON.stringify(auth));
    });
    socket.addEventListener("message", (message) => {
      if (this.socket === socket) this.receive(message.data);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket === socket) this.closed(event);
    });
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch (error) {
      console.warn("live feed: a frame that is not JSON", error);
      return;
    }
    switch (message.type) {
      case "hello":
        this.greeted(message.seq);
        return;
      case "resync":
        this.needsReload = true; // the server closes the socket next; reload on the next hello
        return;
      case "error":
        console.warn("live feed:", message.error, message.message);
        return;
      case "pong":
      case "ack":
        return;
      default:
        break;
    }
    if (typeof message.seq === "number") {
      // A replay after reconnecting may overlap the live events: take each number once.
      if (this.lastSeq !== null && message.seq <= this.lastSeq) return;
      this.lastSeq = message.seq;
    }
    this.handlers.onEvent(message);
  }

  greeted(seq) {
    this.attempt = 0;
    const restarted = this.lastSeq !== null && seq < this.lastSeq;
    const reload = this.needsReload || this.lastSeq === null || restarted;
    if (reload) {
      this.lastSeq = seq;
      this.needsReload = false;
    }
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_EVERY_MS);
    this.handlers.onState("live");
    if (reload) this.handlers.onReload();
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  closed(event) {
    this.socket = null;
    clearInterval(this.pingTimer);
    if (this.stopped) return;
    this.handlers.onState("offline");
    if (event.code === UNAUTHORIZED) {
      this.stopped = true;
      this.handlers.onUnauthorized();
      return;
    }
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    // Jitter, so that a restarted server is not hit by every console at the same instant.
    this.retryTimer = setTimeout(() => this.connect(), backoff * (0.75 + Math.random() * 0.5));
  }
}
