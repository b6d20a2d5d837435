"""Benchmarks: each reports ratios against raw baselines measured in the same run."""
