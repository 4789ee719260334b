"""Data shipped with gradtrace: published results, committed tuning results."""
