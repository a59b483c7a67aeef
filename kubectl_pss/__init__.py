"""kubectl-pss: what the Pod Security Standards would do to a cluster, before anything breaks."""

__version__ = "0.1.0"
