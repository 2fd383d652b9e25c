"""Audit log (审计日志): every operator action and every view of personal data."""
