"""Runtime confinement: what AppArmor profile and seccomp filter a container asks for, what it really
runs under, and the verdict. Pure functions on raw API objects and command output: no I/O, no
``kubernetes`` import (``verify-apparmor`` and ``verify-seccomp`` do the talking).

- ``model``: Expected, Verdict, verdict names and unverifiable reasons, exit codes.
- ``pods``: containers of a pod with their status, node facts (kubelet, runtime, AppArmor).
- ``runtime``: container runtimes and their default AppArmor profile names.
- ``apparmor``: expected profile (kubelet's order), ``/proc/<pid>/attr/current`` parsing, verdict.
- ``seccomp``: expected profile, ``/proc/<pid>/status`` parsing, ``crictl inspect`` parsing,
  profile-file comparison, verdicts.
"""
from .model import (
    COMPLAIN,
    LOCALHOST,
    MATCH,
    MISMATCH,
    RUNTIME_DEFAULT,
    UNCONFINED,
    UNSET,
    UNVERIFIABLE,
    VERDICTS,
    Expected,
    Verdict,
)

__all__ = ["COMPLAIN", "LOCALHOST", "MATCH", "MISMATCH", "RUNTIME_DEFAULT", "UNCONFINED", "UNSET", "UNVERIFIABLE",
           "VERDICTS", "Expected", "Verdict"]
