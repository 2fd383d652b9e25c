"""Readiness drills (拉动测试): planning, execution through the alert path, scoring and results."""
