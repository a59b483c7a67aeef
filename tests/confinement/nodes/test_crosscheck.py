"""confinement/nodes/crosscheck.py: each referenced profile on each node it could land on."""
from __future__ import annotations

import json

from kubectl_pss.confinement import nodes as cn
from tests.confinement.nodes.objects import NGINX, aa, deployment, node, pod, sc, sha


# --- the cross-check ---------------------------------------------------------------------------------------------
def inspection(apparmor=None, files=None, enabled=True, exists=True):
    i = cn.NodeInspection(apparmor_enabled=enabled, apparmor_profiles=apparmor)
    i.seccomp_root_exists = exists
    i.seccomp_files = None if files is None else [cn.seccomp_file(p, c.encode()) for p, c in files.items()]
    return i


def test_cross_check():
    nodes = [node("node-a"), node("node-b"), node("node-c", apparmor=False), node("gpu-1", {"pool": "gpu"},
                                                                                  taints=[{"key": "gpu", "effect": "NoSchedule"}])]
    other = json.dumps({**NGINX, "defaultAction": "SCMP_ACT_LOG"})
    inspections = {
        "node-a": inspection({"k8s-nginx": "enforce", "k8s-gpu": "enforce"},
                             {"profiles/nginx.json": json.dumps(NGINX), "profiles/bad.json": "{"}),
        "node-b": inspection({"k8s-other": "enforce"}, {"profiles/nginx.json": other}),
        "node-c": inspection(None, {}, enabled=False, exists=False),
        # gpu-1 not inspected
    }
    refs = (cn.references(deployment("web", [{"name": "app", "securityContext": {**aa("k8s-nginx"),
                                                                               **sc("profiles/nginx.json")}}]))
            + cn.references(pod("pinned", [{"name": "app", "securityContext": sc("profiles/bad.json")}],
                                node_name="node-a"))
            + cn.references(deployment("gpu", [{"name": "c", "securityContext": aa("k8s-gpu")}],
                                       nodeSelector={"pool": "gpu"}, tolerations=[{"key": "gpu", "operator": "Exists"}])))
    blocked = cn.blocked_containers(pod("g", [{"name": "c", "securityContext": aa("k8s-gpu")}], node_name="gpu-1",
                                        status={"phase": "Pending", "reason": "AppArmor",
                                                "message": 'Cannot enforce AppArmor: profile "k8s-gpu" is not loaded'}))
    out = {(p["type"], p["profile"]): p for p in cn.cross_check(refs, nodes, inspections, blocked)}
    web_aa = out[("apparmor", "k8s-nginx")]
    assert [(n["node"], n["status"]) for n in web_aa["nodes"]] == [
        ("node-a", "loaded"), ("node-b", "missing"), ("node-c", "apparmor-disabled")]  # not gpu-1: tainted
    assert (web_aa["missingOn"], web_aa["apparmorDisabledOn"], web_aa["ok"]) == (["node-b"], ["node-c"], False)
    assert web_aa["references"][0]["landsOn"] == ["node-a", "node-b", "node-c"]
    web_sc = out[("seccomp", "profiles/nginx.json")]
    assert web_sc["path"] == "/var/lib/kubelet/seccomp/profiles/nginx.json"
    assert [(n["node"], n["status"]) for n in web_sc["nodes"]] == [
        ("node-a", "differs"), ("node-b", "differs"), ("node-c", "missing")]
    assert web_sc["nodes"][2]["detail"] == "no seccomp root /var/lib/kubelet/seccomp"
    assert sorted(v["sha256"] for v in web_sc["variants"]) == sorted([sha(json.dumps(NGINX)), sha(other)])
    assert web_sc["differsOn"] == ["node-a", "node-b"] and "not the same on every node (sha256)" in web_sc["notes"][0]
    bad = out[("seccomp", "profiles/bad.json")]
    assert [(n["node"], n["status"]) for n in bad["nodes"]] == [("node-a", "invalid")]  # pinned by nodeName
    gpu = out[("apparmor", "k8s-gpu")]
    # gpu-1 was not inspected, but a pod there was blocked: the kubelet said so
    assert [(n["node"], n["status"], n.get("from")) for n in gpu["nodes"]] == [("gpu-1", "missing", "pod status")]
    assert 'profile "k8s-gpu" is not loaded' in gpu["nodes"][0]["detail"]
    summary = cn.summarize(list(out.values()), blocked, 4, 3)
    assert summary["blockedPods"] == 1 and summary["profilesWithProblems"] == 4
    assert cn.exit_code(summary, 0) == 1 and cn.exit_code(summary, 1) == 2


def test_cross_check_restricted_to_where_it_lands():
    nodes = [node("web-1", {"pool": "web"}), node("db-1", {"pool": "db"})]
    refs = cn.references(deployment("web", [{"name": "c", "securityContext": aa("k8s-web")}], nodeSelector={"pool": "web"}))
    inspections = {"web-1": inspection({"k8s-web": "enforce"}, {}), "db-1": inspection({}, {})}
    [p] = cn.cross_check(refs, nodes, inspections, [])
    assert [(n["node"], n["status"], n["mode"]) for n in p["nodes"]] == [("web-1", "loaded", "enforce")] and p["ok"]
    summary = cn.summarize([p], [], 2, 2)
    assert cn.exit_code(summary, 0) == 0
    # without inspection: unknown, not a problem
    [p] = cn.cross_check(refs, nodes, {}, [])
    assert p["unknownOn"] == ["web-1"] and p["ok"] and p["nodes"][0]["detail"] == "not inspected"
    # complain everywhere: loaded, with a note
    [p] = cn.cross_check(refs, nodes, {"web-1": inspection({"k8s-web": "complain"}, {})}, [])
    assert p["ok"] and "complain mode only" in p["notes"][0]
