"""I/O orchestration, no argparse: the run's one connection, the cluster state (live or snapshot),
containers, nodes and their debug pods, crictl, seccomp install, label apply and undo, audit-log sources.

Commands call in with their own settings (never their options types); ``cluster`` does the transport.
"""
