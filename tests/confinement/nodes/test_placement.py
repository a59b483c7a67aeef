"""confinement/nodes/placement.py: profile references, where pods could land, blocked pods."""
from __future__ import annotations

import io
import json

from kubectl_pss.confinement import nodes as cn
from tests.confinement.nodes.objects import aa, deployment, node, pod, sc


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
