"""Where pods could land and what blocks them: the Localhost profiles each pod and workload template
names (per container, in the kubelet's order), the nodes a pod or template could land on
(``nodeName``, ``nodeSelector``, required node affinity, taints against tolerations, the OS label;
inter-pod affinity, topology spread and resources are not evaluated: "could land" errs on the side of
yes), and pods blocked or failing for an AppArmor or seccomp reason (their status). Pure: no I/O."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from ...policy.annotations import confinement_annotations
from ...policy.objects import TEMPLATE_PATHS, pick, project
from ..apparmor import expected_apparmor
from ..model import LOCALHOST
from ..seccomp import expected_seccomp
from .host import node_os

APPARMOR = "apparmor"
SECCOMP = "seccomp"
# Per node and profile (see crosscheck); a blocked pod's reason too.
MISSING = "missing"
APPARMOR_DISABLED = "apparmor-disabled"
INVALID = "invalid"  # seccomp: the file is there but is not a seccomp profile (JSON)
_TRANSIENT_TAINT_PREFIX = "node.kubernetes.io/"  # not-ready, unreachable, unschedulable, *-pressure: conditions


# --- profiles named by pods and workload templates ---------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """What decides which nodes a pod (template) can land on."""

    node_name: str | None = None
    node_selector: tuple[tuple[str, str], ...] = ()
    node_affinity: tuple[Any, ...] | None = None  # required nodeSelectorTerms; None: none
    tolerations: tuple[Any, ...] = ()
    os: str | None = None
    pod_affinity: bool = False  # required inter-pod (anti-)affinity: not evaluated

    def describe(self) -> str:
        if self.node_name:
            return f"nodeName {self.node_name}"
        parts = []
        if self.node_selector:
            parts.append("nodeSelector " + ",".join(f"{k}={v}" for k, v in self.node_selector))
        if self.node_affinity is not None:
            parts.append("required node affinity")
        return "; ".join(parts) or "any node"


def placement_of(spec: dict) -> Placement:
    selector = spec.get("nodeSelector") if isinstance(spec.get("nodeSelector"), dict) else {}
    affinity = spec.get("affinity") if isinstance(spec.get("affinity"), dict) else {}
    required = ((affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or None)
    terms = None
    if isinstance(required, dict):
        terms = tuple(t for t in required.get("nodeSelectorTerms") or () if isinstance(t, dict))
    pod_affinity = any(((affinity.get(kind) or {}).get("requiredDuringSchedulingIgnoredDuringExecution"))
                       for kind in ("podAffinity", "podAntiAffinity"))
    return Placement(
        node_name=spec.get("nodeName") or None,
        node_selector=tuple(sorted((str(k), str(v)) for k, v in selector.items())),
        node_affinity=terms,
        tolerations=tuple(t for t in spec.get("tolerations") or () if isinstance(t, dict)),
        os=((spec.get("os") or {}).get("name") if isinstance(spec.get("os"), dict) else None),
        pod_affinity=bool(pod_affinity),
    )


@dataclass(frozen=True)
class Reference:
    """A container (of a pod or a workload template) that names a Localhost profile."""

    type: str  # APPARMOR or SECCOMP
    profile: str  # the AppArmor profile name, or the seccomp path relative to the seccomp root
    kind: str
    namespace: str
    name: str
    container: str
    source: str  # where the profile is declared ("container field", "pod field", "annotation", ...)
    placement: Placement

    @property
    def owner(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _containers(spec: dict) -> Iterator[dict]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or ():
            if isinstance(c, dict):
                yield c


def _template(obj: dict) -> dict | None:
    if obj.get("kind") not in TEMPLATE_PATHS:
        return None
    path = TEMPLATE_PATHS[obj["kind"]]
    if path is None:
        return obj
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def references(obj: dict) -> list[Reference]:
    """The Localhost AppArmor and seccomp profiles a Pod or a workload's pod template names, one
    Reference per container, in the kubelet's order (a container field wins over the annotation and
    the pod field). Privileged containers run without seccomp, so their seccomp profile is left out;
    the kubelet checks their AppArmor profile all the same. Windows pods have neither."""
    template = _template(obj)
    if template is None:
        return []
    md = obj.get("metadata") or {}
    t_md = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    if ((spec.get("os") or {}) if isinstance(spec.get("os"), dict) else {}).get("name") == "windows":
        return []
    pod_like = {"metadata": t_md, "spec": spec}
    placement = placement_of(spec)
    out: list[Reference] = []
    for c in _containers(spec):
        base = dict(kind=str(obj.get("kind")), namespace=str(md.get("namespace") or ""), name=str(md.get("name") or ""),
                    container=str(c.get("name") or ""), placement=placement)
        aa = expected_apparmor(pod_like, c)
        if aa.type == LOCALHOST and aa.localhost:
            out.append(Reference(APPARMOR, aa.localhost, source=aa.source, **base))
        if (c.get("securityContext") or {}).get("privileged"):
            continue
        sc = expected_seccomp(pod_like, c)
        if sc.type == LOCALHOST and sc.localhost:
            out.append(Reference(SECCOMP, sc.localhost, source=sc.source, **base))
    return out


_KEPT_SPEC = ("nodeName", "nodeSelector", "tolerations", "os", "securityContext")
_KEPT_CONTAINER = ("name", "securityContext")


def _slim_metadata(md: Any, extra: tuple[str, ...] = ()) -> dict:
    if not isinstance(md, dict):
        return {}
    kept = pick(md, ("name", "namespace", "uid", "ownerReferences", *extra))
    read = confinement_annotations(md.get("annotations"))
    if read:
        kept["annotations"] = read
    return kept


def _slim_spec(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    kept = pick(spec, _KEPT_SPEC)
    affinity = spec.get("affinity")
    if isinstance(affinity, dict):
        kept["affinity"] = pick(affinity, ("nodeAffinity", "podAffinity", "podAntiAffinity"))
    for key in ("initContainers", "containers", "ephemeralContainers"):
        listed = spec.get(key)
        if isinstance(listed, list):
            kept[key] = [pick(c, _KEPT_CONTAINER) if isinstance(c, dict) else c for c in listed]
    return kept


def _slim_status(status: Any) -> Any:
    if not isinstance(status, dict):
        return status
    kept = pick(status, ("phase", "reason", "message"))
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        listed = status.get(key)
        if isinstance(listed, list):
            kept[key] = [pick(s, ("name", "state", "lastState")) if isinstance(s, dict) else s for s in listed]
    return kept


def placement_view(obj: dict) -> dict:
    """A small copy of a pod or workload with what this module reads (profiles, placement, a pod's
    status); for ``fetch_inventory(transform=...)``, so that a large cluster is never held whole."""
    return project(obj, _slim_metadata, _slim_spec, _slim_status)

# --- where a pod could land ---------------------------------------------------------------------------
def _expression_matches(expr: dict, labels: dict[str, str]) -> bool:
    key, op = expr.get("key"), expr.get("operator")
    values = [str(v) for v in expr.get("values") or ()]
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        try:
            have, want = int(labels[key]), int(values[0])
        except (KeyError, IndexError, ValueError):
            return False
        return have > want if op == "Gt" else have < want
    return False


def _term_matches(term: dict, node: dict) -> bool:
    """A nodeSelectorTerm: every expression and field must match; an empty term matches nothing."""
    expressions = [e for e in term.get("matchExpressions") or () if isinstance(e, dict)]
    fields = [e for e in term.get("matchFields") or () if isinstance(e, dict)]
    if not expressions and not fields:
        return False
    labels = (node.get("metadata") or {}).get("labels") or {}
    name = (node.get("metadata") or {}).get("name")
    if not all(_expression_matches(e, labels) for e in expressions):
        return False
    return all(e.get("key") == "metadata.name" and _expression_matches({**e, "key": "n"}, {"n": name})
               for e in fields)


def tolerates(tolerations: Iterable[dict], taint: dict) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        operator = t.get("operator") or "Equal"
        if not t.get("key"):
            if operator == "Exists":
                return True
            continue
        if t.get("key") != taint.get("key"):
            continue
        if operator == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def could_land(placement: Placement, node: dict) -> bool:
    """Whether the scheduler could put such a pod on ``node`` (or it is already there). Taints of node
    conditions (``node.kubernetes.io/*``: not-ready, unschedulable, pressure) pass: they come and go."""
    name = (node.get("metadata") or {}).get("name")
    if placement.node_name:
        return placement.node_name == name
    labels = (node.get("metadata") or {}).get("labels") or {}
    if (placement.os or "linux") != node_os(node):
        return False
    if any(labels.get(k) != v for k, v in placement.node_selector):
        return False
    if placement.node_affinity is not None and not any(_term_matches(t, node) for t in placement.node_affinity):
        return False
    for taint in (node.get("spec") or {}).get("taints") or ():
        if not isinstance(taint, dict) or taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if str(taint.get("key") or "").startswith(_TRANSIENT_TAINT_PREFIX):
            continue
        if not tolerates(placement.tolerations, taint):
            return False
    return True

# --- pods blocked or failing for a confinement reason --------------------------------------------------
_NOT_LOADED = re.compile(r'profile "(?P<name>[^"]+)" is not loaded')
_CONFINEMENT = re.compile(r"apparmor|seccomp", re.I)


@dataclass(frozen=True)
class Blocked:
    namespace: str
    pod: str
    node: str | None
    container: str | None  # None: the pod as a whole (the kubelet's AppArmor admission)
    reason: str
    message: str
    apparmor: str | None  # what the container asks for ("Localhost/k8s-nginx", ...)
    seccomp: str | None
    apparmor_profiles: tuple[str, ...] = ()  # Localhost names, for the cross-check
    seccomp_profiles: tuple[str, ...] = ()

    @property
    def type(self) -> str:
        text = f"{self.reason} {self.message}".lower()
        return APPARMOR if "apparmor" in text else SECCOMP if "seccomp" in text else "unknown"

    def evidence(self) -> list[tuple[str, str | None, str]]:
        """What the message proves about the node: (type, profile or None for every one, status)."""
        text = self.message
        if self.type == APPARMOR:
            match = _NOT_LOADED.search(text)
            if match:
                return [(APPARMOR, match.group("name"), MISSING)]
            if "not enabled on the host" in text:
                return [(APPARMOR, None, APPARMOR_DISABLED)]
            return []
        if self.type == SECCOMP:
            lowered = text.lower()
            status = MISSING if "no such file" in lowered else INVALID if ("json" in lowered or "unmarshal" in lowered
                                                                           or "invalid character" in lowered) else None
            return [(SECCOMP, p, status) for p in self.seccomp_profiles] if status else []
        return []

    def as_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "pod": self.pod, "node": self.node, "container": self.container,
                "type": self.type, "reason": self.reason, "message": self.message,
                "apparmor": self.apparmor, "seccomp": self.seccomp}


def blocked_containers(pod: dict) -> list[Blocked]:
    """The kubelet's AppArmor refusal (pod ``status.reason: AppArmor``, containers ``Blocked``), and
    containers waiting or terminated with a message that names AppArmor or seccomp (the runtime could
    not load a profile: CreateContainerError, RunContainerError, StartError)."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    containers = {c.get("name"): c for c in _containers(spec)}
    ns, name, node = str(md.get("namespace") or ""), str(md.get("name") or ""), spec.get("nodeName")

    def asks(container: dict | None) -> dict[str, Any]:
        if container is None:
            out = {"apparmor": None, "seccomp": None, "apparmor_profiles": (), "seccomp_profiles": ()}
            refs = references({**pod, "kind": "Pod"})
            out["apparmor_profiles"] = tuple(dict.fromkeys(r.profile for r in refs if r.type == APPARMOR))
            out["seccomp_profiles"] = tuple(dict.fromkeys(r.profile for r in refs if r.type == SECCOMP))
            out["apparmor"] = ", ".join(f"Localhost/{p}" for p in out["apparmor_profiles"]) or None
            return out
        aa = expected_apparmor(pod, container)
        sc = expected_seccomp(pod, container)
        return {"apparmor": aa.display() if aa.type != "Unset" else None,
                "seccomp": sc.display() if sc.type != "Unset" else None,
                "apparmor_profiles": (aa.localhost,) if aa.type == LOCALHOST and aa.localhost else (),
                "seccomp_profiles": (sc.localhost,) if sc.type == LOCALHOST and sc.localhost else ()}

    out: list[Blocked] = []
    if str(status.get("reason") or "") == "AppArmor" or (
            status.get("reason") and _CONFINEMENT.search(str(status.get("message") or ""))):
        out.append(Blocked(ns, name, node, None, str(status.get("reason")), str(status.get("message") or ""),
                           **asks(None)))
        return out
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for s in status.get(key) or ():
            if not isinstance(s, dict) or (s.get("state") or {}).get("running") is not None:
                continue
            for state_key in ("state", "lastState"):
                state = s.get(state_key) or {}
                detail = state.get("waiting") or state.get("terminated") or {}
                message = str(detail.get("message") or "")
                if message and _CONFINEMENT.search(message):
                    out.append(Blocked(ns, name, node, s.get("name"), str(detail.get("reason") or ""), message,
                                       **asks(containers.get(s.get("name")))))
                    break
    return out
