"""confinement/nodes/host.py: a node's summary, and parsing what its debug pod reads."""
from __future__ import annotations

import io
import json

import pytest

from kubectl_pss.confinement import nodes as cn
from tests.confinement.nodes.objects import NGINX, node, pod, sha, tar_of


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


def test_node_summary():
    s = cn.node_summary(node("n", taints=[{"key": "k", "effect": "NoSchedule"}]))
    assert s == {"name": "n", "ready": True, "kubeletVersion": "v1.30.2", "containerRuntime": "containerd://1.7.13",
                 "runtime": "containerd 1.7.13", "osImage": "Ubuntu 24.04.1 LTS", "kernelVersion": "6.8.0-49-generic",
                 "os": "linux", "apparmor": "enabled", "readyMessage": "kubelet is posting ready status. AppArmor enabled",
                 "unschedulable": False, "taints": [{"key": "k", "effect": "NoSchedule"}]}
    assert cn.node_summary(node("m", ready=False))["apparmor"] == "unknown"
