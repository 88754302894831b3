"""Serving: BentoML services for recommend / search / similar / feedback (issue #7; not built yet)."""
