"""Choosing and loading the kubeconfig like kubectl (``KUBECONFIG`` merged, ``--context``, ``--cluster``,
``--user``, in-cluster service account), with exec credential plugins bounded in time; ``connect``
makes the ``Cluster``. The ``kubernetes`` client is imported inside functions only.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from .. import logs
from ..jsontext import json_object
from .client import USER_AGENT, Cluster, ConnectionOptions
from .errors import ConfigError
from .overrides import apply_overrides, has_overrides, in_cluster_overrides, override_entries

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
EXEC_PLUGIN_TIMEOUT = 60.0  # seconds an exec credential plugin may take when --request-timeout is 0 or unset


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


def context_names(options: ConnectionOptions) -> list[str]:
    """Every context of the kubeconfig kubectl would read (``KUBECONFIG`` merged), in file order, each once."""
    files = _kubeconfig_files(options)
    if not files:
        raise ConfigError("no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config")
    names: dict[str, None] = {}
    for path in files:
        for entry in (_read_kubeconfig(path) or {}).get("contexts") or []:
            if entry.get("name"):
                names.setdefault(entry["name"], None)
    return list(names)


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
                data = json_object(stdout, "exec: failed to decode process output",
                                   "exec: the plugin's output is not a JSON object")
            except ValueError as exc:
                raise ConfigException(str(exc)) from None
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


def _thread_safe_temp_files() -> None:
    """The client writes certificate data to temporary files, cached by content, and names a file in its
    cache before writing it: two contexts connecting at once (a fleet) could load an empty CA file. Serialise it."""
    import threading

    from kubernetes.config import kube_config

    original = kube_config._create_temp_file_with_content
    if getattr(original, "serialised", False):
        return
    lock = threading.Lock()

    def serialised(*args: Any, **kwargs: Any) -> str:
        with lock:
            return original(*args, **kwargs)

    serialised.serialised = True  # type: ignore[attr-defined]
    kube_config._create_temp_file_with_content = serialised


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
                and not options.cluster and not options.user and not options.server):
            return _connect_in_cluster(options)
        if options.server and not (options.context or options.cluster or options.user):
            return _connect_to_server(options)  # kubectl -s URL without a kubeconfig: the flags are the config
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
        user_name = choice.user_name or (_OVERRIDE_CONTEXT if has_overrides(options) else "")
        if options.cluster or options.user or not choice.context or user_name != choice.user_name:
            # ConfigOverrides: a context naming the chosen cluster and user (their entries keep their
            # files' paths, so relative certificate paths still resolve)
            merger.config.value["contexts"].insert(0, {"name": _OVERRIDE_CONTEXT, "context": {
                "cluster": choice.cluster_name, "user": user_name, "namespace": choice.namespace}})
            active = _OVERRIDE_CONTEXT
        if has_overrides(options):
            override_entries(merger.config, choice.cluster_name, user_name, options, choice.user_name)
        _bound_exec_plugins(merger.config, options.request_timeout or EXEC_PLUGIN_TIMEOUT)
        _thread_safe_temp_files()
        loader = KubeConfigLoader(config_dict=merger.config, active_context=active, config_base_path=None)
        with _capture_root_errors() as captured:
            loader.load_and_set(config)
    except ConfigException as exc:
        raise ConfigError(f"kubeconfig {label}: {exc}") from None
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ConfigError(f"kubeconfig {label} is incomplete: {exc}") from None
    has_exec = "exec" in choice.user and not options.token
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
                   reauthenticate=reauthenticate if has_exec else None, verbosity=options.verbosity,
                   compression=options.compression, impersonate=options.impersonate)


def _connect_to_server(options: ConnectionOptions) -> "Cluster":
    """No kubeconfig, but -s URL: the connection flags are the whole configuration (as kubectl's empty one)."""
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader

    cluster: dict[str, Any] = {}
    user: dict[str, Any] = {}
    apply_overrides(cluster, user, options, "")
    config = type.__call__(Configuration)
    name = "\x00kubectl-pss flags"
    try:
        KubeConfigLoader(config_dict={
            "clusters": [{"name": name, "cluster": cluster}], "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]},
            active_context=name).load_and_set(config)
    except ConfigException as exc:
        raise ConfigError(f"--server {options.server}: {exc}") from None
    _proxy_for(config, None)
    return Cluster(_new_api_client(ApiClient, config), context=options.server or "", namespace="default",
                   server=config.host, request_timeout=options.request_timeout, verbosity=options.verbosity,
                   compression=options.compression, impersonate=options.impersonate)


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
    in_cluster_overrides(config, options)
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
                   server=config.host, request_timeout=options.request_timeout, verbosity=options.verbosity,
                   compression=options.compression, impersonate=options.impersonate)


def _new_api_client(api_client_cls: Any, config: Any) -> Any:
    config.retries = False  # our loop retries; urllib3 must raise the first error
    config.debug = False  # debug traces go to stdout and would corrupt -o json
    if not config.verify_ssl:  # insecure-skip-tls-verify: the user chose it; kubectl says nothing per request
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    client = api_client_cls(configuration=config)
    client.user_agent = USER_AGENT
    return client
