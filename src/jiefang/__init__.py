"""jiefang: command platform for community minimum emergency units (最小应急单元)."""

__version__ = "0.1.0"
