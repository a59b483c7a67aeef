"""``check``: where objects land with --cluster-labels (the context's namespace, the server's versions, the input's
labels over the live ones), namespaces judged at the defaults, the table's reasons, baselines written and judged
again, and --write-baseline's bad path."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import yaml

PSA = "pod-security.kubernetes.io/"

PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata: {name: loose}
spec: {containers: [{name: c, image: busybox, securityContext: {privileged: true}}]}
"""
# allowed by baseline since v1.29 (net.ipv4.tcp_keepalive_time joined the safe sysctls), denied before
SYSCTL = """\
apiVersion: v1
kind: Pod
metadata: {name: tuned, namespace: shop}
spec:
  securityContext:
    sysctls: [{name: net.ipv4.tcp_keepalive_time, value: "600"}]
  containers: [{name: c, image: busybox}]
"""
SHOP_AT_V1_24 = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/enforce-version: v1.24}
---
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def check_json(run_cli, *argv):
    code, out, err = run_cli("check", *argv, "-o", "json")
    return code, json.loads(out), err


# T1: kubectl apply puts an object without a namespace in the context's namespace

def test_cluster_labels_land_objects_without_a_namespace_in_the_contexts_namespace(tmp_path, run_cli, apiserver,
                                                                                    make_kubeconfig):
    apiserver.add_namespace("shop", {PSA + "enforce": "restricted"})
    apiserver.add_namespace("default")
    kubeconfig = make_kubeconfig([apiserver.context("fake", namespace="shop")], "fake")
    path = write(tmp_path, "pod.yaml", PRIVILEGED)
    code, report, err = check_json(run_cli, "-f", path, "--cluster-labels", "--fail-on", "enforce",
                                   "--kubeconfig", kubeconfig)
    admission = report["results"][0]["admission"]
    assert (admission["namespace"], admission["labels"], admission["enforce"]["level"]) == ("shop", "cluster", "restricted")
    assert code == 1 and report["gate"]["failed"] == 1
    assert ('note: objects without metadata.namespace land in "shop", the context\'s namespace (-n sets another)\n'
            in err)
    # -n says where: no note; offline it stays "default"
    code, report, err = check_json(run_cli, "-f", path, "--cluster-labels", "-n", "default", "--fail-on", "enforce",
                                   "--kubeconfig", kubeconfig)
    assert report["results"][0]["admission"]["namespace"] == "default" and code == 0 and "land in" not in err
    code, report, _ = check_json(run_cli, "-f", path, "--fail-on", "enforce")
    assert report["results"][0]["admission"]["namespace"] == "default"


# T2: the server's version is what latest means with --cluster-labels, for --level, --fail-on LEVEL and grading

def test_cluster_labels_judge_level_and_grade_at_the_servers_version(tmp_path, run_cli, apiserver):
    apiserver.add_namespace("shop")
    path = write(tmp_path, "pod.yaml", SYSCTL)
    assert apiserver.minor == 24
    code, report, _ = check_json(run_cli, "-f", path, "--level", "baseline")
    assert code == 0 and report["results"][0]["allowed"]  # offline: latest is the newest version
    live = ("--cluster-labels", "--kubeconfig", apiserver.kubeconfig_path)
    code, report, err = check_json(run_cli, "-f", path, "--level", "baseline", *live)
    result = report["results"][0]
    assert code == 1 and not result["allowed"] and [v["check"] for v in result["violations"]] == ["sysctls"]
    assert "note: judged at the server's policy versions: latest is v1.24 (--cluster-labels)\n" in err
    code, report, _ = check_json(run_cli, "-f", path, "--fail-on", "baseline", *live)
    assert code == 1 and report["gate"]["failed"] == 1
    code, report, _ = check_json(run_cli, "-f", path, *live)
    assert report["results"][0]["strictestLevel"] == "privileged"
    code, out, _ = run_cli("check", "-f", path, "--level", "baseline", *live)
    assert "1 object(s) checked at baseline:latest (evaluated as v1.24)" in out


# T4: namespaces whose labels nothing gives are judged at the defaults: said, marked

def test_namespaces_judged_at_the_defaults_are_named_and_marked(tmp_path, run_cli):
    path = write(tmp_path, "pod.yaml", PRIVILEGED.replace("name: loose}", "name: loose, namespace: web}"))
    code, out, err = run_cli("check", "-f", path)
    assert code == 0 and "ok (defaults)" in out
    assert err == ('note: namespace(s) "web": its live labels are not known: judged at the defaults; '
                   "--cluster-labels reads them\n")
    code, out, err = run_cli("check", "-f", path, "--fail-on", "enforce")
    assert err.startswith('warning: namespace(s) "web": its live labels are not known: judged at the defaults')
    code, out, _ = run_cli("check", "-f", path, "--fail-on", "restricted", "-o", "sarif")
    assert {r["properties"]["labels"] for r in json.loads(out)["runs"][0]["results"]} == {"defaults"}
    code, out, _ = run_cli("check", "-f", path, "-o", "junit")
    assert '<property name="labels" value="defaults" />' in out
    # a Namespace of the input: its labels are known, no marker
    code, out, err = run_cli("check", "-f", path, "-f", write(tmp_path, "ns.yaml", "kind: Namespace\napiVersion: v1\n"
                                                                               "metadata: {name: web}\n"))
    assert "(defaults)" not in out and err == ""


# S2: the table shows why a mode is violated

def test_table_shows_the_violated_modes_reasons(tmp_path, run_cli):
    warn_restricted = SHOP_AT_V1_24.replace("}\n---", ", pod-security.kubernetes.io/warn: restricted}\n---")
    path = write(tmp_path, "bundle.yaml", warn_restricted + SYSCTL)
    for output in ("table", "wide"):
        code, out, _ = run_cli("check", "-f", path, "-o", output)
        assert "violates enforce baseline:v1.24, warn restricted:latest" in out
        assert "sysctls" in out and "net.ipv4.tcp_keepalive_time" in out, out
        assert "runAsNonRoot" in out  # the next level's reasons stay


# T8: --write-baseline over the baseline read judges again against what it wrote, as audit does

def test_rewriting_a_baseline_with_an_expired_entry_still_fails(tmp_path, run_cli):
    path = write(tmp_path, "bundle.yaml", SHOP_AT_V1_24.replace("v1.24", "latest") + PRIVILEGED.replace(
        "name: loose}", "name: loose, namespace: shop}"))
    baseline = tmp_path / "baseline.yaml"
    code, report, err = check_json(run_cli, "-f", path, "--fail-on", "enforce", "--write-baseline", baseline)
    assert code == 0 and report["gate"]["failed"] == 0
    document = yaml.safe_load(baseline.read_text())
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    document["entries"][0]["expires"] = yesterday
    baseline.write_text(yaml.safe_dump(document))
    code, report, err = check_json(run_cli, "-f", path, "--fail-on", "enforce", "--baseline", baseline,
                                   "--write-baseline", baseline)
    assert code == 1 and report["gate"]["failed"] == 1
    assert report["gate"]["baseline"]["expired"][0]["expires"] == yesterday
    assert f"warning: baseline entry expired on {yesterday}: Pod shop/loose privileged (enforce)" in err
    assert yaml.safe_load(baseline.read_text())["entries"][0]["expires"] == yesterday  # kept as written


# C2: a --write-baseline path in no directory

def test_write_baseline_into_a_missing_directory_is_one_line(tmp_path, run_cli):
    path = write(tmp_path, "pod.yaml", PRIVILEGED)
    target = tmp_path / "nonexistent" / "dir" / "baseline.yaml"
    code, out, err = run_cli("check", "-f", path, "--write-baseline", target)
    assert (code, out, err) == (2, "", f"error: --write-baseline {target}: no such directory\n")
    assert not (tmp_path / "nonexistent").exists()
