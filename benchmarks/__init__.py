"""Benchmarks for s2s_invad (not imported by the package). See benchmarks/README.md."""
