"""IoT alarm intake over MQTT (物联网报警接入): alarm buttons and sensors publish JSON alarms.

A device publishes one JSON alarm per message (the format and its parsing: ``alarm_payload``).
`AlarmSubscriber` subscribes to a topic and calls ``on_alarm`` with each parsed `AlarmMessage`.
Creating the incident is the caller's business.

Delivery is **at least once**, never silently lossy, as long as a ``client_id`` is given:

- the subscription is QoS 1 in a persistent session (clean session off, stable client id), so the
  broker keeps alarms published while the platform is disconnected or restarting;
- a message is acknowledged (PUBACK) only after ``on_alarm`` returned. If ``on_alarm`` raises, the
  message is left unacknowledged and the broker redelivers it (DUP flag) when this session next
  connects; the subscriber reconnects by itself ``redeliver_after_s`` after a failure to get it
  redelivered. An alarm may therefore reach ``on_alarm`` more than once (also when an ack is lost
  with the connection): ``on_alarm`` must be idempotent, e.g. on (device_id, message_id);
- a malformed message is logged, counted and acknowledged: it will never parse, and redelivering
  it forever would only block the broker's in-flight window;
- a message delivered with the retain flag is skipped (acknowledged, counted as ``retained``).
  In MQTT 3.1.1 the broker sets that flag only when it replays its stored retained message
  because we (re)subscribed; live alarms, and alarms queued for us while offline, always arrive
  with the flag cleared. Handling the replay would raise the same alarm again on every reconnect.

Without a ``client_id`` the session is clean: alarms published while disconnected, and alarms
whose ``on_alarm`` failed, are lost. The broker must keep sessions too: for Mosquitto set
``persistence true`` and a ``max_queued_messages`` large enough for the longest outage.

``on_alarm`` runs on the MQTT network thread: keep it short (a database write), since keep-alive
pings wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from jiefang.errors import InvalidInput
from jiefang.incidents.alarm_payload import MAX_PAYLOAD_BYTES, AlarmMessage, parse_alarm

__all__ = ["MAX_PAYLOAD_BYTES", "AlarmMessage", "AlarmSubscriber", "parse_alarm"]

log = logging.getLogger(__name__)

KEEPALIVE_S = 30  # a dead connection is noticed within 1.5 × this, then paho reconnects
STAT_KEYS = ("received", "accepted", "malformed", "failed", "retained")

_LOG_PREVIEW_BYTES = 120


def _check_topic_filter(topic: str) -> None:
    levels = topic.split("/")
    bad = (
        not topic
        or len(topic.encode("utf-8", "replace")) > 65535
        or not topic.isprintable()
        or any("#" in level and (level != "#" or i != len(levels) - 1) for i, level in enumerate(levels))
        or any("+" in level and level != "+" for level in levels)
    )
    if bad:
        raise ValueError(f"not a valid MQTT topic filter: {topic!r}")


class AlarmSubscriber:
    """Subscribe to device alarms on an MQTT broker and call ``on_alarm`` with each one.

    See the module docstring for the delivery guarantees. ``stats`` counts messages received,
    alarms accepted (``on_alarm`` returned), malformed messages, alarms whose ``on_alarm``
    raised (``failed``; counted again at each redelivery) and skipped retained replays.
    ``redeliver_after_s`` (None: never) is how long after a failed ``on_alarm`` the subscriber
    reconnects so that the broker redelivers what is unacknowledged; failures in that time share
    one reconnect.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topic: str,
        on_alarm: Callable[[AlarmMessage], None],
        *,
        client_id: str | None = None,
        qos: int = 1,
        username: str | None = None,
        password: str | None = None,
        redeliver_after_s: float | None = 10.0,
    ) -> None:
        # QoS 2 with manual acks loses an alarm whose on_alarm failed: paho answers PUBREC before
        # calling on_message, so the broker's redelivery is a PUBREL without the payload.
        if qos not in (0, 1):
            raise ValueError("qos must be 1 (at least once) or 0 (alarms may be lost)")
        if redeliver_after_s is not None and redeliver_after_s <= 0:
            raise ValueError("redeliver_after_s must be positive or None")
        _check_topic_filter(topic)
        self.host, self.port, self.topic = host, port, topic
        self._on_alarm = on_alarm
        self._client_id = client_id or None
        self._qos = qos
        self._credentials = (username, password)
        self._redeliver_after_s = redeliver_after_s
        self._lifecycle = threading.Lock()  # start, stop and reconnect-for-redelivery, one at a time
        self._state_lock = threading.Lock()  # counters, timer, running flag
        self._counts = dict.fromkeys(STAT_KEYS, 0)
        self._running = False
        self._timer: threading.Timer | None = None
        self._client: mqtt.Client | None = None
        self._settled = threading.Event()  # SUBACK, or the broker refused us
        self._refusal: str | None = None

    @property
    def stats(self) -> dict[str, int]:
        """Return a snapshot of the counters (see the class docstring)."""
        with self._state_lock:
            return dict(self._counts)

    def start(self, timeout_s: float = 10) -> None:
        """Connect, subscribe and return once the broker acknowledged the subscription.

        Connection attempts are repeated until ``timeout_s`` has passed (the broker may be starting
        too). Raises ConnectionError, leaving the subscriber stopped, when the broker cannot be
        reached, refuses the connection or the subscription, or does not answer in time;
        RuntimeError when already started.
        """
        with self._lifecycle:
            with self._state_lock:
                if self._running:
                    raise RuntimeError("AlarmSubscriber is already started")
                self._running = True
            if self._client_id is None:
                log.warning("MQTT alarm intake without client_id: alarms sent while disconnected will be lost")
            deadline = time.monotonic() + timeout_s
            self._settled.clear()
            self._refusal = None
            client = self._client = self._new_client()
            error = self._connect_until(client, deadline)
            if error is None:
                client.loop_start()
                if not self._settled.wait(max(0.0, deadline - time.monotonic())):
                    error = "no CONNACK/SUBACK from the broker in time"
                elif self._refusal is not None:
                    error = self._refusal
            if error is None:
                log.info("MQTT alarm intake subscribed to %s on %s:%s", self.topic, self.host, self.port)
                return
            with self._state_lock:
                self._running = False
            self._close()
        raise ConnectionError(
            f"MQTT alarm intake could not subscribe to {self.topic!r} on {self.host}:{self.port} "
            f"within {timeout_s:g} s: {error}"
        )

    def stop(self) -> None:
        """Disconnect and stop the network thread; unacknowledged alarms stay with the broker.

        Waits for an ``on_alarm`` call in progress. Calling it again, or before start, does nothing.
        """
        with self._state_lock:
            self._running = False
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        with self._lifecycle:
            self._close()

    def _new_client(self) -> mqtt.Client:
        persistent = self._client_id is not None
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self._client_id or "",
            clean_session=not persistent,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        username, password = self._credentials
        if username is not None:
            client.username_pw_set(username, password)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        # Our callbacks catch everything themselves; should one slip through anyway, paho logs it
        # (see _handle_log) instead of letting it end the network thread.
        client.suppress_exceptions = True
        client.on_log = self._handle_log
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_subscribe = self._handle_subscribe
        client.on_message = self._handle_message
        return client

    def _connect_until(self, client: mqtt.Client, deadline: float) -> str | None:
        """Try to open the connection until ``deadline``; return None or the last error."""
        error = "no time to connect"
        client.connect_timeout = min(max(deadline - time.monotonic(), 0.05), 5.0)
        while deadline - time.monotonic() > 0:
            try:
                client.connect(self.host, self.port, keepalive=KEEPALIVE_S)
                return None
            except (OSError, ValueError) as exc:  # refused, unreachable, unknown host, bad port
                error = f"{type(exc).__name__}: {exc}"
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        return error

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def _count(self, key: str) -> None:
        with self._state_lock:
            self._counts[key] += 1

    # paho callbacks: run on the network thread; an exception escaping them would end it.

    def _handle_connect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode, properties: Any
    ) -> None:
        try:
            if reason.is_failure:
                self._refuse(f"broker refused the connection: {reason}")
                return
            # Always subscribe: the broker may have lost the session, or the topic setting changed.
            result, _ = client.subscribe(self.topic, qos=self._qos)
            if result != mqtt.MQTT_ERR_SUCCESS:
                log.error("MQTT subscribe to %s could not be sent: %s", self.topic, mqtt.error_string(result))
            log.info("MQTT connected to %s:%s (session present: %s)", self.host, self.port, flags.session_present)
        except Exception:
            log.exception("MQTT on_connect failed")

    def _handle_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Any
    ) -> None:
        try:
            if any(reason.is_failure for reason in reasons):
                self._refuse(f"broker refused the subscription to {self.topic!r}: {reasons}")
                return
            if any(reason.value < self._qos for reason in reasons):
                log.warning("MQTT broker granted less than QoS %d on %s: alarms may be lost", self._qos, self.topic)
            self._settled.set()
        except Exception:
            log.exception("MQTT on_subscribe failed")

    def _handle_log(self, client: mqtt.Client, userdata: Any, level: int, text: str) -> None:
        # paho reports a failed callback at ERROR, but also "Client is not connected" at ERROR on
        # every retry while the broker is down; outages are logged once by _handle_disconnect.
        if text.startswith("Caught exception"):
            log.error("MQTT client: %s", text)
        else:
            log.debug("MQTT client: %s", text)

    def _refuse(self, why: str) -> None:
        log.error("MQTT alarm intake: %s", why)
        self._refusal = why
        self._settled.set()

    def _handle_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        try:
            if client is self._client:  # not one we are closing on purpose
                log.warning("MQTT connection to %s:%s lost (%s); reconnecting", self.host, self.port, reason)
        except Exception:
            log.exception("MQTT on_disconnect failed")

    def _handle_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._process(client, message)
        except Exception:
            # A bug of ours: leave the message unacknowledged so the broker keeps it.
            log.exception("MQTT alarm intake failed on message %s", message.mid)

    def _process(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        self._count("received")
        try:
            topic = message.topic
        except UnicodeDecodeError:  # brokers should refuse such topics; never parse the alarm then
            self._reject(client, message, "<invalid UTF-8>", "topic is not UTF-8")
            return
        if message.retain:
            log.warning("skipped retained alarm on %s (a replay, not a new alarm)", topic, extra={"mqtt_topic": topic})
            client.ack(message.mid, message.qos)
            self._count("retained")
            return
        try:
            alarm = parse_alarm(topic, bytes(message.payload))
        except InvalidInput as exc:
            self._reject(client, message, topic, exc.message)
            return
        try:
            self._on_alarm(alarm)
        except Exception:
            self._fail(alarm, message)
            return
        client.ack(message.mid, message.qos)
        self._count("accepted")

    def _reject(self, client: mqtt.Client, message: mqtt.MQTTMessage, topic: str, reason: str) -> None:
        payload = message.payload
        preview = payload[:_LOG_PREVIEW_BYTES]
        log.warning(
            "malformed alarm on %s: %s (%d bytes: %r%s)",
            topic,
            reason,
            len(payload),
            preview,
            "..." if len(payload) > len(preview) else "",
            extra={"mqtt_topic": topic, "reason": reason, "payload_bytes": len(payload)},
        )
        client.ack(message.mid, message.qos)
        self._count("malformed")

    def _fail(self, alarm: AlarmMessage, message: mqtt.MQTTMessage) -> None:
        context = {"mqtt_topic": alarm.topic, "device_id": alarm.device_id, "message_id": alarm.message_id}
        if self._client_id is None or message.qos == 0:
            log.exception(
                "on_alarm failed for %s from device %s; alarm LOST (QoS 0 or no persistent session to redeliver it)",
                alarm.alarm_type,
                alarm.device_id,
                extra=context,
            )
        else:
            log.exception(
                "on_alarm failed for %s from device %s (message_id %s, redelivery %s); left "
                "unacknowledged for redelivery",
                alarm.alarm_type,
                alarm.device_id,
                alarm.message_id,
                bool(message.dup),
                extra=context,
            )
            self._schedule_redelivery()
        self._count("failed")

    def _schedule_redelivery(self) -> None:
        if self._redeliver_after_s is None:
            return
        with self._state_lock:
            if self._timer is not None or not self._running:
                return
            self._timer = threading.Timer(self._redeliver_after_s, self._reconnect_for_redelivery)
            self._timer.daemon = True
            self._timer.start()

    def _reconnect_for_redelivery(self) -> None:
        """Reconnect: the broker resends unacknowledged messages only to a new connection."""
        try:
            with self._lifecycle:
                with self._state_lock:
                    self._timer = None
                    if not self._running:
                        return
                log.info("MQTT alarm intake reconnecting to get unacknowledged alarms redelivered")
                self._close()
                client = self._client = self._new_client()
                client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
                client.loop_start()  # retries until connected, then subscribes in on_connect
        except Exception:
            log.exception("MQTT alarm intake could not reconnect for redelivery")
