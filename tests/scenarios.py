"""Scenario clusters for end-to-end command tests, loaded into a FakeApiServer."""
from __future__ import annotations

from tests.apiserver import FakeApiServer

PSA = "pod-security.kubernetes.io/"

RESTRICTED_SPEC = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "image": "registry.example/app:1",
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
}
BASELINE_SPEC = {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}
ROOT_SPEC = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "api", "image": "registry.example/api:1",
                    "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
}
PRIVILEGED_SPEC = {"hostNetwork": True,
                   "containers": [{"name": "agent", "image": "agent:1", "securityContext": {"privileged": True}}]}
HOSTPATH_SPEC = {"containers": [{"name": "db", "image": "postgres:17"}],
                 "volumes": [{"name": "data", "hostPath": {"path": "/srv/db"}}]}

ADMISSION_CONFIG = """\
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      enforce-version: latest
      audit: restricted
      audit-version: latest
      warn: restricted
      warn-version: latest
    exemptions:
      usernames: []
      runtimeClasses: [kata]
      namespaces: [kube-system]
"""


def controller(kind: str, obj: dict) -> dict:
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    return {"apiVersion": api, "kind": kind, "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def deployment(server: FakeApiServer, namespace: str, name: str, spec: dict, replicas: int) -> list[dict]:
    """A Deployment, its ReplicaSet and ``replicas`` pods, linked by controller references."""
    template = {"metadata": {"labels": {"app": name}}, "spec": spec}
    deploy = server.add({"kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
                         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template}})
    rs = server.add({"kind": "ReplicaSet",
                     "metadata": {"name": f"{name}-7d4b9", "namespace": namespace, "ownerReferences": [controller("Deployment", deploy)]},
                     "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template}})
    return [server.add_pod(namespace, f"{name}-7d4b9-{suffix}", spec, owner=controller("ReplicaSet", rs))
            for suffix in ("x2k4p", "b8m1z", "q9w3r")[:replicas]]


def load_mixed_cluster(server: FakeApiServer) -> None:
    """Namespaces at every level, an enforced namespace with old violators, idle workloads, exemptions."""
    server.version = {"major": "1", "minor": "34", "gitVersion": "v1.34.2"}
    server.add_namespace("default")
    server.add_pod("default", "nginx", BASELINE_SPEC)
    server.add_namespace("good", {PSA + "enforce": "restricted"})
    deployment(server, "good", "web", RESTRICTED_SPEC, 2)
    # admitted before the restricted label: runs as root
    server.add_namespace("prod", {PSA + "enforce": "restricted", PSA + "enforce-version": "v1.30"})
    deployment(server, "prod", "api", ROOT_SPEC, 3)
    server.add_namespace("batch", {PSA + "warn": "restricted"})
    deployment(server, "batch", "db", HOSTPATH_SPEC, 0)  # scaled to zero: only its template speaks
    server.add({"kind": "CronJob", "metadata": {"name": "nightly", "namespace": "batch"},
                "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": BASELINE_SPEC}}}}})
    server.add_namespace("kube-system")
    server.add_pod("kube-system", "etcd-node1", PRIVILEGED_SPEC,
                   owner={"apiVersion": "v1", "kind": "Node", "name": "node1", "uid": "n1", "controller": True})
    server.add_namespace("sandbox")
    server.add_pod("sandbox", "vm", dict(PRIVILEGED_SPEC, runtimeClassName="kata"))
    server.add_pod("sandbox", "plain", RESTRICTED_SPEC)


UNCONFINED_SPEC = {"hostNetwork": True, "containers": [
    {"name": "app", "image": "app:1", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}
HOSTNET_SPEC = {"hostNetwork": True, "containers": [{"name": "app", "image": "app:1"}]}


def load_unconfined_1_24(server: FakeApiServer) -> None:
    """A recorded v1.24 server (PodSecurity without check overrides) answering dry runs itself, and namespace
    "mixed": three pods with an explicit Unconfined seccomp profile and host networking, two with host
    networking only, one restricted pod."""
    from tests.apiserver import load_recording
    from tests.apiserver.podsecurity import warnings_hook

    server.version = load_recording("version")["response"]["body"]
    server.namespace_patch_warnings = warnings_hook(server)
    server.add_namespace("mixed")
    server.add_pod("mixed", "a-good", RESTRICTED_SPEC)
    for name in ("p-mixed", "p-mixed-2", "p-mixed-3"):
        server.add_pod("mixed", name, UNCONFINED_SPEC)
    for name in ("p-plain-1", "p-plain-2"):
        server.add_pod("mixed", name, HOSTNET_SPEC)
