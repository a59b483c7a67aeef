"""kubectl_pss.cluster.client against FakeApiServer, through the real `kubernetes` client and real sockets."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kubectl_pss.cluster import client as client_mod
from kubectl_pss.cluster import kubeconfig as kubeconfig_mod
from kubectl_pss.cluster import (
    ClusterError,
    ClusterUnreachable,
    ConfigError,
    ConnectionOptions,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Unauthorized,
    connect,
)
from kubectl_pss.cluster.warnings import parse_warning_header, warnings_from_headers
from tests.apiserver import FakeApiServer, KubeContext, load_recording, write_kubeconfig

RESTRICTED = load_recording("patch-ns-enforce-restricted-dryrun")
ENFORCE = "pod-security.kubernetes.io/enforce"


@pytest.fixture
def cluster(apiserver):
    return connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path)))


@pytest.fixture
def fast_backoff(monkeypatch):
    monkeypatch.setattr(client_mod, "BACKOFF", (0.01, 0.02, 0.03, 0.04, 0.05))


@pytest.fixture
def second_server():
    server = FakeApiServer().start()
    yield server
    server.stop()


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text and text
    return text


# ---------------------------------------------------------------- kubeconfig and contexts
def test_explicit_kubeconfig_uses_current_context(apiserver, cluster):
    assert cluster.context == "fake"
    assert cluster.namespace == "default"
    assert cluster.server == apiserver.url
    assert cluster.server.startswith("https://127.0.0.1:")


def test_context_namespace(apiserver, make_kubeconfig):
    path = make_kubeconfig([apiserver.context("a", namespace="team-a")], "a")
    assert connect(ConnectionOptions(kubeconfig=str(path))).namespace == "team-a"


def test_context_flag_selects_another_server(apiserver, second_server, make_kubeconfig):
    path = make_kubeconfig([apiserver.context("one"), second_server.context("two")], "one")
    cluster = connect(ConnectionOptions(kubeconfig=str(path), context="two"))
    assert cluster.context == "two"
    cluster.server_version()
    assert [r.path for r in second_server.requests] == ["/version"]
    assert apiserver.requests == []


def test_kubeconfig_env_takes_current_context_from_first_file(apiserver, second_server, make_kubeconfig,
                                                               monkeypatch):
    first = make_kubeconfig([apiserver.context("one")], "one", name="first")
    second = make_kubeconfig([second_server.context("two")], "two", name="second")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second)]))
    cluster = connect(ConnectionOptions())
    assert cluster.context == "one"  # the Python client alone would pick "two" (last file wins)
    cluster.server_version()
    assert len(apiserver.requests) == 1 and second_server.requests == []
    # the contexts of the second file are merged in and usable
    other = connect(ConnectionOptions(context="two"))
    other.server_version()
    assert len(second_server.requests) == 1

    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(second), str(first)]))
    assert connect(ConnectionOptions()).context == "two"


def test_kubeconfig_env_skips_files_without_current_context_and_missing_files(apiserver, second_server,
                                                                              make_kubeconfig, monkeypatch,
                                                                              tmp_path):
    first = make_kubeconfig([apiserver.context("one")], None, name="first")  # no current-context
    second = make_kubeconfig([second_server.context("two")], "two", name="second")
    missing = tmp_path / "does-not-exist"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(missing), str(first), "", str(second)]))
    assert connect(ConnectionOptions()).context == "two"


def test_kubeconfig_env_first_file_wins_for_a_name_defined_twice(apiserver, second_server, make_kubeconfig,
                                                                  monkeypatch):
    first = make_kubeconfig([apiserver.context("same")], "same", name="first")
    second = make_kubeconfig([second_server.context("same")], "same", name="second")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second)]))
    assert connect(ConnectionOptions()).server == apiserver.url


def test_explicit_kubeconfig_beats_env(apiserver, second_server, make_kubeconfig, monkeypatch):
    env_file = make_kubeconfig([second_server.context("two")], "two", name="env")
    monkeypatch.setenv("KUBECONFIG", str(env_file))
    assert connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path))).context == "fake"


def test_home_kube_config_is_the_default(apiserver, isolated_env):
    write_kubeconfig(isolated_env / ".kube" / "config", [apiserver.context("home")], "home")
    cluster = connect(ConnectionOptions())
    assert cluster.context == "home"
    assert cluster.server_version()["major"] == "1"


def test_unknown_context_is_a_one_line_config_error(apiserver):
    with pytest.raises(ConfigError) as err:
        connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path), context="nope"))
    text = one_line(err.value)
    assert 'context "nope" not found' in text and "fake" in text


def test_no_kubeconfig_at_all():
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        connect(ConnectionOptions())


def test_missing_explicit_kubeconfig(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        connect(ConnectionOptions(kubeconfig=str(tmp_path / "nope")))


def test_invalid_yaml_kubeconfig(tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n  - {name: x\n")
    with pytest.raises(ConfigError) as err:
        connect(ConnectionOptions(kubeconfig=str(bad)))
    assert "not valid YAML" in one_line(err.value)


def test_no_current_context(apiserver, make_kubeconfig):
    path = make_kubeconfig([apiserver.context("a")], None)
    with pytest.raises(ConfigError) as err:
        connect(ConnectionOptions(kubeconfig=str(path)))
    assert "no current-context" in one_line(err.value)


def test_context_with_missing_cluster(tmp_path):
    path = tmp_path / "kc"
    path.write_text("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n"
                    "- name: c\n  context: {cluster: gone, user: u}\nusers: [{name: u, user: {token: t}}]\n")
    with pytest.raises(ConfigError) as err:
        connect(ConnectionOptions(kubeconfig=str(path)))
    assert 'cluster "gone"' in one_line(err.value)


def test_in_cluster_config_when_no_kubeconfig(apiserver, tmp_path, monkeypatch):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(apiserver.token)
    (sa / "ca.crt").write_bytes(apiserver.ca_pem)
    (sa / "namespace").write_text("pss-system\n")
    monkeypatch.setattr(kubeconfig_mod, "SERVICE_ACCOUNT_DIR", str(sa))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(apiserver.port))
    cluster = connect(ConnectionOptions())
    assert (cluster.context, cluster.namespace) == ("in-cluster", "pss-system")
    assert cluster.server_version()["gitVersion"].startswith("v1.24")
    # a kubeconfig, when there is one, wins over the service account
    monkeypatch.setenv("KUBECONFIG", str(apiserver.kubeconfig_path))
    assert connect(ConnectionOptions()).context == "fake"


def _exec_plugin(tmp_path: Path, body: str) -> dict:
    script = tmp_path / "plugin.py"
    script.write_text(textwrap.dedent(body))
    return {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
            "args": [str(script)], "interactiveMode": "Never"}


def test_exec_credential_plugin_token(apiserver, make_kubeconfig, tmp_path):
    plugin = _exec_plugin(tmp_path, f"""
        import json, os
        assert json.loads(os.environ["KUBERNETES_EXEC_INFO"])["kind"] == "ExecCredential"
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                          "status": {{"token": "{apiserver.token}"}}}}))
    """)
    path = make_kubeconfig([KubeContext("exec", apiserver.url, ca_pem=apiserver.ca_pem, exec=plugin)], "exec")
    cluster = connect(ConnectionOptions(kubeconfig=str(path)))
    cluster.server_version()
    assert apiserver.requests[-1].header("Authorization") == f"Bearer {apiserver.token}"


def test_exec_credential_plugin_failure_is_one_line(apiserver, make_kubeconfig, tmp_path, capsys):
    plugin = _exec_plugin(tmp_path, """
        import sys
        sys.stderr.write("login required: run `cloud auth login`\\n")
        sys.exit(1)
    """)
    path = make_kubeconfig([KubeContext("exec", apiserver.url, ca_pem=apiserver.ca_pem, exec=plugin)], "exec")
    with pytest.raises(ConfigError) as err:
        connect(ConnectionOptions(kubeconfig=str(path)))
    text = one_line(err.value)
    assert "exec credential plugin" in text and "login required" in text
    assert capsys.readouterr().err == ""  # the client's logging.error was captured, not printed


def _hanging_plugin(tmp_path: Path) -> tuple[dict, Path]:
    """An exec plugin that starts a child, writes "<its pid> <child pid>" to a file, and sleeps forever."""
    pids = tmp_path / "plugin-pids"
    return _exec_plugin(tmp_path, f"""
        import os, pathlib, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        tmp = pathlib.Path({str(pids)!r} + ".tmp")
        tmp.write_text(f"{{os.getpid()}} {{child.pid}}")
        tmp.rename({str(pids)!r})
        time.sleep(3600)
    """), pids


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent, or for an init that does not reap, is dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _wait_for_pids(pids: Path, deadline: float = 20.0) -> list[int]:
    start = time.monotonic()
    while not pids.exists():
        assert time.monotonic() - start < deadline, "the plugin never started"
        time.sleep(0.05)
    return [int(p) for p in pids.read_text().split()]


def _wait_dead(pid_list: list[int], deadline: float = 5.0) -> list[int]:
    start = time.monotonic()
    while any(_alive(p) for p in pid_list) and time.monotonic() - start < deadline:
        time.sleep(0.05)
    return [p for p in pid_list if _alive(p)]


@pytest.mark.parametrize("request_timeout", [1.0, 0.0])
def test_a_hanging_exec_plugin_is_stopped_after_the_request_timeout(apiserver, make_kubeconfig, tmp_path,
                                                                     monkeypatch, request_timeout):
    """--request-timeout bounds the plugin (0: the exec plugin default, shortened here); the plugin and the
    child it started are killed, and the error is one line naming the command and the time."""
    monkeypatch.setattr(kubeconfig_mod, "EXEC_PLUGIN_TIMEOUT", 1.5)
    plugin, pids = _hanging_plugin(tmp_path)
    path = make_kubeconfig([KubeContext("exec", apiserver.url, ca_pem=apiserver.ca_pem, exec=plugin)], "exec")
    limit = request_timeout or 1.5
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            connect(ConnectionOptions(kubeconfig=str(path), request_timeout=request_timeout))
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(limit + 10)
    took = time.monotonic() - started
    if worker.is_alive():  # still waiting for the plugin: free it, then fail
        for pid in _wait_for_pids(pids):
            os.kill(pid, signal.SIGKILL)
        worker.join(10)
        pytest.fail(f"connect() was still waiting for the exec plugin after {took:.0f} s")
    [err] = outcome
    assert isinstance(err, ConfigError)
    text = one_line(err)
    assert text.startswith('exec credential plugin of context "exec" failed: ')
    assert f"{sys.executable} {tmp_path / 'plugin.py'} did not finish within {limit:g} s" in text
    leftover = _wait_dead(_wait_for_pids(pids))
    for pid in leftover:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert limit <= took < limit + 5
    assert leftover == []  # the plugin and its child
    assert apiserver.requests == []


def _kubectl_pss(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.Popen([sys.executable, "-m", "kubectl_pss", *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_hanging_exec_plugin_ends_a_command_with_one_line_and_exit_2(apiserver, make_kubeconfig, tmp_path):
    plugin, pids = _hanging_plugin(tmp_path)
    path = make_kubeconfig([KubeContext("exec", apiserver.url, ca_pem=apiserver.ca_pem, exec=plugin)], "exec")
    proc = _kubectl_pss("audit", "-A", "--kubeconfig", str(path), "--request-timeout", "1s")
    try:
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        leftover = _wait_dead(_wait_for_pids(pids))
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 2 and err.count("\n") == 1 and leftover == []
    assert err.startswith('error: exec credential plugin of context "exec" failed: ')
    assert f"{tmp_path / 'plugin.py'} did not finish within 1 s (--request-timeout; 60 s when unset)" in err


def test_ctrl_c_while_an_exec_plugin_hangs_kills_its_process_group(apiserver, make_kubeconfig, tmp_path):
    """A real SIGINT to a real kubectl-pss waiting for a plugin: it ends at once (130), and neither the
    plugin nor its child is left behind."""
    plugin, pids = _hanging_plugin(tmp_path)
    path = make_kubeconfig([KubeContext("exec", apiserver.url, ca_pem=apiserver.ca_pem, exec=plugin)], "exec")
    proc = _kubectl_pss("audit", "-A", "--kubeconfig", str(path))
    try:
        plugin_pids = _wait_for_pids(pids)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    leftover = _wait_dead(plugin_pids)
    for pid in leftover:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 130 and "interrupted" in err
    assert leftover == []


def test_frozen_binary_gives_exec_plugins_the_original_ld_library_path(make_kubeconfig, tmp_path, monkeypatch):
    server = FakeApiServer(token="lib=/usr/lib/orig").start()
    try:
        plugin = _exec_plugin(tmp_path, """
            import json, os
            token = "lib=" + os.environ.get("LD_LIBRARY_PATH", "<unset>")
            print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                              "status": {"token": token}}))
        """)
        path = make_kubeconfig([KubeContext("exec", server.url, ca_pem=server.ca_pem, exec=plugin)], "exec")
        monkeypatch.setattr(sys, "frozen", True, raising=False)
        monkeypatch.setenv("LD_LIBRARY_PATH", "/tmp/_MEIxxxx")
        monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/usr/lib/orig")
        connect(ConnectionOptions(kubeconfig=str(path))).server_version()  # 401 if the plugin saw _MEI
    finally:
        server.stop()


def test_importing_the_cluster_layer_does_not_import_kubernetes():
    code = ("import sys, kubectl_pss.cluster, kubectl_pss.cluster.inventory, kubectl_pss.cluster.errors; "
            "sys.exit('kubernetes' in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# ---------------------------------------------------------------- auth and /version
def test_bearer_token_and_user_agent_are_sent(apiserver, cluster):
    assert cluster.server_version() == load_recording("version")["response"]["body"]
    req = apiserver.requests[-1]
    assert (req.method, req.path) == ("GET", "/version")
    assert req.header("Authorization") == f"Bearer {apiserver.token}"
    assert req.header("User-Agent").startswith("kubectl-pss/")
    assert req.header("Accept") == "application/json"


def test_wrong_token_is_unauthorized(apiserver, make_kubeconfig):
    path = make_kubeconfig([apiserver.context("bad", token="not-the-token")], "bad")
    cluster = connect(ConnectionOptions(kubeconfig=str(path)))
    with pytest.raises(Unauthorized) as err:
        cluster.request("GET", "/api/v1/namespaces")
    assert err.value.status == 401 and err.value.reason == "Unauthorized"
    text = one_line(err.value)
    assert apiserver.url in text and '"bad"' in text
    assert len(apiserver.requests) == 1  # a 401 is not retried (no exec plugin to re-run)


# ---------------------------------------------------------------- lists and pagination
def _pods(server: FakeApiServer, ns: str, n: int, **labels_by_index: dict) -> None:
    server.add_namespace(ns)
    for i in range(n):
        server.add_pod(ns, f"pod-{i}", labels={"app": f"a{i % 3}", "i": str(i)})


def test_pagination_limit_2_exact_request_sequence(apiserver, cluster):
    _pods(apiserver, "ns", 5)
    apiserver.clear_requests()
    items = list(cluster.list_items("/api/v1/pods", limit=2))
    assert [i["metadata"]["name"] for i in items] == [f"pod-{i}" for i in range(5)]
    assert all(i["kind"] == "Pod" and i["apiVersion"] == "v1" for i in items)
    reqs = apiserver.requests
    assert [(r.method, r.path) for r in reqs] == [("GET", "/api/v1/pods")] * 3
    assert reqs[0].query == {"limit": "2"}
    assert set(reqs[1].query) == {"limit", "continue"} and reqs[1].query["limit"] == "2"
    assert FakeApiServer.decode_continue(reqs[1].query["continue"])[0] == "ns/pod-1\x00"
    assert FakeApiServer.decode_continue(reqs[2].query["continue"])[0] == "ns/pod-3\x00"


def test_list_page_shape_matches_the_recording(apiserver, cluster):
    """The fake's page 1 of limit=2 has the recorded metadata keys (resourceVersion, continue, remainingItemCount)."""
    _pods(apiserver, "rec-a", 3)
    resp = cluster.request("GET", "/api/v1/pods", {"limit": "2"})
    recorded = load_recording("list-pods-limit2-page1")["response"]["body"]
    assert resp.data.keys() == recorded.keys()
    assert resp.data["metadata"].keys() == recorded["metadata"].keys()
    assert resp.data["metadata"]["remainingItemCount"] == 1
    assert "kind" not in resp.data["items"][0]  # like the real server: list items carry no kind


def test_label_selector_is_passed_and_applied(apiserver, cluster):
    _pods(apiserver, "ns", 9)
    selector = "app in (a0,a1),i!=0"
    items = list(cluster.list_items("/api/v1/namespaces/ns/pods", label_selector=selector, limit=2))
    assert sorted(i["metadata"]["name"] for i in items) == ["pod-1", "pod-3", "pod-4", "pod-6", "pod-7"]
    assert all(r.query["labelSelector"] == selector for r in apiserver.requests_to("/api/v1/namespaces/ns/pods"))


def test_410_gone_restarts_the_list_once(apiserver, cluster):
    _pods(apiserver, "ns", 5)
    apiserver.clear_requests()
    apiserver.expire_continue_once()
    items = list(cluster.list_items("/api/v1/pods", limit=2))
    assert [i["metadata"]["name"] for i in items] == [f"pod-{i}" for i in range(5)]  # no duplicates
    assert [sorted(r.query) for r in apiserver.requests] == [
        ["limit"], ["continue", "limit"],  # 410 on the first continue
        ["limit"], ["continue", "limit"], ["continue", "limit"],  # from scratch
    ]


def test_410_gone_again_and_again_gives_up(apiserver, cluster):
    _pods(apiserver, "ns", 5)
    apiserver.expire_continue_once(times=10)
    with pytest.raises(Gone) as err:
        list(cluster.list_items("/api/v1/pods", limit=2))
    assert err.value.status == 410 and err.value.reason == "Expired"
    assert "gave up" in one_line(err.value)


# ---------------------------------------------------------------- retries and failures
def test_429_retry_after_is_honoured(apiserver, cluster):
    apiserver.fail_once("/version", status=429, retry_after=1)
    start = time.monotonic()
    assert cluster.server_version()["major"] == "1"
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 2.5
    assert len(apiserver.requests_to("/version")) == 2


def test_429_retry_after_is_capped(apiserver, cluster, monkeypatch):
    monkeypatch.setattr(client_mod, "MAX_RETRY_AFTER", 0.2)
    apiserver.fail_once("/version", status=429, retry_after=3600)
    start = time.monotonic()
    cluster.server_version()
    assert time.monotonic() - start < 1.5


def test_500_once_then_success(apiserver, cluster):
    _pods(apiserver, "ns", 3)
    apiserver.fail_once("/api/v1/pods", status=500)
    assert len(list(cluster.list_items("/api/v1/pods"))) == 3
    assert len(apiserver.requests_to("/api/v1/pods")) == 2


def test_persistent_503_gives_up_after_bounded_attempts(apiserver, cluster, fast_backoff):
    apiserver.fail("/version", status=503, times=100)
    with pytest.raises(ClusterError) as err:
        cluster.server_version()
    assert err.value.status == 503
    assert len(apiserver.requests_to("/version")) == client_mod.MAX_ATTEMPTS
    assert "gave up" in one_line(err.value)


def test_dropped_connection_is_retried(apiserver, cluster, fast_backoff):
    apiserver.drop_once("/version")
    assert cluster.server_version()["major"] == "1"
    assert len(apiserver.requests_to("/version")) == 2


def test_dead_server_is_unreachable_quickly(apiserver, cluster):
    url = apiserver.url
    apiserver.stop()
    start = time.monotonic()
    with pytest.raises(ClusterUnreachable) as err:
        cluster.server_version()
    assert time.monotonic() - start < 2.0
    text = one_line(err.value)
    assert url in text and "connection refused" in text
    assert err.value.status is None


def test_request_timeout_applies(apiserver, make_kubeconfig):
    apiserver.stall_once("/version", 3)
    cluster = connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path), request_timeout=0.3))
    start = time.monotonic()
    with pytest.raises(ClusterUnreachable) as err:
        cluster.server_version()
    assert time.monotonic() - start < 1.5
    assert "timed out" in one_line(err.value)


def test_untrusted_certificate_is_a_clear_tls_error(apiserver, make_kubeconfig):
    ctx = apiserver.context("noca")
    ctx.ca_pem = None  # falls back to the public roots, which do not know our self-signed cert
    cluster = connect(ConnectionOptions(kubeconfig=str(make_kubeconfig([ctx], "noca"))))
    with pytest.raises(ClusterUnreachable) as err:
        cluster.server_version()
    assert "certificate verify failed" in one_line(err.value)


def test_plain_http_server_works(make_kubeconfig):
    server = FakeApiServer(tls=False).start()
    try:
        path = make_kubeconfig([server.context("plain")], "plain")
        assert connect(ConnectionOptions(kubeconfig=str(path))).server_version()["major"] == "1"
    finally:
        server.stop()


def test_not_found_has_the_servers_message(apiserver, cluster):
    apiserver.add_namespace("rec-a")
    with pytest.raises(NotFound) as err:
        cluster.request("GET", "/api/v1/namespaces/rec-a/pods/does-not-exist")
    recorded = load_recording("get-missing-pod")["response"]["body"]
    assert one_line(err.value) == recorded["message"]
    assert err.value.details == recorded["details"]


def test_forbidden_has_the_servers_message(apiserver, cluster):
    apiserver.user = "system:serviceaccount:rec-a:no-rights"
    apiserver.add_namespace("rec-a")
    apiserver.forbid("pods", "rec-a")
    with pytest.raises(Forbidden) as err:
        cluster.request("GET", "/api/v1/namespaces/rec-a/pods")
    assert one_line(err.value) == load_recording("list-pods-sa-no-rights")["response"]["body"]["message"]
    assert len(apiserver.requests_to("/api/v1/namespaces/rec-a/pods")) == 1  # 403 is not retried


# ---------------------------------------------------------------- warnings and patches
def _recorded_warning_texts() -> list[str]:
    return [text for v in RESTRICTED["response"]["warnings"] for _c, _a, text in parse_warning_header(v)]


def test_warning_headers_exactly_as_recorded(apiserver, cluster):
    apiserver.add_namespace("rec-a")
    apiserver.namespace_patch_warnings = lambda ns, old, new: _recorded_warning_texts()
    body = RESTRICTED["request"]["body"]
    resp = cluster.patch_merge("/api/v1/namespaces/rec-a", body, dry_run=True)
    sent = [v for k, v in resp.headers if k == "Warning"]
    assert sent == RESTRICTED["response"]["warnings"]  # byte-for-byte the real server's headers
    assert resp.warnings == [
        'existing pods in namespace "rec-a" violate the new PodSecurity enforce level "restricted:latest"',
        "priv-0 (and 2 other pods): host namespaces, privileged, allowPrivilegeEscalation != false, "
        "unrestricted capabilities, runAsNonRoot != true, seccompProfile",
    ]


def test_warning_hook_sees_old_and_new_labels_and_utf8_survives(apiserver, cluster):
    apiserver.add_namespace("ns", {ENFORCE: "baseline"})
    seen = []

    def hook(ns, old, new):
        seen.append((ns, old.get(ENFORCE), new.get(ENFORCE)))
        return ['pod "ünï" ✓ \\ backslash']

    apiserver.namespace_patch_warnings = hook
    resp = cluster.patch_merge("/api/v1/namespaces/ns", {"metadata": {"labels": {ENFORCE: "restricted"}}}, True)
    assert seen == [("ns", "baseline", "restricted")]
    assert resp.warnings == ['pod "ünï" ✓ \\ backslash']
    # no enforce change, no warnings (like PodSecurity)
    resp = cluster.patch_merge("/api/v1/namespaces/ns", {"metadata": {"labels": {"x": "y"}}}, True)
    assert resp.warnings == [] and len(seen) == 1


def test_parse_warning_header_rfc7234():
    assert parse_warning_header('299 - "a \\"b\\" \\\\ c"') == [(299, "-", 'a "b" \\ c')]
    assert parse_warning_header('299 - "one, two", 299 kube "three" "Sat, 29 Nov 2026 23:17:31 GMT"') == [
        (299, "-", "one, two"), (299, "kube", "three")]
    with pytest.raises(ValueError):
        parse_warning_header('299 - "unterminated')
    headers = [("Warning", '199 - "misc"'), ("Warning", "not a warning"), ("warning", '299 - "x"')]
    assert warnings_from_headers(headers) == ["not a warning", "x"]


def test_merge_patch_dry_run_records_dry_run_and_changes_nothing(apiserver, cluster):
    apiserver.add_namespace("rec-a", {"team": "a"})
    before = apiserver.namespace("rec-a")
    patch = {"metadata": {"labels": {ENFORCE: "restricted"}}}
    resp = cluster.patch_merge("/api/v1/namespaces/rec-a", patch, dry_run=True)
    assert resp.status == 200
    assert resp.data["kind"] == "Namespace"
    assert resp.data["metadata"]["labels"][ENFORCE] == "restricted"  # what it would be
    assert apiserver.namespace("rec-a") == before  # what it is
    req = apiserver.requests[-1]
    assert (req.method, req.path) == ("PATCH", "/api/v1/namespaces/rec-a")
    assert req.query["dryRun"] == "All"
    assert req.header("Content-Type") == "application/merge-patch+json"
    assert req.json == patch


def test_merge_patch_without_dry_run_changes_state(apiserver, cluster):
    apiserver.add_namespace("rec-a", {"team": "a"})
    cluster.patch_merge("/api/v1/namespaces/rec-a", {"metadata": {"labels": {ENFORCE: "baseline", "team": None}}},
                        dry_run=False)
    labels = apiserver.namespace("rec-a")["metadata"]["labels"]
    assert labels[ENFORCE] == "baseline" and "team" not in labels
    assert "dryRun" not in apiserver.requests[-1].query


def test_invalid_level_is_invalid_with_the_servers_message(apiserver, cluster):
    apiserver.add_namespace("rec-b")
    recorded = load_recording("patch-ns-invalid-level")
    with pytest.raises(Invalid) as err:
        cluster.patch_merge("/api/v1/namespaces/rec-b", recorded["request"]["body"], dry_run=True)
    assert err.value.status == 422 and err.value.reason == "Invalid"
    assert one_line(err.value) == recorded["response"]["body"]["message"]
    assert err.value.details == recorded["response"]["body"]["details"]
    assert "pod-security.kubernetes.io/enforce" not in apiserver.namespace("rec-b")["metadata"]["labels"]


def test_invalid_version_matches_the_recording(apiserver, cluster):
    apiserver.add_namespace("rec-b")
    recorded = load_recording("patch-ns-invalid-version")
    with pytest.raises(Invalid) as err:
        cluster.patch_merge("/api/v1/namespaces/rec-b", recorded["request"]["body"], dry_run=True)
    assert str(err.value) == recorded["response"]["body"]["message"]


def test_request_with_json_body_and_query_dict(apiserver, cluster):
    apiserver.add_namespace("a", {"x": "1"})
    apiserver.add_namespace("b")
    resp = cluster.request("GET", "/api/v1/namespaces", query={"labelSelector": "x"})
    assert [n["metadata"]["name"] for n in resp.data["items"]] == ["a"]
    assert resp.header("content-type") == "application/json"
    assert json.loads(json.dumps(resp.data))  # plain JSON types only


def test_exec_plugin_runs_again_after_a_401(apiserver, make_kubeconfig, tmp_path):
    """Like kubectl: a rejected exec-plugin token makes the plugin run again, once."""
    counter = tmp_path / "calls"
    plugin = _exec_plugin(tmp_path, f"""
        import json, pathlib
        calls = pathlib.Path({str(counter)!r})
        n = int(calls.read_text()) + 1 if calls.exists() else 1
        calls.write_text(str(n))
        token = "stale" if n == 1 else {apiserver.token!r}
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                          "status": {{"token": token}}}}))
    """)
    path = make_kubeconfig([KubeContext("exec", apiserver.url, ca_pem=apiserver.ca_pem, exec=plugin)], "exec")
    cluster = connect(ConnectionOptions(kubeconfig=str(path)))
    assert cluster.server_version()["major"] == "1"
    assert counter.read_text() == "2"
    assert [r.header("Authorization") for r in apiserver.requests] == ["Bearer stale", f"Bearer {apiserver.token}"]


def test_proxy_variables_do_not_capture_loopback(apiserver, cluster, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
    proxied = connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path)))
    assert proxied.server_version()["major"] == "1"
