"""Monitoring: Evidently drift/quality reports on shop events and served recommendations,
the retrain decision, and the champion/challenger gate."""
