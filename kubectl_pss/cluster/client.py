"""Connection to a cluster: kubeconfig selection like kubectl, raw-JSON requests, retries, warnings.

This is the only module that imports ``kubernetes`` (pinned 35.0.0), and only inside functions:
the import costs ~0.5 s. Requests go through ``ApiClient.call_api(..., _preload_content=False)`` so
TLS, client certificates, tokens and exec plugins from the kubeconfig apply, and bodies stay raw
JSON (the client's model objects are ~20x slower and ~10x bigger).
"""
from __future__ import annotations

import gc
import json
import logging
import os
import random
import re
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .. import __version__, logs
from .errors import (
    ClusterError,
    ClusterUnreachable,
    ConfigError,
    CutShort,
    Gone,
    UnexpectedAnswer,
    error_for_status,
)

# --- tunables -------------------------------------------------------------------------------
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds; without --request-timeout
DEFAULT_READ_TIMEOUT = 120.0
MAX_ATTEMPTS = 5  # per request, for 429 and 5xx
CONNECT_ATTEMPTS = 3  # per request, for connection errors (refused, reset)
MAX_RETRY_AFTER = 10.0  # cap on a server's Retry-After
BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0)  # seconds before attempt 2, 3, ... (jittered)
RELIST_ATTEMPTS = 2  # restarts of a paginated list after 410 Gone
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
EXEC_PLUGIN_TIMEOUT = 60.0  # seconds an exec credential plugin may take when --request-timeout is 0 or unset
USER_AGENT = f"kubectl-pss/{__version__} ({sys.platform}) kubernetes-python/35.0.0"
FIELD_MANAGER = "kubectl-pss"

log = logging.getLogger(__name__)


@dataclass
class ConnectionOptions:
    """What kubectl's connection flags say: ``--kubeconfig``, ``--context``, ``--cluster``, ``--user``,
    ``--request-timeout`` and ``-v``. ``cluster`` and ``user`` override the context's, as client-go's
    ConfigOverrides do (the context's namespace stays)."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None  # a clusters[] name of the kubeconfig, instead of the context's
    user: str | None = None  # a users[] name, instead of the context's
    request_timeout: float | None = None  # seconds; None or 0: connect 10 s, read 120 s
    verbosity: int = 0  # kubectl's -v: 6 logs every request on stderr (logs.py)


@dataclass
class Response:
    """A 2xx answer. ``headers`` keeps repeats in order; ``data`` is its JSON object (anything else raises)."""

    status: int
    headers: list[tuple[str, str]]
    data: Any
    warnings: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


# --- Warning headers (RFC 7234 section 5.5) ------------------------------------------------
_WARN_HEAD = re.compile(r'[ \t]*(\d{3})[ \t]+([^ \t"]+)[ \t]+"')
_WARN_DATE = re.compile(r'[ \t]+"[^"]*"')


def parse_warning_header(value: str) -> list[tuple[int, str, str]]:
    """``299 - "text \\"q\\"", 299 - "b"`` -> [(299, "-", 'text "q"'), (299, "-", "b")]; ValueError if malformed."""
    out: list[tuple[int, str, str]] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " \t,":
            i += 1
        if i >= n:
            break
        m = _WARN_HEAD.match(value, i)
        if not m:
            raise ValueError(f"malformed warning: {value[i:]!r}")
        i = m.end()
        text: list[str] = []
        while True:
            if i >= n:
                raise ValueError("unterminated warn-text")
            c = value[i]
            if c == "\\" and i + 1 < n:
                text.append(value[i + 1])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                text.append(c)
                i += 1
        m_date = _WARN_DATE.match(value, i)
        if m_date:
            i = m_date.end()
        while i < n and value[i] in " \t":
            i += 1
        if i < n and value[i] != ",":
            raise ValueError(f"garbage after warning: {value[i:]!r}")
        out.append((int(m.group(1)), m.group(2), "".join(text)))
    return out


def _latin1_to_utf8(value: str) -> str:
    # http.client decodes header bytes as latin-1; the apiserver writes UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def warnings_from_headers(headers: list[tuple[str, str]]) -> list[str]:
    """Texts of the ``299`` warnings, like client-go (malformed headers are kept verbatim)."""
    out: list[str] = []
    for k, v in headers:
        if k.lower() != "warning":
            continue
        v = _latin1_to_utf8(v)
        try:
            out += [text for code, _agent, text in parse_warning_header(v) if code == 299 and text]
        except ValueError:
            out.append(v.strip())
    return out


# --- JSON with the collector paused ------------------------------------------------------------
_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while parsing a big body (3x faster); safe across threads."""
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


def parse_json(raw: bytes) -> Any:
    if len(raw) < 64 * 1024:
        return json.loads(raw)
    with _gc_paused():
        return json.loads(raw)


def json_object(path: str, content_type: str, payload: bytes) -> dict:
    """The body of a 2xx answer as the JSON object the API always sends; anything else (an HTML login
    page from a proxy, an empty body, a JSON array, broken JSON) is UnexpectedAnswer naming the path
    and the content type, never data."""
    shown = content_type.split(";")[0].strip() or "no Content-Type"
    where = f"the server answered {path} with"
    if "json" not in content_type.lower():
        raise UnexpectedAnswer(f"{where} {shown}, not JSON: is a proxy in the way?")
    if not payload.strip():
        raise UnexpectedAnswer(f"{where} an empty body ({shown}), not JSON: is a proxy in the way?")
    try:
        data = parse_json(payload)
    except ValueError as exc:
        problem = f"{exc.msg} at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise UnexpectedAnswer(f"{where} broken JSON ({shown}, {len(payload)} bytes: {problem}): was the answer "
                               "cut short, or is a proxy in the way?") from None
    if not isinstance(data, dict):
        what = {list: "a JSON array", str: "a JSON string"}.get(type(data), "a bare JSON value")
        raise UnexpectedAnswer(f"{where} {what} ({shown}), not a JSON object: is a proxy in the way?")
    return data


def _check_list(path: str, data: dict) -> None:
    """A list answer has ``items`` (objects) and maybe a string continue token; else UnexpectedAnswer."""
    items = data.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("metadata"), dict)
                                              for i in items):
        raise UnexpectedAnswer(f"the server answered {path} with a JSON object that is not a list of objects "
                               f"(kind {data.get('kind')!r}): is a proxy in the way?")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict) or not isinstance(metadata.get("continue") or "", str):
        raise UnexpectedAnswer(f"the server answered {path} with list metadata that is not an object with a "
                               "string continue token")


# --- kubeconfig -----------------------------------------------------------------------------
@dataclass
class _KubeconfigChoice:
    files: list[str]
    context: str  # "" when there is none (no current-context, and --cluster given)
    namespace: str
    cluster: dict  # the clusters[].cluster entry in use ({} if missing)
    user: dict  # the users[].user entry in use ({} if none)
    cluster_name: str = ""
    user_name: str = ""


def _restore_child_env() -> None:
    """Frozen by PyInstaller: give child processes (exec plugins) the user's LD_LIBRARY_PATH back
    (idempotent; the CLI does it at start-up too, this covers other callers of connect())."""
    if getattr(sys, "frozen", False):
        from ..frozen import restore_environment

        restore_environment()


def _kubeconfig_files(options: ConnectionOptions) -> list[str]:
    """The kubeconfig files kubectl would read, existing ones only, in precedence order."""
    if options.kubeconfig:
        path = os.path.expanduser(options.kubeconfig)
        if os.path.isdir(path):
            raise ConfigError(f"kubeconfig {path}: is a directory, not a file")
        if not os.path.isfile(path):
            raise ConfigError(f"kubeconfig {path}: no such file")
        return [path]
    env = os.environ.get("KUBECONFIG")
    if env:
        files: list[str] = []
        for p in env.split(os.pathsep):
            p = os.path.expanduser(p) if p else ""
            if p and p not in files and os.path.isfile(p):
                files.append(p)
        return files
    home = os.path.expanduser("~/.kube/config")
    return [home] if os.path.isfile(home) else []


def _read_kubeconfig(path: str) -> dict | None:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"kubeconfig {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"kubeconfig {path} is not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"kubeconfig {path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return None  # kubectl ignores empty files
    if not isinstance(data, dict):
        raise ConfigError(f"kubeconfig {path} is not a kubeconfig (a YAML mapping was expected)")
    _check_kubeconfig_shape(path, data)
    return data


# The fields _choose() and connect() read, and the type kubectl's decoder requires of each.
_ENTRY_FIELDS = {"contexts": ("context", ("cluster", "user", "namespace")), "clusters": ("cluster", ("server",)),
                 "users": ("user", ())}


def _check_kubeconfig_shape(path: str, data: dict) -> None:
    """A wrong type where kubectl expects a string, a list or a mapping is one ConfigError line (as
    kubectl refuses to load the file), not an internal error later."""
    def wrong(where: str, expected: str) -> ConfigError:
        return ConfigError(f"kubeconfig {path}: {where} must be {expected}")

    if not isinstance(data.get("current-context") or "", str):
        raise wrong("current-context", "a string")
    for section, (key, strings) in _ENTRY_FIELDS.items():
        entries = data.get(section) or []
        if not isinstance(entries, list):
            raise wrong(section, "a list")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise wrong(f"{section}[{i}]", "a mapping")
            if not isinstance(entry.get("name") or "", str):
                raise wrong(f"{section}[{i}].name", "a string")
            inner = entry.get(key) or {}
            if not isinstance(inner, dict):
                raise wrong(f"{section}[{i}].{key}", "a mapping")
            for field_name in strings:
                if not isinstance(inner.get(field_name) or "", str):
                    raise wrong(f"{section}[{i}].{key}.{field_name}", "a string")


def _choose(options: ConnectionOptions, files: list[str]) -> _KubeconfigChoice:
    """kubectl's rules: first file wins for current-context and for each named entry; ``--cluster``
    and ``--user`` replace the context's cluster and user (client-go's ConfigOverrides: the name must
    exist, the context's namespace stays, and with no context at all ``--cluster`` is enough)."""
    configs = [(p, c) for p in files if (c := _read_kubeconfig(p)) is not None]
    if not configs:
        raise ConfigError(f"kubeconfig {', '.join(files)} is empty")
    current = next((c.get("current-context") for _p, c in configs if c.get("current-context")), None)
    name = options.context or current
    contexts: dict[str, dict] = {}
    clusters: dict[str, dict] = {}
    users: dict[str, dict] = {}
    for _p, c in configs:
        for section, key, into in (("contexts", "context", contexts), ("clusters", "cluster", clusters),
                                   ("users", "user", users)):
            for entry in c.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") and entry["name"] not in into:
                    into[entry["name"]] = entry.get(key) or {}
    where = os.pathsep.join(p for p, _c in configs)
    if not name and not options.cluster:
        raise ConfigError(f"no current-context is set in kubeconfig {where}; pass --context "
                          f"(contexts: {', '.join(sorted(contexts)) or 'none'})")
    if name and name not in contexts:
        raise ConfigError(f'context "{name}" not found in kubeconfig {where} '
                          f"(contexts: {', '.join(sorted(contexts)) or 'none'})")
    ctx = contexts.get(name or "", {})
    if options.cluster and options.cluster not in clusters:
        raise ConfigError(f'cluster "{options.cluster}" does not exist in kubeconfig {where} '
                          f"(clusters: {', '.join(sorted(clusters)) or 'none'})")
    if options.user and options.user not in users:
        raise ConfigError(f'user "{options.user}" does not exist in kubeconfig {where} '
                          f"(users: {', '.join(sorted(users)) or 'none'})")
    cluster_name = options.cluster or ctx.get("cluster") or ""
    if not cluster_name:
        raise ConfigError(f'context "{name}" names no cluster in kubeconfig {where}')
    if cluster_name not in clusters:
        raise ConfigError(f'context "{name}" refers to cluster "{cluster_name}", which is not in '
                          f"kubeconfig {where}")
    user_name = options.user or ctx.get("user") or ""
    if user_name and user_name not in users:  # kubectl would go on anonymously: say why instead
        raise ConfigError(f'context "{name}" refers to user "{user_name}", which is not in '
                          f"kubeconfig {where} (users: {', '.join(sorted(users)) or 'none'})")
    return _KubeconfigChoice([p for p, _c in configs], name or "", ctx.get("namespace") or "default",
                             clusters[cluster_name], users.get(user_name, {}), cluster_name, user_name)


class _CapturedLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _capture_root_errors() -> Iterator[_CapturedLog]:
    """The client logs (and swallows) exec-plugin failures on the root logger; catch them."""
    handler = _CapturedLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# --- exec credential plugins, bounded ------------------------------------------------------------
# connect() leaves the bound for a connection's plugins in their exec entries under this key
_PLUGIN_TIMEOUT_KEY = "\x00kubectl-pss plugin timeout"


def _kill_process_group(process: Any) -> None:
    """SIGKILL the plugin's process group (it and whatever it started), reap it and close its pipes."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def run_exec_plugin(args: list[str], env: dict[str, str], cwd: str | None, interactive: bool,
                    timeout: float) -> tuple[int, str, str]:
    """Run an exec credential plugin in its own process group, at most ``timeout`` seconds: on
    timeout, and on Ctrl-C or any other exception, the whole group is killed (a plugin that started a
    browser or a helper leaves nothing behind). Returns (exit code, stdout, stderr)."""
    import shlex
    import subprocess

    from kubernetes.config.config_exception import ConfigException

    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=None if interactive else subprocess.PIPE,
                               stdin=None, cwd=cwd, env=env, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_process_group(process)
        raise ConfigException(f"{shlex.join(args)} did not finish within {timeout:g} s (--request-timeout; "
                              f"{EXEC_PLUGIN_TIMEOUT:g} s when unset): stopped it") from None
    except BaseException:
        _kill_process_group(process)
        raise
    return process.returncode, stdout or "", stderr or ""


def _bounded_exec_provider() -> type:
    """The kubernetes client's ExecProvider with ``run`` replaced: the same ExecCredential exchange,
    through run_exec_plugin (its own runs the plugin without a time limit)."""
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.exec_provider import ExecProvider

    class BoundedExecProvider(ExecProvider):
        def __init__(self, exec_config: Any, cwd: Any, cluster: Any = None) -> None:
            super().__init__(exec_config, cwd, cluster)
            self.timeout = float(exec_config.safe_get(_PLUGIN_TIMEOUT_KEY) or EXEC_PLUGIN_TIMEOUT)

        def run(self, previous_response: Any = None) -> dict:
            interactive = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
            info: dict[str, Any] = {"apiVersion": self.api_version, "kind": "ExecCredential",
                                    "spec": {"interactive": interactive}}
            if previous_response:
                info["spec"]["response"] = previous_response
            if self.cluster:
                info["spec"]["cluster"] = dict(self.cluster.value)
                for extension in self.cluster.value.get("extensions") or ():
                    if extension.get("name") == "client.authentication.k8s.io/exec":
                        info["spec"]["cluster"]["config"] = extension.get("extension")
                        break
            env = {**self.env, "KUBERNETES_EXEC_INFO": json.dumps(info)}
            code, stdout, stderr = run_exec_plugin(self.args, env, self.cwd, interactive, self.timeout)
            if code != 0:
                raise ConfigException(f"exec: process returned {code}" + (f". {stderr.strip()}" if stderr.strip() else ""))
            try:
                data = json.loads(stdout)
            except ValueError as exc:
                raise ConfigException(f"exec: failed to decode process output: {exc}") from None
            if not isinstance(data, dict):
                raise ConfigException("exec: the plugin's output is not a JSON object")
            for key in ("apiVersion", "kind", "status"):
                if key not in data:
                    raise ConfigException(f"exec: malformed response. missing key '{key}'")
            if data["apiVersion"] != self.api_version:
                raise ConfigException(f"exec: plugin api version {data['apiVersion']} does not match {self.api_version}")
            return data["status"]

    return BoundedExecProvider


def _bound_exec_plugins(merged: Any, timeout: float) -> None:
    """Make the client run every exec plugin of this kubeconfig through run_exec_plugin, within ``timeout``."""
    from kubernetes.config import kube_config

    if getattr(kube_config.ExecProvider, "__name__", "") != "BoundedExecProvider":
        kube_config.ExecProvider = _bounded_exec_provider()
    for entry in merged.value.get("users") or ():
        user = (getattr(entry, "value", entry) or {}).get("user")
        if isinstance(user, dict) and isinstance(user.get("exec"), dict):
            user["exec"][_PLUGIN_TIMEOUT_KEY] = timeout


def _proxy_for(config: Any, cluster_proxy: str | None) -> None:
    """Honour the cluster's proxy-url, else HTTPS_PROXY/HTTP_PROXY and NO_PROXY like kubectl."""
    scheme = "https" if config.host.startswith("https") else "http"
    proxy = cluster_proxy or os.environ.get(f"{scheme}_proxy") or os.environ.get(f"{scheme.upper()}_PROXY")
    if not proxy:
        return
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    config.proxy = proxy
    config.no_proxy = ",".join(x for x in (no_proxy, "localhost,127.0.0.1,::1") if x)


# the name of the context connect() adds when --cluster or --user override the chosen one
_OVERRIDE_CONTEXT = "\x00kubectl-pss overrides"


def connect(options: ConnectionOptions | None = None) -> "Cluster":
    """Load the kubeconfig like kubectl (or in-cluster config) and return a ``Cluster``.

    Order: ``--kubeconfig``; else every file in ``KUBECONFIG`` merged (current-context from the
    FIRST file that sets it, like kubectl); else ``~/.kube/config``; else the pod's service account
    when ``KUBERNETES_SERVICE_HOST`` is set. ``--cluster``/``--user`` replace the context's cluster
    and user. Raises ConfigError with one line.
    """
    options = options or ConnectionOptions()
    _restore_child_env()
    files = _kubeconfig_files(options)
    if not files:
        if (os.environ.get("KUBERNETES_SERVICE_HOST") and not options.context and not options.kubeconfig
                and not options.cluster and not options.user):
            return _connect_in_cluster(options)
        if os.environ.get("KUBECONFIG"):
            raise ConfigError(f"none of the files in KUBECONFIG exist ({os.environ['KUBECONFIG']})")
        raise ConfigError("no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config")
    choice = _choose(options, files)
    if options.verbosity >= logs.REQUESTS:
        for path in choice.files:
            logs.info(f"Config loaded from file:  {path}")

    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

    config = type.__call__(Configuration)
    label = f'context "{choice.context}"' if choice.context else f'cluster "{choice.cluster_name}"'
    try:
        merger = KubeConfigMerger(os.pathsep.join(choice.files))
        active = choice.context
        if options.cluster or options.user or not choice.context:
            # ConfigOverrides: a context naming the chosen cluster and user (their entries keep their
            # files' paths, so relative certificate paths still resolve)
            merger.config.value["contexts"].insert(0, {"name": _OVERRIDE_CONTEXT, "context": {
                "cluster": choice.cluster_name, "user": choice.user_name, "namespace": choice.namespace}})
            active = _OVERRIDE_CONTEXT
        _bound_exec_plugins(merger.config, options.request_timeout or EXEC_PLUGIN_TIMEOUT)
        loader = KubeConfigLoader(config_dict=merger.config, active_context=active, config_base_path=None)
        with _capture_root_errors() as captured:
            loader.load_and_set(config)
    except ConfigException as exc:
        raise ConfigError(f"kubeconfig {label}: {exc}") from None
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ConfigError(f"kubeconfig {label} is incomplete: {exc}") from None
    has_exec = "exec" in choice.user
    if has_exec and "authorization" not in config.api_key and not config.cert_file:
        detail = captured.messages[-1] if captured.messages else "no token or client certificate in its output"
        who = f'user "{choice.user_name}"' if options.user else label
        raise ConfigError(f"exec credential plugin of {who} failed: {detail}")
    if not config.host:
        raise ConfigError(f"kubeconfig {label}: its cluster has no server URL")
    _proxy_for(config, choice.cluster.get("proxy-url"))

    def reauthenticate() -> None:  # on 401, like kubectl: run the exec plugin again
        with _capture_root_errors() as again:
            loader.load_and_set(config)
        if again.messages:  # the client logs a failing plugin instead of raising
            raise ConfigError(f"exec credential plugin of {label} failed: {again.messages[-1]}")

    return Cluster(_new_api_client(ApiClient, config), context=choice.context or choice.cluster_name,
                   namespace=choice.namespace, server=config.host, request_timeout=options.request_timeout,
                   reauthenticate=reauthenticate if has_exec else None, verbosity=options.verbosity)


def kubeconfig_present(options: ConnectionOptions | None = None) -> bool:
    """Whether connect() has anything to go on (a kubeconfig file, or a pod's in-cluster
    environment), found without importing ``kubernetes`` (``version`` stays fast without a cluster)."""
    options = options or ConnectionOptions()
    if options.kubeconfig:
        return True  # connect() says what is wrong with it
    try:
        if _kubeconfig_files(options):
            return True
    except ConfigError:
        return True
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not (options.context or options.cluster
                                                                    or options.user)


def _connect_in_cluster(options: ConnectionOptions) -> "Cluster":
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.incluster_config import InClusterConfigLoader

    config = type.__call__(Configuration)
    try:
        InClusterConfigLoader(token_filename=os.path.join(SERVICE_ACCOUNT_DIR, "token"),
                              cert_filename=os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")).load_and_set(config)
    except ConfigException as exc:
        raise ConfigError(f"in-cluster configuration: {exc}") from None
    namespace = os.environ.get("POD_NAMESPACE")
    if not namespace:
        try:
            with open(os.path.join(SERVICE_ACCOUNT_DIR, "namespace"), encoding="utf-8") as f:
                namespace = f.read().strip()
        except OSError:
            namespace = ""
    _proxy_for(config, None)
    if options.verbosity >= logs.REQUESTS:
        logs.info(f"Using the in-cluster configuration (service account of {SERVICE_ACCOUNT_DIR})")
    return Cluster(_new_api_client(ApiClient, config), context="in-cluster", namespace=namespace or "default",
                   server=config.host, request_timeout=options.request_timeout, verbosity=options.verbosity)


def _new_api_client(api_client_cls: Any, config: Any) -> Any:
    config.retries = False  # our loop retries; urllib3 must raise the first error
    config.debug = False  # debug traces go to stdout and would corrupt -o json
    if not config.verify_ssl:  # insecure-skip-tls-verify: the user chose it; kubectl says nothing per request
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    client = api_client_cls(configuration=config)
    client.user_agent = USER_AGENT
    return client


# --- the cluster ----------------------------------------------------------------------------
def _incomplete_read(exc: BaseException) -> BaseException | None:
    """The IncompleteRead (urllib3's or http.client's) behind ``exc``, if the body ended early."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__name__ == "IncompleteRead":
            return cur
        nested = [a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)]
        cur = nested[0] if nested else (cur.__cause__ or cur.__context__)
    return None


def _describe_cut_short(exc: BaseException) -> str:
    short = _incomplete_read(exc)
    if short is not None:
        partial, expected = getattr(short, "partial", None), getattr(short, "expected", None)
        got = len(partial) if isinstance(partial, (bytes, bytearray)) else partial
        if isinstance(got, int) and isinstance(expected, int):
            return f"{got} bytes arrived, {expected} more were announced"
    return _describe_connection_error(exc)


def _describe_connection_error(exc: BaseException) -> str:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cur, TimeoutError) or type(cur).__name__ in ("ConnectTimeoutError", "ReadTimeoutError"):
            return "timed out"
        if type(cur).__name__ == "NameResolutionError":
            return "cannot resolve the host name"
        if isinstance(cur, ConnectionResetError):
            return "connection reset"
        nxt = getattr(cur, "reason", None)
        cur = nxt if isinstance(nxt, BaseException) else (cur.__cause__ or cur.__context__)
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


class _BodyFailed(Exception):
    """Reading a body failed after its status line and headers arrived."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


class Cluster:
    """One API server, through the ``kubernetes`` client's ApiClient. Thread-safe for requests."""

    def __init__(self, api_client: Any, *, context: str, namespace: str, server: str,
                 request_timeout: float | None = None, reauthenticate: Callable[[], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, verbosity: int = 0):
        self._api = api_client
        self.context = context
        self.namespace = namespace
        self.server = server
        self.verbosity = verbosity
        if request_timeout:
            self._timeout: tuple[float, float] = (float(request_timeout), float(request_timeout))
        else:
            self._timeout = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
        self._reauthenticate = reauthenticate
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"Cluster(context={self.context!r}, server={self.server!r})"

    def close(self) -> None:
        try:
            self._api.rest_client.pool_manager.clear()
        except AttributeError:
            pass

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public ---------------------------------------------------------------------------
    def server_version(self) -> dict:
        """GET /version, raw (``gitVersion``, ``major``, ``minor``, ...)."""
        return self.request("GET", "/version").data or {}

    def websocket_settings(self) -> dict[str, Any]:
        """What a WebSocket to this server needs (cluster/exec.py), from the same Configuration as
        requests: ``url``, ``headers`` (Authorization, User-Agent), ``sslopt`` (websocket-client's, built
        as ``kubernetes.stream.ws_client.create_websocket`` does), ``proxy``, ``no_proxy``, ``timeout``
        (connect, read) and ``reauthenticate`` (a callable for a 401, or None)."""
        config = self._api.configuration
        token = config.auth_settings().get("BearerToken", {}).get("value")  # runs refresh hooks
        headers = {"User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = token
        import ssl

        sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_NONE}
        if config.host.startswith("https") and config.verify_ssl:
            import certifi

            sslopt = {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": config.ssl_ca_cert or certifi.where()}
            if config.assert_hostname is not None:
                sslopt["check_hostname"] = config.assert_hostname
        if config.cert_file:
            sslopt["certfile"] = config.cert_file
        if config.key_file:
            sslopt["keyfile"] = config.key_file
        if config.tls_server_name:
            sslopt["server_hostname"] = config.tls_server_name
        return {"url": config.host, "headers": headers, "sslopt": sslopt, "proxy": config.proxy,
                "no_proxy": config.no_proxy, "timeout": self._timeout, "reauthenticate": self._reauthenticate,
                "verbosity": self.verbosity}

    def request(self, method: str, path: str, query: dict[str, str] | list[tuple[str, str]] | None = None,
                body: Any = None, content_type: str | None = None) -> Response:
        """One API call with retries; raises a ClusterError subclass unless the answer is 2xx."""
        return self._send(method.upper(), path, query, body, content_type)

    def list_items(self, path: str, label_selector: str | None = None, limit: int | None = 500,
                   field_selector: str | None = None) -> Iterator[dict]:
        """Every item of a list endpoint, page by page (``limit``/``continue``), as raw dicts with
        ``kind``/``apiVersion`` set. On 410 Gone mid-list the list restarts from scratch (at most
        RELIST_ATTEMPTS times); items already yielded are not yielded again."""
        base: list[tuple[str, str]] = []
        if label_selector:
            base.append(("labelSelector", label_selector))
        if field_selector:
            base.append(("fieldSelector", field_selector))
        if limit:
            base.append(("limit", str(limit)))
        seen: set[str] = set()
        restarts = 0
        while True:
            token: str | None = None
            try:
                while True:
                    query = base + ([("continue", token)] if token else [])
                    data = self._send("GET", path, query, None, None).data
                    _check_list(path, data)
                    list_kind = data.get("kind") or ""
                    kind = list_kind[:-4] if list_kind.endswith("List") else None
                    api_version = data.get("apiVersion")
                    for item in data.get("items") or ():
                        md = item.get("metadata") or {}
                        key = md.get("uid") or f"{md.get('namespace')}/{md.get('name')}"
                        if key in seen:
                            continue
                        seen.add(key)
                        if kind and "kind" not in item:
                            item["kind"] = kind
                        if api_version and "apiVersion" not in item:
                            item["apiVersion"] = api_version
                        yield item
                    token = (data.get("metadata") or {}).get("continue")
                    if not token:
                        return
            except Gone as exc:
                if token is None or restarts >= RELIST_ATTEMPTS:
                    raise Gone(f"{exc.message} (GET {path}: gave up after {restarts} restarts of the list)"
                               if token else exc.message, status=410, reason=exc.reason,
                               details=exc.details) from None
                restarts += 1
                log.debug("continue token expired on %s; listing again (%d)", path, restarts)

    def patch_merge(self, path: str, patch: dict, dry_run: bool) -> Response:
        """JSON merge patch (RFC 7386); ``dry_run`` adds ``dryRun=All`` (admission runs, nothing is saved)."""
        query = [("fieldManager", FIELD_MANAGER)]
        if dry_run:
            query.insert(0, ("dryRun", "All"))
        return self._send("PATCH", path, query, patch, "application/merge-patch+json")

    # -- internals ------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        base = BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
        return base * (0.8 + 0.4 * random.random())

    def _send(self, method: str, path: str, query: Any, body: Any, content_type: str | None) -> Response:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        if isinstance(query, dict):
            query = list(query.items())
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if content_type:
            headers["Content-Type"] = content_type
        attempts = 0
        connect_failures = 0
        cut_short = 0
        reauthenticated = False
        while True:
            attempts += 1
            started = time.monotonic()
            if self.verbosity >= logs.REQUEST_HEADERS:
                self._log_request(method, path, query, headers)
            try:
                raw = self._api.call_api(
                    path, method, query_params=list(query or []), header_params=dict(headers), body=body,
                    auth_settings=["BearerToken"], _return_http_data_only=True, _preload_content=False,
                    _request_timeout=self._timeout)
                try:
                    payload = raw.read()
                except (Urllib3Error, OSError) as exc:
                    raise _BodyFailed(exc) from exc
                finally:
                    raw.release_conn()
                status, resp_headers = raw.status, list(raw.headers.items())
            except _BodyFailed as failed:
                if _incomplete_read(failed.cause) is None and _describe_connection_error(failed.cause) == "timed out":
                    self._log_response(method, path, query, started, None, "timed out")
                    raise self._unreachable("timed out") from None  # as a stall before the headers
                cut_short = self._cut_short(method, path, query, started, failed.cause, cut_short)
                continue
            except ApiException as exc:
                if exc.status == 0:  # rest.py turns TLS failures into status 0
                    reason = " ".join(str(exc.reason or "").split())
                    self._log_response(method, path, query, started, None, f"TLS: {reason}")
                    raise ClusterUnreachable(f"cannot reach the Kubernetes API server at {self.server} "
                                             f'(context "{self.context}"): TLS: {reason}') from None
                status = exc.status
                resp_headers = list(exc.headers.items()) if exc.headers is not None else []
                payload = exc.body if isinstance(exc.body, bytes) else (exc.body or "").encode()
            except (Urllib3Error, OSError) as exc:
                if _incomplete_read(exc) is not None:  # an error status whose body ended early
                    cut_short = self._cut_short(method, path, query, started, exc, cut_short)
                    continue
                what = _describe_connection_error(exc)
                self._log_response(method, path, query, started, None, what)
                connect_failures += 1
                if what != "timed out" and connect_failures < CONNECT_ATTEMPTS:
                    self._sleep(self._backoff(connect_failures))
                    continue
                raise self._unreachable(what) from None

            self._log_response(method, path, query, started, status, None, resp_headers, payload)
            if 200 <= status < 300:
                ctype = next((v for k, v in resp_headers if k.lower() == "content-type"), "")
                data = json_object(path, ctype, payload)
                return Response(status, resp_headers, data, warnings_from_headers(resp_headers))

            if status == 401 and self._reauthenticate is not None and not reauthenticated:
                reauthenticated = True
                try:
                    self._reauthenticate()
                except Exception as exc:  # the plugin itself failed: report the 401 below
                    log.debug("re-running the exec plugin failed: %s", exc)
                else:
                    continue
            if status in RETRY_STATUSES and attempts < MAX_ATTEMPTS:
                self._sleep(self._retry_wait(status, resp_headers, attempts))
                continue
            raise self._error(method, path, status, resp_headers, payload)

    def _unreachable(self, what: str) -> ClusterUnreachable:
        return ClusterUnreachable(f'cannot reach the Kubernetes API server at {self.server} (context "{self.context}"): '
                                  f"{what}")

    def _cut_short(self, method: str, path: str, query: Any, started: float, exc: BaseException,
                   failures: int) -> int:
        """A body that ended early: the server was reached. A GET is sent again (bounded like 5xx);
        anything else is not repeated (a PATCH may have been applied). Returns the failures so far."""
        what = _describe_cut_short(exc)
        self._log_response(method, path, query, started, None, f"answer cut short: {what}")
        failures += 1
        if method == "GET" and failures < MAX_ATTEMPTS:
            self._sleep(self._backoff(failures))
            return failures
        tried = f"; gave up after {failures} attempts" if method == "GET" else ""
        raise CutShort(f"the server's answer to {method} {path} was cut short ({what}{tried})") from None

    # -- -v logs (stderr only; credentials masked) --------------------------------------------------
    def _url(self, path: str, query: Any) -> str:
        from urllib.parse import urlencode

        return self.server.rstrip("/") + path + (f"?{urlencode(list(query))}" if query else "")

    def _log_request(self, method: str, path: str, query: Any, headers: dict[str, str]) -> None:
        sent = [*headers.items(), ("User-Agent", USER_AGENT)]
        if "authorization" in (self._api.configuration.api_key or {}):
            sent.append(("Authorization", "Bearer <masked>"))
        logs.info(f"{method} {self._url(path, query)}\nRequest Headers:\n"
                  + "\n".join(f"    {k}: {v}" for k, v in logs.masked_headers(sent)), depth=2)

    def _log_response(self, method: str, path: str, query: Any, started: float, status: int | None,
                      failure: str | None, headers: list[tuple[str, str]] | None = None,
                      payload: bytes | None = None) -> None:
        """kubectl's round_trippers line: ``GET URL 200 OK in 12 milliseconds``."""
        if self.verbosity < logs.REQUESTS:
            return
        import http

        took = int((time.monotonic() - started) * 1000)
        if status is None:
            answer = f"(no response: {failure})"
        else:
            try:
                answer = f"{status} {http.HTTPStatus(status).phrase}"
            except ValueError:
                answer = str(status)
        lines = [f"{method} {self._url(path, query)} {answer} in {took} milliseconds"]
        if headers is not None and self.verbosity >= logs.REQUEST_HEADERS:
            lines.append("Response Headers:")
            lines += [f"    {k}: {v}" for k, v in logs.masked_headers(headers)]
        if payload and self.verbosity >= logs.RESPONSE_BODY:
            lines.append(f"Response Body: {logs.body_text(payload, self.verbosity)}")
        logs.info("\n".join(lines), depth=2)

    def _retry_wait(self, status: int, headers: list[tuple[str, str]], attempt: int) -> float:
        retry_after = next((v for k, v in headers if k.lower() == "retry-after"), None)
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
            except ValueError:
                pass  # an HTTP-date: not sent by the apiserver; use the backoff
        if status == 429:
            return 1.0
        return self._backoff(attempt)

    def _error(self, method: str, path: str, status: int, headers: list[tuple[str, str]],
               payload: bytes) -> ClusterError:
        cls = error_for_status(status)
        warnings = warnings_from_headers(headers)
        message = reason = None
        details: dict = {}
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("kind") == "Status":
            message, reason, details = data.get("message"), data.get("reason"), data.get("details") or {}
        elif payload:
            text = payload.decode("utf-8", "replace").strip()
            message = text.splitlines()[0][:300] if text else None
        if status == 401:
            message = (f"Unauthorized: the API server at {self.server} rejected the credentials of "
                       f'context "{self.context}"')
        elif not message:
            message = f"{method} {path}: HTTP {status}"
        elif status == 404 and not details.get("name"):
            message = f"{message} ({method} {path})"
        elif status in RETRY_STATUSES:
            message = f"{message} ({method} {path}: HTTP {status}, gave up after {MAX_ATTEMPTS} attempts)"
        return cls(message, status=status, reason=reason, details=details, warnings=warnings)
