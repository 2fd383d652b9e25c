"""An incident for other systems: a Common Alerting Protocol 1.2 message and a GeoJSON Feature.

CAP 1.2 (OASIS Standard, 2010) is what alerting platforms, including China's national early-warning
release system, exchange. One incident is a small series of CAP messages, all carrying the same
``<incidents>`` key ``jiefang-incident-<id>``; the document returned is the one for its current
status, so it is stable while the status stays the same:

========================  =========  =======================================  ===========  ==========
status                    msgType    identifier / sent                        urgency      certainty
========================  =========  =======================================  ===========  ==========
reported, dispatching     Alert      ``jiefang-incident-<id>`` / reported_at  Immediate    Likely
on_scene                  Update     ``…-<id>-on_scene`` / on_scene_at        Immediate    Observed
resolved                  Update     ``…-<id>-resolved`` / closed_at          Past         Observed
handed_to_police          Update     ``…-<id>-handed_to_police`` / closed_at  Past         Observed
false_alarm               Cancel     ``…-<id>-false_alarm`` / closed_at       Past         Unlikely
========================  =========  =======================================  ===========  ==========

``dispatching`` follows intake within the same request, so it tells a receiver nothing new and
stays an Alert. Updates and the Cancel reference the Alert (``sender,identifier,sent``), as CAP
requires a message's identifier to be unique to it. Severity 1..4 maps to Extreme, Severe, Moderate,
Minor. The scope is Restricted: an incident names an address and often people, and the platform
serves governance centres, units and the police; publishing to the public is the alerting
authority's decision, not this export's. The response type is Execute (the type's rapid-response
procedure, 快速反应处置流程, named in the instruction) while the incident is open, AllClear once
resolved, and None after a false alarm or a handover to the police (the police, not the units,
then say what to do). Times carry the offset of ``tz`` and no fractional seconds; UTC is written
``-00:00`` as CAP 1.2 (3.3.2) requires. A readiness drill (演练) has the status Exercise, not Actual.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from xml.etree import ElementTree as ET

from jiefang.incidents.models import Incident
from jiefang.incidents.playbooks import Playbook

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MEDIA_TYPE = "application/cap+xml"
GEOJSON_MEDIA_TYPE = "application/geo+json"
DEFAULT_ARRIVAL_RADIUS_M = 100.0  # area of an incident whose type has no playbook any more
HEADLINE_MAX = 160  # CAP: "SHOULD be less than 160 characters"

CATEGORY: dict[str, str] = {
    "violent_crime": "Security",
    "public_order": "Security",
    "fire": "Fire",
    "medical": "Health",
    "traffic_accident": "Transport",
    "missing_person": "Rescue",
    "dispute": "Safety",
}
SEVERITY: dict[int, str] = {1: "Extreme", 2: "Severe", 3: "Moderate", 4: "Minor"}
CLOSED = ("resolved", "false_alarm", "handed_to_police")
MSG_TYPE: dict[str, str] = {"on_scene": "Update", "resolved": "Update", "handed_to_police": "Update",
                            "false_alarm": "Cancel"}  # reported, dispatching: Alert
CERTAINTY: dict[str, str] = {"reported": "Likely", "dispatching": "Likely", "false_alarm": "Unlikely"}  # else Observed
RESPONSE_TYPE: dict[str, str] = {"resolved": "AllClear", "false_alarm": "None",
                                 "handed_to_police": "None"}  # else Execute

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "sender_name": "最小应急单元指挥平台",
        "restriction": "仅供综治中心、最小应急单元及公安机关处置使用，未经预警发布机关审核不得向公众发布",
        "open": "按“{name}”快速反应处置流程处置：1分钟自救、3分钟互救、5分钟增援到位。",
        "resolved": "事件已处置完毕，无需继续前往。",
        "false_alarm": "经核实为误报，取消调派，无需前往。",
        "handed_to_police": "现场已移交公安机关处置，请听从民警指挥。",
        "status_on_scene": "已到场",
        "status_resolved": "已处置",
        "status_false_alarm": "误报",
        "status_handed_to_police": "已移交公安",
        "sep": "：",
    },
    "en": {
        "sender_name": "jiefang minimum emergency unit command platform",
        "restriction": "For governance centres, minimum emergency units and the police only; "
                       "not for public release without review by the alerting authority",
        "open": "Follow the {name} rapid-response procedure: self-rescue within 1 minute, "
                "mutual aid within 3, reinforcements on site within 5.",
        "resolved": "The incident has been dealt with; no one needs to go any more.",
        "false_alarm": "Confirmed a false alarm; dispatch is cancelled, no one needs to go.",
        "handed_to_police": "The scene has been handed over to the police; follow police instructions.",
        "status_on_scene": "responders on scene",
        "status_resolved": "resolved",
        "status_false_alarm": "false alarm",
        "status_handed_to_police": "handed to police",
        "sep": ": ",
    },
}


def cap_identifier(incident: Incident) -> str:
    """Return the key shared by every CAP message about ``incident`` (the identifier of its Alert)."""
    return f"jiefang-incident-{incident.id}"


def cap_time(at: datetime, tz: tzinfo = UTC) -> str:
    """Return ``at`` as a CAP dateTime: seconds, a numeric offset, UTC as ``-00:00``.

    Raises ValueError for a naive datetime, whose offset would be a guess.
    """
    if at.tzinfo is None:
        raise ValueError("naive datetime: CAP times need an offset")
    text = at.astimezone(tz).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "-00:00" if text.endswith("+00:00") else text


def _message(incident: Incident, sender: str, tz: tzinfo) -> tuple[str, str, datetime, str | None]:
    """Return msgType, identifier, sent time and references of the incident's current message."""
    first = cap_identifier(incident)
    msg_type = MSG_TYPE.get(incident.status, "Alert")
    if msg_type == "Alert":
        return msg_type, first, incident.reported_at, None
    changed = incident.on_scene_at if incident.status == "on_scene" else incident.closed_at
    sent = max(changed or incident.reported_at, incident.reported_at)
    return msg_type, f"{first}-{incident.status}", sent, f"{sender},{first},{cap_time(incident.reported_at, tz)}"


def _where(incident: Incident) -> str:
    return (incident.address or "").strip() or f"{incident.lat:.6f},{incident.lon:.6f}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    element = _sub(parent, tag)
    _sub(element, "valueName", name)
    _sub(element, "value", value)


def incident_to_cap(incident: Incident, playbook: Playbook | None, *, sender: str, lang: str = "zh-CN",
                    tz: tzinfo = UTC) -> bytes:
    """Return the CAP 1.2 message (UTF-8 XML) for the incident's current status; see the module docstring.

    ``playbook`` gives the event name and the radius of the area; None (a type no longer shipped)
    falls back to the type code and 100 m. Text is Chinese for a ``zh`` language, English otherwise;
    times are written in ``tz``. Raises ValueError when ``sender`` holds a space, comma, ``<`` or
    ``&`` (forbidden by CAP) or a time is naive.
    """
    if not sender or any(c in sender for c in " ,<&"):
        raise ValueError(f"CAP sender must be non-empty without spaces, commas, '<' or '&': {sender!r}")
    text = _TEXT["zh" if lang.lower().startswith("zh") else "en"]
    name = incident.type if playbook is None else (playbook.name_zh if text is _TEXT["zh"] else playbook.name_en)
    radius_m = DEFAULT_ARRIVAL_RADIUS_M if playbook is None else playbook.arrival_radius_m
    msg_type, identifier, sent, references = _message(incident, sender, tz)

    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", identifier)
    _sub(alert, "sender", sender)
    _sub(alert, "sent", cap_time(sent, tz))
    _sub(alert, "status", "Exercise" if incident.drill else "Actual")  # a readiness drill (演练) is an exercise
    _sub(alert, "msgType", msg_type)
    _sub(alert, "source", incident.source)
    _sub(alert, "scope", "Restricted")
    _sub(alert, "restriction", text["restriction"])
    if references:
        _sub(alert, "references", references)
    _sub(alert, "incidents", cap_identifier(incident))

    info = _sub(alert, "info")
    _sub(info, "language", lang)
    _sub(info, "category", CATEGORY.get(incident.type, "Other"))
    _sub(info, "event", name)
    _sub(info, "responseType", RESPONSE_TYPE.get(incident.status, "Execute"))
    _sub(info, "urgency", "Past" if incident.status in CLOSED else "Immediate")
    _sub(info, "severity", SEVERITY.get(incident.severity, "Unknown"))
    _sub(info, "certainty", CERTAINTY.get(incident.status, "Observed"))
    _pair(info, "eventCode", "jiefang:incident_type", incident.type)
    _sub(info, "onset", cap_time(incident.reported_at, tz))
    _sub(info, "senderName", text["sender_name"])
    status_note = text.get(f"status_{incident.status}")
    headline = f"{name}{text['sep']}{_where(incident)}" + (f" [{status_note}]" if status_note else "")
    _sub(info, "headline", headline if len(headline) <= HEADLINE_MAX else headline[: HEADLINE_MAX - 1] + "…")
    description = "\n\n".join(s.strip() for s in (incident.description, incident.outcome_notes) if s and s.strip())
    if description:
        _sub(info, "description", description)
    _sub(info, "instruction", text[incident.status] if incident.status in CLOSED else text["open"].format(name=name))
    _pair(info, "parameter", "jiefang:severity_level", str(incident.severity))
    _pair(info, "parameter", "jiefang:status", incident.status)
    _pair(info, "parameter", "jiefang:police_handover", "true" if incident.police_handover else "false")

    area = _sub(info, "area")
    _sub(area, "areaDesc", _where(incident))
    _sub(area, "circle", f"{incident.lat:.6f},{incident.lon:.6f} {radius_m / 1000:g}")
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def incident_to_geojson(incident: Incident, playbook: Playbook | None) -> dict[str, Any]:
    """Return the incident as an RFC 7946 GeoJSON Feature: a WGS84 Point [lon, lat] and its properties.

    Who reported it (account, member, device) is left out: the export is for maps and other systems.
    """
    return {
        "type": "Feature",
        "id": incident.id,
        "geometry": {"type": "Point", "coordinates": [incident.lon, incident.lat]},
        "properties": {
            "id": incident.id,
            "type": incident.type,
            "name_zh": None if playbook is None else playbook.name_zh,
            "name_en": None if playbook is None else playbook.name_en,
            "severity": incident.severity,
            "status": incident.status,
            "source": incident.source,
            "address": incident.address,
            "description": incident.description,
            "unit_id": incident.unit_id,
            "district_id": incident.district_id,
            "street_id": incident.street_id,
            "grid_id": incident.grid_id,
            "police_handover": bool(incident.police_handover),
            "drill": bool(incident.drill),
            "arrival_radius_m": None if playbook is None else playbook.arrival_radius_m,
            "reported_at": _iso(incident.reported_at),
            "on_scene_at": _iso(incident.on_scene_at),
            "closed_at": _iso(incident.closed_at),
            "outcome_notes": incident.outcome_notes,
        },
    }
