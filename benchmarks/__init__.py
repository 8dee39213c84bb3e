"""Reproducible performance measurements: ratios taken in one run on the same weights."""
