"""procMount_restricted (restricted, v1.35+): procMount Default even in user-namespace pods.

Overrides the baseline procMount check, whose v1.35 revision relaxes it for user namespaces.
"""
from __future__ import annotations

from ..levels import Level
from ._base import Check, Revision, register
from .proc_mount import proc_mount_1_0

CHECK = register(Check(
    "procMount_restricted",
    Level.RESTRICTED,
    (Revision(35, proc_mount_1_0, overrides=("procMount",)),),
))
