"""Incidents: intake (console, phone SOS, external systems, IoT alarms), playbooks, timeline."""
