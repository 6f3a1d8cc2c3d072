"""Experiment tracking: MLflow runs for every stage result, kept pending while MLflow is down."""
