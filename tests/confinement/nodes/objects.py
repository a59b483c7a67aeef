"""Nodes, pods, workloads and a seccomp root as the API and a debug pod give them, for the nodes tests."""
from __future__ import annotations

import hashlib
import io
import tarfile

NGINX = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}


def sha(data) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


def node(name, labels=None, taints=None, os="linux", ready=True, kubelet="v1.30.2", apparmor=True):
    message = "kubelet is posting ready status" + (". AppArmor enabled" if apparmor else "")
    return {"kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                                   "kubernetes.io/os": os, **(labels or {})}},
            "spec": {"taints": taints} if taints else {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "Unknown", "message": message}],
                       "nodeInfo": {"kubeletVersion": kubelet, "containerRuntimeVersion": "containerd://1.7.13",
                                    "osImage": "Ubuntu 24.04.1 LTS", "kernelVersion": "6.8.0-49-generic",
                                    "operatingSystem": os}}}


def pod(name, containers, ns="apps", node_name=None, annotations=None, security_context=None, status=None, **spec):
    s = {"containers": containers, **spec}
    if node_name:
        s["nodeName"] = node_name
    if security_context:
        s["securityContext"] = security_context
    md = {"name": name, "namespace": ns}
    if annotations:
        md["annotations"] = annotations
    return {"kind": "Pod", "apiVersion": "v1", "metadata": md, "spec": s, "status": status or {"phase": "Running"}}


def deployment(name, containers, ns="apps", **spec):
    return {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"metadata": {}, "spec": {"containers": containers, **spec}}}}


def aa(profile):
    return {"appArmorProfile": {"type": "Localhost", "localhostProfile": profile}}


def sc(path):
    return {"seccompProfile": {"type": "Localhost", "localhostProfile": path}}


def tar_of(entries: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        d = tarfile.TarInfo("./")
        d.type = tarfile.DIRTYPE
        t.addfile(d)
        for name, value in entries.items():
            info = tarfile.TarInfo(name)
            if isinstance(value, tuple):  # ("sym", target) or ("hard", target)
                info.type = tarfile.SYMTYPE if value[0] == "sym" else tarfile.LNKTYPE
                info.linkname = value[1]
                t.addfile(info)
            else:
                data = value.encode()
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
