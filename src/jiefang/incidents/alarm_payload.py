"""The JSON alarm an IoT device publishes (物联网报警), and its strict parsing.

A device publishes one UTF-8 JSON object of at most 16 KiB per alarm::

    {"device_id": "btn-0042", "alarm_type": "panic_button",
     "lon": 113.3245, "lat": 23.1066, "at": "2024-05-01T08:30:00+08:00", "message_id": "7731"}

``lon``/``lat`` (WGS84, both or neither), ``at`` (ISO 8601 with an offset, or epoch seconds) and
``message_id`` (the device's own id of this alarm, for de-duplication) are optional.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jiefang.errors import InvalidInput

MAX_PAYLOAD_BYTES = 16 * 1024
_DEVICE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ALARM_TYPE = re.compile(r"[a-z0-9_]{1,40}")
_MESSAGE_ID_MAX = 128
_ISO_TIME_MAX = 64
_EPOCH_END_S = 253402300800  # 10000-01-01T00:00Z: the first second a datetime cannot hold


@dataclass(frozen=True, slots=True)
class AlarmMessage:
    """One alarm from an IoT device (物联网报警), as received on ``topic``."""

    device_id: str
    alarm_type: str  # "panic_button", "smoke", "intrusion", ...
    lon: float | None  # WGS84; None: use the device's registered position
    lat: float | None
    at: datetime | None  # device time, UTC-aware; the device's claim, not checked against our clock
    message_id: str | None  # the device's id of this alarm, for de-duplication
    topic: str


def parse_alarm(topic: str, payload: bytes) -> AlarmMessage:
    """Return the alarm carried by one MQTT message on ``topic``.

    Raises InvalidInput, saying what is wrong without echoing the payload, when the payload is
    larger than 16 KiB, not UTF-8 JSON, not an object, or a field is missing or bad.
    Unknown keys are ignored and not logged: vendors add their own telemetry (battery, rssi,
    firmware, ...) and a warning per alarm would flood the log without anyone acting on it.
    Coordinates of exactly (0, 0) are taken as absent: GPS modules report them without a fix.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"payload of {len(payload)} bytes is larger than {MAX_PAYLOAD_BYTES}")
    data = _decode_object(payload)
    device_id = _matching(data, "device_id", _DEVICE_ID, "1 to 64 characters of A-Z a-z 0-9 _ . : -")
    alarm_type = _matching(data, "alarm_type", _ALARM_TYPE, "1 to 40 characters of a-z 0-9 _")
    lon, lat = _position(data)
    return AlarmMessage(
        device_id=device_id,
        alarm_type=alarm_type,
        lon=lon,
        lat=lat,
        at=_device_time(data.get("at")),
        message_id=_message_id(data.get("message_id")),
        topic=topic,
    )


def _decode_object(payload: bytes) -> dict[str, Any]:
    try:
        text = payload.decode("utf-8-sig")  # some device firmware writes a BOM
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"payload is not UTF-8 (invalid byte at offset {exc.start})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise InvalidInput("payload JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer longer than Python converts
        raise InvalidInput(f"payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"payload must be a JSON object, not {_json_kind(data)}")
    return data


def _reject_constant(name: str) -> Any:
    raise InvalidInput(f"payload is not JSON: {name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):  # which value would the device mean?
        raise InvalidInput("payload has a key more than once")
    return data


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _matching(data: dict[str, Any], key: str, pattern: re.Pattern[str], rule: str) -> str:
    value = data.get(key)
    if value is None:
        raise InvalidInput(f"{key} is missing")
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string, not {_json_kind(value)}")
    if not pattern.fullmatch(value):
        raise InvalidInput(f"{key} must be {rule}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{key} must be a number, not {_json_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidInput(f"{key} is out of range") from None
    if not math.isfinite(number):  # 1e999 parses as infinity
        raise InvalidInput(f"{key} is out of range")
    return number


def _position(data: dict[str, Any]) -> tuple[float | None, float | None]:
    raw_lon, raw_lat = data.get("lon"), data.get("lat")
    if raw_lon is None and raw_lat is None:
        return None, None
    if raw_lon is None or raw_lat is None:
        raise InvalidInput("lon and lat must be given together, or both left out")
    lon, lat = _number(raw_lon, "lon"), _number(raw_lat, "lat")
    if not -180.0 <= lon <= 180.0:
        raise InvalidInput(f"lon {lon} is out of range [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise InvalidInput(f"lat {lat} is out of range [-90, 90]")
    if lon == 0.0 and lat == 0.0:
        return None, None
    return lon, lat


def _device_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _iso_time(value)
    seconds = _number(value, "at")
    if seconds < 0:
        raise InvalidInput("at must not be before 1970 (epoch seconds are not negative)")
    if seconds >= _EPOCH_END_S:
        raise InvalidInput("at is beyond the year 9999: epoch seconds expected, not milliseconds")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidInput("at is out of range") from None


def _iso_time(value: str) -> datetime:
    if len(value) > _ISO_TIME_MAX:
        raise InvalidInput(f"at is longer than {_ISO_TIME_MAX} characters")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("at must be an ISO 8601 time (e.g. 2024-05-01T08:30:00+08:00) or epoch seconds") from None
    if parsed.utcoffset() is None:  # local time of which zone? guessing would shift the alarm by hours
        raise InvalidInput("at must include a UTC offset (Z or +08:00)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("at is out of range") from None


def _message_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):  # sequence counters are common
        value = str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"message_id must be a string or an integer, not {_json_kind(value)}")
    if not 1 <= len(value) <= _MESSAGE_ID_MAX:
        raise InvalidInput(f"message_id must be 1 to {_MESSAGE_ID_MAX} characters")
    if not value.isprintable():  # control characters, lone surrogates: nothing to store or show
        raise InvalidInput("message_id has unprintable characters")
    return value
