"""Benchmarks that print ratios against their floors (DESIGN.md, "Performance targets")."""
