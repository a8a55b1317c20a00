"""Supervisor insights: KPIs computed from the raw call events, the wallboard, reports, metrics.

``kpis.compute_kpis`` is the one function behind ``GET /api/kpis``, ``ivr kpis`` and the
console's reports, so every place shows the same numbers.
"""
