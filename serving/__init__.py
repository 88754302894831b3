"""Serving: the package stage (bundle -> BentoML model store) and the BentoML service for
recommend / search / similar / feedback."""
