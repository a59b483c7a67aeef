"""Node readiness for confinement: which AppArmor and seccomp profiles each node really has, which
profiles pods and workload templates name, and where a pod could land but be blocked. Pure: no I/O.

The kubelet refuses to start a pod whose AppArmor Localhost profile is not loaded on its node
("Cannot enforce AppArmor: profile ... is not loaded"), and the runtime cannot create a container
whose seccomp Localhost profile file is missing under the kubelet's seccomp root; the scheduler knows
neither, so a profile present on some nodes only is a time bomb. This module:

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
"""
from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..policy.objects import TEMPLATE_PATHS, project
from .apparmor import ANNOTATION_PREFIX as APPARMOR_ANNOTATION_PREFIX
from .apparmor import expected_apparmor
from .model import LOCALHOST
from .pods import APPARMOR_READY_MESSAGE
from .runtime import parse_runtime
from .seccomp import LEGACY_CONTAINER_PREFIX, LEGACY_POD_ANNOTATION, expected_seccomp, localhost_path

APPARMOR = "apparmor"
SECCOMP = "seccomp"

APPARMOR_ENABLED_PATH = "/sys/module/apparmor/parameters/enabled"
APPARMOR_PROFILES_PATH = "/sys/kernel/security/apparmor/profiles"
from .model import DEFAULT_SECCOMP_ROOT  # noqa: E402
DEFAULT_KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"

# Per node and profile.
LOADED = "loaded"  # AppArmor: in the kernel's profile list
PRESENT = "present"  # seccomp: the file is there and is a profile
MISSING = "missing"
APPARMOR_DISABLED = "apparmor-disabled"
INVALID = "invalid"  # seccomp: the file is there but is not a seccomp profile (JSON)
DIFFERS = "differs"
UNKNOWN = "unknown"
PROBLEMS = (MISSING, APPARMOR_DISABLED, INVALID, DIFFERS)  # a pod landing there is blocked or runs another profile

ENFORCING_MODES = ("enforce", "kill")
_TRANSIENT_TAINT_PREFIX = "node.kubernetes.io/"  # not-ready, unreachable, unschedulable, *-pressure: conditions


# --- nodes as the API describes them ------------------------------------------------------------
def node_os(node: dict) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return str(labels.get("kubernetes.io/os") or info.get("operatingSystem") or "linux").lower()


def node_summary(node: dict) -> dict[str, Any]:
    """What the API says about a node: versions, OS, kernel, and AppArmor as the Ready message tells
    (kubelets append "AppArmor enabled" when the host supports it; newer kubelets say nothing)."""
    md = node.get("metadata") or {}
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    ready = next((c for c in status.get("conditions") or () if isinstance(c, dict) and c.get("type") == "Ready"), None)
    is_ready = None if ready is None else ready.get("status") == "True"
    if not is_ready:
        apparmor = "unknown"
    else:
        apparmor = "enabled" if APPARMOR_READY_MESSAGE in (ready.get("message") or "") else "not reported"
    runtime = info.get("containerRuntimeVersion")
    return {
        "name": md.get("name"),
        "ready": is_ready,
        "kubeletVersion": info.get("kubeletVersion"),
        "containerRuntime": runtime,
        "runtime": str(parse_runtime(runtime)) if runtime else None,
        "osImage": info.get("osImage"),
        "kernelVersion": info.get("kernelVersion"),
        "os": node_os(node),
        "apparmor": apparmor,
        "readyMessage": (ready or {}).get("message"),
        "unschedulable": bool(spec.get("unschedulable")),
        "taints": [{k: t[k] for k in ("key", "value", "effect") if t.get(k) is not None}
                   for t in spec.get("taints") or () if isinstance(t, dict)],
    }


def kubelet_minor(version: str | None) -> int | None:
    match = re.match(r"v?1\.([0-9]+)", version or "")
    return int(match.group(1)) if match else None


# --- what the debug pod reads --------------------------------------------------------------------
def parse_apparmor_enabled(text: str) -> bool:
    """``Y`` or ``N`` (the module parameter); ValueError for anything else."""
    value = text.strip()
    if value in ("Y", "y", "1"):
        return True
    if value in ("N", "n", "0"):
        return False
    raise ValueError(f"unexpected value {value[:40]!r} (Y or N expected)")


_PROFILE_LINE = re.compile(r"(?P<name>.+) \((?P<mode>[A-Za-z_-]+)\)")


def parse_apparmor_profiles(text: str) -> dict[str, str]:
    """``/sys/kernel/security/apparmor/profiles``: one ``NAME (MODE)`` a line -> {name: mode}.
    ValueError when a line is not one (the file is not what it should be)."""
    profiles: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        match = _PROFILE_LINE.fullmatch(line)
        if not match:
            raise ValueError(f"line {number} is not 'NAME (MODE)': {line[:80]!r}")
        profiles[match.group("name")] = match.group("mode").lower()
    return profiles


@dataclass(frozen=True)
class SeccompFile:
    """A file under the seccomp root (``path`` relative to it)."""

    path: str
    size: int | None = None
    sha256: str | None = None
    valid_json: bool | None = None
    problem: str | None = None  # why it is not a seccomp profile (None: it is one)
    symlink: str | None = None  # the link's target, for a symbolic link
    unread: str | None = None  # a symlink whose target could not be read: why

    @property
    def is_profile(self) -> bool:
        return self.sha256 is not None and self.problem is None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size, "sha256": self.sha256,
                               "validJson": self.valid_json}
        if self.problem:
            out["problem"] = self.problem
        if self.symlink is not None:
            out["symlink"] = self.symlink
        if self.unread:
            out["unread"] = self.unread
        return out


def seccomp_file(path: str, content: bytes, symlink: str | None = None) -> SeccompFile:
    """Size, sha256 and validity of one profile file's content."""
    digest = hashlib.sha256(content).hexdigest()
    try:
        data = json.loads(content)
    except ValueError as exc:
        return SeccompFile(path, len(content), digest, False, f"not JSON: {exc}", symlink)
    problem = None
    if not isinstance(data, dict):
        problem = "not a JSON object"
    elif not isinstance(data.get("defaultAction"), str) or not data.get("defaultAction"):
        problem = "no defaultAction: not a seccomp profile"
    return SeccompFile(path, len(content), digest, True, problem, symlink)


def parse_seccomp_tar(data: bytes) -> list[SeccompFile]:
    """The seccomp root as ``tar -C ROOT -cf - .`` writes it: regular files with their size, sha256
    and validity; symbolic links with their target (no content: the caller reads them on the node).
    ValueError when ``data`` is not a tar archive."""
    files: list[SeccompFile] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for member in archive:
                path = posixpath.normpath(member.name)
                if path in (".", "") or member.isdir():
                    continue
                if path.startswith("./"):
                    path = path[2:]
                if member.issym():
                    files.append(SeccompFile(path, symlink=member.linkname))
                elif member.isfile() or member.islnk():
                    handle = archive.extractfile(member)
                    content = handle.read() if handle is not None else b""
                    files.append(seccomp_file(path, content))
    except tarfile.TarError as exc:
        raise ValueError(f"not a tar archive: {exc}") from None
    return sorted(files, key=lambda f: f.path)


def symlink_target(root: str, path: str, link: str) -> str:
    """Where a symbolic link under the seccomp root points, as a node path."""
    if link.startswith("/"):
        return posixpath.normpath(link)
    return posixpath.normpath(posixpath.join(root, posixpath.dirname(path), link))


_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def _go_bool(text: str) -> bool | None:
    return True if text in _TRUE else False if text in _FALSE else None


def parse_feature_gates(text: str) -> dict[str, bool]:
    gates: dict[str, bool] = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        parsed = _go_bool(value.strip()) if sep else None
        if key.strip() and parsed is not None:
            gates[key.strip()] = parsed
    return gates


@dataclass
class KubeletFlags:
    """What the kubelet's command line says about seccomp (``--seccomp-default``, ``--config``,
    ``--config-dir``, ``--feature-gates``)."""

    seccomp_default: bool | None = None
    config: str | None = None
    config_dir: str | None = None
    feature_gates: dict[str, bool] = field(default_factory=dict)


_VALUE_FLAGS = {"config", "config-dir", "feature-gates"}


def parse_kubelet_cmdline(data: bytes | str) -> KubeletFlags:
    """``/proc/PID/cmdline`` (NUL-separated words) of the kubelet. pflag rules: ``--flag=value`` or
    ``--flag value`` for value flags, ``--flag`` or ``--flag=BOOL`` for booleans, ``_`` as ``-``."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    words = [w for w in text.split("\x00") if w]
    flags = KubeletFlags()
    i = 1
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word in ("-", "--"):
            continue
        name, eq, value = word.lstrip("-").partition("=")
        name = name.replace("_", "-")
        if name in _VALUE_FLAGS and not eq:
            if i >= len(words):
                break
            value = words[i]
            i += 1
        if name == "seccomp-default":
            flags.seccomp_default = True if not eq else _go_bool(value)
        elif name == "config":
            flags.config = value
        elif name == "config-dir":
            flags.config_dir = value
        elif name == "feature-gates":
            flags.feature_gates.update(parse_feature_gates(value))
    return flags


def parse_kubelet_config(text: str) -> dict[str, Any]:
    """A KubeletConfiguration file (YAML or JSON): ``seccompDefault`` and ``featureGates``.
    ValueError when it is not a YAML mapping."""
    import yaml

    from ..goyaml import load as load_yaml

    try:
        data = load_yaml(text)  # the kubelet reads it with sigs.k8s.io/yaml: seccompDefault: yes is true
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError("not a YAML mapping")
    gates = data.get("featureGates") if isinstance(data.get("featureGates"), dict) else {}
    value = data.get("seccompDefault")
    return {"kind": data.get("kind"), "seccompDefault": value if isinstance(value, bool) else None,
            "featureGates": {k: v for k, v in gates.items() if isinstance(v, bool)}}


def seccomp_default(kubelet_version: str | None, flags: KubeletFlags | None,
                    config: dict[str, Any] | None, config_path: str | None) -> tuple[bool | None, str, list[str]]:
    """(on, source, notes): whether the kubelet runs every container without a profile under
    RuntimeDefault. A flag wins over the config file (as in the kubelet); before v1.25 the
    ``SeccompDefault`` feature gate must be on too (off by default in v1.22-v1.24, on from v1.25)."""
    notes: list[str] = []
    value: bool | None = None
    source = "default"
    if flags is not None and flags.seccomp_default is not None:
        value, source = flags.seccomp_default, "flag --seccomp-default"
    elif config is not None and config.get("seccompDefault") is not None:
        value, source = config["seccompDefault"], f"config {config_path}"
    elif flags is None and config is None:
        return None, "unknown", ["neither the kubelet's command line nor its config file could be read"]
    else:
        value = False
    if flags is not None and flags.config_dir:
        notes.append(f"the kubelet also reads drop-in files from --config-dir {flags.config_dir}: not read")
    gate = (flags.feature_gates.get("SeccompDefault") if flags is not None else None)
    if gate is None and config is not None:
        gate = config["featureGates"].get("SeccompDefault")
    minor = kubelet_minor(kubelet_version)
    if value and minor is not None and minor < 22:
        return False, source, notes + [f"kubelet {kubelet_version} predates SeccompDefault (v1.22)"]
    if value and gate is False:
        return False, source, notes + ["the SeccompDefault feature gate is off"]
    if value and gate is None and minor is not None and minor < 25:
        return False, source, notes + [f"kubelet {kubelet_version}: the SeccompDefault feature gate is off by "
                                       "default before v1.25"]
    return value, source, notes


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


_KEPT_ANNOTATION_PREFIXES = (APPARMOR_ANNOTATION_PREFIX, LEGACY_CONTAINER_PREFIX)
_KEPT_SPEC = ("nodeName", "nodeSelector", "tolerations", "os", "securityContext")
_KEPT_CONTAINER = ("name", "securityContext")


def _slim_metadata(md: Any, extra: tuple[str, ...] = ()) -> dict:
    if not isinstance(md, dict):
        return {}
    kept = {k: md[k] for k in ("name", "namespace", "uid", "ownerReferences", *extra) if k in md}
    annotations = md.get("annotations")
    if isinstance(annotations, dict):
        read = {k: v for k, v in annotations.items()
                if k == LEGACY_POD_ANNOTATION or (isinstance(k, str) and k.startswith(_KEPT_ANNOTATION_PREFIXES))}
        if read:
            kept["annotations"] = read
    return kept


def _slim_spec(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    kept = {k: spec[k] for k in _KEPT_SPEC if k in spec}
    affinity = spec.get("affinity")
    if isinstance(affinity, dict):
        kept["affinity"] = {k: affinity[k] for k in ("nodeAffinity", "podAffinity", "podAntiAffinity") if k in affinity}
    for key in ("initContainers", "containers", "ephemeralContainers"):
        listed = spec.get(key)
        if isinstance(listed, list):
            kept[key] = [{k: c[k] for k in _KEPT_CONTAINER if k in c} if isinstance(c, dict) else c for c in listed]
    return kept


def _slim_status(status: Any) -> Any:
    if not isinstance(status, dict):
        return status
    kept = {k: status[k] for k in ("phase", "reason", "message") if k in status}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        listed = status.get(key)
        if isinstance(listed, list):
            kept[key] = [{k: s[k] for k in ("name", "state", "lastState") if k in s} if isinstance(s, dict) else s
                         for s in listed]
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


# --- what one node has ----------------------------------------------------------------------------------
@dataclass
class NodeInspection:
    """What a debug pod read on a node. None fields: not read (``problems`` says why)."""

    apparmor_enabled: bool | None = None
    apparmor_profiles: dict[str, str] | None = None
    seccomp_root: str = DEFAULT_SECCOMP_ROOT
    seccomp_root_exists: bool | None = None
    seccomp_files: list[SeccompFile] | None = None
    seccomp_default: bool | None = None
    seccomp_default_source: str | None = None
    kubelet: dict[str, Any] = field(default_factory=dict)  # pid, config, flags seen
    problems: list[str] = field(default_factory=list)  # reads that failed
    notes: list[str] = field(default_factory=list)
    failed: str | None = None  # nothing could be read: why

    def seccomp_by_path(self) -> dict[str, SeccompFile] | None:
        if self.seccomp_root_exists is False:
            return {}
        if self.seccomp_files is None:
            return None
        return {f.path: f for f in self.seccomp_files}

    def as_dict(self) -> dict[str, Any]:
        profiles = self.apparmor_profiles
        return {
            "status": "failed" if self.failed else "partial" if self.problems else "ok",
            "error": self.failed,
            "apparmor": {"enabled": self.apparmor_enabled,
                         "profiles": None if profiles is None else [{"name": n, "mode": m}
                                                                    for n, m in sorted(profiles.items())]},
            "seccomp": {"root": self.seccomp_root, "rootExists": self.seccomp_root_exists,
                        "files": None if self.seccomp_files is None else [f.as_dict() for f in self.seccomp_files]},
            "kubelet": {**self.kubelet, "seccompDefault": self.seccomp_default,
                        "seccompDefaultSource": self.seccomp_default_source},
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def _inspected_status(ref_type: str, profile: str, inspection: NodeInspection) -> dict[str, Any]:
    if inspection.failed:
        return {"status": UNKNOWN, "detail": "the node could not be inspected"}
    if ref_type == APPARMOR:
        if inspection.apparmor_enabled is False:
            return {"status": APPARMOR_DISABLED, "detail": "AppArmor is not enabled on the node"}
        if inspection.apparmor_profiles is None:
            return {"status": UNKNOWN, "detail": "the loaded profiles could not be read"}
        mode = inspection.apparmor_profiles.get(profile)
        if mode is None:
            return {"status": MISSING, "detail": "not loaded"}
        return {"status": LOADED, "mode": mode}
    files = inspection.seccomp_by_path()
    if files is None:
        return {"status": UNKNOWN, "detail": "the seccomp root could not be read"}
    entry = files.get(posixpath.normpath(profile))
    if entry is None:
        detail = "no such file" if inspection.seccomp_root_exists else f"no seccomp root {inspection.seccomp_root}"
        return {"status": MISSING, "detail": detail}
    if entry.sha256 is None:
        return {"status": UNKNOWN, "detail": entry.unread or "the file could not be read"}
    out: dict[str, Any] = {"sha256": entry.sha256, "size": entry.size}
    if entry.problem:
        return {"status": INVALID, "detail": entry.problem, **out}
    return {"status": PRESENT, **out}


def cross_check(refs: list[Reference], nodes: list[dict], inspections: dict[str, NodeInspection],
                blocked: list[Blocked], seccomp_root: str = DEFAULT_SECCOMP_ROOT) -> list[dict[str, Any]]:
    """Per referenced profile: who names it, the nodes where they could land, and its status on each.

    ``nodes``: the Linux nodes in scope (raw objects); ``inspections``: what debug pods read (a node
    missing from it is ``unknown``, unless a blocked pod's message tells); ``blocked``: from
    ``blocked_containers``. ``differs``: present on several landing nodes with different content
    (seccomp sha256) or mode (AppArmor); every node holding a variant is marked.
    """
    by_name = {(n.get("metadata") or {}).get("name"): n for n in nodes}
    evidence: dict[tuple[str, str, str | None], tuple[str, str]] = {}
    for b in blocked:
        if b.node in by_name:
            for ref_type, profile, status in b.evidence():
                evidence.setdefault((b.node, ref_type, profile), (status, f"pod {b.namespace}/{b.pod}: {b.message}"))
    grouped: dict[tuple[str, str], list[Reference]] = {}
    for ref in refs:
        grouped.setdefault((ref.type, ref.profile), []).append(ref)
    out = []
    for (ref_type, profile), group in sorted(grouped.items()):
        entry: dict[str, Any] = {"type": ref_type, "profile": profile, "path": None, "references": [], "nodes": [],
                                 "notes": []}
        if ref_type == SECCOMP:
            entry["path"] = localhost_path(seccomp_root, profile)
            if entry["path"] is None:
                entry["notes"].append("the name leaves the seccomp root: the kubelet refuses it")
        landing: dict[str, None] = {}
        seen: set[tuple[str, str, str, str]] = set()
        for ref in sorted(group, key=lambda r: (r.kind == "Pod", r.kind, r.namespace, r.name)):  # templates first
            key = (ref.kind, ref.namespace, ref.name, ref.container)
            if key in seen:
                continue
            seen.add(key)
            if ref.placement.node_name:  # already placed: no need to look at every node
                lands = [ref.placement.node_name] if ref.placement.node_name in by_name else []
            else:
                lands = [name for name, node in by_name.items() if could_land(ref.placement, node)]
            landing.update(dict.fromkeys(lands))
            item = {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name, "container": ref.container,
                    "source": ref.source, "placement": ref.placement.describe(), "landsOn": lands}
            if ref.placement.pod_affinity:
                item["note"] = "inter-pod affinity is not evaluated: it could land on fewer nodes"
            entry["references"].append(item)
        if not landing:
            entry["notes"].append("no node in scope matches where it could land")
        for node in sorted(landing):
            inspection = inspections.get(node)
            status = _inspected_status(ref_type, profile, inspection) if inspection is not None else \
                {"status": UNKNOWN, "detail": "not inspected"}
            if status["status"] == UNKNOWN:
                found = evidence.get((node, ref_type, profile)) or evidence.get((node, ref_type, None))
                if found is not None:
                    status = {"status": found[0], "detail": found[1], "from": "pod status"}
            entry["nodes"].append({"node": node, **status})
        _mark_differences(entry, ref_type)
        for status_name, key in ((MISSING, "missingOn"), (APPARMOR_DISABLED, "apparmorDisabledOn"),
                                 (INVALID, "invalidOn"), (DIFFERS, "differsOn"), (UNKNOWN, "unknownOn")):
            entry[key] = [n["node"] for n in entry["nodes"] if n["status"] == status_name]
        entry["ok"] = not any(entry[k] for k in ("missingOn", "apparmorDisabledOn", "invalidOn", "differsOn"))
        if ref_type == APPARMOR:
            modes = {n.get("mode") for n in entry["nodes"] if n["status"] == LOADED}
            if modes and not modes & set(ENFORCING_MODES):
                entry["notes"].append(f"loaded in {', '.join(sorted(m for m in modes if m))} mode only: "
                                      "violations are logged, not blocked")
        out.append(entry)
    return out


def _mark_differences(entry: dict[str, Any], ref_type: str) -> None:
    key = "mode" if ref_type == APPARMOR else "sha256"
    good = LOADED if ref_type == APPARMOR else PRESENT
    variants: dict[str, list[str]] = {}
    for n in entry["nodes"]:
        if n["status"] == good:
            variants.setdefault(n[key], []).append(n["node"])
    entry["variants"] = [{key: value, "nodes": names} for value, names in sorted(variants.items())]
    if len(variants) > 1:
        for n in entry["nodes"]:
            if n["status"] == good:
                n["status"] = DIFFERS
        shown = "; ".join(f"{(v[:12] if key == 'sha256' else v)} on {', '.join(names)}"
                          for v, names in sorted(variants.items()))
        entry["notes"].append(f"not the same on every node ({key}): {shown}")


def summarize(profiles: list[dict[str, Any]], blocked: list[Blocked], nodes: int, inspected: int) -> dict[str, int]:
    return {
        "nodes": nodes,
        "inspected": inspected,
        "profiles": len(profiles),
        "profilesWithProblems": sum(1 for p in profiles if not p["ok"]),
        "missing": sum(len(p["missingOn"]) + len(p["apparmorDisabledOn"]) for p in profiles),
        "invalid": sum(len(p["invalidOn"]) for p in profiles),
        "differs": sum(1 for p in profiles if p["differsOn"]),
        "unknown": sum(len(p["unknownOn"]) for p in profiles),
        "blockedPods": len({(b.namespace, b.pod) for b in blocked}),
    }


def exit_code(summary: dict[str, int], errors: int) -> int:
    """2 errors (a node not inspected, a list forbidden); 1 a referenced profile missing, invalid or
    differing where it could land, or a pod blocked for a confinement reason; 0 otherwise."""
    if errors:
        return 2
    if summary["profilesWithProblems"] or summary["blockedPods"]:
        return 1
    return 0
