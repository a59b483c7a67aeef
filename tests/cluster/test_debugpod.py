"""cluster/debugpod.py: a node debug pod is created, waited for, used and always deleted."""
from __future__ import annotations

import os
import signal

import pytest

from kubectl_pss.cluster import ConnectionOptions, connect
from kubectl_pss.cluster.debugpod import (
    CONTAINER,
    DebugPodError,
    DebugPodSpec,
    NodeDebugPod,
    Terminated,
    add_ephemeral_container,
    debug_pod_manifest,
    debug_pod_name,
    dns_label_part,
)
from kubectl_pss.cluster.exec import exec_argv
from tests.apiserver.runtime import FakeContainer, FakeNode


@pytest.fixture
def cluster(apiserver):
    apiserver.add_namespace("default")
    apiserver.runtime.add_node("node-a")
    apiserver.runtime.on_node("node-a", FakeNode(files={"/etc/hostname": "node-a\n"}))
    apiserver.runtime.start_delay = 0.02
    c = connect(ConnectionOptions(kubeconfig=str(apiserver.kubeconfig_path)))
    c.fake = apiserver
    return c


def events_of(log):
    return lambda event, pod: log.append((event, pod.name))


def test_manifest():
    name = debug_pod_name("pss-seccomp", "ip-10-0-0-1.eu-west-1.compute.internal")
    assert len(name) <= 63 and name.startswith("pss-seccomp-ip-10-0-0-1-eu-west-1")
    pod = debug_pod_manifest(name, "ops", "node-a", DebugPodSpec(image="registry.local/tools:1"))
    spec = pod["spec"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-pss"
    assert (spec["nodeName"], spec["hostPID"], spec["hostNetwork"], spec["hostIPC"]) == ("node-a", True, True, True)
    assert spec["tolerations"] == [{"operator": "Exists"}] and spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == 900 and spec["automountServiceAccountToken"] is False
    [c] = spec["containers"]
    assert (c["name"], c["image"], c["command"], c["securityContext"]) == (
        CONTAINER, "registry.local/tools:1", ["sleep", "900"], {"privileged": True})
    assert c["volumeMounts"] == [{"name": "host-root", "mountPath": "/host"}]
    assert spec["volumes"] == [{"name": "host-root", "hostPath": {"path": "/"}}]
    plain = debug_pod_manifest("x", "ops", "n", DebugPodSpec(privileged=False, host_pid=False, host_network=False,
                                                              host_ipc=False, host_root=None, tolerate_all=False))
    assert not {"hostPID", "hostNetwork", "volumes", "tolerations"} & set(plain["spec"])


def test_lifecycle(cluster):
    log = []
    with NodeDebugPod(cluster, "node-a", on_event=events_of(log), poll=0.01) as pod:
        assert cluster.fake.get_object("pods", "default", pod.name)["status"]["phase"] == "Running"
        result = pod.run_on_host(["cat", "/etc/hostname"])
        assert (result.exit_code, result.stdout_text) == (0, "node-a\n")
        assert pod.run(["sleep", "1"]).exit_code == 0
    assert log == [("created", pod.name), ("deleted", pod.name)]
    assert cluster.fake.runtime.pods_alive() == [] and pod.deleted
    # stricter since issue 12 item 5: after the DELETE, a GET until the server confirms NotFound
    [delete] = cluster.fake.requests_to(pod.path, method="DELETE")
    assert delete.query == {"gracePeriodSeconds": "0"}
    after = [r for r in cluster.fake.requests if r.path == pod.path][-2:]
    assert [r.method for r in after] == ["DELETE", "GET"]
    assert cluster.fake.get_object("pods", "default", pod.name) is None
    [create] = cluster.fake.requests_to("/api/v1/namespaces/default/pods", method="POST")
    assert create.json["spec"]["nodeName"] == "node-a"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_deleted_when_the_body_fails(cluster, exc):
    with pytest.raises(type(exc)):
        with NodeDebugPod(cluster, "node-a", poll=0.01) as pod:
            raise exc
    assert pod.deleted and cluster.fake.runtime.pods_alive() == []


def test_sigterm_raises_and_cleans_up(cluster):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as info:
        with NodeDebugPod(cluster, "node-a", poll=0.01):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs at the next bytecode
                pass
    assert info.value.signum == signal.SIGTERM
    assert cluster.fake.runtime.pods_alive() == [] and signal.getsignal(signal.SIGTERM) is before


def test_signal_during_cleanup_waits_for_the_delete(cluster):
    class Interrupting:
        def __init__(self, inner):
            self.inner, self.namespace = inner, inner.namespace

        def request(self, method, path, **kwargs):
            if method == "DELETE":
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again, while deleting
            return self.inner.request(method, path, **kwargs)

        def websocket_settings(self):
            return self.inner.websocket_settings()

    with pytest.raises(KeyboardInterrupt):
        with NodeDebugPod(Interrupting(cluster), "node-a", poll=0.01) as pod:
            pass
    assert pod.deleted and cluster.fake.runtime.pods_alive() == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_image_pull_failure_fails_fast_and_cleans_up(cluster):
    cluster.fake.runtime.start_state = {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nope"'}}
    with pytest.raises(DebugPodError, match="ImagePullBackOff"):
        with NodeDebugPod(cluster, "node-a", image="nope", poll=0.01):
            pass
    assert cluster.fake.runtime.pods_alive() == [] and len(cluster.fake.runtime.deleted) == 1


def test_start_timeout_cleans_up(cluster):
    cluster.fake.runtime.start_delay = 30
    with pytest.raises(DebugPodError, match="not running after 0.1 s"):
        with NodeDebugPod(cluster, "node-a", start_timeout=0.1, poll=0.01):
            pass
    assert cluster.fake.runtime.pods_alive() == []


def test_rbac_forbidden_create_sends_no_delete(cluster):
    cluster.fake.forbid("pods", namespace="default", verbs=["create"])
    log = []
    with pytest.raises(DebugPodError) as info:
        with NodeDebugPod(cluster, "node-a", on_event=events_of(log)):
            pass
    assert info.value.status == 403 and "privileged: pick a namespace" in str(info.value)
    assert log == [] and not [r for r in cluster.fake.requests if r.method == "DELETE"]


def test_pod_security_rejection(cluster):
    cluster.fake.runtime.admit = lambda pod: ('violates PodSecurity "baseline:latest": host namespaces '
                                              "(hostNetwork=true, hostPID=true, hostIPC=true), privileged")
    with pytest.raises(DebugPodError, match='violates PodSecurity "baseline:latest"'):
        with NodeDebugPod(cluster, "node-a"):
            pass


def test_delete_failure_is_reported_not_raised(cluster):
    log = []
    # the 503s last past the bound: the deletion is retried (stricter rule, issue 12 item 5) and then failed
    with NodeDebugPod(cluster, "node-a", on_event=events_of(log), poll=0.01, gone_timeout=0.5) as pod:
        cluster.fake.fail(pod.path, 503, times=10_000, methods=["DELETE"])
        cluster._sleep = lambda s: None
    assert log[-1] == ("delete-failed", pod.name) and not pod.deleted and "503" in pod.delete_error
    assert len(cluster.fake.requests_to(pod.path, method="DELETE")) > 1
    cluster.fake.allow_all()


def test_deleted_only_once_the_server_says_not_found(cluster):
    """A DELETE answered 200 is not yet gone: GETs follow (and DELETEs again) until 404."""
    log = []
    with NodeDebugPod(cluster, "node-a", on_event=events_of(log), poll=0.01) as pod:
        # the pod stays (terminating) for the first 3 DELETEs: the fake server answers them 200 without removing it
        cluster.fake.runtime.linger_deletes[pod.name] = 3
    assert log[-1] == ("deleted", pod.name) and pod.deleted
    calls = [(r.method) for r in cluster.fake.requests if r.path == pod.path and r.method in ("DELETE", "GET")]
    tail = calls[calls.index("DELETE"):]
    assert tail == ["DELETE", "GET"] * 4 and cluster.fake.runtime.pods_alive() == []


def test_pod_that_never_goes_is_a_delete_failure(cluster):
    log = []
    with NodeDebugPod(cluster, "node-a", on_event=events_of(log), poll=0.01, gone_timeout=0.3) as pod:
        cluster.fake.runtime.linger_deletes[pod.name] = 10_000
    assert log[-1] == ("delete-failed", pod.name) and not pod.deleted
    assert "still there" in pod.delete_error
    cluster.fake.runtime.linger_deletes.clear()
    cluster.fake.runtime._delete("default", pod.name)


def test_interrupted_create_is_still_deleted(cluster):
    class LosesAnswer:
        namespace = "default"

        def request(self, method, path, **kwargs):
            result = cluster.request(method, path, **kwargs)
            if method == "POST":
                raise KeyboardInterrupt  # the pod exists, the answer never arrived
            return result

    with pytest.raises(KeyboardInterrupt):
        with NodeDebugPod(LosesAnswer(), "node-a"):
            pass
    assert cluster.fake.runtime.pods_alive() == [] and len(cluster.fake.runtime.deleted) == 1


def test_ephemeral_container(cluster):
    fake = cluster.fake
    fake.add_namespace("apps")
    fake.runtime.add_pod("apps", "distroless", [{"name": "app"}],
                         handlers={"app": FakeContainer({"/proc/1/attr/current": "k8s-x (enforce)\n"}, commands=())})
    name = add_ephemeral_container(cluster, "apps", "distroless", "app", image="busybox:1.36", poll=0.01)
    [patch] = fake.requests_to("/api/v1/namespaces/apps/pods/distroless/ephemeralcontainers", method="PATCH")
    assert patch.header("Content-Type") == "application/strategic-merge-patch+json"
    [spec] = patch.json["spec"]["ephemeralContainers"]
    assert (spec["name"], spec["targetContainerName"], spec["image"]) == (name, "app", "busybox:1.36")
    result = exec_argv(cluster, "apps", "distroless", name, ["cat", "/proc/1/attr/current"])
    assert result.stdout_text == "k8s-x (enforce)\n"
    fake.forbid("pods/ephemeralcontainers", namespace="apps")
    with pytest.raises(DebugPodError) as info:
        add_ephemeral_container(cluster, "apps", "distroless", "app")
    assert info.value.status == 403


def test_dns_label_part():
    assert dns_label_part("Node_A.example.com", 30) == "node-a-example-com"
    assert dns_label_part("---", 5) == "x"


@pytest.mark.parametrize("node", ["node-a", "IP-10-0-0-1.EU-WEST-1.compute.internal", "x" * 300, "--weird__node--"])
def test_client_chosen_name_and_run_labels(node):
    from kubectl_pss.cluster.debugpod import RUN_ID, RUN_LABEL
    from tests.signals import DNS_1123_LABEL

    names = {debug_pod_name("pss-nodes", node) for _ in range(20)}
    assert len(names) > 1  # a random part chosen here, no generateName
    for name in names:
        assert DNS_1123_LABEL.fullmatch(name) and len(name) <= 63 and name.startswith("pss-nodes-")
    metadata = debug_pod_manifest(name, "ops", node, DebugPodSpec())["metadata"]
    assert metadata["name"] == name and "generateName" not in metadata
    assert metadata["labels"]["app.kubernetes.io/managed-by"] == "kubectl-pss"
    assert metadata["labels"][RUN_LABEL] == RUN_ID and DNS_1123_LABEL.fullmatch(RUN_ID) and len(RUN_ID) <= 63
