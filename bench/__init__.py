"""Benchmarks that print ratios against their floors (targets: bench/README.md)."""
