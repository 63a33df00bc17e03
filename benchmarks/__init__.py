"""Measured comparisons (not tests); results in ``benchmarks/RESULTS.md``."""
