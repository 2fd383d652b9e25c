"""Minimum emergency units (最小应急单元), their teams and equipment."""
