"""Responder selection, 1-3-5 waves, acknowledgements, escalation and arrival."""
