"""Synthetic VR tours, their ground truth and their upload (docs/events.md)."""
