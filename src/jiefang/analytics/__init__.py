"""Analytics: 1-3-5 coverage, placement optimisation, governance index and reports.

The cores (``hexgrid``, ``coverage``, ``placement``, ``index``, ``roads``) are pure functions over
numpy arrays; ``service`` adapts the database to them and ``api`` serves them.
"""
