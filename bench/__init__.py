"""Benchmarks of the service: `python -m bench.run` (see docs/BENCHMARKS.md); never run by CI."""
