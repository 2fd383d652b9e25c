"""IoT alarm intake over MQTT: payload parsing, and delivery through a real broker (no mocks)."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from jiefang.errors import InvalidInput
from jiefang.incidents.mqtt import MAX_PAYLOAD_BYTES, AlarmMessage, AlarmSubscriber, parse_alarm

from .conftest import WAIT_S, encode  # type: ignore[import-not-found]

GOOD = {"device_id": "btn-0042", "alarm_type": "panic_button", "lon": 113.3245, "lat": 23.1066}


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# --- parse_alarm ---------------------------------------------------------------------------


def test_full_alarm_is_parsed_with_utc_time() -> None:
    payload = {**GOOD, "at": "2024-05-01T08:30:00+08:00", "message_id": "7731"}
    alarm = parse_alarm("jiefang/alarms/btn-0042", encode(payload))
    assert alarm == AlarmMessage(
        device_id="btn-0042",
        alarm_type="panic_button",
        lon=113.3245,
        lat=23.1066,
        at=datetime(2024, 5, 1, 0, 30, tzinfo=UTC),
        message_id="7731",
        topic="jiefang/alarms/btn-0042",
    )
    assert alarm.at is not None and alarm.at.tzinfo is UTC


def test_minimal_alarm_leaves_position_time_and_id_absent() -> None:
    alarm = parse_alarm("t", b'{"device_id": "smoke:7", "alarm_type": "smoke", "lon": null, "lat": null}')
    assert (alarm.lon, alarm.lat, alarm.at, alarm.message_id) == (None, None, None, None)


@pytest.mark.parametrize(
    ("extra", "field", "expected"),
    [
        ({"at": 1714523400}, "at", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
        ({"at": 1714523400.5}, "at", datetime(2024, 5, 1, 0, 30, 0, 500000, tzinfo=UTC)),
        ({"at": "2024-05-01T00:30:00Z"}, "at", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
        ({"message_id": 42}, "message_id", "42"),
        ({"lon": 0, "lat": 0}, "lon", None),  # what a GPS module reports without a fix
        ({"battery": 87, "rssi": -71, "fw": {"v": "1.2"}}, "device_id", "btn-0042"),  # unknown keys ignored
    ],
)
def test_accepted_variants(extra: dict[str, Any], field: str, expected: object) -> None:
    assert getattr(parse_alarm("t", encode({**GOOD, **extra})), field) == expected


def test_byte_order_mark_is_tolerated() -> None:
    assert parse_alarm("t", b"\xef\xbb\xbf" + encode(GOOD)).device_id == "btn-0042"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b"alarm!", "not JSON"),
        (b'{"device_id": "a", "alarm_type": "smoke", "lon": NaN, "lat": 1}', "NaN is not a JSON number"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b"null", "must be a JSON object, not null"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'{"device_id": "a", "device_id": "b", "alarm_type": "smoke"}', "key more than once"),
        (b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", "larger than 16384"),
        (encode({"alarm_type": "smoke"}), "device_id is missing"),
        (encode({"device_id": 12, "alarm_type": "smoke"}), "device_id must be a string, not a number"),
        (encode({"device_id": "btn 1", "alarm_type": "smoke"}), "device_id must be 1 to 64"),
        (encode({"device_id": "x" * 65, "alarm_type": "smoke"}), "device_id must be 1 to 64"),
        (encode({"device_id": "a"}), "alarm_type is missing"),
        (encode({"device_id": "a", "alarm_type": "Smoke"}), "alarm_type must be 1 to 40"),
        (encode({**GOOD, "lat": None}), "lon and lat must be given together"),
        (encode({**GOOD, "lon": 181}), "lon 181.0 is out of range"),
        (encode({**GOOD, "lat": -90.5}), "lat -90.5 is out of range"),
        (encode({**GOOD, "lon": "113.3"}), "lon must be a number, not a string"),
        (encode({**GOOD, "lon": True}), "lon must be a number, not a boolean"),
        (b'{"device_id": "a", "alarm_type": "smoke", "lon": 1e999, "lat": 1}', "lon is out of range"),
        (encode({**GOOD, "at": "2024-05-01T08:30:00"}), "must include a UTC offset"),
        (encode({**GOOD, "at": "yesterday"}), "ISO 8601"),
        (encode({**GOOD, "at": 1714523400000}), "not milliseconds"),
        (encode({**GOOD, "at": -1}), "before 1970"),
        (encode({**GOOD, "at": [2024]}), "at must be a number, not an array"),
        (encode({**GOOD, "message_id": ""}), "message_id must be 1 to 128"),
        (encode({**GOOD, "message_id": "a\nb"}), "unprintable"),
        (encode({**GOOD, "message_id": 1.5}), "message_id must be a string or an integer"),
    ],
)
def test_malformed_payload_is_rejected_with_a_clear_message(payload: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        parse_alarm("t", payload)


def _json_values(finite: bool = False) -> st.SearchStrategy[Any]:
    """JSON values; with ``finite`` only those JSON can carry (json.dumps writes NaN, Infinity too)."""
    numbers = st.integers() | st.floats(allow_nan=not finite, allow_infinity=not finite)
    scalars = st.none() | st.booleans() | numbers | st.text(max_size=20)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )


_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
_iso_times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets)
_epoch_seconds = st.floats(min_value=0, max_value=4_102_444_800) | st.integers(min_value=0, max_value=4_102_444_800)
_positions = st.tuples(st.floats(-180, 180), st.floats(-90, 90)).filter(lambda p: p != (0.0, 0.0))
_extra_keys = st.dictionaries(
    st.text(max_size=12).filter(lambda k: k not in (*GOOD, "at", "message_id")),
    _json_values(finite=True),
    max_size=3,
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    device_id=st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True),
    alarm_type=st.from_regex(r"[a-z0-9_]{1,40}", fullmatch=True),
    position=st.none() | _positions,
    at=st.none() | _iso_times | _epoch_seconds,
    message_id=st.none() | st.text(min_size=1, max_size=128).filter(str.isprintable) | st.integers(-(10**30), 10**30),
    extra=_extra_keys,
    ascii_only=st.booleans(),
)
def test_valid_payloads_round_trip(
    device_id: str,
    alarm_type: str,
    position: tuple[float, float] | None,
    at: datetime | float | None,
    message_id: str | int | None,
    extra: dict[str, Any],
    ascii_only: bool,
) -> None:
    payload: dict[str, Any] = {**extra, "device_id": device_id, "alarm_type": alarm_type}
    if position is not None:
        payload["lon"], payload["lat"] = position
    if at is not None:
        payload["at"] = at.isoformat() if isinstance(at, datetime) else at
    if message_id is not None:
        payload["message_id"] = message_id
    alarm = parse_alarm("jiefang/alarms/x", json.dumps(payload, ensure_ascii=ascii_only).encode())

    expected_at = at if isinstance(at, datetime) else None if at is None else datetime.fromtimestamp(at, UTC)
    assert alarm == AlarmMessage(
        device_id,
        alarm_type,
        position[0] if position else None,
        position[1] if position else None,
        expected_at,
        None if message_id is None else str(message_id),
        "jiefang/alarms/x",
    )
    assert alarm.at is None or alarm.at.utcoffset() == timedelta(0)


_GOOD_BYTES = encode({**GOOD, "at": "2024-05-01T08:30:00+08:00", "message_id": "7731"})
_mutated_good = st.tuples(st.integers(0, len(_GOOD_BYTES)), st.integers(0, 3), st.binary(max_size=4)).map(
    lambda cut: _GOOD_BYTES[: cut[0]] + cut[2] + _GOOD_BYTES[cut[0] + cut[1] :]
)


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.binary(max_size=512) | _mutated_good)
def test_arbitrary_bytes_raise_only_invalid_input(payload: bytes) -> None:
    with contextlib.suppress(InvalidInput):  # anything else fails the test
        parse_alarm("t", payload)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["device_id", "alarm_type", "lon", "lat", "at", "message_id"]), _json_values()))
def test_arbitrary_json_fields_raise_only_invalid_input(payload: dict[str, Any]) -> None:
    with contextlib.suppress(InvalidInput):
        parse_alarm("t", json.dumps(payload).encode())


# --- AlarmSubscriber on a real broker --------------------------------------------------------


Publish = Callable[..., None]


class Handler:
    """An on_alarm that records what it handled and raises for the first ``fail_first`` calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.calls = 0
        self.handled: queue.Queue[AlarmMessage] = queue.Queue()
        self._lock = threading.Lock()

    def __call__(self, alarm: AlarmMessage) -> None:
        with self._lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                raise RuntimeError("database unavailable")
        self.handled.put(alarm)

    def next(self) -> AlarmMessage:
        return self.handled.get(timeout=WAIT_S)


Subscribe = Callable[..., AlarmSubscriber]


@pytest.fixture
def subscribe(broker: tuple[str, int], topic_root: str) -> Iterator[Subscribe]:
    """Start an AlarmSubscriber on ``<root>/#``; every one started is stopped afterwards."""
    started: list[AlarmSubscriber] = []

    def _subscribe(handler: Handler, **kwargs: Any) -> AlarmSubscriber:
        subscriber = AlarmSubscriber(*broker, f"{topic_root}/#", handler, **kwargs)
        started.append(subscriber)
        subscriber.start(timeout_s=WAIT_S)
        return subscriber

    yield _subscribe
    for subscriber in started:
        subscriber.stop()


def assert_nothing_left_for(client_id: str, subscribe: Subscribe, publish: Publish) -> None:
    """A new connection of the session gets no redelivery: only a marker published now."""
    handler = Handler()
    subscriber = subscribe(handler, client_id=client_id)
    publish({**GOOD, "message_id": "marker"})
    assert handler.next().message_id == "marker"
    subscriber.stop()
    assert handler.handled.empty()


def test_published_alarm_reaches_on_alarm_with_its_fields(
    subscribe: Subscribe, publish: Publish, topic_root: str
) -> None:
    handler = Handler()
    subscriber = subscribe(handler)
    publish({**GOOD, "at": 1714523400, "message_id": "m-1", "battery": 80})

    assert handler.next() == AlarmMessage(
        "btn-0042",
        "panic_button",
        113.3245,
        23.1066,
        datetime(2024, 5, 1, 0, 30, tzinfo=UTC),
        "m-1",
        f"{topic_root}/btn-0042",
    )
    wait_until(lambda: subscriber.stats["accepted"] == 1, "the alarm to be counted")
    assert subscriber.stats == {"received": 1, "accepted": 1, "malformed": 0, "failed": 0, "retained": 0}


def test_malformed_payloads_are_counted_and_intake_goes_on(
    subscribe: Subscribe, publish: Publish, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Handler()
    subscriber = subscribe(handler, client_id=None)
    oversize = encode({**GOOD, "note": "x" * MAX_PAYLOAD_BYTES})
    with caplog.at_level(logging.WARNING, logger="jiefang.incidents.mqtt"):
        for bad in (b"not json", encode({**GOOD, "lat": 91}), encode({"alarm_type": "smoke"}), oversize):
            publish(bad)
        publish({**GOOD, "message_id": "after"})
        assert handler.next().message_id == "after"
        wait_until(lambda: subscriber.stats["accepted"] == 1, "the good alarm to be counted")

    assert subscriber.stats == {"received": 5, "accepted": 1, "malformed": 4, "failed": 0, "retained": 0}
    assert handler.handled.empty()
    rejected = [r for r in caplog.records if "malformed alarm" in r.getMessage()]
    assert [r.reason for r in rejected] == [  # type: ignore[attr-defined]
        "payload is not JSON: Expecting value: line 1 column 1 (char 0)",
        "lat 91.0 is out of range [-90, 90]",
        "device_id is missing",
        f"payload of {len(oversize)} bytes is larger than {MAX_PAYLOAD_BYTES}",
    ]
    assert all(r.mqtt_topic.endswith("/btn-0042") for r in rejected)  # type: ignore[attr-defined]
    assert len(rejected[-1].getMessage()) < 1000  # never the whole payload


def test_alarm_whose_handler_raised_is_redelivered_after_restart_and_handled_once(
    subscribe: Subscribe, publish: Publish, client_id: str
) -> None:
    handler = Handler(fail_first=1)
    first = subscribe(handler, client_id=client_id, redeliver_after_s=None)
    publish({**GOOD, "message_id": "m-7"})
    wait_until(lambda: first.stats["failed"] == 1, "on_alarm to fail")
    first.stop()
    assert handler.handled.empty()

    second = subscribe(handler, client_id=client_id)  # the platform restarted
    assert handler.next().message_id == "m-7"
    wait_until(lambda: second.stats["accepted"] == 1, "the redelivered alarm to be counted")
    second.stop()
    assert handler.calls == 2
    assert_nothing_left_for(client_id, subscribe, publish)


def test_failed_alarm_is_redelivered_by_reconnecting_on_its_own(
    subscribe: Subscribe, publish: Publish, client_id: str
) -> None:
    handler = Handler(fail_first=2)
    subscriber = subscribe(handler, client_id=client_id, redeliver_after_s=0.1)
    publish({**GOOD, "message_id": "m-8"})

    assert handler.next().message_id == "m-8"
    wait_until(lambda: subscriber.stats["accepted"] == 1, "the redelivered alarm to be counted")
    assert subscriber.stats == {"received": 3, "accepted": 1, "malformed": 0, "failed": 2, "retained": 0}
    subscriber.stop()
    assert_nothing_left_for(client_id, subscribe, publish)


def test_retained_alarm_is_handled_live_but_not_replayed_on_resubscribe(
    subscribe: Subscribe, publish: Publish, client_id: str
) -> None:
    handler = Handler()
    subscriber = subscribe(handler, client_id=client_id)
    publish({**GOOD, "message_id": "sticky"}, retain=True)  # a misconfigured device
    assert handler.next().message_id == "sticky"
    subscriber.stop()

    again = subscribe(handler, client_id=client_id)  # re-subscribing makes the broker replay it
    wait_until(lambda: again.stats["retained"] == 1, "the replay to be skipped")
    again.stop()
    assert handler.handled.empty()
    assert_nothing_left_for(client_id, subscribe, publish)


def test_start_fails_with_connection_error_when_broker_unreachable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subscriber = AlarmSubscriber("127.0.0.1", port, "jiefang/alarms/#", Handler())
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port} within 0.3 s: ConnectionRefusedError"):
        subscriber.start(timeout_s=0.3)
    subscriber.stop()  # harmless after a failed start


@pytest.mark.parametrize("topic", ["", "a/#/b", "a/b#", "a/+x/c"])
def test_invalid_topic_filter_is_refused(topic: str) -> None:
    with pytest.raises(ValueError, match="topic filter"):
        AlarmSubscriber("127.0.0.1", 1883, topic, Handler())


def test_qos_2_is_refused_because_it_would_lose_failed_alarms() -> None:
    with pytest.raises(ValueError, match="qos"):
        AlarmSubscriber("127.0.0.1", 1883, "jiefang/alarms/#", Handler(), qos=2)
