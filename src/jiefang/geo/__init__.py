"""Coordinates, metric projection and Chinese map datums; pure functions over numpy arrays."""
