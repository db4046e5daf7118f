"""The benchmark harness of issue 7: seed, serve, load with wrk, report (`python -m bench`)."""
