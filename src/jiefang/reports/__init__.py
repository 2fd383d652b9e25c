"""Hazard reports (弱信号感知): members' photos and notes routed to the grid's operator, and hotspots."""
