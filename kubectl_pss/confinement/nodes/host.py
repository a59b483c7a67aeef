"""What a node is and has: its summary from the API, and what its debug pod reads there (AppArmor,
the seccomp root as a tar, the kubelet's command line and config: SeccompDefault). Pure: no I/O."""
from __future__ import annotations

import hashlib
import io
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from typing import Any

from ...seccomp.filter import parse_profile_json, profile_problem
from ..apparmor import PROFILE_MODE
from ..pods import APPARMOR_READY_MESSAGE
from ..runtime import parse_runtime

APPARMOR_ENABLED_PATH = "/sys/module/apparmor/parameters/enabled"
APPARMOR_PROFILES_PATH = "/sys/kernel/security/apparmor/profiles"
DEFAULT_KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"


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


def debug_pod_skip(node: dict | None) -> str | None:
    """Why no debug pod is tried on ``node`` (None: try). Only a kubelet that does not answer (Ready
    Unknown, or no Ready condition) or a Windows node; a node NotReady (False) for its network still
    runs the debug pod, which is hostNetwork."""
    if node is None:
        return None
    if node_os(node) == "windows":
        return "a Windows node: not inspected"
    status = (node.get("status") or {}).get("conditions") or ()
    ready = next((c for c in status if isinstance(c, dict) and c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") not in ("True", "False"):
        return "the node's kubelet does not answer (Ready Unknown): not inspected, a debug pod would not start"
    return None


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


def parse_apparmor_profiles(text: str) -> dict[str, str]:
    """``/sys/kernel/security/apparmor/profiles``: one ``NAME (MODE)`` a line -> {name: mode}.
    ValueError when a line is not one (the file is not what it should be)."""
    profiles: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        match = PROFILE_MODE.fullmatch(line)
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
        data = parse_profile_json(content)
    except ValueError as exc:
        return SeccompFile(path, len(content), digest, False, str(exc), symlink)
    problem = profile_problem(data)
    if problem is not None and isinstance(data, dict):
        problem += ": not a seccomp profile"
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
    root_dir: str | None = None  # --root-dir (a flag only: no KubeletConfiguration field)
    feature_gates: dict[str, bool] = field(default_factory=dict)


_VALUE_FLAGS = {"config", "config-dir", "feature-gates", "root-dir"}
DEFAULT_KUBELET_ROOT = "/var/lib/kubelet"


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
        elif name == "root-dir":
            flags.root_dir = value
        elif name == "feature-gates":
            flags.feature_gates.update(parse_feature_gates(value))
    return flags


def seccomp_root_of(flags: KubeletFlags | None, given: str | None) -> tuple[str, str]:
    """(root, source): the kubelet's Localhost seccomp root ``<--root-dir>/seccomp``; ``given``
    (``--seccomp-root``) wins. Without the kubelet's command line, the default root."""
    if given:
        return given, "flag --seccomp-root"
    if flags is not None and flags.root_dir:
        return posixpath.join(flags.root_dir.rstrip("/") or "/", "seccomp"), "kubelet --root-dir"
    if flags is not None:
        return f"{DEFAULT_KUBELET_ROOT}/seccomp", "kubelet default (no --root-dir)"
    return f"{DEFAULT_KUBELET_ROOT}/seccomp", "default (the kubelet's command line was not read)"


def parse_kubelet_config(text: str) -> dict[str, Any]:
    """A KubeletConfiguration file (YAML or JSON): ``seccompDefault`` and ``featureGates``.
    ValueError when it is not a YAML mapping."""
    import yaml

    from ...goyaml import load as load_yaml

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
