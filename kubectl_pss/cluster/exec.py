"""Run a command in a container through the API server's ``pods/exec`` endpoint: a WebSocket that
speaks ``channel.k8s.io`` (v5 to v1 offered, in kubectl's order; a v1.24 server picks v4).

    result = exec_argv(cluster, "team-a", "web-0", "nginx", ["cat", "/proc/1/attr/current"])
    result.exit_code, result.stdout_text, result.stderr_text

``argv`` is a list, passed as one ``command`` query parameter per word: never a shell string. Frames
are a channel byte (1 stdout, 2 stderr, 3 error) and a payload; channel 3 carries the end: a
``Status`` (v4/v5: ``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the code in
``details.causes[{reason: ExitCode}]``, or ``InternalError`` when the command could not start) or,
in v1-v3, plain text. A non-zero exit is a normal result (``check=True`` raises NonZeroExit); the
rest are typed errors: ExecForbidden (403), ExecNotFound (404: the pod is gone), ContainerNotFound
(the kubelet's HTTP 500 ``container not found ("c")``: not started, blocked, or gone),
CommandNotFound (the executable is not in the image), ExecFailed (anything else).

Why not ``kubernetes.stream.stream()`` (client 35.0.0)? It turns every failed handshake into
``ApiException(status=0)`` with the HTTP status only inside a message string; it catches
KeyboardInterrupt and SystemExit and re-raises them as ApiException (Ctrl-C would not interrupt,
and debug-pod clean-up relies on it); ``WSClient.returncode`` reads ``causes[0].message`` as an int,
which raises on a missing command's InternalError and on v1 text; it swaps ``ApiClient.request``
while it runs, which is unsafe with other threads on the same client; it has no connect timeout.
So this module drives websocket-client (the library the client itself uses, already installed
with it) directly, with TLS, credentials and proxy from the Cluster's own Configuration
(``Cluster.websocket_settings()``, built the way ``ws_client.create_websocket`` builds them).
"""
from __future__ import annotations

import json
import re
import ssl
import time
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import quote, unquote, urlencode, urlsplit

from .. import logs
from .errors import ClusterError, ClusterUnreachable, Forbidden, NotFound, Unauthorized

CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                     "channel.k8s.io")
_STATUS_PROTOCOLS = ("v4.channel.k8s.io", "v5.channel.k8s.io")  # the error channel carries a JSON Status
STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
MAX_STREAM_BYTES = 8 * 1024 * 1024  # per stream; more is dropped and ``truncated`` set
DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read (seconds) when the cluster has no --request-timeout

_EXIT_TEXT = re.compile(r"exit code (\d+)\s*$")
_MISSING_COMMAND = re.compile(r"executable file .*not found|not found in \$path|no such file or directory", re.I)


@dataclass
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int
    protocol: str = ""  # the negotiated subprotocol
    truncated: bool = False

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def command_missing(self) -> bool:
        """The command is not there where it ran (127, or the runtime's "failed to run command")."""
        return self.exit_code == 127 or "failed to run command" in self.stderr_text

    def why(self) -> str:
        """Why the command failed: the last line of its stderr, else its exit code."""
        return last_line(self.stderr_text) or f"exit code {self.exit_code}"


def last_line(text: str) -> str:
    """The last non-empty line of a command's output (at most 200 characters): what it said last."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


class ExecError(ClusterError):
    """An exec that produced no exit code (or, for NonZeroExit, an unwanted one)."""

    def __init__(self, message: str, *, namespace: str | None = None, pod: str | None = None,
                 container: str | None = None, argv: Sequence[str] | None = None, result: ExecResult | None = None,
                 **kwargs: Any):
        super().__init__(message, **kwargs)
        self.namespace, self.pod, self.container = namespace, pod, container
        self.argv = list(argv or [])
        self.result = result


class ExecForbidden(ExecError, Forbidden):
    """403: RBAC does not allow ``create`` on ``pods/exec`` (or ``get`` on older servers)."""


class ExecNotFound(ExecError, NotFound):
    """404: the pod (or its namespace) does not exist."""


class ContainerNotFound(ExecError):
    """The kubelet's HTTP 500 ``container not found ("NAME")``: never started (blocked, e.g. by AppArmor),
    not started yet, or gone."""


class CommandNotFound(ExecError):
    """The executable is not in the image (an ``InternalError`` Status on the error channel)."""


class NonZeroExit(ExecError):
    """Only with ``check=True``: the command ran and failed; ``result`` has its output."""


class ExecFailed(ExecError):
    """Anything else: 400 (no such container, no node yet), other InternalErrors, a broken stream."""


def _status_of(text: str) -> dict | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _exit_code(protocol: str, payload: bytes, where: dict[str, Any]) -> int:
    """The exit code the error channel says, or a typed error."""
    text = payload.decode("utf-8", "replace").strip()
    if not text:
        return 0  # kubectl too: no error on the error channel is success
    status = _status_of(text) if (protocol in _STATUS_PROTOCOLS or text.startswith("{")) else None
    if status is not None:
        if status.get("status") == "Success":
            return 0
        message = str(status.get("message") or "")
        reason = status.get("reason")
        if reason == "NonZeroExitCode":
            for cause in (status.get("details") or {}).get("causes") or ():
                if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                    try:
                        return int(str(cause.get("message")))
                    except ValueError:
                        break
            match = _EXIT_TEXT.search(message)
            if match:
                return int(match.group(1))
        if _MISSING_COMMAND.search(message):
            raise CommandNotFound(f"{where['argv'][0]!r} cannot run in container \"{where['container']}\": {message}",
                                  status=status.get("code"), reason=reason, **where)
        raise ExecFailed(f"exec in container \"{where['container']}\" failed: {message or text}",
                         status=status.get("code"), reason=reason, **where)
    match = _EXIT_TEXT.search(text)
    if match and "non-zero exit code" in text:
        return int(match.group(1))
    if _MISSING_COMMAND.search(text):
        raise CommandNotFound(f"{where['argv'][0]!r} cannot run in container \"{where['container']}\": {text}",
                              **where)
    raise ExecFailed(f"exec in container \"{where['container']}\" failed: {text}", **where)


def _handshake_error(exc: Any, where: dict[str, Any]) -> ClusterError:
    status = int(exc.status_code)
    headers = {str(k).lower(): str(v) for k, v in (exc.resp_headers or {}).items()}
    body = exc.resp_body or b""
    text = body.decode("utf-8", "replace").strip() if isinstance(body, (bytes, bytearray)) else str(body).strip()
    message, reason, details = (text.splitlines()[0][:300] if text else ""), None, {}
    data = _status_of(text) if "json" in headers.get("content-type", "") or text.startswith("{") else None
    if data is not None and data.get("kind") == "Status":
        message, reason, details = str(data.get("message") or message), data.get("reason"), data.get("details") or {}
    pod = f'pod "{where["namespace"]}/{where["pod"]}"'
    if status == 401:
        return Unauthorized(f"Unauthorized: exec into {pod}: the API server rejected the credentials",
                            status=401, reason=reason)
    if status == 403:
        return ExecForbidden(message or f"exec into {pod} is forbidden", status=403, reason=reason, details=details,
                             **where)
    if status == 404:
        return ExecNotFound(message or f"{pod} not found", status=404, reason=reason, details=details, **where)
    if status == 500 and "container not found" in message:
        return ContainerNotFound(f'container "{where["container"]}" of {pod} is not running: {message}',
                                 status=500, reason=reason or "InternalError", **where)
    return ExecFailed(f"exec into {pod}: HTTP {status}: {message or exc.status_message or 'no message'}",
                      status=status, reason=reason, details=details, **where)


def exec_url(server: str, namespace: str, pod: str, container: str, argv: Sequence[str]) -> str:
    """The WebSocket URL of an exec (``wss://`` for an https server; a path prefix is kept)."""
    split = urlsplit(server.rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(split.scheme, split.scheme)
    path = f"{split.path}/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/exec"
    query = urlencode([("command", word) for word in argv]
                      + [("container", container), ("stdout", "true"), ("stderr", "true")])
    return f"{scheme}://{split.netloc}{path}?{query}"


def _connect_options(settings: dict[str, Any], connect_timeout: float) -> dict[str, Any]:
    options: dict[str, Any] = {
        "header": [f"{k}: {v}" for k, v in [*settings["headers"].items(), *settings.get("impersonate", ())]],
        "subprotocols": list(CHANNEL_PROTOCOLS),
        "timeout": connect_timeout,
    }
    proxy = settings.get("proxy")
    if proxy:
        p = urlsplit(proxy)
        options.update(http_proxy_host=p.hostname, http_proxy_port=p.port or (443 if p.scheme == "https" else 80),
                       proxy_type="http")
        if p.username:
            options["http_proxy_auth"] = (unquote(p.username), unquote(p.password or ""))
    if settings.get("no_proxy"):
        options["http_no_proxy"] = [h.strip() for h in str(settings["no_proxy"]).split(",") if h.strip()]
    return options


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, ssl.SSLError)) or type(exc).__name__ == "WebSocketTimeoutException":
        return "timed out" if not isinstance(exc, ssl.SSLError) else f"TLS: {exc.reason or exc}"
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _log_upgrade(url: str, started: float, status: int | None, detail: str | None) -> None:
    """-v=6: the exec upgrade as kubectl logs a request (the URL names the command, never a credential)."""
    import http

    took = int((time.monotonic() - started) * 1000)
    if status is None:
        answer = f"(no response: {detail})"
    else:
        try:
            answer = f"{status} {http.HTTPStatus(status).phrase}"
        except ValueError:
            answer = str(status)
        if detail:
            answer += f" ({detail})"
    logs.info(f"GET {url} {answer} in {took} milliseconds", depth=2)


def exec_argv(cluster: Any, namespace: str, pod: str, container: str, argv: Sequence[str], *,
              timeout: float | None = None, check: bool = False) -> ExecResult:
    """Run ``argv`` in ``container`` of ``namespace/pod`` and wait for it to end.

    ``timeout`` bounds the whole read (default: the cluster's --request-timeout, else 60 s).
    Returns an ExecResult (any exit code) or raises ExecError subclasses, Unauthorized or
    ClusterUnreachable. Thread-safe: one connection per call.
    """
    if isinstance(argv, (str, bytes)) or not argv or not all(isinstance(a, str) for a in argv):
        raise TypeError("argv must be a non-empty list of strings (never a shell string)")
    import websocket  # websocket-client, installed with kubernetes

    where = {"namespace": namespace, "pod": pod, "container": container, "argv": list(argv)}
    reauthenticated = False
    while True:
        settings = cluster.websocket_settings()
        connect_timeout, read_timeout = settings.get("timeout") or DEFAULT_TIMEOUT
        if timeout is not None:
            read_timeout = timeout
        url = exec_url(settings["url"], namespace, pod, container, argv)
        ws = websocket.WebSocket(sslopt=settings["sslopt"], skip_utf8_validation=True)
        verbose = settings.get("verbosity", 0) >= logs.REQUESTS
        started = time.monotonic()
        try:
            ws.connect(url, **_connect_options(settings, connect_timeout))
            if verbose:
                _log_upgrade(url, started, 101, ws.getsubprotocol())
        except websocket.WebSocketBadStatusException as exc:
            ws.shutdown()
            if verbose:
                _log_upgrade(url, started, int(exc.status_code), None)
            reauthenticate = settings.get("reauthenticate")
            if exc.status_code == 401 and reauthenticate is not None and not reauthenticated:
                reauthenticated = True
                try:
                    reauthenticate()
                    continue
                except Exception:  # the plugin failed: report the 401
                    pass
            raise _handshake_error(exc, where) from None
        except (websocket.WebSocketException, OSError) as exc:
            ws.shutdown()
            if verbose:
                _log_upgrade(url, started, None, _describe(exc))
            raise ClusterUnreachable(f"cannot open an exec stream to {settings['url']}: {_describe(exc)}") from None
        try:
            return _read(ws, read_timeout, where, check)
        finally:
            ws.shutdown()


def _read(ws: Any, read_timeout: float, where: dict[str, Any], check: bool) -> ExecResult:
    import websocket

    protocol = (ws.getsubprotocol() or "channel.k8s.io").lower()
    buffers = {STDOUT: bytearray(), STDERR: bytearray(), ERROR: bytearray()}
    truncated = False
    ws.settimeout(read_timeout)
    try:
        while True:
            opcode, frame = ws.recv_data_frame(True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            if opcode not in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT):
                continue
            data = frame.data.encode("utf-8") if isinstance(frame.data, str) else bytes(frame.data)
            if not data:
                continue
            buffer = buffers.get(data[0])
            if buffer is None:
                continue
            room = MAX_STREAM_BYTES - len(buffer)
            if len(data) - 1 > room:
                truncated = True
            buffer += data[1:1 + max(room, 0)]
    except websocket.WebSocketTimeoutException:
        raise ExecFailed(f"exec in container \"{where['container']}\" of pod \"{where['namespace']}/{where['pod']}\": "
                         f"no end within {read_timeout:g} s", **where) from None
    except websocket.WebSocketConnectionClosedException:
        pass  # the server went away without a close frame: use what arrived
    except (websocket.WebSocketException, OSError) as exc:
        raise ExecFailed(f"exec stream broken: {_describe(exc)}", **where) from None
    code = _exit_code(protocol, bytes(buffers[ERROR]), where)
    result = ExecResult(bytes(buffers[STDOUT]), bytes(buffers[STDERR]), code, protocol, truncated)
    if check and code != 0:
        raise NonZeroExit(f"{' '.join(where['argv'])} exited with {code} in container \"{where['container']}\": "
                          f"{result.stderr_text.strip()[:200]}", result=result, **where)
    return result
