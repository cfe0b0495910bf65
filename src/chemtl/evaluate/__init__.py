"""Metrics, comparisons and reports over model predictions."""
