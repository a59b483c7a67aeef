"""I/O orchestration of the commands (no argparse): reading sources and clusters, then the pure domain."""
