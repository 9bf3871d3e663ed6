"""Experiments: choosing models and settings by measurement (hyperparameter search, seeds, DDP)."""
