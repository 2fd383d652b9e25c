"""MQTT fixtures: the broker, a topic tree and a persistent client id per test, a publisher."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

MQTT_HOST = os.environ.get("JIEFANG_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("JIEFANG_TEST_MQTT_PORT", "1883"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WAIT_S = 10.0  # upper bound of any wait; a passing test waits only as long as delivery takes


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


@pytest.fixture(scope="session")
def broker() -> tuple[str, int]:
    """The MQTT broker the tests use; skipped with a reason where absent (a failure in CI)."""
    try:
        socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=2).close()
    except OSError as exc:
        reason = f"MQTT broker not reachable at {MQTT_HOST}:{MQTT_PORT}: {type(exc).__name__}"
        if IN_CI:
            pytest.fail(f"{reason} (CI must run the MQTT tests)")
        pytest.skip(reason)
    return MQTT_HOST, MQTT_PORT


@pytest.fixture
def topic_root() -> str:
    """A topic tree of this test alone; the subscriber takes ``<root>/#`` like the default setting."""
    return f"jiefang-test/{uuid.uuid4().hex}/alarms"


@pytest.fixture
def client_id(broker: tuple[str, int]) -> Iterator[str]:
    """A client id for a persistent session, deleted from the broker afterwards."""
    cid = f"jf-test-{uuid.uuid4().hex[:12]}"
    yield cid
    cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, clean_session=True)
    cleaner.connect(*broker)
    cleaner.loop(timeout=1)  # CONNACK: the broker has dropped the session
    cleaner.disconnect()


Publish = Callable[..., None]


@pytest.fixture
def publish(broker: tuple[str, int], topic_root: str) -> Iterator[Publish]:
    """Publish a payload (QoS 1) to ``<root>/<device>`` and wait for the broker's PUBACK."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(*broker)
    client.loop_start()
    retained: list[str] = []

    def _publish(payload: bytes | dict[str, Any], device: str = "btn-0042", retain: bool = False) -> None:
        body = payload if isinstance(payload, bytes) else encode(payload)
        info = client.publish(f"{topic_root}/{device}", body, qos=1, retain=retain)
        info.wait_for_publish(timeout=WAIT_S)
        assert info.is_published()
        if retain:
            retained.append(f"{topic_root}/{device}")

    yield _publish
    for t in retained:  # an empty retained message deletes the stored one
        client.publish(t, b"", qos=1, retain=True).wait_for_publish(timeout=WAIT_S)
    client.disconnect()
    client.loop_stop()
