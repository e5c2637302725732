"""EXPLAIN reports of the analytics, heatmap and export queries on a million events."""
