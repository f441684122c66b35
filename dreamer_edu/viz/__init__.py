"""Figures for the notebooks and ``figures/`` (plots.py)."""
