"""The benchmark harness: python -m scripts.bench (docs/performance.md)."""
