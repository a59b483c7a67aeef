"""restrictedVolumes (restricted, v1.0+): only the allowed volume types. Overrides hostPathVolumes.

csi, ephemeral and image are allowed at every version (upstream widened the list retroactively).
"""
from __future__ import annotations

from ..helpers import Forbidden, PodView, join_quote, pluralize, sorted_set
from ..levels import Level
from ._base import Check, Revision, register

ALLOWED_SOURCES = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
    "persistentVolumeClaim", "projected", "secret",
)
# The order in which upstream names a restricted volume's type.
RESTRICTED_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
    "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "storageos",
)


def _volume_type(volume: dict) -> str | None:
    """None for an allowed volume, else the restricted type name upstream reports."""
    for source in ALLOWED_SOURCES:
        if volume.get(source) is not None:
            return None
    for source in RESTRICTED_SOURCES:
        if volume.get(source) is not None:
            return source
    return "unknown"


def restricted_volumes_1_0(pod: PodView) -> Forbidden | None:
    volumes = pod.spec.get("volumes")
    if not volumes:
        return None
    bad: list[str] = []
    types: set[str] = set()
    for volume in volumes:
        if not isinstance(volume, dict):
            continue
        kind = _volume_type(volume)
        if kind is not None:
            name = volume.get("name")
            bad.append("" if name is None else str(name))
            types.add(kind)
    if bad:
        return Forbidden(
            "restricted volume types",
            f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)} {pluralize('uses', 'use', len(bad))} "
            f"{pluralize('restricted volume type', 'restricted volume types', len(types))} {join_quote(sorted_set(types))}",
        )
    return None


CHECK = register(Check(
    "restrictedVolumes",
    Level.RESTRICTED,
    (Revision(0, restricted_volumes_1_0, overrides=("hostPathVolumes",)),),
))
