"""Feature stage: Feast feature repo over validated events (issue #5; not built yet)."""
