"""Benchmarks run by ``./build.sh bench``: each module registers figures it measures."""
