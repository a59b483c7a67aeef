"""FakeApiServer: a threaded HTTP(S) kube-apiserver double on 127.0.0.1 with state in Python dicts.

Bodies, Status objects and headers are shaped like the recordings of a real v1.24 server in
``recordings/`` (copied from the shared/apiserver recordings beside the repository). Fault injection: forbid(), fail_once(),
drop_once(), expire_continue_once(), and inject() for any of them plus non-JSON 200s, truncated bodies,
resets, per page of a paged list; slow writes: hold(); every request is kept in ``requests``.
"""
from __future__ import annotations

import base64
import bisect
import copy
import gzip
import json
import re
import socket
import ssl
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from .kubeconfig import KubeContext
from .selectors import field_matcher, label_matcher
from .tls import CertPair, self_signed_cert

RECORDINGS = Path(__file__).parent / "recordings"


@dataclass(frozen=True)
class ResourceInfo:
    resource: str  # plural, as in URLs and RBAC
    kind: str
    group: str  # "" for core
    version: str
    namespaced: bool

    @property
    def prefix(self) -> str:
        return f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"

    @property
    def api_version(self) -> str:
        return self.version if not self.group else f"{self.group}/{self.version}"


RESOURCES: dict[str, ResourceInfo] = {
    r.resource: r
    for r in [
        ResourceInfo("namespaces", "Namespace", "", "v1", False),
        ResourceInfo("nodes", "Node", "", "v1", False),
        ResourceInfo("pods", "Pod", "", "v1", True),
        ResourceInfo("replicationcontrollers", "ReplicationController", "", "v1", True),
        ResourceInfo("replicasets", "ReplicaSet", "apps", "v1", True),
        ResourceInfo("deployments", "Deployment", "apps", "v1", True),
        ResourceInfo("statefulsets", "StatefulSet", "apps", "v1", True),
        ResourceInfo("daemonsets", "DaemonSet", "apps", "v1", True),
        ResourceInfo("jobs", "Job", "batch", "v1", True),
        ResourceInfo("cronjobs", "CronJob", "batch", "v1", True),
    ]
}
KIND_TO_RESOURCE = {r.kind: r.resource for r in RESOURCES.values()}
PREFIXES = {r.prefix for r in RESOURCES.values()}

PSA_PREFIX = "pod-security.kubernetes.io/"
PSA_LEVELS = ("privileged", "baseline", "restricted")
PSA_VERSION_RE = re.compile(r"^(latest|v1\.(0|[1-9][0-9]*))$")
MODES = ("enforce", "audit", "warn")

EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - "
    "objects that were created, modified, or deleted between the time the first chunk was returned and "
    "now may show up in the list."
)

WarningHook = Callable[[str, dict, dict], list]


def load_recording(name: str) -> dict:
    """A recorded exchange, e.g. ``load_recording("patch-ns-enforce-restricted-dryrun")``."""
    return json.loads((RECORDINGS / f"{name}.json").read_text())


def quote_warning(text: str, code: int = 299, agent: str = "-") -> str:
    """Format a Warning header value like k8s.io/apimachinery NewWarningHeader (escape only " and \\)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'{code:03d} {agent} "{escaped}"'


def status_body(code: int, reason: str, message: str, details: dict | None = None,
                metadata: dict | None = None) -> dict:
    """A metav1.Status as the apiserver serialises it (field order as in the recordings)."""
    body: dict[str, Any] = {
        "kind": "Status", "apiVersion": "v1", "metadata": metadata or {}, "status": "Failure",
        "message": message, "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""
    reply: "_Reply | None" = None  # what the fake answered (None: not answered yet, or by the runtime)
    header_lines: list[tuple[str, str]] = field(default_factory=list)  # every header line, repeats kept

    @property
    def read_to_the_end(self) -> bool:
        """Answered with the real, whole last page of a list (no fault changed the answer)."""
        r = self.reply
        return (r is not None and r.status == 200 and r.last_page and not r.truncate and not r.reset
                and r.content_type is None)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header_values(self, name: str) -> list[str]:
        """Every value of a header sent on several lines (Impersonate-Group), in order."""
        return [v for k, v in self.header_lines if k.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None


FOREVER = 10**9  # inject(times=FOREVER): every matching request
FAULT_BODIES = ("html", "empty", "array", "object", "truncated", "reset")
LOGIN_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form method=\"post\" "
              b"action=\"/oauth2/start\"><button>Sign in with SSO</button></form></body></html>\n")


@dataclass
class _Fault:
    path_prefix: str
    status: int  # 0 = drop the connection without answering
    remaining: int
    retry_after: int | None = None
    methods: tuple[str, ...] | None = None
    delay: float = 0.0  # status -1: sleep this long, then answer normally
    body: str | None = None  # one of FAULT_BODIES (status 200): see inject()
    page: int | None = None  # only this page of a paged list (1: the request without a continue token)
    exact: bool = False  # the path itself, not everything under it

    def matches(self, rec: "RecordedRequest", page: int | None) -> bool:
        if self.remaining <= 0 or self.methods and rec.method not in self.methods:
            return False
        if not (rec.path == self.path_prefix if self.exact else rec.path.startswith(self.path_prefix)):
            return False
        return self.page is None or self.page == page


@dataclass
class Hold:
    """One request held back by ``FakeApiServer.hold()``; ``arrived`` is set when it comes in, ``done``
    once the server is through with it (answered, dropped, or the client gone)."""

    method: str
    path_prefix: str
    seconds: float
    mode: str  # see HOLD_MODES and hold()
    match: Callable[[RecordedRequest], bool] | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


HOLD_MODES = ("before", "after", "lost", "unanswered")


@dataclass
class _Rule:
    resource: str
    namespace: str | None  # None: cluster-scope requests only; "*": everywhere
    verbs: frozenset[str] | None

    def matches(self, verb: str, resource: str, namespace: str | None) -> bool:
        if resource != self.resource and self.resource != "*":
            return False
        if self.verbs is not None and verb not in self.verbs:
            return False
        return self.namespace == "*" or self.namespace == namespace


@dataclass
class _Reply:
    status: int
    body: Any = None  # dict (JSON) or bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False
    content_type: str | None = None  # instead of the one the body's type implies
    truncate: bool = False  # announce the whole body, send half of it, close
    reset: bool = False  # no answer: the connection is reset (RST)
    last_page: bool = False  # a list answer without a continue token


class _Store:
    """Objects of one resource: by "ns/name" (or "name"), with a per-namespace index and sorted keys."""

    def __init__(self, namespaced: bool):
        self.namespaced = namespaced
        self.by_key: dict[str, dict] = {}
        self.by_ns: dict[str, dict[str, dict]] = {}
        self._sorted: list[str] | None = None
        self._sorted_ns: dict[str, list[str]] = {}

    @staticmethod
    def key(namespace: str | None, name: str) -> str:
        return f"{namespace}/{name}" if namespace else name

    def put(self, obj: dict) -> None:
        md = obj["metadata"]
        ns = md.get("namespace") if self.namespaced else None
        key = self.key(ns, md["name"])
        if key not in self.by_key:
            self._sorted = None
            self._sorted_ns.pop(ns or "", None)
        self.by_key[key] = obj
        self.by_ns.setdefault(ns or "", {})[md["name"]] = obj

    def delete(self, namespace: str | None, name: str) -> dict | None:
        obj = self.by_key.pop(self.key(namespace, name), None)
        if obj is not None:
            self.by_ns.get(namespace or "", {}).pop(name, None)
            self._sorted = None
            self._sorted_ns.pop(namespace or "", None)
        return obj

    def get(self, namespace: str | None, name: str) -> dict | None:
        return self.by_key.get(self.key(namespace, name))

    def sorted_keys(self, namespace: str | None) -> tuple[list[str], Callable[[str], dict]]:
        if namespace is None:
            if self._sorted is None:
                self._sorted = sorted(self.by_key)
            return self._sorted, self.by_key.__getitem__
        keys = self._sorted_ns.get(namespace)
        if keys is None:
            keys = self._sorted_ns[namespace] = sorted(self.by_ns.get(namespace, {}))
        objs = self.by_ns.get(namespace, {})
        return keys, objs.__getitem__


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end eventually
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: "_HTTPServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        # like the apiserver: no Server header (BaseHTTPRequestHandler would add one)
        self.send_response_only(code, message)

    def _do(self) -> None:
        self.server.api._handle(self)

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = do_HEAD = _do


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    api: "FakeApiServer"
    ssl_context: ssl.SSLContext | None = None

    def finish_request(self, request, client_address):  # runs in the connection's own thread
        self.api._track(request, True)
        try:
            if self.ssl_context is not None:
                request.settimeout(10)
                try:
                    request = self.ssl_context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                request.settimeout(None)
                self.api._track(request, True)
            super().finish_request(request, client_address)
        finally:
            self.api._track(request, False)

    def handle_error(self, request, client_address):  # connection resets are part of the tests
        pass


class FakeApiServer:
    """A kube-apiserver double. ``start()`` binds 127.0.0.1 on a random port; ``url`` is then set.

    Authentication: ``Authorization: Bearer <token>`` or the recorded 401.
    Authorization: everything is allowed except what ``forbid()`` denies (403 shaped like RBAC's).
    """

    def __init__(self, *, tls: bool = True, token: str | None = None,
                 user: str = "system:serviceaccount:pss:auditor", version: dict | None = None,
                 gzip_responses: bool = True):
        self.tls = tls
        self.token = token or f"tok-{uuid.uuid4().hex}"
        self.user = user
        self.version = version or load_recording("version")["response"]["body"]
        self.gzip_responses = gzip_responses
        self.namespace_patch_warnings: WarningHook | None = None
        self.requests: list[RecordedRequest] = []
        self.cert: CertPair | None = None
        self._lock = threading.RLock()
        self._stores: dict[str, _Store] = {name: _Store(info.namespaced) for name, info in RESOURCES.items()}
        self._rv = 100
        self._faults: list[_Fault] = []
        self._holds: list[Hold] = []
        self._rules: list[_Rule] = []
        self._expire_continue = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set = set()
        self.host = "127.0.0.1"
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> bytes | None:
        return self.cert.cert_pem if self.cert else None

    def start(self) -> "FakeApiServer":
        httpd = _HTTPServer((self.host, 0), _Handler)
        httpd.api = self
        if self.tls:
            self.cert = self_signed_cert()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert.cert_path, self.cert.key_path)
            httpd.ssl_context = ctx
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-apiserver-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, and cut open keep-alive connections (so the port is really dead)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd = None

    def __enter__(self) -> "FakeApiServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, sock, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(sock)

    def context(self, name: str = "fake", *, namespace: str | None = None, token: str | None = None,
                **kwargs: Any) -> KubeContext:
        """A kubeconfig context for this server (token defaults to the right one)."""
        return KubeContext(name=name, server=self.url, token=self.token if token is None else token,
                           ca_pem=self.ca_pem, namespace=namespace, **kwargs)

    # ------------------------------------------------------------------ state
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def add(self, obj: dict, resource: str | None = None) -> dict:
        """Store an object (kind decides the resource). Fills uid, resourceVersion, creationTimestamp."""
        resource = resource or KIND_TO_RESOURCE[obj["kind"]]
        info = RESOURCES[resource]
        obj = dict(obj)
        obj.pop("kind", None)
        obj.pop("apiVersion", None)
        md = obj["metadata"] = dict(obj.get("metadata") or {})
        if info.namespaced:
            md.setdefault("namespace", "default")
        else:
            md.pop("namespace", None)
        with self._lock:
            md.setdefault("uid", str(uuid.uuid4()))
            md["resourceVersion"] = self._next_rv()
            md.setdefault("creationTimestamp", now_rfc3339())
            if resource == "namespaces":
                md["labels"] = {"kubernetes.io/metadata.name": md["name"], **(md.get("labels") or {})}
                obj.setdefault("spec", {"finalizers": ["kubernetes"]})
                obj.setdefault("status", {"phase": "Active"})
            self._stores[resource].put(obj)
        return obj

    def add_many(self, resource: str, objs: Iterable[dict]) -> None:
        """Bulk add (no copies; objects must be kind/apiVersion-free dicts with full metadata)."""
        store = self._stores[resource]
        with self._lock:
            for obj in objs:
                md = obj["metadata"]
                md.setdefault("uid", str(uuid.uuid4()))
                md["resourceVersion"] = self._next_rv()
                md.setdefault("creationTimestamp", now_rfc3339())
                store.put(obj)

    def add_namespace(self, name: str, labels: dict[str, str] | None = None,
                      annotations: dict[str, str] | None = None) -> dict:
        md: dict[str, Any] = {"name": name, "labels": dict(labels or {})}
        if annotations:
            md["annotations"] = dict(annotations)
        return self.add({"kind": "Namespace", "metadata": md})

    def add_pod(self, namespace: str, name: str, spec: dict | None = None, *,
                labels: dict[str, str] | None = None, owner: dict | None = None) -> dict:
        md: dict[str, Any] = {"name": name, "namespace": namespace}
        if labels:
            md["labels"] = labels
        if owner:
            md["ownerReferences"] = [owner]
        spec = spec or {"containers": [{"name": "c", "image": "busybox:1.36"}]}
        return self.add({"kind": "Pod", "metadata": md, "spec": spec, "status": {"phase": "Running"}})

    @property
    def minor(self) -> int:
        """The minor version the server reports ("24+" -> 24)."""
        return int(re.match(r"[0-9]+", str(self.version.get("minor")))[0])

    def pods_in(self, namespace: str) -> list[dict]:
        with self._lock:
            keys, get = self._stores["pods"].sorted_keys(namespace)
            return [get(key) for key in keys]

    def get_object(self, resource: str, namespace: str | None, name: str) -> dict | None:
        with self._lock:
            obj = self._stores[resource].get(namespace, name)
            return copy.deepcopy(obj) if obj is not None else None

    def namespace(self, name: str) -> dict | None:
        return self.get_object("namespaces", None, name)

    def count(self, resource: str) -> int:
        return len(self._stores[resource].by_key)

    def delete(self, resource: str, namespace: str | None, name: str) -> None:
        with self._lock:
            self._stores[resource].delete(namespace, name)
            self._next_rv()

    # ------------------------------------------------------------------ faults
    def forbid(self, resource: str, namespace: str | None = None, verbs: Iterable[str] | None = None) -> None:
        """Deny ``resource`` with RBAC's 403.

        ``namespace=None`` denies cluster-scope requests (all-namespaces lists, namespace/node lists);
        a name denies requests in that namespace (for namespaces themselves: get/patch of that one);
        ``"*"`` denies everywhere. ``verbs`` limits the rule (e.g. ``["list"]``).
        """
        with self._lock:
            self._rules.append(_Rule(resource, namespace, frozenset(verbs) if verbs else None))

    def allow_all(self) -> None:
        with self._lock:
            self._rules.clear()

    def fail(self, path_prefix: str, status: int = 500, retry_after: int | None = None, times: int = 1,
             methods: Iterable[str] | None = None) -> None:
        """The next ``times`` requests whose path starts with ``path_prefix`` get ``status``
        (429, 500, 502, 503, 504, or 404 as for an API group the server does not serve;
        0 drops the connection without an answer)."""
        self.inject(path_prefix, "drop" if status == 0 else status, times=times, methods=methods,
                    retry_after=retry_after)

    def fail_once(self, path_prefix: str, status: int = 500, retry_after: int | None = None) -> None:
        self.fail(path_prefix, status, retry_after, 1)

    def stall_once(self, path_prefix: str, seconds: float) -> None:
        """The next matching request is answered normally, but only after ``seconds``."""
        self.inject(path_prefix, "stall", delay=seconds)

    def inject(self, path: str, fault: int | str, *, times: int = 1, page: int | None = None, exact: bool = False,
               methods: Iterable[str] | None = None, retry_after: int | None = None, delay: float = 0.0) -> None:
        """A fault plan for the next ``times`` requests (FOREVER: all) whose path starts with ``path``
        (is ``path`` with ``exact``; a namespace's list is ``/api/v1/namespaces/NS/pods``); with ``page``
        only that page of a paged list (1 = the request without a continue token).

        ``fault``: an HTTP status with the apiserver's Status body (403 as RBAC words it, 404, 410 Expired
        as for a stale continue token, 429, 500, 502, 503, 504); ``"html"`` a 200 login page (text/html,
        as a proxy in the way answers); ``"empty"`` a 200 application/json with no body; ``"array"`` a 200
        JSON ``[]``; ``"object"`` a 200 JSON object that is no list (a proxy's ``{"error": ...}``);
        ``"truncated"`` the real answer with its Content-Length but only half its body, then
        the connection closes; ``"reset"`` the connection is reset without an answer; ``"drop"`` closed
        without an answer; ``"stall"`` answered normally after ``delay`` seconds.
        """
        status = {"drop": 0, "stall": -1}.get(fault, 200) if isinstance(fault, str) else fault
        body = fault if fault in FAULT_BODIES else None
        if isinstance(fault, str) and body is None and status == 200:
            raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self._faults.append(_Fault(path, status, times, retry_after,
                                       tuple(m.upper() for m in methods) if methods else None, delay, body, page,
                                       exact))

    def hold(self, method: str, path_prefix: str, seconds: float, *, mode: str = "before",
             match: Callable[[RecordedRequest], bool] | None = None) -> Hold:
        """Hold back the next ``method`` request under ``path_prefix`` (that ``match`` accepts) for ``seconds``:

        ``before``: then handle it as usual (a slow admission webhook: a pod POST creates the pod late);
        ``after``: handle it at once, answer late (the change is made, its answer is slow; not for
        the pod/exec paths of ``runtime``); ``lost``: then close the connection without handling it;
        ``unanswered``: handle it at once, then close the connection without the answer (same limits as after)."""
        if mode not in HOLD_MODES:
            raise ValueError(f"mode must be one of {HOLD_MODES}")
        held = Hold(method.upper(), path_prefix, seconds, mode, match)
        with self._lock:
            self._holds.append(held)
        return held

    def drop_once(self, path_prefix: str) -> None:
        """The next matching request's connection is closed without a response."""
        self.fail(path_prefix, 0, None, 1)

    def expire_continue_once(self, times: int = 1) -> None:
        """The next ``times`` requests carrying a continue token get 410 Gone (reason Expired)."""
        with self._lock:
            self._expire_continue += times

    @property
    def runtime(self):
        """Running pods: exec over WebSocket, pod create/delete, ephemeral containers, exec handlers
        (``tests/apiserver/runtime.py``)."""
        from .runtime import runtime_of

        return runtime_of(self)

    @property
    def reports(self):
        """The report CRDs (PolicyReport, OpenReports): served once ``reports.install()``ed
        (``tests/apiserver/reports.py``)."""
        if getattr(self, "_reports", None) is None:
            from .reports import ReportApis

            self._reports = ReportApis(self)
        return self._reports

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    # ------------------------------------------------------------------ HTTP
    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        rec = RecordedRequest(h.command, path, query, dict(h.headers.items()), body, split.query,
                              header_lines=list(h.headers.items()))
        with self._lock:
            self.requests.append(rec)
        held = self._take_hold(rec)
        if held is not None:
            self._held(h, rec, held)
            return
        self._respond(h, rec)

    def _take_hold(self, rec: RecordedRequest) -> Hold | None:
        with self._lock:
            for held in self._holds:
                if (held.method == rec.method and rec.path.startswith(held.path_prefix)
                        and (held.match is None or held.match(rec))):
                    self._holds.remove(held)
                    return held
        return None

    def _held(self, h: _Handler, rec: RecordedRequest, held: Hold) -> None:
        held.arrived.set()
        try:
            if held.mode in ("after", "unanswered") and not self.runtime.handles(rec.method, rec.path):
                reply = self._dispatch(rec)
                time.sleep(held.seconds)
                if held.mode == "unanswered":
                    h.close_connection = True
                else:
                    self._write(h, rec, reply)
                return
            time.sleep(held.seconds)
            if held.mode == "lost":
                h.close_connection = True
                return
            self._respond(h, rec)
        finally:
            held.done.set()

    def _respond(self, h: _Handler, rec: RecordedRequest) -> None:
        path = rec.path
        if self.runtime.handles(rec.method, path):  # exec WebSocket, pod create/delete, ephemeral containers
            self.runtime.handle(h, rec)
            return
        try:
            reply = self._dispatch(rec)
        except Exception as exc:  # a bug in the fake: answer 500 so the test sees it
            reply = _Reply(500, status_body(500, "InternalError", f"fake apiserver bug: {exc!r}"))
        rec.reply = reply
        if reply.reset:  # SO_LINGER 0: close() sends RST instead of FIN
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            return
        if reply.drop:
            h.close_connection = True
            return
        self._write(h, rec, reply)

    def _write(self, h: _Handler, rec: RecordedRequest, reply: _Reply) -> None:
        if isinstance(reply.body, _JSONBytes):
            payload, ctype = bytes(reply.body), "application/json"
        elif isinstance(reply.body, (bytes, bytearray)):
            payload, ctype = bytes(reply.body), "text/plain; charset=utf-8"
        else:
            payload, ctype = json.dumps(reply.body, separators=(",", ":")).encode(), "application/json"
        ctype = reply.content_type or ctype
        headers: list[tuple[str, str]] = [
            ("Audit-Id", str(uuid.uuid4())),
            ("Cache-Control", "no-cache, private"),
            ("Content-Type", ctype),
        ]
        if reply.status == 403:
            headers.append(("X-Content-Type-Options", "nosniff"))
        headers += reply.headers
        if reply.status != 401:  # authentication fails before priority-and-fairness classifies
            headers += [("X-Kubernetes-Pf-Flowschema-Uid", "af563721-bd71-4140-b44d-23d8dc6c1af2"),
                        ("X-Kubernetes-Pf-Prioritylevel-Uid", "d0bf842a-8f28-4a2f-b969-783588191109")]
        headers.append(("Date", formatdate(usegmt=True)))
        if (self.gzip_responses and len(payload) > 128 * 1024
                and "gzip" in (rec.header("Accept-Encoding") or "")):
            payload = gzip.compress(payload, compresslevel=1)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(payload))))
        h.send_response(reply.status)
        for k, v in headers:
            # Go writes header bytes as-is (UTF-8); http.server encodes latin-1: pre-encode.
            h.send_header(k, v.encode("utf-8").decode("latin-1"))
        h.end_headers()
        if reply.truncate:  # the whole length announced, half of it sent, then the connection ends
            h.wfile.write(payload[: len(payload) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if rec.method != "HEAD":
            h.wfile.write(payload)
        h.wfile.flush()

    def _dispatch(self, rec: RecordedRequest) -> _Reply:
        if not self._authenticated(rec.header("Authorization")):
            return _Reply(401, status_body(401, "Unauthorized", "Unauthorized"))
        fault = self._take_fault(rec)
        if fault is not None and not fault.truncate:
            return fault
        reply = self._answer(rec)
        reply.truncate = fault is not None
        return reply

    def _answer(self, rec: RecordedRequest) -> _Reply:
        if rec.path == "/version":
            if rec.method != "GET":
                return self._method_not_allowed()
            return _Reply(200, self.version)
        reply = self.reports.answer(rec)  # the report CRDs, once installed
        if reply is not None:
            return reply
        route = self._route(rec.path)
        if route is None:
            return _Reply(404, status_body(404, "NotFound", "the server could not find the requested resource",
                                           {}))
        info, namespace, name = route
        if rec.method == "GET":
            if name is None:
                return self._list(rec, info, namespace)
            return self._get(info, namespace, name)
        if rec.method == "PATCH" and info.resource == "namespaces" and name is not None:
            return self._patch_namespace(rec, name)
        if rec.method == "PATCH" and info.resource in TEMPLATE_PATHS and name is not None:
            return self._patch_workload(rec, info, namespace, name)
        return self._method_not_allowed()

    def _authenticated(self, header: str | None) -> bool:
        # like k8s' bearertoken authenticator: scheme case-insensitive, surrounding space trimmed
        parts = (header or "").strip().split(" ")
        return len(parts) == 2 and parts[0].lower() == "bearer" and parts[1] == self.token

    @staticmethod
    def _method_not_allowed() -> _Reply:
        return _Reply(405, status_body(405, "MethodNotAllowed",
                                       "the server does not allow this method on the requested resource", {}))

    def _page(self, rec: RecordedRequest) -> int | None:
        token = rec.query.get("continue")
        if not token:
            return 1
        try:
            return int(json.loads(base64.b64decode(token, validate=True)).get("p", 0)) or None
        except (ValueError, TypeError, AttributeError):
            return None

    def _take_fault(self, rec: RecordedRequest) -> _Reply | None:
        """The reply a matching fault plan gives (``truncate`` set: answer normally, then cut the body)."""
        page = self._page(rec)
        with self._lock:
            for fault in self._faults:
                if fault.matches(rec, page):
                    fault.remaining -= 1
                    break
            else:
                return None
            self._faults = [f for f in self._faults if f.remaining > 0]
        if fault.status == 0:
            return _Reply(0, drop=True)
        if fault.status == -1:
            time.sleep(fault.delay)
            return None
        if fault.body == "truncated":
            return _Reply(200, truncate=True)
        if fault.body == "reset":
            return _Reply(0, reset=True)
        if fault.body is not None:
            payload = {"html": LOGIN_PAGE, "empty": b"", "array": b"[]",
                       "object": b'{"error":"login required"}'}[fault.body]
            return _Reply(200, payload, content_type="text/html; charset=utf-8" if fault.body == "html"
                          else "application/json")
        if fault.status == 404:
            return _Reply(404, status_body(404, "NotFound", "the server could not find the requested resource", {}))
        if fault.status == 410:
            return _Reply(410, status_body(410, "Expired", EXPIRED_MESSAGE))
        if fault.status == 403:
            return self._forbidden_fault(rec)
        headers = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", str(fault.retry_after)))
        if fault.status == 429:
            return _Reply(429, status_body(429, "TooManyRequests", "Too many requests, please try again later.",
                                           {"retryAfterSeconds": fault.retry_after or 1}), headers)
        reasons = {500: "InternalError", 502: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
        message = {500: "Internal error occurred: injected fault", 503: "the server is currently unable to "
                   "handle the request", 504: "the server was unable to return a response in the time "
                   "allotted, but may still be processing the request"}.get(fault.status, "injected fault")
        return _Reply(fault.status, status_body(fault.status, reasons.get(fault.status, "InternalError"), message,
                                                {"causes": [{"message": "injected fault"}]}), headers)

    def _forbidden_fault(self, rec: RecordedRequest) -> _Reply:
        route = self._route(rec.path)
        if route is None:
            message = f'forbidden: User "{self.user}" cannot get path "{rec.path}"'
            return _Reply(403, status_body(403, "Forbidden", message, {}))
        info, namespace, name = route
        verb = {"GET": "get" if name else "list", "PATCH": "patch", "DELETE": "delete", "POST": "create"}.get(
            rec.method, rec.method.lower())
        return self._forbidden(verb, info, name if info.resource == "namespaces" and name else namespace, name)

    @staticmethod
    def _route(path: str) -> tuple[ResourceInfo, str | None, str | None] | None:
        for prefix in PREFIXES:
            if path == prefix or not path.startswith(prefix + "/"):
                continue
            parts = path[len(prefix) + 1:].split("/")
            if not all(parts):
                return None

            def info_for(resource: str) -> ResourceInfo | None:
                info = RESOURCES.get(resource)
                return info if info is not None and info.prefix == prefix else None

            if len(parts) in (1, 2):
                info = info_for(parts[0])
                if info is None or (info.namespaced and len(parts) == 2):
                    return None
                return info, None, parts[1] if len(parts) == 2 else None
            if len(parts) in (3, 4) and parts[0] == "namespaces":
                info = info_for(parts[2])
                if info is None or not info.namespaced:
                    return None
                return info, parts[1], parts[3] if len(parts) == 4 else None
            return None
        return None

    def _denied(self, verb: str, info: ResourceInfo, namespace: str | None, name: str | None) -> _Reply | None:
        # RBAC sees a get/patch of namespace X as a request in namespace X
        attr_ns = name if info.resource == "namespaces" and name else namespace
        with self._lock:
            denied = any(rule.matches(verb, info.resource, attr_ns) for rule in self._rules)
        return self._forbidden(verb, info, attr_ns, name) if denied else None

    def _forbidden(self, verb: str, info: ResourceInfo, attr_ns: str | None, name: str | None) -> _Reply:
        """RBAC's 403 for ``verb`` on ``info`` (``attr_ns``: the namespace RBAC sees the request in)."""
        where = f'in the namespace "{attr_ns}"' if attr_ns else "at the cluster scope"
        subject = f'{info.resource} "{name}"' if name else info.resource
        message = (f'{subject} is forbidden: User "{self.user}" cannot {verb} resource "{info.resource}" '
                   f'in API group "{info.group}" {where}')
        details = {"name": name, "kind": info.resource} if name else {"kind": info.resource}
        return _Reply(403, status_body(403, "Forbidden", message, details))

    @staticmethod
    def _not_found(info: ResourceInfo, name: str) -> _Reply:
        return _Reply(404, status_body(404, "NotFound", f'{info.resource} "{name}" not found',
                                       {"name": name, "kind": info.resource}))

    @staticmethod
    def _bad_request(message: str) -> _Reply:
        return _Reply(400, status_body(400, "BadRequest", message))

    def _get(self, info: ResourceInfo, namespace: str | None, name: str) -> _Reply:
        denied = self._denied("get", info, namespace, name)
        if denied:
            return denied
        with self._lock:
            obj = self._stores[info.resource].get(namespace, name)
            if obj is None:
                return self._not_found(info, name)
            return _Reply(200, {"kind": info.kind, "apiVersion": info.api_version, **obj})

    @staticmethod
    def encode_continue(start_key: str, rv: str, page: int | None = None) -> str:
        """The apiserver's token; ``page`` (of the list the token continues to) is this fake's addition."""
        token: dict[str, Any] = {"v": "meta.k8s.io/v1", "rv": int(rv), "start": start_key + "\x00"}
        if page is not None:
            token["p"] = page
        raw = json.dumps(token, separators=(",", ":"))
        return base64.b64encode(raw.encode()).decode()

    @staticmethod
    def decode_continue(token: str) -> tuple[str, str]:
        data = json.loads(base64.b64decode(token, validate=True))
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        return data["start"], str(data["rv"])

    def _list(self, rec: RecordedRequest, info: ResourceInfo, namespace: str | None) -> _Reply:
        denied = self._denied("list", info, namespace, None)
        if denied:
            return denied
        q = rec.query
        try:
            limit = int(q.get("limit") or 0)
            lmatch = label_matcher(q.get("labelSelector"))
            fmatch = field_matcher(q.get("fieldSelector"))
        except ValueError as exc:
            return self._bad_request(str(exc))
        start, rv = "", None
        token = q.get("continue")
        if token:
            with self._lock:
                expire = self._expire_continue > 0
                if expire:
                    self._expire_continue -= 1
            if expire:
                return _Reply(410, status_body(410, "Expired", EXPIRED_MESSAGE))
            try:
                start, rv = self.decode_continue(token)
            except (ValueError, KeyError, TypeError) as exc:
                return self._bad_request(f"continue key is not valid: {exc}")
        items: list[dict] = []
        with self._lock:
            rv = rv or self.resource_version
            keys, lookup = self._stores[info.resource].sorted_keys(namespace)
            idx = bisect.bisect_left(keys, start) if start else 0
            last_key = None
            n = len(keys)
            while idx < n:
                key = keys[idx]
                idx += 1
                obj = lookup(key)
                if (lmatch and not lmatch(obj)) or (fmatch and not fmatch(obj)):
                    continue
                items.append(obj)
                last_key = key
                if limit and len(items) >= limit:
                    break
            metadata: dict[str, Any] = {"resourceVersion": rv}
            # like etcd: a full page with keys left after it gets a token, whether or not they match
            if limit and len(items) >= limit and idx < n and last_key is not None:
                metadata["continue"] = self.encode_continue(last_key, rv, (self._page(rec) or 1) + 1)
                if not lmatch and not fmatch:
                    metadata["remainingItemCount"] = n - idx
            body = {"kind": f"{info.kind}List", "apiVersion": info.api_version, "metadata": metadata,
                    "items": items}
            payload = json.dumps(body, separators=(",", ":")).encode()
        return _Reply(200, payload_json(payload), last_page="continue" not in metadata)

    def _patch_namespace(self, rec: RecordedRequest, name: str) -> _Reply:
        info = RESOURCES["namespaces"]
        denied = self._denied("patch", info, None, name)
        if denied:
            return denied
        ctype = (rec.header("Content-Type") or "").split(";")[0].strip()
        if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            return _Reply(415, status_body(
                415, "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
                "application/strategic-merge-patch+json", {}))
        try:
            patch = json.loads(rec.body or b"null")
        except ValueError as exc:
            return self._bad_request(f"error decoding patch: {exc}")
        if not isinstance(patch, dict):
            return self._bad_request("error decoding patch: the patch is not a JSON object")
        dry_run = rec.query.get("dryRun")
        if dry_run not in (None, "", "All"):
            return self._bad_request(f'Invalid dryRun parameter "{dry_run}"')
        with self._lock:
            current = self._stores["namespaces"].get(None, name)
            if current is None:
                return self._not_found(info, name)
            # metadata.resourceVersion in a patch is a precondition (optimistic concurrency), dry run or not
            wanted_rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch.get("metadata"), dict) else None
            if wanted_rv is not None and str(wanted_rv) != current["metadata"].get("resourceVersion"):
                return _Reply(409, status_body(409, "Conflict", f'Operation cannot be fulfilled on namespaces "{name}": '
                                               "the object has been modified; please apply your changes to the latest "
                                               "version and try again", {"name": name, "kind": "namespaces"}))
            old_labels = dict(current["metadata"].get("labels") or {})
            new = merge_patch(copy.deepcopy(current), patch)
            md = new.setdefault("metadata", {})
            md["name"] = name
            labels = md.get("labels") or {}
            labels["kubernetes.io/metadata.name"] = name
            md["labels"] = labels
            errors = validate_psa_labels(labels)
            if errors:
                return _Reply(422, invalid_status("Namespace", name, errors))
            warnings: list[str] = []
            enforce_keys = (PSA_PREFIX + "enforce", PSA_PREFIX + "enforce-version")
            changed = any(old_labels.get(k) != labels.get(k) for k in enforce_keys)
            if changed and self.namespace_patch_warnings is not None:
                warnings = list(self.namespace_patch_warnings(name, old_labels, dict(labels)))
            if new != current:
                manager = rec.query.get("fieldManager") or (rec.header("User-Agent") or "unknown").split("/")[0]
                md.setdefault("managedFields", []).append({
                    "manager": manager, "operation": "Update", "apiVersion": "v1", "time": now_rfc3339(),
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {
                        f"f:{k}": {} for k in labels if old_labels.get(k) != labels[k]}}}})
                if dry_run != "All":
                    md["resourceVersion"] = self._next_rv()
                    self._stores["namespaces"].put(new)
            body = {"kind": "Namespace", "apiVersion": "v1", **new}
        return _Reply(200, body, [("Warning", quote_warning(w)) for w in warnings])


    def _patch_workload(self, rec: RecordedRequest, info: ResourceInfo, namespace: str | None, name: str) -> _Reply:
        """A strategic-merge patch of a workload (containers by name, ports by containerPort); PodSecurity
        warns about its pod template at the namespace's warn level (the reasons, without details)."""
        from .podsecurity import pod_reasons

        denied = self._denied("patch", info, namespace, name)
        if denied:
            return denied
        if (rec.header("Content-Type") or "").split(";")[0].strip() != "application/strategic-merge-patch+json":
            return _Reply(415, status_body(415, "UnsupportedMediaType", "only strategic merge patches here", {}))
        try:
            patch = json.loads(rec.body or b"null")
        except ValueError as exc:
            return self._bad_request(f"error decoding patch: {exc}")
        dry_run = rec.query.get("dryRun")
        if dry_run not in (None, "", "All"):
            return self._bad_request(f'Invalid dryRun parameter "{dry_run}"')
        with self._lock:
            current = self._stores[info.resource].get(namespace, name)
            if current is None:
                return self._not_found(info, name)
            new = strategic_merge(copy.deepcopy(current), patch)
            template = new
            for key in TEMPLATE_PATHS[info.resource]:
                template = template.get(key) or {}
            labels = ((self._stores["namespaces"].get(None, namespace) or {}).get("metadata") or {}).get("labels") or {}
            level = labels.get(PSA_PREFIX + "warn")
            warnings = []
            if level:
                version = labels.get(PSA_PREFIX + "warn-version", "latest")
                reasons = pod_reasons(template.get("spec") or {}, level, self.minor)
                if reasons:
                    warnings.append(f'would violate PodSecurity "{level}:{version}": {", ".join(reasons)}')
            if dry_run != "All" and new != current:
                new.setdefault("metadata", {})["resourceVersion"] = self._next_rv()
                self._stores[info.resource].put(new)
            body = {"kind": info.kind, "apiVersion": info.api_version, **new}
        return _Reply(200, body, [("Warning", quote_warning(w)) for w in warnings])


# resource -> path of the pod template (what a strategic merge patch of a workload changes)
TEMPLATE_PATHS = {"deployments": ("spec", "template"), "statefulsets": ("spec", "template"),
                  "daemonsets": ("spec", "template"), "replicasets": ("spec", "template"),
                  "replicationcontrollers": ("spec", "template"), "cronjobs": ("spec", "jobTemplate", "spec", "template")}
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "ports": "containerPort"}


def strategic_merge(target: Any, patch: Any, key: str | None = None) -> Any:
    """Kubernetes' strategic merge for what pod templates need: lists in MERGE_KEYS merge by their key,
    other lists are replaced, null removes."""
    if isinstance(patch, list) and key in MERGE_KEYS and isinstance(target, list):
        merge_key = MERGE_KEYS[key]
        out = list(target)
        for item in patch:
            match = next((i for i, t in enumerate(out) if isinstance(t, dict) and t.get(merge_key) == item.get(merge_key)), None)
            if match is None:
                out.append(item)
            else:
                out[match] = strategic_merge(out[match], item)
        return out
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for k, value in patch.items():
        if value is None:
            target.pop(k, None)
        else:
            target[k] = strategic_merge(target.get(k), value, k)
    return target


def payload_json(payload: bytes) -> bytes:
    """Mark pre-serialised JSON (avoid a second dumps); see _write."""
    return _JSONBytes(payload)


class _JSONBytes(bytes):
    pass


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


def validate_psa_labels(labels: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, value, detail) for each invalid pod-security.kubernetes.io/* label, in PSA's order."""
    errors = []
    for mode in MODES:
        key = PSA_PREFIX + mode
        if key in labels and labels[key] not in PSA_LEVELS:
            errors.append((f"metadata.labels[{key}]", str(labels[key]),
                           "must be one of " + ", ".join(PSA_LEVELS)))
        vkey = key + "-version"
        if vkey in labels and not PSA_VERSION_RE.match(str(labels[vkey])):
            errors.append((f"metadata.labels[{vkey}]", str(labels[vkey]), 'must be "latest" or "v1.x"'))
    return errors


def invalid_status(kind: str, name: str, errors: list[tuple[str, str, str]]) -> dict:
    texts = [f'{f}: Invalid value: "{v}": {d}' for f, v, d in errors]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return status_body(422, "Invalid", f'{kind} "{name}" is invalid: {joined}', {
        "name": name, "kind": kind,
        "causes": [{"reason": "FieldValueInvalid", "message": f'Invalid value: "{v}": {d}', "field": f}
                   for f, v, d in errors]})
