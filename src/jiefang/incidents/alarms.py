"""IoT alarms over MQTT become incidents: the subscriber's handler, and starting it with the app.

An alarm is acknowledged to the broker only after its incident is committed (or it is known
never to make one: an unregistered device). A database failure raises, so the broker delivers
the alarm again; the device's message id makes that redelivery the same incident.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from jiefang.config import Settings
from jiefang.db import session_scope
from jiefang.dispatch.service import Dispatcher
from jiefang.errors import NotFound
from jiefang.incidents.mqtt import AlarmMessage, AlarmSubscriber
from jiefang.incidents.service import report_alarm

log = logging.getLogger(__name__)


def alarm_handler(sessions: sessionmaker[Session], dispatcher: Dispatcher) -> Callable[[AlarmMessage], None]:
    """Return the subscriber's ``on_alarm``: one incident per alarm of a registered device."""

    def on_alarm(alarm: AlarmMessage) -> None:
        key = f"{alarm.device_id}:{alarm.message_id}" if alarm.message_id else None
        with session_scope(sessions) as session:
            try:
                incident = report_alarm(session, dispatcher, alarm.device_id, alarm.alarm_type, alarm.lon,
                                        alarm.lat, message_key=key)
            except NotFound as exc:  # permanent: redelivering it would not register the device
                log.warning("alarm from %s on %s ignored: %s", alarm.device_id, alarm.topic, exc.message)
                return
        log.info("alarm %s from %s is incident %s", alarm.alarm_type, alarm.device_id, incident.id)

    return on_alarm


def start_alarm_intake(settings: Settings, sessions: sessionmaker[Session],
                       dispatcher: Dispatcher) -> AlarmSubscriber | None:
    """Subscribe to the alarm topic when ``mqtt_host`` is set; return the subscriber (None if not).

    A broker that cannot be reached at start is logged, not fatal: the rest of the platform
    works, without alarm intake until the next start. Once connected, the subscriber reconnects
    by itself.
    """
    if not settings.mqtt_host:
        return None
    subscriber = AlarmSubscriber(settings.mqtt_host, settings.mqtt_port, settings.mqtt_topic,
                                 alarm_handler(sessions, dispatcher), client_id=settings.mqtt_client_id)
    try:
        subscriber.start()
    except ConnectionError:
        log.exception("alarm intake: broker %s:%s unreachable; alarms are not received",
                      settings.mqtt_host, settings.mqtt_port)
        subscriber.stop()
        return None
    return subscriber
