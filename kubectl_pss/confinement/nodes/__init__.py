"""Node readiness for confinement: which AppArmor and seccomp profiles each node really has, which
profiles pods and workload templates name, and where a pod could land but be blocked. Pure: no I/O.

The kubelet refuses to start a pod whose AppArmor Localhost profile is not loaded on its node
("Cannot enforce AppArmor: profile ... is not loaded"), and the runtime cannot create a container
whose seccomp Localhost profile file is missing under the kubelet's seccomp root; the scheduler knows
neither, so a profile present on some nodes only is a time bomb. This package:

- parses what a node debug pod reads: ``/sys/module/apparmor/parameters/enabled``,
  ``/sys/kernel/security/apparmor/profiles``, a tar of the seccomp root, the kubelet's command line
  and config file (SeccompDefault);
- lists the Localhost profiles each pod and workload template names, per container, in the kubelet's
  order (``apparmor.expected_apparmor``, ``seccomp.expected_seccomp``);
- decides on which nodes a pod or template could land: ``nodeName``, ``nodeSelector``, required node
  affinity, NoSchedule/NoExecute taints against tolerations, the OS label. Inter-pod affinity,
  topology spread and resources are not evaluated ("could land" errs on the side of yes);
- cross-checks: per referenced profile and landing node, ``loaded``/``present``, ``missing``,
  ``apparmor-disabled``, ``invalid`` (a seccomp file that is not a profile), ``differs`` (the file's
  sha256, or the AppArmor mode, is not the same on every landing node), ``unknown`` (not inspected);
- finds pods blocked or failing for an AppArmor or seccomp reason from their status.

``host``: a node's summary and what its debug pod reads; ``placement``: references, landing, blocked
pods; ``crosscheck``: the verdict per profile and node.
"""
from .crosscheck import (DIFFERS, ENFORCING_MODES, LOADED, PRESENT, UNKNOWN, NodeInspection, cross_check,
                         exit_code, summarize)
from .host import (APPARMOR_ENABLED_PATH, APPARMOR_PROFILES_PATH, DEFAULT_KUBELET_CONFIG, KubeletFlags, SeccompFile,
                   debug_pod_skip, kubelet_minor, seccomp_root_of, node_os, node_summary, parse_apparmor_enabled, parse_apparmor_profiles,
                   parse_feature_gates, parse_kubelet_cmdline, parse_kubelet_config, parse_seccomp_tar,
                   seccomp_default, seccomp_file, symlink_target)
from .placement import (APPARMOR, APPARMOR_DISABLED, INVALID, MISSING, SECCOMP, Blocked, Placement, Reference,
                        blocked_containers, could_land, placement_of, placement_view, references, tolerates)

__all__ = [
    "APPARMOR", "APPARMOR_DISABLED", "APPARMOR_ENABLED_PATH", "APPARMOR_PROFILES_PATH", "Blocked",
    "DEFAULT_KUBELET_CONFIG", "DIFFERS", "ENFORCING_MODES", "INVALID", "KubeletFlags", "LOADED", "MISSING",
    "NodeInspection", "PRESENT", "Placement", "Reference", "SECCOMP", "SeccompFile", "UNKNOWN", "blocked_containers",
    "could_land", "cross_check", "debug_pod_skip", "seccomp_root_of", "exit_code", "kubelet_minor", "node_os", "node_summary", "parse_apparmor_enabled",
    "parse_apparmor_profiles", "parse_feature_gates", "parse_kubelet_cmdline", "parse_kubelet_config",
    "parse_seccomp_tar", "placement_of", "placement_view", "references", "seccomp_default", "seccomp_file",
    "summarize", "symlink_target", "tolerates",
]
