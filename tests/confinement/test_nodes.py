"""confinement/nodes.py: node-side parsing, profile references, placement, blocked pods, the cross-check."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from kubectl_pss.confinement import nodes as cn

NGINX = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}


def sha(data) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


def node(name, labels=None, taints=None, os="linux", ready=True, kubelet="v1.30.2", apparmor=True):
    message = "kubelet is posting ready status" + (". AppArmor enabled" if apparmor else "")
    return {"kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                                   "kubernetes.io/os": os, **(labels or {})}},
            "spec": {"taints": taints} if taints else {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "Unknown", "message": message}],
                       "nodeInfo": {"kubeletVersion": kubelet, "containerRuntimeVersion": "containerd://1.7.13",
                                    "osImage": "Ubuntu 24.04.1 LTS", "kernelVersion": "6.8.0-49-generic",
                                    "operatingSystem": os}}}


def pod(name, containers, ns="apps", node_name=None, annotations=None, security_context=None, status=None, **spec):
    s = {"containers": containers, **spec}
    if node_name:
        s["nodeName"] = node_name
    if security_context:
        s["securityContext"] = security_context
    md = {"name": name, "namespace": ns}
    if annotations:
        md["annotations"] = annotations
    return {"kind": "Pod", "apiVersion": "v1", "metadata": md, "spec": s, "status": status or {"phase": "Running"}}


def deployment(name, containers, ns="apps", **spec):
    return {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"metadata": {}, "spec": {"containers": containers, **spec}}}}


def aa(profile):
    return {"appArmorProfile": {"type": "Localhost", "localhostProfile": profile}}


def sc(path):
    return {"seccompProfile": {"type": "Localhost", "localhostProfile": path}}


def tar_of(entries: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        d = tarfile.TarInfo("./")
        d.type = tarfile.DIRTYPE
        t.addfile(d)
        for name, value in entries.items():
            info = tarfile.TarInfo(name)
            if isinstance(value, tuple):  # ("sym", target) or ("hard", target)
                info.type = tarfile.SYMTYPE if value[0] == "sym" else tarfile.LNKTYPE
                info.linkname = value[1]
                t.addfile(info)
            else:
                data = value.encode()
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --- node-side output ------------------------------------------------------------------------------
def test_apparmor_enabled():
    assert cn.parse_apparmor_enabled("Y\n") is True and cn.parse_apparmor_enabled("N\n") is False
    with pytest.raises(ValueError, match="Y or N"):
        cn.parse_apparmor_enabled("maybe")


def test_apparmor_profiles():
    text = ("/usr/bin/man (enforce)\nman_filter (enforce)\ncri-containerd.apparmor.d (enforce)\n"
            "k8s-nginx (complain)\nsnap.lxd.lxc (complain)\nunprivileged_userns (unconfined)\n\n")
    assert cn.parse_apparmor_profiles(text) == {
        "/usr/bin/man": "enforce", "man_filter": "enforce", "cri-containerd.apparmor.d": "enforce",
        "k8s-nginx": "complain", "snap.lxd.lxc": "complain", "unprivileged_userns": "unconfined"}
    assert cn.parse_apparmor_profiles("") == {}
    with pytest.raises(ValueError, match="line 2"):
        cn.parse_apparmor_profiles("a (enforce)\nnot a profile line\n")


def test_seccomp_tar():
    good = json.dumps(NGINX)
    data = tar_of({"./profiles/nginx.json": good, "./broken.json": "{nope", "./list.json": "[1]",
                   "./audit.json": '{"syscalls": []}', "./link.json": ("sym", "/etc/seccomp/x.json"),
                   "./hard.json": ("hard", "./profiles/nginx.json")})
    files = {f.path: f for f in cn.parse_seccomp_tar(data)}
    assert sorted(files) == ["audit.json", "broken.json", "hard.json", "link.json", "list.json", "profiles/nginx.json"]
    nginx = files["profiles/nginx.json"]
    assert (nginx.size, nginx.sha256, nginx.valid_json, nginx.problem, nginx.is_profile) == (
        len(good), sha(good), True, None, True)
    assert files["hard.json"].sha256 == sha(good)
    assert files["broken.json"].valid_json is False and files["broken.json"].problem.startswith("not JSON")
    assert files["list.json"].problem == "not a JSON object"
    assert files["audit.json"].problem == "no defaultAction: not a seccomp profile" and files["audit.json"].valid_json
    link = files["link.json"]
    assert (link.symlink, link.sha256) == ("/etc/seccomp/x.json", None)
    assert link.as_dict() == {"path": "link.json", "size": None, "sha256": None, "validJson": None,
                              "symlink": "/etc/seccomp/x.json"}
    assert cn.parse_seccomp_tar(tar_of({})) == []
    with pytest.raises(ValueError, match="not a tar archive"):
        cn.parse_seccomp_tar(b"tar: something went wrong\n" * 40)


def test_symlink_target():
    root = "/var/lib/kubelet/seccomp"
    assert cn.symlink_target(root, "profiles/a.json", "../shared/a.json") == "/var/lib/kubelet/seccomp/shared/a.json"
    assert cn.symlink_target(root, "a.json", "/etc/seccomp/a.json") == "/etc/seccomp/a.json"


@pytest.mark.parametrize("words, expected", [
    (["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--seccomp-default"],
     (True, "/var/lib/kubelet/config.yaml", {})),
    (["kubelet", "--config", "/etc/kubernetes/kubelet.yaml", "--seccomp-default=false"],
     (False, "/etc/kubernetes/kubelet.yaml", {})),
    (["kubelet", "--seccomp_default=t", "--feature-gates", "SeccompDefault=true,Other=false"],
     (True, None, {"SeccompDefault": True, "Other": False})),
    (["kubelet", "--v=2", "--kubeconfig=/etc/kubernetes/kubelet.conf"], (None, None, {})),
])
def test_kubelet_cmdline(words, expected):
    flags = cn.parse_kubelet_cmdline(("\x00".join(words) + "\x00").encode())
    assert (flags.seccomp_default, flags.config, flags.feature_gates) == expected


def test_kubelet_config_and_seccomp_default():
    config = cn.parse_kubelet_config("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                                     "seccompDefault: true\nfeatureGates:\n  SeccompDefault: true\n")
    assert config == {"kind": "KubeletConfiguration", "seccompDefault": True, "featureGates": {"SeccompDefault": True}}
    path = "/var/lib/kubelet/config.yaml"
    assert cn.seccomp_default("v1.30.2", cn.KubeletFlags(), config, path) == (True, f"config {path}", [])
    # the flag wins over the file
    assert cn.seccomp_default("v1.30.2", cn.KubeletFlags(seccomp_default=False), config, path)[:2] == (
        False, "flag --seccomp-default")
    plain = cn.parse_kubelet_config("kind: KubeletConfiguration\n")
    assert cn.seccomp_default("v1.30.2", cn.KubeletFlags(), plain, path) == (False, "default", [])
    # before v1.25 the feature gate must be on too
    on, _, notes = cn.seccomp_default("v1.24.17", cn.KubeletFlags(seccomp_default=True), None, None)
    assert on is False and "off by default before v1.25" in notes[0]
    gated = cn.KubeletFlags(seccomp_default=True, feature_gates={"SeccompDefault": True})
    assert cn.seccomp_default("v1.24.17", gated, None, None)[0] is True
    assert cn.seccomp_default("v1.30.2", None, None, None)[:2] == (None, "unknown")
    drop_in = cn.KubeletFlags(config_dir="/etc/kubernetes/kubelet.conf.d")
    assert "--config-dir" in cn.seccomp_default("v1.30.2", drop_in, None, None)[2][0]
    with pytest.raises(ValueError):
        cn.parse_kubelet_config("- a list\n")


# --- references ---------------------------------------------------------------------------------------
def test_references_in_the_kubelets_order():
    p = pod("web", [{"name": "app", "securityContext": {**aa("k8s-app"), **sc("profiles/app.json")}},
                    {"name": "side"}, {"name": "priv", "securityContext": {"privileged": True}}],
            annotations={"container.apparmor.security.beta.kubernetes.io/side": "localhost/k8s-side"},
            security_context={**aa("k8s-pod"), **sc("profiles/pod.json")},
            initContainers=[{"name": "init"}])
    got = {(r.type, r.container, r.profile, r.source) for r in cn.references(p)}
    assert got == {
        ("apparmor", "init", "k8s-pod", "pod field"), ("seccomp", "init", "profiles/pod.json", "pod field"),
        ("apparmor", "app", "k8s-app", "container field"), ("seccomp", "app", "profiles/app.json", "container field"),
        ("apparmor", "side", "k8s-side", "annotation"), ("seccomp", "side", "profiles/pod.json", "pod field"),
        # privileged: AppArmor still checked by the kubelet, no seccomp at all
        ("apparmor", "priv", "k8s-pod", "pod field"),
    }


def test_references_legacy_seccomp_annotations_and_templates():
    legacy = pod("old", [{"name": "app"}], annotations={"seccomp.security.alpha.kubernetes.io/pod": "localhost/old.json"})
    [ref] = cn.references(legacy)
    assert (ref.type, ref.profile, ref.source) == ("seccomp", "old.json", "pod annotation")
    cron = {"kind": "CronJob", "metadata": {"name": "nightly", "namespace": "ops"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "securityContext": aa("k8s-job")}]}}}}}}
    [ref] = cn.references(cron)
    assert (ref.kind, ref.namespace, ref.name, ref.profile) == ("CronJob", "ops", "nightly", "k8s-job")
    windows = pod("w", [{"name": "c", "securityContext": aa("x")}], os={"name": "windows"})
    assert cn.references(windows) == [] and cn.references({"kind": "ConfigMap"}) == []
    runtime_default = pod("rd", [{"name": "c", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}])
    assert cn.references(runtime_default) == []


def test_placement_view_keeps_what_the_cross_check_reads():
    d = deployment("web", [{"name": "app", "image": "nginx", "env": [{"name": "A", "value": "1"}],
                            "securityContext": aa("k8s-app")}],
                   nodeSelector={"pool": "web"}, tolerations=[{"key": "dedicated", "operator": "Exists"}],
                   affinity={"nodeAffinity": {}, "podAntiAffinity": {}}, volumes=[{"name": "v", "emptyDir": {}}])
    view = cn.placement_view(d)
    spec = view["spec"]["template"]["spec"]
    assert spec["containers"] == [{"name": "app", "securityContext": aa("k8s-app")}]
    assert set(spec) == {"containers", "nodeSelector", "tolerations", "affinity"}
    assert cn.references(view) == cn.references(d)
    p = pod("x", [{"name": "c", "image": "i"}], node_name="n", annotations={"other": "drop",
                                                                            "container.apparmor.security.beta.kubernetes.io/c": "localhost/y"},
            status={"phase": "Pending", "reason": "AppArmor", "message": "m", "podIP": "1.2.3.4",
                    "containerStatuses": [{"name": "c", "image": "i", "state": {"waiting": {"reason": "Blocked"}}}]})
    v = cn.placement_view(p)
    assert v["metadata"]["annotations"] == {"container.apparmor.security.beta.kubernetes.io/c": "localhost/y"}
    assert v["status"] == {"phase": "Pending", "reason": "AppArmor", "message": "m",
                           "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "Blocked"}}}]}


# --- placement ---------------------------------------------------------------------------------------------
def test_could_land():
    web = node("web-1", {"pool": "web", "zone": "a", "gpus": "4"})
    infra = node("infra-1", {"pool": "infra"}, taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}])
    cordoned = node("old-1", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}])
    soft = node("soft-1", taints=[{"key": "x", "effect": "PreferNoSchedule"}])
    win = node("win-1", os="windows")

    def lands(**spec):
        placement = cn.placement_of(spec)
        return [n["metadata"]["name"] for n in (web, infra, cordoned, soft, win) if cn.could_land(placement, n)]

    assert lands() == ["web-1", "old-1", "soft-1"]
    assert lands(nodeName="infra-1") == ["infra-1"]  # already there: taints do not matter
    assert lands(nodeSelector={"pool": "web"}) == ["web-1"]
    assert lands(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "infra"}]) == [
        "web-1", "infra-1", "old-1", "soft-1"]
    assert lands(tolerations=[{"key": "dedicated", "value": "other"}]) == ["web-1", "old-1", "soft-1"]
    assert lands(tolerations=[{"operator": "Exists"}], os={"name": "windows"}) == ["win-1"]
    required = lambda *terms: {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {  # noqa: E731
        "nodeSelectorTerms": list(terms)}}}
    assert lands(affinity=required({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]})) == [
        "web-1"]
    assert lands(affinity=required({"matchExpressions": [{"key": "pool", "operator": "DoesNotExist"}]},
                                   {"matchExpressions": [{"key": "gpus", "operator": "Gt", "values": ["2"]}]})) == [
        "web-1", "old-1", "soft-1"]
    assert lands(affinity=required({"matchFields": [{"key": "metadata.name", "operator": "In",
                                                     "values": ["soft-1"]}]})) == ["soft-1"]
    assert lands(affinity=required({})) == []  # an empty term matches nothing
    assert cn.placement_of({"nodeSelector": {"a": "b"}}).describe() == "nodeSelector a=b"


# --- blocked pods ----------------------------------------------------------------------------------------------
def test_blocked_pods():
    apparmor = pod("blocked", [{"name": "app", "securityContext": aa("k8s-missing")}], node_name="node-b",
                   status={"phase": "Pending", "reason": "AppArmor",
                           "message": 'Cannot enforce AppArmor: profile "k8s-missing" is not loaded',
                           "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "Blocked"}}}]})
    [b] = cn.blocked_containers(apparmor)
    assert (b.type, b.container, b.apparmor, b.node) == ("apparmor", None, "Localhost/k8s-missing", "node-b")
    assert b.evidence() == [("apparmor", "k8s-missing", "missing")]
    disabled = pod("old", [{"name": "app", "securityContext": aa("k8s-x")}], node_name="node-c",
                   status={"phase": "Pending", "reason": "AppArmor",
                           "message": "Cannot enforce AppArmor: AppArmor is not enabled on the host"})
    assert cn.blocked_containers(disabled)[0].evidence() == [("apparmor", None, "apparmor-disabled")]
    seccomp = pod("sc", [{"name": "app", "securityContext": sc("profiles/gone.json")}, {"name": "ok"}], node_name="node-a",
                  status={"phase": "Pending", "containerStatuses": [
                      {"name": "app", "state": {"waiting": {"reason": "CreateContainerError", "message": (
                          'failed to create containerd container: get seccomp profile "/var/lib/kubelet/seccomp/'
                          'profiles/gone.json": open /var/lib/kubelet/seccomp/profiles/gone.json: no such file or '
                          "directory")}}},
                      {"name": "ok", "state": {"running": {}},
                       "lastState": {"terminated": {"reason": "Error", "message": "seccomp said no once"}}}]})
    [b] = cn.blocked_containers(seccomp)
    assert (b.type, b.container, b.reason, b.seccomp) == ("seccomp", "app", "CreateContainerError",
                                                           "Localhost/profiles/gone.json")
    assert b.evidence() == [("seccomp", "profiles/gone.json", "missing")]
    assert cn.blocked_containers(pod("fine", [{"name": "c"}])) == []


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


def test_node_summary():
    s = cn.node_summary(node("n", taints=[{"key": "k", "effect": "NoSchedule"}]))
    assert s == {"name": "n", "ready": True, "kubeletVersion": "v1.30.2", "containerRuntime": "containerd://1.7.13",
                 "runtime": "containerd 1.7.13", "osImage": "Ubuntu 24.04.1 LTS", "kernelVersion": "6.8.0-49-generic",
                 "os": "linux", "apparmor": "enabled", "readyMessage": "kubelet is posting ready status. AppArmor enabled",
                 "unschedulable": False, "taints": [{"key": "k", "effect": "NoSchedule"}]}
    assert cn.node_summary(node("m", ready=False))["apparmor"] == "unknown"
