"""Training stage: the recommenders, their evaluation and score fusion (issue #6; not built yet)."""
