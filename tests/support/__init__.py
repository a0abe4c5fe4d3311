"""What the tests and the benchmarks share and the package does not ship: synthetic scenes and embeddings,
replayed detections, tracking-quality scores, poison messages, ports, waiting, and config files.

tests/ is on sys.path for the tests (pytest puts the folder of tests/conftest.py there); the benchmarks add it
themselves, so both import `support.<module>`."""
