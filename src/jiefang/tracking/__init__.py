"""Live positions, electronic fences and nearest-member queries."""
