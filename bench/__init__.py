"""The benchmark harness: `make bench` (`python -m bench.run`) and `make soak` (`python -m bench.soak`)."""
