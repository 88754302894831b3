"""Recommenders behind one interface (fit / score / save / load), so fusion treats them alike."""
