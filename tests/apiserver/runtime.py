"""The runtime side of the fake API server: pods that run, ``pods/exec`` over a real WebSocket,
pod create/delete (debug pods), ephemeral containers, and nodes with kubelet/runtime facts.

Shaped like the recordings ``exec-ws-*.json`` of a v1.24 server -> kubelet -> containerd:

- the RFC 6455 handshake over the server's own TLS socket; ``Sec-WebSocket-Protocol`` is
  negotiated like k8s.io/apimachinery's wsstream: the first protocol the CLIENT offers that the
  server supports (``supported_protocols``; a 1.24 server has no v5, so kubectl's list gets v4);
- server frames: an empty stdout frame (``0x01``) first, stdout, stderr, then channel 3: a JSON
  Status for v4/v5 (``Success``; ``Failure``/``NonZeroExitCode`` with the code in
  ``details.causes``; ``InternalError`` code 500 for a command missing from the image), plain text
  for v1-v3 (and nothing on success); then close 1000;
- before the upgrade: 401, RBAC 403 (``forbid("pods/exec", ...)``, verb ``create``), 404 for a
  missing pod, 400 for an unknown container or an unscheduled pod, and the kubelet's HTTP 500
  ``text/plain`` ``container not found ("NAME")`` for a container that is not running.

Exec handlers map an ExecCall (namespace, pod, container, argv) to an ExecOutcome. They are found
per container (``on_exec``), then, for an ephemeral container, a view of its target's files, then
per node (``on_node``: what a debug pod on that node sees), then ``default_handler``. FakeContainer
and FakeNode are ready-made handlers: ``cat`` over a dict of files, ``chroot /host crictl inspect``.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import posixpath
import socket
import struct
import tarfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from .server import RESOURCES, FakeApiServer, ResourceInfo, _Reply, merge_patch, now_rfc3339, status_body

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PROTOCOLS_1_24 = ("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io")
PROTOCOLS_1_30 = ("v5.channel.k8s.io",) + PROTOCOLS_1_24
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
EXEC_INFO = ResourceInfo("pods/exec", "PodExecOptions", "", "v1", True)
EPHEMERAL_INFO = ResourceInfo("pods/ephemeralcontainers", "Pod", "", "v1", True)


# --- RFC 6455 ------------------------------------------------------------------------------------
def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def encode_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server frame (never masked)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def read_frame(rfile) -> tuple[int, bytes]:
    """One client frame (masked, as RFC 6455 requires of clients): (opcode, payload)."""
    head = rfile.read(2)
    if len(head) < 2:
        raise EOFError
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", rfile.read(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", rfile.read(8))[0]
    mask = rfile.read(4) if head[1] & 0x80 else b""
    payload = rfile.read(length)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload


# --- exec handlers ---------------------------------------------------------------------------------
@dataclass
class ExecCall:
    namespace: str
    pod: str
    container: str
    argv: list[str]
    node: str | None
    protocol: str
    pod_obj: dict = field(repr=False, default_factory=dict)


@dataclass
class ExecOutcome:
    stdout: bytes | str = b""
    stderr: bytes | str = b""
    exit_code: int = 0
    internal_error: str | None = None  # an InternalError Status instead of an exit code
    drop: bool = False  # close the connection without a status or close frame

    @classmethod
    def command_not_found(cls, command: str) -> "ExecOutcome":
        cid = uuid.uuid4().hex + uuid.uuid4().hex
        return cls(internal_error=(
            f'error executing command in container: failed to exec in container: failed to start exec "{cid}": '
            f"OCI runtime exec failed: exec failed: unable to start container process: exec: \"{command}\": "
            "executable file not found in $PATH: unknown"))


Handler = Callable[[ExecCall], ExecOutcome]


class Errno:
    """A file whose read fails (``cat: read error: <text>``)."""

    def __init__(self, text: str):
        self.text = text


EINVAL = Errno("Invalid argument")
EACCES = Errno("Permission denied")


def _cat(files: dict[str, Any], paths: list[str]) -> ExecOutcome:
    out, err, code = b"", b"", 0
    for path in paths:
        value = files.get(path)
        if value is None:
            err += f"cat: can't open '{path}': No such file or directory\n".encode()
            code = 1
        elif isinstance(value, Errno):
            err += f"cat: read error: {value.text}\n".encode()
            code = 1
        else:
            out += value.encode() if isinstance(value, str) else value
    return ExecOutcome(out, err, code)


class FakeContainer:
    """A container as exec sees it: ``files`` (text, bytes or an Errno) and the ``commands`` on PATH."""

    def __init__(self, files: dict[str, Any] | None = None, commands: tuple[str, ...] = ("cat", "sh", "sleep")):
        self.files = dict(files or {})
        self.commands = set(commands)

    def __call__(self, call: ExecCall) -> ExecOutcome:
        command = call.argv[0].rsplit("/", 1)[-1]
        if command not in self.commands:
            return ExecOutcome.command_not_found(call.argv[0])
        if command == "cat":
            return _cat(self.files, call.argv[1:])
        return ExecOutcome()


class Symlink:
    """A symbolic link among a FakeNode's files (followed by ``cat``, stored as a link by ``tar``)."""

    def __init__(self, target: str):
        self.target = target


def _resolve(files: dict[str, Any], path: str) -> Any:
    for _ in range(8):
        value = files.get(path)
        if not isinstance(value, Symlink):
            return value
        path = value.target if value.target.startswith("/") else posixpath.normpath(
            posixpath.join(posixpath.dirname(path), value.target))
    return None


def _tar(files: dict[str, Any], dirs: set[str], argv: list[str]) -> ExecOutcome:
    """``tar -C DIR -cf - .``: the files under DIR as an archive on stdout (GNU tar's messages)."""
    root = argv[argv.index("-C") + 1].rstrip("/") if "-C" in argv else "/"
    under = {k[len(root) + 1:]: v for k, v in files.items() if k.startswith(root + "/")}
    if not under and root not in dirs:
        return ExecOutcome(stderr=f"tar: {root}: Cannot open: No such file or directory\n"
                                  "tar: Error is not recoverable: exiting now\n", exit_code=2)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        archive.addfile(_tar_dir("./"))
        made = set()
        for rel in sorted(under):
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "./" + "/".join(parts[:i]) + "/"
                if d not in made:
                    made.add(d)
                    archive.addfile(_tar_dir(d))
            value = under[rel]
            info = tarfile.TarInfo("./" + rel)
            if isinstance(value, Symlink):
                info.type, info.linkname = tarfile.SYMTYPE, value.target
                archive.addfile(info)
            elif not isinstance(value, Errno):
                data = value.encode() if isinstance(value, str) else value
                info.size, info.mode = len(data), 0o644
                archive.addfile(info, io.BytesIO(data))
    return ExecOutcome(buffer.getvalue())


def _tar_dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info


class FakeNode:
    """What a privileged debug pod on a node sees through ``chroot /host``: ``crictl inspect`` of
    ``containers`` (bare id -> inspect JSON), ``cat`` and ``tar -C DIR -cf - .`` of host ``files``
    (text, bytes, an Errno or a Symlink; ``dirs``: empty directories), ``pgrep -x NAME`` of
    ``processes`` (pid -> argv, also served as ``/proc/PID/cmdline``), ``sh -c`` of ``seccomp install``'s
    script only (it writes ``files``; under a ``read_only`` prefix it fails). ``host_tools``: the node's
    own commands (others answer chroot's exit 127); without chroot, the debug image's ``image_tools``
    see the node's files under ``/host``."""

    def __init__(self, containers: dict[str, dict] | None = None, files: dict[str, Any] | None = None,
                 crictl: bool = True, *, dirs: tuple[str, ...] = (), processes: dict[int, list[str]] | None = None,
                 host_tools: tuple[str, ...] = ("cat", "tar", "pgrep", "sh"),
                 image_tools: tuple[str, ...] = ("cat", "tar", "pgrep", "sleep"), read_only: tuple[str, ...] = ()):
        self.containers = dict(containers or {})
        self.files = dict(files or {})
        self.crictl = crictl
        self.dirs = set(dirs)
        self.processes = dict(processes or {})
        self.host_tools = set(host_tools)
        self.image_tools = set(image_tools)
        self.read_only = tuple(read_only)
        self.calls: list[list[str]] = []

    def _tool(self, argv: list[str], prefix: str) -> ExecOutcome:
        files = {prefix + k: v for k, v in self.files.items()}
        files.update({f"{prefix}/proc/{pid}/cmdline": "\0".join(args) + "\0" for pid, args in self.processes.items()})
        if argv[0] == "cat":
            return _cat({p: _resolve(files, p) for p in argv[1:]}, argv[1:])
        if argv[0] == "tar":
            return _tar(files, {prefix + d for d in self.dirs}, argv)
        if argv[0] == "pgrep":
            name = argv[-1]
            pids = [str(pid) for pid, args in sorted(self.processes.items()) if args[0].rsplit("/", 1)[-1] == name]
            return ExecOutcome("".join(p + "\n" for p in pids), exit_code=0 if pids else 1)
        if argv[0] == "sh" and not prefix:
            return self._install(argv)
        return ExecOutcome()

    def _proc(self, argv: list[str]) -> ExecOutcome:
        """``sh -c PROC_SCRIPT sh MARKER PID...``: what the script prints for the host's ``/proc`` files."""
        marker, pids, out = argv[4], argv[5:], b""
        for pid in pids:
            for name in ("attr/current", "attr/apparmor/current", "status"):
                path = f"/proc/{pid}/{name}"
                got = _cat({path: _resolve(self.files, path)}, [path])
                stdout = got.stdout if isinstance(got.stdout, bytes) else got.stdout.encode()
                stderr = got.stderr if isinstance(got.stderr, bytes) else got.stderr.encode()
                out += f"\n{marker} {pid} {name}\n".encode() + stdout + stderr + f"\n{marker} rc {got.exit_code}\n".encode()
        return ExecOutcome(out)

    def _install(self, argv: list[str]) -> ExecOutcome:
        """``sh -c INSTALL_SCRIPT sh CONTENT PATH DIR EXPECTED BACKUP``: mkdir -p DIR, write PATH.tmp.PID; refuse
        (exit 3) if PATH is not what EXPECTED says (its sha256, or "absent"); copy PATH to BACKUP; rename.
        ``sh -c PROC_SCRIPT sh MARKER PID...``: the host /proc reads of verify --node-inspect."""
        from kubectl_pss.operations.hostproc import PROC_SCRIPT
        from kubectl_pss.operations.seccomp_install import INSTALL_SCRIPT

        import hashlib

        if argv[1:3] == ["-c", PROC_SCRIPT] and len(argv) >= 5:
            return self._proc(argv)
        if argv[1:3] != ["-c", INSTALL_SCRIPT] or len(argv) != 9:
            return ExecOutcome(stderr="sh: this FakeNode runs only seccomp install's script\n", exit_code=2)
        content, path, directory, expected, backup = argv[4:9]
        parts = directory.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            ancestor = "/" + "/".join(parts[:i])
            if ancestor in self.files:
                return ExecOutcome(stderr=f"mkdir: can't create directory '{ancestor}': File exists\n", exit_code=1)
        if any(path.startswith(p.rstrip("/") + "/") for p in self.read_only):
            return ExecOutcome(stderr=f"sh: can't create {path}.tmp.4242: Read-only file system\n", exit_code=1)
        self.dirs.add(directory)
        old = self.files.get(path)
        now = "absent" if old is None else hashlib.sha256(str(old).encode()).hexdigest()
        if expected and now != expected:
            return ExecOutcome(stderr=f"{path} changed since it was read (sha256 now {now}): not replaced\n",
                               exit_code=3)
        if backup:
            if backup in self.files:
                return ExecOutcome(stderr=f"{backup} exists: not overwritten\n", exit_code=1)
            self.files[backup] = old
        self.files[path] = content
        return ExecOutcome()

    def __call__(self, call: ExecCall) -> ExecOutcome:
        argv = call.argv
        self.calls.append(list(argv))
        if argv[:1] == ["sleep"]:
            return ExecOutcome()
        if argv[:2] != ["chroot", "/host"] or len(argv) < 3:
            if argv[0] not in self.image_tools:
                return ExecOutcome.command_not_found(argv[0])
            return self._tool(argv, "/host")
        rest = argv[2:]
        if rest[0] in self.host_tools:
            return self._tool(rest, "")
        if rest[0] != "crictl":
            return ExecOutcome(stderr=f"chroot: failed to run command '{rest[0]}': No such file or directory\n",
                               exit_code=127)
        if not self.crictl:
            return ExecOutcome(stderr="chroot: failed to run command 'crictl': No such file or directory\n",
                               exit_code=127)
        if rest[1:2] != ["inspect"]:
            return ExecOutcome(stderr=f"unknown crictl command {rest[1:2]}\n", exit_code=1)
        words = [w for i, w in enumerate(rest[2:]) if not w.startswith("-") and rest[2:][i - 1] not in ("-o", "--output")]
        out = b""
        for cid in words:
            if cid not in self.containers:
                return ExecOutcome(stderr=(
                    f'E1129 23:59:53.000000 4242 remote_runtime.go:432] "ContainerStatus from runtime service failed" '
                    f'err="rpc error: code = NotFound desc = an error occurred when try to find container \\"{cid}\\": '
                    f'not found" containerID="{cid}"\nFATA[0000] getting the status of the container "{cid}": rpc '
                    f'error: code = NotFound desc = an error occurred when try to find container "{cid}": not found\n'),
                    exit_code=1)
            out += json.dumps(self.containers[cid], indent=2).encode() + b"\n"
        return ExecOutcome(out)


def crictl_inspect_json(container_id: str, name: str, *, seccomp: dict | None = None,
                        apparmor_profile: str | None = None, pid: int = 4242) -> dict:
    """What ``crictl inspect -o json`` prints for a containerd container (the parts that matter)."""
    process: dict[str, Any] = {"user": {"uid": 0, "gid": 0}, "args": ["sleep", "infinity"], "cwd": "/",
                               "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"]}, "noNewPrivileges": False}
    if apparmor_profile:
        process["apparmorProfile"] = apparmor_profile
    linux: dict[str, Any] = {"resources": {"devices": [{"allow": False, "access": "rwm"}]}, "cgroupsPath": "kubepods",
                             "namespaces": [{"type": "pid"}, {"type": "ipc", "path": "/proc/4200/ns/ipc"}],
                             "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}
    if seccomp is not None:
        linux["seccomp"] = seccomp
    return {
        "status": {"id": container_id, "metadata": {"attempt": 0, "name": name}, "state": "CONTAINER_RUNNING",
                   "createdAt": "2026-11-29T23:59:50.000000000Z", "image": {"image": "docker.io/library/busybox:1.36"}},
        "info": {"sandboxID": uuid.uuid4().hex, "pid": pid, "removing": False, "snapshotKey": container_id,
                 "snapshotter": "overlayfs", "runtimeType": "io.containerd.runc.v2",
                 "runtimeSpec": {"ociVersion": "1.1.0", "process": process, "root": {"path": "rootfs"},
                                 "hostname": "x", "linux": linux}},
    }


# --- objects -------------------------------------------------------------------------------------
def node_object(name: str, *, runtime: str = "containerd://1.7.13", kubelet: str = "v1.30.2",
                apparmor: bool = True, ready: bool = True, os: str = "linux",
                taints: list[dict] | None = None, network_ready: bool = True) -> dict:
    """A Node as the kubelet reports it; ``apparmor`` adds "AppArmor enabled" to the Ready message;
    ``ready=False``: the kubelet stopped answering (Ready Unknown); ``network_ready=False``: Ready False
    only because the CNI plugin is not initialised (as a real kubelet says it)."""
    message = "kubelet is posting ready status" + (". AppArmor enabled" if apparmor else "")
    obj: dict[str, Any] = {
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": os}},
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "Unknown",
                            "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                            "message": message if ready else "Kubelet stopped posting node status."}],
            "nodeInfo": {"kubeletVersion": kubelet, "kubeProxyVersion": kubelet, "containerRuntimeVersion": runtime,
                         "operatingSystem": os, "architecture": "amd64", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.1.0-28-amd64"},
        },
    }
    if taints:
        obj["spec"]["taints"] = taints
    if ready and not network_ready:
        obj["status"]["conditions"][0].update(status="False", reason="KubeletNotReady", message=(
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network "
            "plugin returns error: cni plugin not initialized"))
    return obj


def _container_id(runtime: str) -> str:
    return f"{runtime}://{uuid.uuid4().hex}{uuid.uuid4().hex}"


def running_status(containers: list[dict], runtime_scheme: str = "containerd",
                   states: dict[str, dict] | None = None, init: bool = False) -> list[dict]:
    out = []
    for c in containers:
        state = (states or {}).get(c["name"]) or {"running": {"startedAt": now_rfc3339()}}
        entry: dict[str, Any] = {"name": c["name"], "image": c.get("image", "busybox:1.36"),
                                 "imageID": "", "ready": "running" in state, "restartCount": 0, "state": state,
                                 "started": "running" in state}
        if "waiting" not in state:
            entry["containerID"] = _container_id(runtime_scheme)
        out.append(entry)
    return out


# --- the runtime ---------------------------------------------------------------------------------
class PodRuntime:
    """Attached to a FakeApiServer as ``server.runtime``. See the module docstring."""

    def __init__(self, server: FakeApiServer):
        self.server = server
        self.supported_protocols: tuple[str, ...] = PROTOCOLS_1_24
        self.exec_handlers: dict[tuple[str, str, str], Handler] = {}
        self.node_handlers: dict[str, Handler] = {}
        self.default_handler: Handler = FakeContainer()
        self.start_delay = 0.05  # seconds from create (or ephemeral patch) to Running
        self.start_state: dict | None = None  # e.g. {"waiting": {"reason": "ImagePullBackOff", ...}}; None: running
        self.node_start_state: dict[str, dict] = {}  # the same, for the debug pods of one node
        self.admit: Callable[[dict], str | None] | None = None  # a create rejected with this 403 message
        self.execs: list[ExecCall] = []
        self.linger_deletes: dict[str, int] = {}  # pod name -> DELETEs answered 200 that leave it there (terminating)
        self.created: list[tuple[str, str]] = []
        self.deleted: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    # -- set-up -------------------------------------------------------------------------------
    def on_exec(self, namespace: str, pod: str, container: str, handler: Handler) -> None:
        self.exec_handlers[(namespace, pod, container)] = handler

    def on_node(self, node: str, handler: Handler) -> None:
        self.node_handlers[node] = handler

    def add_node(self, name: str, **kwargs: Any) -> dict:
        return self.server.add(node_object(name, **kwargs))

    def add_pod(self, namespace: str, name: str, containers: list[dict], *, node: str = "node-a",
                annotations: dict[str, str] | None = None, pod_security_context: dict | None = None,
                states: dict[str, dict] | None = None, phase: str = "Running", runtime: str = "containerd",
                init_containers: list[dict] | None = None, handlers: dict[str, Handler] | None = None,
                **spec_extra: Any) -> dict:
        """A scheduled pod with container statuses (running unless ``states`` says otherwise) and
        containerIDs; ``handlers`` registers exec handlers per container name."""
        containers = [{"image": "busybox:1.36", **c} for c in containers]
        spec: dict[str, Any] = {"containers": containers, "nodeName": node, "restartPolicy": "Always", **spec_extra}
        if pod_security_context is not None:
            spec["securityContext"] = pod_security_context
        if init_containers:
            spec["initContainers"] = [{"image": "busybox:1.36", **c} for c in init_containers]
        md: dict[str, Any] = {"name": name, "namespace": namespace}
        if annotations:
            md["annotations"] = dict(annotations)
        status: dict[str, Any] = {"phase": phase, "hostIP": "10.0.0.10", "podIP": "10.244.0.7",
                                  "containerStatuses": running_status(containers, runtime, states)}
        if init_containers:
            status["initContainerStatuses"] = running_status(spec["initContainers"], runtime, states, init=True)
        obj = self.server.add({"kind": "Pod", "metadata": md, "spec": spec, "status": status})
        for container, handler in (handlers or {}).items():
            self.on_exec(namespace, name, container, handler)
        return obj

    def container_id(self, namespace: str, pod: str, container: str) -> str:
        """The bare runtime id of a container (what crictl wants)."""
        obj = self.server.get_object("pods", namespace, pod) or {}
        for s in (obj.get("status") or {}).get("containerStatuses") or ():
            if s["name"] == container:
                return s["containerID"].split("://", 1)[1]
        raise KeyError(container)

    def pods_alive(self, label: str = "app.kubernetes.io/managed-by=kubectl-pss") -> list[str]:
        key, _, value = label.partition("=")
        with self.server._lock:
            objs = list(self.server._stores["pods"].by_key.values())
        return [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in objs
                if (o["metadata"].get("labels") or {}).get(key) == value]

    # -- dispatch -----------------------------------------------------------------------------
    @staticmethod
    def _parts(path: str) -> list[str] | None:
        prefix = "/api/v1/namespaces/"
        if not path.startswith(prefix):
            return None
        return path[len(prefix):].split("/")

    def handles(self, method: str, path: str) -> bool:
        parts = self._parts(path)
        if parts is None or len(parts) < 2 or parts[1] != "pods":
            return False
        if len(parts) == 4 and parts[3] in ("exec", "ephemeralcontainers"):
            return True
        if len(parts) == 2 and method == "POST":
            return True
        return len(parts) == 3 and method == "DELETE"

    def handle(self, h: Any, rec: Any) -> None:
        server = self.server
        if not server._authenticated(rec.header("Authorization")):
            server._write(h, rec, _Reply(401, status_body(401, "Unauthorized", "Unauthorized")))
            return
        fault = server._take_fault(rec)
        if fault is not None:
            if fault.drop or fault.reset:
                h.close_connection = True
                return
            server._write(h, rec, fault)
            return
        parts = self._parts(rec.path) or []
        namespace = parts[0]
        try:
            if len(parts) == 4 and parts[3] == "exec":
                reply = self._exec(h, rec, namespace, parts[2])
            elif len(parts) == 4:
                reply = self._patch_ephemeral(rec, namespace, parts[2])
            elif len(parts) == 2:
                reply = self._create(rec, namespace)
            else:
                reply = self._delete(namespace, parts[2])
        except Exception as exc:  # a bug in the fake: answer 500 so that the test sees it
            reply = _Reply(500, status_body(500, "InternalError", f"fake apiserver bug: {exc!r}"))
        if reply is not None:
            server._write(h, rec, reply)

    def _forbidden(self, verb: str, info: ResourceInfo, namespace: str, name: str | None) -> _Reply | None:
        server = self.server
        with server._lock:
            denied = any(rule.matches(verb, info.resource, namespace) for rule in server._rules)
        if not denied:
            return None
        subject = f'pods "{name}"' if name else "pods"
        message = (f'{subject} is forbidden: User "{server.user}" cannot {verb} resource "{info.resource}" in API '
                   f'group "" in the namespace "{namespace}"')
        details: dict[str, Any] = {"name": name, "kind": "pods"} if name else {"kind": "pods"}
        return _Reply(403, status_body(403, "Forbidden", message, details))

    # -- exec -----------------------------------------------------------------------------------
    def _exec(self, h: Any, rec: Any, namespace: str, name: str) -> _Reply | None:
        denied = self._forbidden("create", EXEC_INFO, namespace, name)
        if denied:
            return denied
        pod = self.server.get_object("pods", namespace, name)
        if pod is None:
            return _Reply(404, status_body(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"}))
        query = parse_qsl(rec.raw_query, keep_blank_values=True)
        argv = [v for k, v in query if k == "command"]
        container = next((v for k, v in query if k == "container"), "")
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        regular = spec.get("containers") or []
        every = regular + (spec.get("initContainers") or []) + (spec.get("ephemeralContainers") or [])
        if not container:
            if len(regular) != 1:
                names = " ".join(c["name"] for c in regular)
                return _Reply(400, status_body(400, "BadRequest",
                                               f"a container name must be specified for pod {name}, choose one of: [{names}]"))
            container = regular[0]["name"]
        if container not in {c["name"] for c in every}:
            return _Reply(400, status_body(400, "BadRequest", f"container {container} is not valid for pod {name}"))
        if not spec.get("nodeName"):
            return _Reply(400, status_body(400, "BadRequest", f"pod {name} does not have a host assigned"))
        if not argv:
            return _Reply(400, status_body(400, "BadRequest", "you must specify at least 1 command"))
        statuses = ((status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
                    + (status.get("ephemeralContainerStatuses") or []))
        state = next((s.get("state") or {} for s in statuses if s.get("name") == container), {})
        if state.get("running") is None:
            return _Reply(500, f'container not found ("{container}")'.encode())
        if (rec.header("Upgrade") or "").lower() != "websocket" or not rec.header("Sec-WebSocket-Key"):
            return _Reply(400, status_body(400, "BadRequest", "Upgrade request required"))
        offered = [p.strip() for p in (rec.header("Sec-WebSocket-Protocol") or "").split(",") if p.strip()]
        protocol = next((p for p in offered if p in self.supported_protocols), None)
        if offered and protocol is None:
            return _Reply(400, f"requested protocol(s) are not supported: {offered}; supports "
                               f"{list(self.supported_protocols)}".encode())
        protocol = protocol or "channel.k8s.io"
        call = ExecCall(namespace, name, container, argv, spec.get("nodeName"), protocol, pod)
        with self._lock:
            self.execs.append(call)
        self._upgrade(h, rec, protocol if offered else None)
        self._stream(h, call, self._handler_for(call, pod))
        return None

    def _handler_for(self, call: ExecCall, pod: dict) -> Handler:
        handler = self.exec_handlers.get((call.namespace, call.pod, call.container))
        if handler is not None:
            return handler
        ephemeral = next((c for c in (pod.get("spec") or {}).get("ephemeralContainers") or ()
                          if c["name"] == call.container), None)
        if ephemeral is not None:
            target = self.exec_handlers.get((call.namespace, call.pod, ephemeral.get("targetContainerName") or ""))
            files = target.files if isinstance(target, FakeContainer) else {}
            return FakeContainer(files, ("cat", "sh", "sleep", "ls"))
        return self.node_handlers.get(call.node or "") or self.default_handler

    @staticmethod
    def _upgrade(h: Any, rec: Any, protocol: str | None) -> None:
        h.send_response_only(101, "Switching Protocols")
        h.send_header("Upgrade", "websocket")
        h.send_header("Connection", "Upgrade")
        h.send_header("Sec-WebSocket-Accept", accept_key(rec.header("Sec-WebSocket-Key")))
        if protocol:
            h.send_header("Sec-WebSocket-Protocol", protocol)
        h.end_headers()
        h.wfile.flush()

    def _stream(self, h: Any, call: ExecCall, handler: Handler) -> None:
        h.close_connection = True
        try:
            outcome = handler(call)
        except Exception as exc:
            outcome = ExecOutcome(internal_error=f"fake exec handler bug: {exc!r}")
        if outcome.drop:
            return
        write = h.wfile.write
        write(encode_frame(OP_BINARY, b"\x01"))

        def chunks(channel: int, data: bytes | str) -> None:
            data = data.encode() if isinstance(data, str) else data
            for i in range(0, len(data), 16 * 1024):
                write(encode_frame(OP_BINARY, bytes([channel]) + data[i:i + 16 * 1024]))

        chunks(1, outcome.stdout)
        chunks(2, outcome.stderr)
        status = self._status(call, outcome)
        if status is not None:
            write(encode_frame(OP_BINARY, b"\x03" + status))
        write(encode_frame(OP_CLOSE, struct.pack("!H", 1000)))
        h.wfile.flush()
        try:  # the client's close frame, for a clean shutdown
            h.connection.settimeout(2)
            while read_frame(h.rfile)[0] != OP_CLOSE:
                pass
        except (EOFError, OSError, socket.timeout, struct.error):
            pass

    @staticmethod
    def _status(call: ExecCall, outcome: ExecOutcome) -> bytes | None:
        v4 = call.protocol in ("v4.channel.k8s.io", "v5.channel.k8s.io")
        joined = " ".join(call.argv)
        if outcome.internal_error is not None:
            message = f"Internal error occurred: {outcome.internal_error}"
            if not v4:
                return message.encode()
            return json.dumps({"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError",
                               "details": {"causes": [{"message": outcome.internal_error}]}, "code": 500},
                              separators=(",", ":")).encode()
        if outcome.exit_code == 0:
            return b'{"metadata":{},"status":"Success"}' if v4 else None
        message = (f"command terminated with non-zero exit code: error executing command [{joined}], "
                   f"exit code {outcome.exit_code}")
        if not v4:
            return message.encode()
        return json.dumps({"metadata": {}, "status": "Failure", "message": message, "reason": "NonZeroExitCode",
                           "details": {"causes": [{"reason": "ExitCode", "message": str(outcome.exit_code)}]}},
                          separators=(",", ":")).encode()

    # -- pods -------------------------------------------------------------------------------------
    def _create(self, rec: Any, namespace: str) -> _Reply:
        denied = self._forbidden("create", RESOURCES["pods"], namespace, None)
        if denied:
            return denied
        try:
            obj = json.loads(rec.body or b"null")
        except ValueError as exc:
            return _Reply(400, status_body(400, "BadRequest", f"error decoding body: {exc}"))
        if not isinstance(obj, dict) or not (obj.get("metadata") or {}).get("name"):
            return _Reply(422, status_body(422, "Invalid", "Pod is invalid: metadata.name: Required value"))
        name = obj["metadata"]["name"]
        if self.server._stores["namespaces"].by_key and self.server.namespace(namespace) is None:
            return _Reply(404, status_body(404, "NotFound", f'namespaces "{namespace}" not found',
                                           {"name": namespace, "kind": "namespaces"}))
        if self.server.get_object("pods", namespace, name) is not None:
            return _Reply(409, status_body(409, "AlreadyExists", f'pods "{name}" already exists',
                                           {"name": name, "kind": "pods"}))
        if self.admit is not None:
            message = self.admit(obj)
            if message:
                return _Reply(403, status_body(403, "Forbidden", f'pods "{name}" is forbidden: {message}',
                                               {"name": name, "kind": "pods"}))
        obj["metadata"]["namespace"] = namespace
        containers = (obj.get("spec") or {}).get("containers") or []
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort", "containerStatuses": running_status(
            containers, states={c["name"]: {"waiting": {"reason": "ContainerCreating"}} for c in containers})}
        stored = self.server.add(obj)
        with self._lock:
            self.created.append((namespace, name))
        self._later(lambda: self._start_pod(namespace, name))
        return _Reply(201, {"kind": "Pod", "apiVersion": "v1", **copy.deepcopy(stored)})

    def _later(self, action: Callable[[], None]) -> None:
        timer = threading.Timer(self.start_delay, action)
        timer.daemon = True
        timer.start()

    def _start_pod(self, namespace: str, name: str) -> None:
        with self.server._lock:
            obj = self.server._stores["pods"].get(namespace, name)
            if obj is None:
                return
            containers = obj["spec"].get("containers") or []
            state = self.node_start_state.get(obj["spec"].get("nodeName") or "", self.start_state)
            states = {c["name"]: state for c in containers} if state else None
            obj["status"] = {"phase": "Pending" if state else "Running", "hostIP": "10.0.0.10",
                             "startTime": now_rfc3339(), "containerStatuses": running_status(containers, states=states)}
            obj["metadata"]["resourceVersion"] = self.server._next_rv()

    def _delete(self, namespace: str, name: str) -> _Reply:
        denied = self._forbidden("delete", RESOURCES["pods"], namespace, name)
        if denied:
            return denied
        with self._lock:
            lingers = self.linger_deletes.get(name, 0)
            if lingers:
                self.linger_deletes[name] = lingers - 1
        if lingers:
            obj = self.server.get_object("pods", namespace, name)
            if obj is not None:
                obj = copy.deepcopy(obj)
                obj["metadata"]["deletionTimestamp"] = now_rfc3339()
                return _Reply(200, {"kind": "Pod", "apiVersion": "v1", **obj})
        with self.server._lock:
            obj = self.server._stores["pods"].delete(namespace, name)
            self.server._next_rv()
        if obj is None:
            return _Reply(404, status_body(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"}))
        with self._lock:
            self.deleted.append((namespace, name))
        obj["metadata"]["deletionTimestamp"] = now_rfc3339()
        obj["metadata"]["deletionGracePeriodSeconds"] = 0
        return _Reply(200, {"kind": "Pod", "apiVersion": "v1", **obj})

    def _patch_ephemeral(self, rec: Any, namespace: str, name: str) -> _Reply:
        if rec.method not in ("PATCH", "GET"):
            return self.server._method_not_allowed()
        verb = "patch" if rec.method == "PATCH" else "get"
        denied = self._forbidden(verb, EPHEMERAL_INFO, namespace, name)
        if denied:
            return denied
        pod = self.server.get_object("pods", namespace, name)
        if pod is None:
            return _Reply(404, status_body(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"}))
        if rec.method == "GET":
            return _Reply(200, {"kind": "Pod", "apiVersion": "v1", **pod})
        patch = json.loads(rec.body or b"{}")
        added = ((patch.get("spec") or {}).get("ephemeralContainers")) or []
        with self.server._lock:
            obj = self.server._stores["pods"].get(namespace, name)
            current = obj["spec"].setdefault("ephemeralContainers", [])
            names = {c["name"] for c in current}
            for c in added:  # strategic merge: the list merges by name
                if c["name"] in names:
                    current[:] = [merge_patch(x, c) if x["name"] == c["name"] else x for x in current]
                else:
                    current.append(c)
            obj["status"].setdefault("ephemeralContainerStatuses", []).extend(
                running_status([c for c in added if c["name"] not in names],
                               states={c["name"]: {"waiting": {"reason": "ContainerCreating"}} for c in added}))
            obj["metadata"]["resourceVersion"] = self.server._next_rv()
            body = {"kind": "Pod", "apiVersion": "v1", **copy.deepcopy(obj)}
        new_names = [c["name"] for c in added if c["name"] not in names]
        self._later(lambda: self._start_ephemeral(namespace, name, new_names))
        return _Reply(200, body)

    def _start_ephemeral(self, namespace: str, name: str, names: list[str]) -> None:
        with self.server._lock:
            obj = self.server._stores["pods"].get(namespace, name)
            if obj is None:
                return
            for s in obj["status"].get("ephemeralContainerStatuses") or ():
                if s["name"] in names:
                    s["state"] = self.start_state or {"running": {"startedAt": now_rfc3339()}}
                    s["containerID"] = _container_id("containerd")
            obj["metadata"]["resourceVersion"] = self.server._next_rv()


_attach_lock = threading.Lock()


def runtime_of(server: FakeApiServer) -> PodRuntime:
    """The server's PodRuntime (made on first use)."""
    with _attach_lock:
        runtime = server.__dict__.get("_pod_runtime")
        if runtime is None:
            runtime = server.__dict__["_pod_runtime"] = PodRuntime(server)
        return runtime

