"""Issue 17: ``verify-apparmor/verify-seccomp --node-inspect`` take the truth from the node (crictl's
``.info.pid``, the host's ``/proc/PID/...`` in one exec per node), not from what the image says."""
from __future__ import annotations

import json

from tests.apiserver.runtime import FakeContainer
from tests.commands.test_verify import RD, SECCOMP_ROOT, box, by_pod, lab, status, verify  # noqa: F401 (fixture)

LIE = RD  # what the liar's cat prints: containerd's profile in enforce mode


def liar(lab):
    """web/nginx's process really runs unconfined with no seccomp filter; its image's cat says otherwise."""
    node = lab.node_a
    cid = lab.runtime.container_id("apps", "web", "nginx")
    pid = node.containers[cid]["info"]["pid"]
    node.files[f"/proc/{pid}/attr/current"] = "unconfined\n"
    node.files[f"/proc/{pid}/status"] = status(0)
    del node.containers[cid]["info"]["runtimeSpec"]["process"]["apparmorProfile"]
    return pid


def test_apparmor_liar_is_judged_by_the_node(run_cli, lab):
    liar(lab)
    code, report, err = verify(run_cli, lab, "verify-apparmor", "web", "--node-inspect")
    [web] = report["containers"]
    assert code == 1 and web["actualSource"] == "node" and web["verdict"] == "mismatch", web
    assert web["actual"] == {"profile": "unconfined", "mode": None} and web["reason"] == "runtime-no-profile"
    assert report["summary"]["execDisagrees"] == 0  # exec was not run (default)
    assert lab.runtime.pods_alive() == [] and [p["deleted"] for p in report["debugPods"]] == [True]
    # the same container through exec only: the forged answer
    code, plain, _ = verify(run_cli, lab, "verify-apparmor", "web")
    assert plain["containers"][0]["verdict"] == "match" and plain["containers"][0]["actualSource"] == "exec"


def test_compare_exec_flags_the_liar(run_cli, lab):
    liar(lab)
    code, report, err = verify(run_cli, lab, "verify-apparmor", "web", "plain", "--node-inspect", "--compare-exec")
    c = by_pod(report)
    assert code == 1 and "exec-disagrees" in c["web/nginx"]["flags"] and report["summary"]["execDisagrees"] == 1
    assert any("the image reports something else than it runs" in n for n in c["web/nginx"]["notes"])
    assert "exec-disagrees" not in c["plain"]["flags"]
    code, report, err = verify(run_cli, lab, "verify-seccomp", "web", "--node-inspect", "--compare-exec")
    [web] = report["containers"]
    assert web["quick"] == {"mode": "disabled", "filters": 0} and "exec-disagrees" in web["flags"], web


def test_compare_exec_needs_node_inspect(run_cli, lab):
    code, out, err = run_cli("verify-apparmor", "--compare-exec", "--kubeconfig", str(lab.kubeconfig_path))
    assert code == 2 and err.strip() == "error: --compare-exec needs --node-inspect"


def test_one_exec_per_node_with_the_pids_as_arguments(run_cli, lab):
    code, report, err = verify(run_cli, lab, "verify-apparmor", "--node-inspect")
    scripts = [c for c in lab.node_a.calls if c[2:4] == ["sh", "-c"]]
    assert len(scripts) == 1
    from kubectl_pss.operations.hostproc import PROC_SCRIPT
    [argv] = scripts
    pids = {str(c["info"]["pid"]) for c in lab.node_a.containers.values()}
    assert argv[4] == PROC_SCRIPT and set(argv[7:]) == pids and all(p not in PROC_SCRIPT for p in pids)
    assert not [e for e in lab.runtime.execs if e.pod not in {p["name"] for p in report["debugPods"]}]  # no exec


def test_image_without_cat_is_judged_from_the_node(run_cli, lab):
    code, report, err = verify(run_cli, lab, "verify-apparmor", "distroless", "--node-inspect")
    [c] = report["containers"]
    assert c["verdict"] == "match" and c["actualSource"] == "node" and report["ephemeralContainers"] == []
    code, report, err = verify(run_cli, lab, "verify-seccomp", "distroless", "--node-inspect")
    [c] = report["containers"]
    assert (c["verdict"], c["actualSource"], c["quick"]) == ("match", "node", {"mode": "filter", "filters": 1})


def test_container_not_running_on_the_node_is_unverifiable(run_cli, lab):
    del lab.node_a.containers[lab.runtime.container_id("apps", "plain", "app")]  # crictl: NotFound (restarting)
    code, report, err = verify(run_cli, lab, "verify-apparmor", "plain", "web", "--node-inspect")
    c = by_pod(report)
    assert (c["plain"]["verdict"], c["plain"]["reason"]) == ("unverifiable", "not-running")
    assert c["web/nginx"]["verdict"] == "match"
    lab.node_a.files.pop(f"/proc/{liar(lab)}/status")  # its process is gone between crictl and /proc
    code, report, err = verify(run_cli, lab, "verify-seccomp", "web", "--node-inspect")
    assert (report["containers"][0]["verdict"], report["containers"][0]["reason"]) == ("unverifiable", "not-running")


def test_k0s_root_dir_and_seccomp_default_from_the_kubelet(run_cli, lab):
    k0s = "/var/lib/k0s/kubelet/seccomp"
    for name in ("nginx.json", "drift.json"):
        lab.node_a.files[f"{k0s}/profiles/{name}"] = lab.node_a.files.pop(f"{SECCOMP_ROOT}/profiles/{name}")
    lab.node_a.processes[900] = ["/usr/local/bin/kubelet", "--root-dir=/var/lib/k0s/kubelet", "--seccomp-default"]
    code, report, err = verify(run_cli, lab, "verify-seccomp", "local", "--node-inspect")
    assert report["containers"][0]["verdict"] == "match", report["containers"][0]
    [node] = report["nodes"]
    assert (node["seccompRoot"], node["seccompRootSource"]) == (k0s, "kubelet --root-dir")
    assert (node["seccompDefault"], node["seccompDefaultSource"]) == ("on", "flag --seccomp-default")
    # --seccomp-root wins, and says so
    code, report, err = verify(run_cli, lab, "verify-seccomp", "local", "--node-inspect", "--seccomp-root", SECCOMP_ROOT)
    assert report["containers"][0]["reason"] == "profile-file-missing"
    assert report["nodes"][0]["seccompRootSource"] == "flag --seccomp-root"


def test_verify_skips_a_node_whose_kubelet_does_not_answer(run_cli, lab):
    node = lab._stores["nodes"].get("", "node-b") or lab._stores["nodes"].get(None, "node-b")
    node["status"]["conditions"][0].update(status="Unknown", reason="NodeStatusUnknown")
    code, report, err = verify(run_cli, lab, "verify-seccomp", "crio-web", "web", "--node-inspect")
    assert {p["node"] for p in report["debugPods"]} == {"node-a"}
    assert any(n.startswith("node node-b: the node's kubelet does not answer (Ready Unknown)") for n in report["notes"])
    assert by_pod(report)["crio-web"]["actualSource"] == "exec"  # read through exec instead, said so


def test_table_says_where_the_truth_came_from(run_cli, lab):
    liar(lab)
    code, out, err = run_cli("verify-apparmor", "web", "--node-inspect", "--compare-exec", "--no-color",
                             "--kubeconfig", str(lab.kubeconfig_path))
    header = next(line for line in out.splitlines() if line.startswith("NAMESPACE") or line.startswith("namespace"))
    assert "SOURCE" in header.upper()
    row = next(line for line in out.splitlines() if line.startswith("apps"))
    assert " node " in row and "exec-disagrees" in row and "mismatch" in row
    assert out.rstrip().splitlines()[-1].endswith("1 exec-disagrees") or "1 exec-disagrees" in out
