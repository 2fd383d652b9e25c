// Push-to-talk (对讲) in the browser: a talk group picker, a hold-to-talk button, what others say
// played as it arrives, text messages and the group's recorded history.
// Audio is captured with MediaRecorder (Opus in WebM) and sent in 100 ms chunks over the voice
// socket; received chunks are played through Media Source Extensions without decoding here.

import { epochSeconds, getToken, request } from "./api.js";
import { addStrings, formatTime, t } from "./i18n.js";
import { el } from "./dom.js";

addStrings({
  zh: {
    "voice.title": "对讲",
    "voice.group": "通话组",
    "voice.hold": "按住说话",
    "voice.talking": "正在讲话…松开结束",
    "voice.busy": "{speaker} 正在讲话",
    "voice.idle": "频道空闲",
    "voice.speaking": "{speaker} 讲话中",
    "voice.connecting": "正在连接对讲…",
    "voice.offline": "对讲连接中断，正在重连…",
    "voice.noMic": "无法使用麦克风：{message}",
    "voice.revoked": "发言已被结束（{reason}）",
    "voice.removed": "您已不在该通话组",
    "voice.message": "文字消息",
    "voice.send": "发送",
    "voice.history": "通话记录",
    "voice.play": "播放",
    "voice.noHistory": "暂无通话记录",
    "voice.seconds": "{n} 秒",
  },
  en: {
    "voice.title": "Push to talk",
    "voice.group": "Talk group",
    "voice.hold": "Hold to talk",
    "voice.talking": "Talking… release to end",
    "voice.busy": "{speaker} is talking",
    "voice.idle": "Channel free",
    "voice.speaking": "{speaker} is talking",
    "voice.connecting": "Connecting push-to-talk…",
    "voice.offline": "Push-to-talk lost, reconnecting…",
    "voice.noMic": "Cannot use the microphone: {message}",
    "voice.revoked": "Your transmission was ended ({reason})",
    "voice.removed": "You are no longer in this talk group",
    "voice.message": "Text message",
    "voice.send": "Send",
    "voice.history": "Recordings",
    "voice.play": "Play",
    "voice.noHistory": "No recordings yet",
    "voice.seconds": "{n} s",
  },
});

const MIME = "audio/webm;codecs=opus";
const CHUNK_MS = 100;
const RETRY_MS = 3000;

/** Plays one incoming transmission: WebM/Opus chunks appended to a MediaSource as they come. */
class Playback {
  constructor(mime, onPlaying) {
    this.queue = [];
    this.ended = false;
    this.audio = new Audio();
    this.audio.autoplay = true;
    this.source = new MediaSource();
    this.audio.src = URL.createObjectURL(this.source);
    this.audio.addEventListener("playing", onPlaying, { once: true });
    this.source.addEventListener("sourceopen", () => {
      const type = MediaSource.isTypeSupported(mime) ? mime : 'audio/webm; codecs="opus"';
      this.buffer = this.source.addSourceBuffer(type);
      this.buffer.addEventListener("updateend", () => this.pump());
      this.pump();
    }, { once: true });
  }

  push(chunk) {
    this.queue.push(chunk);
    this.pump();
  }

  end() {
    this.ended = true;
    this.pump();
  }

  pump() {
    if (!this.buffer || this.buffer.updating) return;
    if (this.queue.length) {
      this.buffer.appendBuffer(this.queue.shift());
      return;
    }
    if (this.ended && this.source.readyState === "open") this.source.endOfStream();
  }

  stop() {
    this.audio.pause();
    URL.revokeObjectURL(this.audio.src);
  }
}

/** The push-to-talk panel; `mount(container)` renders it, `stop()` closes the socket. */
export class VoicePanel {
  /** `preempt`: an operator's press takes the floor from a member who holds it. */
  constructor({ preempt = false } = {}) {
    this.preempt = preempt;
    this.socket = null;
    this.groups = [];
    this.groupId = null;
    this.state = "connecting";
    this.speaker = null;
    this.talking = false;
    this.recorder = null;
    this.playbacks = new Map(); // tx id -> Playback
    this.messages = [];
    this.history = [];
    this.error = null;
    this.stats = { framesIn: 0, framesOut: 0, played: 0 };
    this.stopped = false;
  }

  async start() {
    this.stopped = false;
    try {
      this.groups = await request("/api/voice/groups");
    } catch (error) {
      this.error = error.serverMessage ?? String(error);
    }
    if (this.groupId === null && this.groups.length) this.groupId = this.groups[0].id;
    this.connect();
    this.loadGroup();
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/voice/ws`);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", token: getToken() })));
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.state = "offline";
      this.endTalk(false);
      this.render();
      if (!this.stopped) this.retry = setTimeout(() => this.connect(), RETRY_MS);
    });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    this.endTalk(false);
    for (const playback of this.playbacks.values()) playback.stop();
    this.playbacks.clear();
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  receive(data) {
    if (data instanceof ArrayBuffer) {
      const txId = new DataView(data).getUint32(0);
      this.stats.framesIn += 1;
      document.body.dataset.voiceFramesIn = String(this.stats.framesIn);
      this.playbacks.get(txId)?.push(data.slice(4));
      return;
    }
    const message = JSON.parse(data);
    switch (message.type) {
      case "hello":
        this.state = "live";
        if (this.groupId !== null) this.send({ type: "join", group_id: this.groupId });
        break;
      case "joined":
        this.speaker = message.speaker;
        break;
      case "floor":
        this.startRecording(message.tx_id);
        break;
      case "busy":
        this.talking = false;
        this.speaker = message.speaker;
        break;
      case "tx_start":
        this.speaker = message.speaker;
        this.playbacks.set(message.tx_id, new Playback(message.mime, () => {
          this.stats.played += 1;
          document.body.dataset.voicePlayed = String(this.stats.played);
        }));
        break;
      case "tx_end": {
        this.speaker = null;
        const playback = this.playbacks.get(message.tx_id);
        playback?.end();
        setTimeout(() => {
          playback?.stop();
          this.playbacks.delete(message.tx_id);
        }, 30_000);
        this.loadHistory();
        break;
      }
      case "floor_revoked":
        this.endTalk(false);
        this.error = t("voice.revoked", { reason: message.reason });
        break;
      case "removed":
        this.error = t("voice.removed");
        break;
      case "text":
        if (message.group_id === this.groupId) this.messages.push(message);
        break;
      case "error":
        this.error = message.message;
        break;
      default:
        break;
    }
    this.render();
  }

  async press() {
    if (this.talking || this.groupId === null) return;
    this.talking = true;
    this.error = null;
    try {
      this.stream ??= await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      this.talking = false;
      this.error = t("voice.noMic", { message: error.message });
      this.render();
      return;
    }
    if (!this.talking) return; // released while the microphone was opening
    this.send({ type: "press", group_id: this.groupId, mime: MIME, preempt: this.preempt });
    this.render();
  }

  startRecording(txId) {
    if (!this.talking) {
      this.send({ type: "release" });
      return;
    }
    this.txId = txId;
    const recorder = new MediaRecorder(this.stream, { mimeType: MIME, audioBitsPerSecond: 24_000 });
    recorder.addEventListener("dataavailable", async (event) => {
      if (!event.data.size) return;
      const chunk = await event.data.arrayBuffer();
      if (this.socket?.readyState !== WebSocket.OPEN) return;
      this.socket.send(chunk);
      this.stats.framesOut += 1;
      document.body.dataset.voiceFramesOut = String(this.stats.framesOut);
    });
    // the last chunk comes after stop(): release the floor only once it went out, saying how
    // long the recording is (the server's clock also counts the round trips around it)
    recorder.addEventListener("stop", () => {
      const durationMs = Math.round(performance.now() - started);
      document.body.dataset.voiceRecordedMs = String(durationMs);
      setTimeout(() => this.send({ type: "release", duration_ms: durationMs }), 0);
    });
    const started = performance.now();
    recorder.start(CHUNK_MS);
    this.recorder = recorder;
    this.render();
  }

  release() {
    this.endTalk(true);
    this.render();
  }

  endTalk(tellServer) {
    const wasTalking = this.talking;
    this.talking = false;
    if (this.recorder && this.recorder.state !== "inactive") {
      this.recorder.stop(); // releases the floor once the last chunk is sent
    } else if (wasTalking && tellServer) {
      this.send({ type: "release" });
    }
    this.recorder = null;
  }

  choose(groupId) {
    if (groupId === this.groupId) return;
    this.endTalk(true);
    if (this.groupId !== null) this.send({ type: "leave", group_id: this.groupId });
    this.groupId = groupId;
    this.speaker = null;
    this.send({ type: "join", group_id: groupId });
    this.loadGroup();
  }

  async loadGroup() {
    if (this.groupId === null) return;
    const groupId = this.groupId;
    try {
      const messages = await request(`/api/voice/groups/${groupId}/messages`);
      if (groupId === this.groupId) this.messages = messages;
    } catch (error) {
      this.error = error.serverMessage ?? String(error);
    }
    await this.loadHistory();
  }

  async loadHistory() {
    if (this.groupId === null) return;
    try {
      this.history = await request(`/api/voice/groups/${this.groupId}/transmissions`);
    } catch (error) {
      this.history = [];
    }
    this.render();
  }

  async play(tx) {
    const response = await fetch(`/api/voice/transmissions/${tx.id}/audio`, {
      headers: { Authorization: `Bearer ${getToken()}` },
    });
    if (!response.ok) return;
    const audio = new Audio(URL.createObjectURL(await response.blob()));
    audio.addEventListener("ended", () => URL.revokeObjectURL(audio.src), { once: true });
    await audio.play();
  }

  /** Load the list of groups again (a member accepted an incident: its group is theirs now). */
  async reloadGroups() {
    try {
      this.groups = await request("/api/voice/groups");
    } catch (error) {
      return;
    }
    if (this.groupId === null && this.groups.length) this.choose(this.groups[0].id);
    this.render();
  }

  mount(container) {
    this.container = container;
    this.render();
  }

  render() {
    const root = this.container;
    if (!root) return;
    const picker = el("select", { "data-testid": "voice-group", "aria-label": t("voice.group") },
      ...this.groups.map((g) => {
        const option = el("option", { value: String(g.id) }, g.name);
        if (g.id === this.groupId) option.selected = true;
        return option;
      }));
    picker.addEventListener("change", () => this.choose(Number(picker.value)));
    const status = this.state !== "live" ? t(this.state === "offline" ? "voice.offline" : "voice.connecting")
      : this.talking ? t("voice.talking")
        : this.speaker ? t("voice.speaking", { speaker: this.speaker }) : t("voice.idle");
    const talk = el("button", {
      type: "button", class: `ptt${this.talking ? " is-talking" : ""}${this.speaker && !this.talking ? " is-busy" : ""}`,
      "data-testid": "voice-talk", "aria-pressed": String(this.talking),
    }, t(this.talking ? "voice.talking" : "voice.hold"));
    talk.disabled = this.state !== "live" || this.groupId === null;
    talk.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      talk.setPointerCapture?.(event.pointerId);
      this.press();
    });
    talk.addEventListener("pointerup", () => this.release());
    talk.addEventListener("pointercancel", () => this.release());
    talk.addEventListener("keydown", (event) => {
      if ((event.key === " " || event.key === "Enter") && !event.repeat) {
        event.preventDefault();
        this.press();
      }
    });
    talk.addEventListener("keyup", (event) => {
      if (event.key === " " || event.key === "Enter") this.release();
    });
    const text = el("input", { type: "text", maxlength: "500", "aria-label": t("voice.message"),
      placeholder: t("voice.message"), "data-testid": "voice-text" });
    const form = el("form", { class: "inline-form" }, text,
      el("button", { type: "submit", class: "button button-small" }, t("voice.send")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (text.value.trim()) this.send({ type: "text", group_id: this.groupId, text: text.value.trim() });
      text.value = "";
    });
    const history = this.history.length
      ? el("ul", { class: "console-list compact", "data-testid": "voice-history" }, ...this.history.map((tx) => {
        const play = el("button", { type: "button", class: "button button-small" }, t("voice.play"));
        play.addEventListener("click", () => this.play(tx));
        return el("li", { "data-tx": String(tx.id) }, `${formatTime(epochSeconds(tx.started_at))} ${tx.speaker} `,
          t("voice.seconds", { n: Math.round((tx.duration_ms ?? 0) / 100) / 10 }), " ", play);
      }))
      : el("p", { class: "console-empty" }, t("voice.noHistory"));
    const focused = document.activeElement?.dataset?.testid;
    root.replaceChildren(
      picker,
      el("p", { class: "voice-status", role: "status", "data-testid": "voice-status", "data-state": this.state },
        status),
      this.error ? el("p", { class: "console-notice console-error", role: "alert" }, this.error) : "",
      talk,
      el("ol", { class: "notes", "data-testid": "voice-messages" }, ...this.messages.map((m) => el("li", {},
        el("strong", {}, m.author), ` ${formatTime(epochSeconds(m.at))} ${m.text}`))),
      form,
      el("h3", {}, t("voice.history")),
      history,
    );
    if (focused) root.querySelector(`[data-testid="${focused}"]`)?.focus();
  }
}
