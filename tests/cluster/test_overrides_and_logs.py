"""``--cluster``/``--user`` (client-go's ConfigOverrides) and ``-v`` request logs, against two FakeApiServers
through the real ``kubernetes`` client."""
from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from kubectl_pss.cluster import ClusterUnreachable, ConfigError, ConnectionOptions, Unauthorized, connect
from tests.apiserver import FakeApiServer, KubeContext, write_kubeconfig

KLOG = re.compile(r"^I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ [\w.]+\.py:\d+\] ")
REQUEST_LINE = re.compile(KLOG.pattern + r"(GET|PATCH|POST|DELETE) (\S+) (\d{3} [A-Za-z ]+|\(no response: [^)]*\)) "
                          r"in \d+ milliseconds$")


@pytest.fixture
def two(apiserver, tmp_path):
    """Clusters "east" (apiserver) and "west" (another server, another token), users "alice" (east's
    token) and "bob" (west's); contexts "a" (east/alice, namespace team-a, current) and "b" (west/bob)."""
    west = FakeApiServer().start()
    east = apiserver
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "a",
        "clusters": [KubeContext("east", east.url, ca_pem=east.ca_pem).cluster_entry(),
                     KubeContext("west", west.url, ca_pem=west.ca_pem).cluster_entry()],
        "users": [{"name": "alice", "user": {"token": east.token}}, {"name": "bob", "user": {"token": west.token}}],
        "contexts": [{"name": "a", "context": {"cluster": "east", "user": "alice", "namespace": "team-a"}},
                     {"name": "b", "context": {"cluster": "west", "user": "bob"}}],
    }
    path = tmp_path / "two-clusters"
    path.write_text(yaml.safe_dump(config))

    class Two:
        pass

    t = Two()
    t.east, t.west, t.path, t.config = east, west, path, config
    t.options = lambda **kw: ConnectionOptions(kubeconfig=str(path), **kw)
    yield t
    west.stop()


def auth_of(server: FakeApiServer) -> list[str | None]:
    return [r.header("Authorization") for r in server.requests]


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text
    return text


# ---------------------------------------------------------------- --cluster and --user
def test_without_overrides_the_context_decides(two):
    cluster = connect(two.options())
    assert (cluster.context, cluster.namespace, cluster.server) == ("a", "team-a", two.east.url)
    cluster.server_version()
    assert auth_of(two.east) == [f"Bearer {two.east.token}"] and two.west.requests == []


def test_cluster_override_changes_the_server_and_keeps_the_user_and_namespace(two):
    cluster = connect(two.options(cluster="west"))
    assert (cluster.context, cluster.namespace, cluster.server) == ("a", "team-a", two.west.url)
    with pytest.raises(Unauthorized):  # alice's token means nothing to west: the user stayed the context's
        cluster.server_version()
    assert auth_of(two.west) == [f"Bearer {two.east.token}"] and two.east.requests == []


def test_user_override_changes_the_credentials_and_keeps_the_server(two):
    cluster = connect(two.options(user="bob"))
    assert (cluster.server, cluster.namespace) == (two.east.url, "team-a")
    with pytest.raises(Unauthorized):
        cluster.server_version()
    assert auth_of(two.east) == [f"Bearer {two.west.token}"]


def test_cluster_and_user_together(two):
    cluster = connect(two.options(cluster="west", user="bob"))
    assert cluster.server_version()["major"] == "1"
    assert auth_of(two.west) == [f"Bearer {two.west.token}"] and two.east.requests == []
    assert cluster.namespace == "team-a"  # still the context's


def test_overrides_apply_to_an_explicit_context(two):
    cluster = connect(two.options(context="b", cluster="east", user="alice"))
    assert (cluster.context, cluster.server, cluster.namespace) == ("b", two.east.url, "default")
    cluster.server_version()
    assert auth_of(two.east) == [f"Bearer {two.east.token}"]


@pytest.mark.parametrize("kw, message", [
    ({"cluster": "north"}, 'cluster "north" does not exist in kubeconfig'),
    ({"user": "mallory"}, 'user "mallory" does not exist in kubeconfig'),
    ({"cluster": "west", "user": "mallory"}, 'user "mallory" does not exist'),
])
def test_unknown_cluster_or_user_is_a_one_line_config_error(two, kw, message):
    with pytest.raises(ConfigError) as err:
        connect(two.options(**kw))
    text = one_line(err.value)
    assert message in text
    assert "(clusters: east, west)" in text or "(users: alice, bob)" in text
    assert two.east.requests == [] and two.west.requests == []


def test_no_current_context_with_cluster_and_user_works(two, tmp_path):
    config = dict(two.config)
    del config["current-context"]
    path = tmp_path / "no-current"
    path.write_text(yaml.safe_dump(config))
    cluster = connect(ConnectionOptions(kubeconfig=str(path), cluster="west", user="bob"))
    assert (cluster.server, cluster.namespace, cluster.context) == (two.west.url, "default", "west")
    cluster.server_version()
    # --user alone still needs a context (kubectl: no cluster, no server)
    with pytest.raises(ConfigError, match="no current-context"):
        connect(ConnectionOptions(kubeconfig=str(path), user="bob"))


def test_cluster_override_rescues_a_context_whose_cluster_is_gone(two, tmp_path):
    config = dict(two.config)
    config["contexts"] = [{"name": "a", "context": {"cluster": "gone", "user": "alice"}}]
    path = tmp_path / "gone"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match='refers to cluster "gone"'):
        connect(ConnectionOptions(kubeconfig=str(path)))
    connect(ConnectionOptions(kubeconfig=str(path), cluster="east")).server_version()


def test_a_context_whose_user_is_gone_says_so_instead_of_going_anonymous(two, tmp_path):
    config = dict(two.config)
    config["contexts"] = [{"name": "a", "context": {"cluster": "east", "user": "ghost"}}]
    path = tmp_path / "no-user"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as caught:
        connect(ConnectionOptions(kubeconfig=str(path)))
    assert one_line(caught.value).startswith(f'context "a" refers to user "ghost", which is not in kubeconfig {path}')
    assert "(users: alice, bob)" in str(caught.value)
    assert two.east.requests == []  # nothing was sent without credentials
    connect(ConnectionOptions(kubeconfig=str(path), user="alice")).server_version()  # --user rescues it
    assert auth_of(two.east) == [f"Bearer {two.east.token}"]


def test_a_context_without_a_cluster_says_so(two, tmp_path):
    config = dict(two.config)
    config["contexts"] = [{"name": "a", "context": {"user": "alice"}}]
    path = tmp_path / "no-cluster"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=f'^context "a" names no cluster in kubeconfig {re.escape(str(path))}$'):
        connect(ConnectionOptions(kubeconfig=str(path)))


def test_overrides_see_entries_merged_from_every_kubeconfig_file(two, tmp_path, monkeypatch):
    first = write_kubeconfig(tmp_path / "first", [two.east.context("one")], "one")
    second = write_kubeconfig(tmp_path / "second", [KubeContext("two", two.west.url, token=two.west.token,
                                                                ca_pem=two.west.ca_pem)], "two")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second)]))
    cluster = connect(ConnectionOptions(cluster="two", user="two"))
    assert cluster.context == "one" and cluster.server == two.west.url
    cluster.server_version()


def test_overrides_never_fall_back_to_in_cluster_config(monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "1")
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        connect(ConnectionOptions(cluster="x"))


def test_user_override_with_an_exec_plugin(two, tmp_path):
    script = tmp_path / "plugin.py"
    script.write_text(textwrap.dedent(f"""
        import json
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                          "status": {{"token": "{two.west.token}"}}}}))
    """))
    config = dict(two.config)
    config["users"] = config["users"] + [{"name": "sso", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable, "args": [str(script)],
        "interactiveMode": "Never"}}}]
    path = tmp_path / "sso"
    path.write_text(yaml.safe_dump(config))
    cluster = connect(ConnectionOptions(kubeconfig=str(path), cluster="west", user="sso"))
    cluster.server_version()
    assert auth_of(two.west) == [f"Bearer {two.west.token}"]


# ---------------------------------------------------------------- -v
def test_verbosity_6_logs_each_request_on_stderr_only(two, capsys):
    cluster = connect(two.options(verbosity=6))
    cluster.server_version()
    list(cluster.list_items("/api/v1/namespaces"))
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].endswith(f"] Config loaded from file:  {two.path}") and KLOG.match(lines[0])
    requests = [REQUEST_LINE.match(line) for line in lines[1:]]
    assert all(requests), lines
    assert [(m.group(1), m.group(2), m.group(3)) for m in requests] == [
        ("GET", f"{two.east.url}/version", "200 OK"),
        ("GET", f"{two.east.url}/api/v1/namespaces?limit=500", "200 OK")]
    assert two.east.token not in err


def test_verbosity_7_shows_request_headers_with_the_token_masked(two, capsys):
    cluster = connect(two.options(verbosity=7))
    cluster.server_version()
    err = capsys.readouterr().err
    assert "    Authorization: Bearer <masked>" in err and "    Accept: application/json" in err
    assert "Response Headers:" in err and "Response Body" not in err
    assert two.east.token not in err
    assert all(KLOG.match(line) for line in err.splitlines())


def test_verbosity_8_shows_response_bodies_truncated(two, capsys):
    for i in range(40):
        two.east.add_namespace(f"namespace-with-a-long-name-{i:03d}")
    cluster = connect(two.options(verbosity=8))
    list(cluster.list_items("/api/v1/namespaces"))
    err = capsys.readouterr().err
    body = next(line for line in err.splitlines() if "Response Body: " in line)
    assert re.search(r"\[truncated \d+ chars\]$", body)
    assert two.east.token not in err


def test_errors_and_unreachable_servers_are_logged(two, capsys):
    cluster = connect(two.options(user="bob", verbosity=6))
    with pytest.raises(Unauthorized):
        cluster.server_version()
    two.west.stop()
    dead = connect(two.options(cluster="west", user="bob", verbosity=6, request_timeout=2))
    with pytest.raises(ClusterUnreachable):
        dead.server_version()
    err = capsys.readouterr().err
    assert re.search(r"\] GET \S+/version 401 Unauthorized in \d+ milliseconds$", err, re.M)
    assert re.search(r"\] GET \S+/version \(no response: connection refused\) in \d+ milliseconds$", err, re.M)


def test_verbosity_0_logs_nothing(two, capsys):
    connect(two.options()).server_version()
    assert capsys.readouterr() == ("", "")


def test_no_module_outside_the_cluster_layer_builds_connection_options():
    """ConnectionOptions come from commands.flags.connection_args, the one place the flags are read."""
    root = Path(__file__).resolve().parents[2] / "kubectl_pss"
    builders = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                      if "ConnectionOptions(" in p.read_text() and p.parent.name != "cluster")
    assert builders == ["commands/flags/__init__.py"]
