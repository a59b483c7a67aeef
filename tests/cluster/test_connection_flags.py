"""kubectl's connection flags (-s, --certificate-authority, --insecure-skip-tls-verify, --tls-server-name, --token,
--client-certificate, --client-key, --as, --as-group, --as-uid) through the CLI, against the fake API server: what
reaches the server (recorded headers) and kubectl's precedence over the kubeconfig."""
from __future__ import annotations

import json

import pytest

from kubectl_pss.cluster import kubeconfig as kubeconfig_mod
from tests.apiserver import FakeApiServer, KubeContext, write_kubeconfig


def served(server: FakeApiServer) -> list:
    return [r for r in server.requests if r.path != "/healthz"]


# ---------------------------------------------------------------- impersonation
def test_impersonation_headers_on_every_request(run_cli, apiserver):
    apiserver.add_namespace("shop")
    code, out, err = run_cli("audit", "-n", "shop", "--as", "jane", "--as-group", "dev", "--as-group", "ops",
                             "--as-uid", "42", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert code == 0, err
    requests = served(apiserver)
    assert {r.path for r in requests} >= {"/version", "/api/v1/namespaces/shop/pods"}
    for r in requests:
        assert r.header_values("Impersonate-User") == ["jane"], r.path
        assert r.header_values("Impersonate-Group") == ["dev", "ops"], r.path  # one line per group, in order
        assert r.header_values("Impersonate-Uid") == ["42"], r.path
        assert r.header("Authorization") == f"Bearer {apiserver.token}"  # the kubeconfig's own credentials


def test_no_impersonation_without_as(run_cli, apiserver):
    code, _, err = run_cli("version", "--kubeconfig", apiserver.kubeconfig_path)
    assert code == 0, err
    assert all(not r.header_values("Impersonate-User") and not r.header_values("Impersonate-Group")
               for r in served(apiserver))


@pytest.mark.parametrize("flags", [["--as-group", "dev"], ["--as-uid", "42"]])
def test_impersonating_a_group_or_uid_needs_a_user(run_cli, apiserver, flags):
    code, out, err = run_cli("audit", *flags, "--kubeconfig", apiserver.kubeconfig_path)
    assert (code, out) == (2, "")
    assert err == ("error: requesting uid, groups or user-extra without impersonating a user: --as-group and "
                   "--as-uid need --as\n")
    assert served(apiserver) == []


def test_in_cluster_config_honours_impersonation_and_token(run_cli, apiserver, tmp_path, monkeypatch):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("the-service-account-token")
    (sa / "ca.crt").write_bytes(apiserver.ca_pem)
    (sa / "namespace").write_text("default\n")
    monkeypatch.setattr(kubeconfig_mod, "SERVICE_ACCOUNT_DIR", str(sa))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(apiserver.port))
    code, out, err = run_cli("version", "-o", "json", "--as", "system:serviceaccount:ci:reviewer",
                             "--as-group", "system:serviceaccounts", "--token", apiserver.token)
    assert code == 0, err
    assert json.loads(out)["context"] == "in-cluster"
    (request,) = served(apiserver)
    assert request.header_values("Impersonate-User") == ["system:serviceaccount:ci:reviewer"]
    assert request.header_values("Impersonate-Group") == ["system:serviceaccounts"]
    assert request.header("Authorization") == f"Bearer {apiserver.token}"  # --token over the mounted one


# ---------------------------------------------------------------- server, token, TLS
def server_state(out: str) -> str:
    return json.loads(out)["serverStatus"]["state"]


def test_token_wins_over_the_kubeconfig_users_token(run_cli, apiserver, make_kubeconfig):
    path = make_kubeconfig([apiserver.context("c", token="stale")], "c")
    code, out, _ = run_cli("version", "-o", "json", "--kubeconfig", path)
    assert server_state(out) == "noVersion"  # 401 with the kubeconfig's token
    code, out, _ = run_cli("version", "-o", "json", "--kubeconfig", path, "--token", apiserver.token)
    assert server_state(out) == "ok"
    assert served(apiserver)[-1].header("Authorization") == f"Bearer {apiserver.token}"


def test_token_wins_over_an_exec_plugin_which_is_not_run(run_cli, apiserver, make_kubeconfig, tmp_path):
    ran = tmp_path / "ran"
    plugin = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "sh",
              "args": ["-c", f"touch {ran}; exit 1"], "interactiveMode": "Never"}
    path = make_kubeconfig([apiserver.context("c", token=None, exec=plugin)], "c")
    path.write_text(path.read_text().replace("token: null\n", ""))
    code, out, err = run_cli("version", "-o", "json", "--kubeconfig", path, "--token", apiserver.token)
    assert server_state(out) == "ok", err
    assert not ran.exists()


def test_server_flag_wins_over_the_kubeconfigs_server(run_cli, apiserver, make_kubeconfig):
    dead = FakeApiServer().start()
    dead.stop()
    path = make_kubeconfig([KubeContext("c", dead.url, token=apiserver.token, ca_pem=apiserver.ca_pem)], "c")
    code, out, _ = run_cli("version", "-o", "json", "--kubeconfig", path)
    assert server_state(out) == "unreachable"
    code, out, err = run_cli("version", "-o", "json", "--kubeconfig", path, "-s", apiserver.url)
    assert server_state(out) == "ok", err
    assert json.loads(out)["serverStatus"]["url"] == apiserver.url


def test_server_and_token_without_any_kubeconfig(run_cli, apiserver, tmp_path):
    apiserver.add_namespace("default")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(apiserver.ca_pem)
    code, out, err = run_cli("audit", "-n", "default", "-o", "json", "--server", apiserver.url, "--token",
                             apiserver.token, "--certificate-authority", ca)
    assert code == 0, err
    report = json.loads(out)
    assert report["server"]["minor"] == 24 and [ns["name"] for ns in report["namespaces"]] == ["default"]


def test_certificate_authority_flag_replaces_the_kubeconfigs_trust(run_cli, apiserver, make_kubeconfig, tmp_path):
    path = make_kubeconfig([KubeContext("c", apiserver.url, token=apiserver.token)], "c")  # no CA: system trust
    code, out, _ = run_cli("version", "-o", "json", "--kubeconfig", path)
    assert server_state(out) == "unreachable" and "certificate verify failed" in out
    ca = tmp_path / "ca.pem"
    ca.write_bytes(apiserver.ca_pem)
    code, out, err = run_cli("version", "-o", "json", "--kubeconfig", path, "--certificate-authority", ca)
    assert server_state(out) == "ok", err


def test_insecure_skip_tls_verify_flag(run_cli, apiserver, make_kubeconfig, tmp_path):
    path = make_kubeconfig([KubeContext("c", apiserver.url, token=apiserver.token)], "c")
    code, out, err = run_cli("version", "-o", "json", "--kubeconfig", path, "--insecure-skip-tls-verify")
    assert server_state(out) == "ok", err
    ca = tmp_path / "ca.pem"
    ca.write_bytes(apiserver.ca_pem)
    code, out, err = run_cli("version", "--kubeconfig", path, "--insecure-skip-tls-verify",
                             "--certificate-authority", ca)
    assert (code, out) == (2, "")
    assert err.startswith("error: specifying a root certificates file with the insecure flag is not allowed")


def test_tls_server_name_is_what_the_certificate_is_checked_against(run_cli, apiserver):
    code, out, _ = run_cli("version", "-o", "json", "--kubeconfig", apiserver.kubeconfig_path,
                           "--tls-server-name", "api.example.com")
    assert server_state(out) == "unreachable" and "api.example.com" in out  # not a name of the certificate
    code, out, err = run_cli("version", "-o", "json", "--kubeconfig", apiserver.kubeconfig_path,
                             "--tls-server-name", "localhost")
    assert server_state(out) == "ok", err


@pytest.mark.parametrize("flag, what", [("--certificate-authority", "certificate-authority"),
                                        ("--client-certificate", "client-cert"), ("--client-key", "client-key")])
def test_an_unreadable_file_is_one_line(run_cli, apiserver, tmp_path, flag, what):
    missing = tmp_path / "nope.pem"
    code, out, err = run_cli("audit", "--kubeconfig", apiserver.kubeconfig_path, flag, missing)
    assert (code, out) == (2, "")
    assert err == f"error: unable to read {what} {missing}: no such file or directory\n"
    assert served(apiserver) == []


def test_a_client_certificate_needs_its_key(run_cli, apiserver, tmp_path):
    cert = tmp_path / "client.crt"
    cert.write_bytes(apiserver.ca_pem)
    code, out, err = run_cli("audit", "--kubeconfig", apiserver.kubeconfig_path, "--client-certificate", cert)
    assert (code, out) == (2, "")
    assert err == ('error: client-key-data or client-key must be specified for "fake" to use the clientCert '
                   "authentication method\n")


def test_a_client_certificate_flag_with_certificate_data_in_the_kubeconfig(run_cli, apiserver, tmp_path):
    cert = tmp_path / "client.crt"
    cert.write_bytes(apiserver.ca_pem)
    path = write_kubeconfig(tmp_path / "kc", [apiserver.context("c", extra_user={
        "client-certificate-data": "Zm9v", "client-key-data": "Zm9v"})], "c")
    code, out, err = run_cli("audit", "--kubeconfig", path, "--client-certificate", cert, "--client-key", cert)
    assert (code, out) == (2, "")
    assert err == 'error: client-cert-data and client-cert are both specified for "c". client-cert-data will override\n'


def test_connection_flags_do_not_apply_to_a_snapshot(run_cli):
    code, out, err = run_cli("audit", "--snapshot", "examples/kind-cluster.json", "--as", "jane")
    assert (code, out, err) == (2, "", "error: --snapshot reads a dump: --as does not apply\n")


def test_server_flag_clears_the_kubeconfigs_tls_server_name(run_cli, apiserver, tmp_path):
    import yaml

    config = yaml.safe_load(apiserver.kubeconfig_path.read_text())
    config["clusters"][0]["cluster"]["tls-server-name"] = "api.example.com"  # not a name of the certificate
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(config))
    code, out, _ = run_cli("version", "-o", "json", "--kubeconfig", path)
    assert server_state(out) == "unreachable"
    code, out, err = run_cli("version", "-o", "json", "--kubeconfig", path, "-s", apiserver.url)
    assert server_state(out) == "ok", err  # client-go: a --server given drops the kubeconfig's tls-server-name
    code, out, err = run_cli("version", "-o", "json", "--kubeconfig", path, "-s", apiserver.url,
                             "--tls-server-name", "api.example.com")
    assert server_state(out) == "unreachable"
