"""Synthetic Guangzhou (areas, units, members) and the models that drive it for demos and load."""
