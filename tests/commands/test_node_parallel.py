"""Issue 17: many nodes, ``--parallel N`` debug pods at once, and the same clean-up guarantee: a real
process, a real SIGINT while 4 debug pods are alive, and none left afterwards."""
from __future__ import annotations

import signal
import time

import pytest

from tests.apiserver.runtime import FakeNode
from tests.signals import start

NODES = 50


@pytest.fixture
def fleet(apiserver, make_kubeconfig):
    server, rt = apiserver, apiserver.runtime
    rt.start_delay = 0.02
    server.add_namespace("ops")
    node = FakeNode(files={"/sys/module/apparmor/parameters/enabled": "Y\n"})
    server.exec_delay = 0.3
    server.most_alive = 0
    server.in_exec: set = set()  # debug pods with an exec running

    def slow(call):  # a node that takes its time: the debug pods stay alive a while
        server.most_alive = max(server.most_alive, len(rt.pods_alive()))
        server.in_exec.add(f"{call.namespace}/{call.pod}")
        time.sleep(server.exec_delay)
        return node(call)

    for i in range(NODES):
        rt.add_node(f"node-{i:02d}")
        rt.on_node(f"node-{i:02d}", slow)
    server.kubeconfig_path = make_kubeconfig([server.context("fleet", namespace="ops")], "fleet", name="fleet-config")
    return server


def test_sigint_with_four_debug_pods_alive_deletes_all_four(fleet):
    proc = start("nodes", "--node-inspect", "--parallel", "4", "--kubeconfig", str(fleet.kubeconfig_path))
    deadline = time.monotonic() + 60
    while len(set(fleet.runtime.pods_alive()) & fleet.in_exec) < 4:  # 4 alive, each busy in an exec
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    alive = list(fleet.runtime.pods_alive())
    fleet.exec_delay = 4  # the nodes' next answers are slow: the workers are busy; the main thread deletes
    proc.send_signal(signal.SIGINT)
    gone_by = time.monotonic() + 3
    while fleet.runtime.pods_alive() and time.monotonic() < gone_by:
        time.sleep(0.02)
    assert fleet.runtime.pods_alive() == []  # at once, not when the workers are through
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130 and err.endswith("error: interrupted\n"), err
    assert len(alive) == 4 and fleet.runtime.pods_alive() == []
    created = set(fleet.runtime.created)
    assert created and created == set(fleet.runtime.deleted)
    assert len(created) < NODES  # it stopped: the other nodes were never started
    for ns, name in created:
        assert f"deleted debug pod {ns}/{name}" in err


def test_parallel_must_be_positive(run_cli, fleet):
    code, out, err = run_cli("nodes", "--node-inspect", "--parallel", "0", "--kubeconfig", str(fleet.kubeconfig_path))
    assert code == 2 and err.strip() == 'error: invalid --parallel "0": it must be at least 1'


def test_fifty_nodes_four_at_a_time(run_cli, fleet):
    fleet.exec_delay = 0.01
    code, out, err = run_cli("nodes", "--node-inspect", "--kubeconfig", str(fleet.kubeconfig_path), "-o", "json")
    import json

    report = json.loads(out)
    assert [p["node"] for p in report["debugPods"]] == [f"node-{i:02d}" for i in range(NODES)]  # nodes' order
    assert all(p["deleted"] for p in report["debugPods"]) and fleet.runtime.pods_alive() == []
    assert all(n["inspection"]["status"] != "failed" for n in report["nodes"])
    assert 2 <= fleet.most_alive <= 4  # concurrent, and bounded
