"""This tool's own questions about a cluster, pure: findings grouped by owner, a namespace's audit and
simulation, a label rollout's plan, an AdmissionConfiguration proposal. Imports only ``policy``."""
