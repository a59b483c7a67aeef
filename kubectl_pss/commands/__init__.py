"""One module per subcommand, each in kubectl's Complete/Validate/Run shape.

Every module defines ``add_arguments(parser)``, ``complete(args) -> Options``,
``validate(options)`` (raises UsageError: exit 2) and ``run(options) -> exit code``.
"""

# name -> (module under kubectl_pss.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("audit", "Every namespace's Pod Security labels and the strictest level its pods and workloads pass"),
    "simulate": ("simulate", "What enforcing a Pod Security level on namespaces would reject, grouped by workload"),
    "label": ("label", "Set Pod Security labels safely: the plan, a server dry run, staged apply, an undo file"),
    "audit-log": ("audit_log", "What PodSecurity really audited, denied and exempted, from the API server's audit log"),
    "admission-config": ("admission_config", "Write, propose (--from-cluster) or check (--check) the PodSecurity AdmissionConfiguration"),
    "check": ("check", "Evaluate manifests offline against the Pod Security Standards"),
    "fix": ("fix", "Make manifests or live workloads pass a level: only safe fixes, the rest reported as decisions"),
    "snapshot": ("snapshot", "Dump namespaces, pods and workloads to a file that audit and simulate read offline"),
    "seccomp": ("seccomp", "Seccomp profiles from what a workload really calls (audit records), and a profile linter"),
    "verify-apparmor": ("verify_apparmor", "The AppArmor profile each running container really has, against its spec"),
    "verify-seccomp": ("verify_seccomp", "The seccomp filter each running container really has, against its spec"),
    "nodes": ("nodes", "Which AppArmor and seccomp profiles each node really has, against the ones pods name"),
    "version": ("version", "Print the plugin version, the newest policy version it knows, and the server's version"),
    "completion": ("completion", "Print a shell completion script for kubectl-pss: bash, zsh or fish"),
}

# Flags that take a value, so that flags given before the command name can be moved after it.
VALUE_FLAGS = {"--kubeconfig", "--context", "--cluster", "--user", "--request-timeout", "-v", "--v", "-n", "--namespace",
               "-o", "--output"}
