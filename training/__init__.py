"""Training stage: the recommenders, their registry, honest evaluation and score fusion."""
