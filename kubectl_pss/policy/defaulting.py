"""The API-server defaulting that changes PSA's verdict on a manifest read from disk.

Objects read from a live cluster are already defaulted; apply this only to manifests.
Only two defaults change any check's outcome (pss-spec section 8):
a volume with no source becomes an emptyDir, and a Pod on the host network gets
hostPort = containerPort for each port without one (Pods only, not templates, since k8s 1.28).
"""
from __future__ import annotations

import copy

from .objects import TEMPLATE_PATHS

# Every VolumeSource field of core/v1 Volume.
VOLUME_SOURCES = frozenset({
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
    "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
    "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
    "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
    "storageos", "csi", "ephemeral", "image",
})


def _needs_volume_default(spec: dict) -> bool:
    volumes = spec.get("volumes")
    return isinstance(volumes, list) and any(
        isinstance(v, dict) and not any(v.get(s) is not None for s in VOLUME_SOURCES) for v in volumes
    )


def _needs_host_ports(spec: dict) -> bool:
    if spec.get("hostNetwork") is not True:
        return False
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or ():
            if isinstance(container, dict):
                for port in container.get("ports") or ():
                    if isinstance(port, dict) and not port.get("hostPort") and port.get("containerPort"):
                        return True
    return False


def _default_spec(spec: dict, is_pod: bool) -> None:
    for volume in spec.get("volumes") or ():
        if isinstance(volume, dict) and not any(volume.get(s) is not None for s in VOLUME_SOURCES):
            volume["emptyDir"] = {}
    if is_pod and spec.get("hostNetwork") is True:
        for key in ("initContainers", "containers"):
            for container in spec.get(key) or ():
                if not isinstance(container, dict):
                    continue
                for port in container.get("ports") or ():
                    if isinstance(port, dict) and not port.get("hostPort") and port.get("containerPort"):
                        port["hostPort"] = port["containerPort"]


def _spec_of(obj: dict) -> dict | None:
    path = TEMPLATE_PATHS.get(obj.get("kind"), ())
    node = obj
    for key in (path or ()) + ("spec",):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def apply_manifest_defaults(obj: dict) -> dict:
    """The object as the API server would default it before admission (a copy only if anything changes)."""
    if obj.get("kind") not in TEMPLATE_PATHS:
        return obj
    spec = _spec_of(obj)
    is_pod = obj.get("kind") == "Pod"
    if spec is None or not (_needs_volume_default(spec) or (is_pod and _needs_host_ports(spec))):
        return obj
    obj = copy.deepcopy(obj)
    _default_spec(_spec_of(obj), is_pod)
    return obj
