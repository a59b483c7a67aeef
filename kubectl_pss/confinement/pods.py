"""What the confinement checks need from Pod and Node objects (raw dicts as the API serves them). Pure."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

FINISHED_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True)
class ContainerRef:
    """One container of a pod, with what its status says about it."""

    namespace: str
    pod: str
    name: str
    node: str | None
    spec: dict
    status: dict | None  # the containerStatuses entry, None if the kubelet has not reported it
    init: bool = False  # a restartable init container (sidecar)

    @property
    def running(self) -> bool:
        return bool(self.status and (self.status.get("state") or {}).get("running") is not None)

    @property
    def container_id(self) -> str | None:
        """The runtime's id, without the ``containerd://`` scheme (crictl wants the bare id)."""
        return bare_container_id((self.status or {}).get("containerID"))

    @property
    def privileged(self) -> bool:
        return bool((self.spec.get("securityContext") or {}).get("privileged"))


def bare_container_id(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.split("://", 1)[1] if "://" in value else value


def pod_containers(pod: dict) -> Iterator[ContainerRef]:
    """Regular containers, and init containers that keep running (``restartPolicy: Always``)."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or () if isinstance(s, dict)}
    init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or () if isinstance(s, dict)}
    for c in spec.get("initContainers") or ():
        if isinstance(c, dict) and c.get("restartPolicy") == "Always":
            yield ContainerRef(md.get("namespace") or "", md.get("name") or "", c.get("name") or "",
                               spec.get("nodeName"), c, init_statuses.get(c.get("name")), init=True)
    for c in spec.get("containers") or ():
        if isinstance(c, dict):
            yield ContainerRef(md.get("namespace") or "", md.get("name") or "", c.get("name") or "",
                               spec.get("nodeName"), c, statuses.get(c.get("name")))


def is_finished(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in FINISHED_PHASES


def shares_process_namespace(pod: dict) -> bool:
    return bool((pod.get("spec") or {}).get("shareProcessNamespace"))


def is_windows_pod(pod: dict) -> bool:
    return ((pod.get("spec") or {}).get("os") or {}).get("name") == "windows"


def not_running_detail(pod: dict, ref: ContainerRef) -> str:
    """Why a container is not running, in the kubelet's words where it gave some."""
    status = pod.get("status") or {}
    state = (ref.status or {}).get("state") or {}
    parts = []
    if state.get("waiting") is not None:
        waiting = state["waiting"] or {}
        parts.append(f"waiting ({waiting.get('reason') or 'no reason'})")
        if waiting.get("message"):
            parts.append(waiting["message"])
    elif state.get("terminated") is not None:
        terminated = state["terminated"] or {}
        parts.append(f"terminated ({terminated.get('reason') or 'exit ' + str(terminated.get('exitCode'))})")
    elif ref.status is None:
        parts.append(f"no status yet (pod {status.get('phase') or 'Pending'})")
    if status.get("reason") and status.get("message") and status.get("message") not in parts:
        parts.append(f"pod {status['reason']}: {status['message']}")
    return "container not running: " + "; ".join(parts) if parts else "container not running"


# --- nodes -----------------------------------------------------------------------------------
APPARMOR_READY_MESSAGE = "AppArmor enabled"


@dataclass(frozen=True)
class NodeFacts:
    name: str
    kubelet_version: str | None
    container_runtime: str | None  # status.nodeInfo.containerRuntimeVersion, e.g. containerd://1.7.13
    os: str | None
    apparmor: str  # "enabled", "not reported" or "unknown"
    ready: bool | None
    skip: str | None = None  # why no debug pod is tried there (nodes.host.debug_pod_skip); not in as_dict

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kubeletVersion": self.kubelet_version, "containerRuntime": self.container_runtime,
                "os": self.os, "apparmor": self.apparmor, "ready": self.ready}


def node_facts(node: dict | None, name: str) -> NodeFacts:
    """Kubelet version, runtime, OS, and whether the kubelet says AppArmor is enabled (the kubelet
    appends "AppArmor enabled" to the Ready condition's message when the host supports it)."""
    if not node:
        return NodeFacts(name, None, None, None, "unknown", None)
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    ready = next((c for c in status.get("conditions") or () if isinstance(c, dict) and c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        apparmor = "unknown"
    else:
        apparmor = "enabled" if APPARMOR_READY_MESSAGE in (ready.get("message") or "") else "not reported"
    from .nodes.host import debug_pod_skip  # here: host imports this module

    return NodeFacts(name, info.get("kubeletVersion"), info.get("containerRuntimeVersion"),
                     info.get("operatingSystem") or (node.get("metadata") or {}).get("labels", {}).get("kubernetes.io/os"),
                     apparmor, None if ready is None else ready.get("status") == "True", debug_pod_skip(node))
