"""Shifts and rosters, duty posts with QR codes (立码报), check-in/out, the on-duty board."""
