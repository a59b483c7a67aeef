"""Fill a FakeApiServer with N namespaces x M pods of realistic shape (for benchmarks and big tests).

Pods are owned by ReplicaSets owned by Deployments (ownerReferences with controller=true and real
uids); each pod has a kube-api-access projected volume, tolerations, managedFields and a status with
conditions and containerStatuses, so a pod serialises to ~5 KB like on a real cluster.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from .server import FakeApiServer

_ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName alphabet


@dataclass
class Populated:
    namespaces: int
    deployments: int
    replicasets: int
    pods: int


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def _container(name: str, image: str, variant: int) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": image,
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "initialDelaySeconds": 10,
                          "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1,
                           "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    # a mix of postures, so audits have something to find
    if variant == 0:  # restricted-compliant
        c["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    elif variant == 1:  # baseline only
        c["securityContext"] = {"runAsUser": 1000}
    elif variant == 2:  # privileged
        c["securityContext"] = {"privileged": True, "capabilities": {"add": ["NET_ADMIN"]}}
    return c


def _pod_spec(rng: random.Random, app: str, variant: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [_container(app, f"registry.example.com/{app}:1.{variant}.{rng.randrange(20)}", variant)],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "securityContext": {},
        "schedulerName": "default-scheduler",
    }
    if variant == 0:
        spec["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if variant == 2:
        spec["hostNetwork"] = True
        spec["volumes"] = [{"name": "host-run", "hostPath": {"path": "/run", "type": "Directory"}}]
    return spec


def _managed_fields(manager: str, time: str) -> list[dict]:
    return [{"manager": manager, "operation": "Update", "apiVersion": "v1", "time": time, "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {},
                                                                            "f:pod-template-hash": {}},
                                         "f:ownerReferences": {".": {}, "k:{\"uid\":\"...\"}": {}}},
                          "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {},
                                                                                  "f:name": {}}}}}}]


def populate(server: FakeApiServer, namespaces: int, pods_per_namespace: int, *, pods_per_replicaset: int = 4,
             seed: int = 0, prefix: str = "team", labelled_fraction: float = 0.3) -> Populated:
    """Add ``namespaces`` namespaces, each with ``pods_per_namespace`` pods split into Deployments of
    ``pods_per_replicaset`` replicas (one current ReplicaSet each, plus an old scaled-down one)."""
    rng = random.Random(seed)
    time = "2026-11-29T23:17:30Z"
    deployments: list[dict] = []
    replicasets: list[dict] = []
    pods: list[dict] = []
    for n in range(namespaces):
        ns = f"{prefix}-{n:05d}"
        labels: dict[str, str] = {"team": f"t{n % 17}", "env": ("prod", "staging", "dev")[n % 3]}
        if rng.random() < labelled_fraction:
            labels["pod-security.kubernetes.io/enforce"] = rng.choice(["baseline", "restricted", "privileged"])
            labels["pod-security.kubernetes.io/warn"] = "restricted"
        server.add_namespace(ns, labels)
        remaining = pods_per_namespace
        d = 0
        while remaining > 0:
            replicas = min(pods_per_replicaset, remaining)
            remaining -= replicas
            app = f"svc-{d}"
            variant = rng.randrange(4)
            template = {"metadata": {"labels": {"app": app}}, "spec": _pod_spec(rng, app, variant)}
            dep_uid = _uid(rng)
            deployments.append({
                "metadata": {"name": app, "namespace": ns, "uid": dep_uid, "generation": 3, "creationTimestamp": time,
                             "labels": {"app": app}, "annotations": {"deployment.kubernetes.io/revision": "2"},
                             "managedFields": _managed_fields("kubectl-client-side-apply", time)},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}, "template": template,
                         "strategy": {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                         "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
                "status": {"observedGeneration": 3, "replicas": replicas, "updatedReplicas": replicas,
                           "readyReplicas": replicas, "availableReplicas": replicas,
                           "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": time,
                                           "lastTransitionTime": time, "reason": "MinimumReplicasAvailable",
                                           "message": "Deployment has minimum availability."}]},
            })
            dep_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": dep_uid,
                       "controller": True, "blockOwnerDeletion": True}
            for revision, count in ((1, 0), (2, replicas)):
                pod_hash = _suffix(rng, 10)
                rs_name = f"{app}-{pod_hash}"
                rs_uid = _uid(rng)
                rs_template = {"metadata": {"labels": {"app": app, "pod-template-hash": pod_hash}},
                               "spec": template["spec"]}
                replicasets.append({
                    "metadata": {"name": rs_name, "namespace": ns, "uid": rs_uid, "creationTimestamp": time,
                                 "labels": {"app": app, "pod-template-hash": pod_hash},
                                 "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                                 "deployment.kubernetes.io/revision": str(revision)},
                                 "ownerReferences": [dep_ref], "generation": revision},
                    "spec": {"replicas": count, "selector": {"matchLabels": {"app": app,
                                                                              "pod-template-hash": pod_hash}},
                             "template": rs_template},
                    "status": {"replicas": count, "fullyLabeledReplicas": count, "readyReplicas": count,
                               "availableReplicas": count, "observedGeneration": revision},
                })
                rs_ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid,
                          "controller": True, "blockOwnerDeletion": True}
                for _ in range(count):
                    pods.append(_pod(rng, ns, rs_name, app, pod_hash, rs_ref, rs_template["spec"], time))
            d += 1
    server.add_many("deployments", deployments)
    server.add_many("replicasets", replicasets)
    server.add_many("pods", pods)
    return Populated(namespaces, len(deployments), len(replicasets), len(pods))


def _pod(rng: random.Random, ns: str, rs_name: str, app: str, pod_hash: str, owner: dict, template_spec: dict,
         time: str) -> dict:
    name = f"{rs_name}-{_suffix(rng, 5)}"
    vol = f"kube-api-access-{_suffix(rng, 5)}"
    spec = dict(template_spec)
    spec["volumes"] = list(template_spec.get("volumes", [])) + [{"name": vol, "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                       "fieldPath": "metadata.namespace"}}]}}],
        "defaultMode": 420}}]
    spec["containers"] = [dict(c, volumeMounts=[{"name": vol, "readOnly": True,
                                                 "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}])
                          for c in template_spec["containers"]]
    node = f"node-{rng.randrange(50):03d}"
    spec.update({
        "nodeName": node,
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300},
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300}],
        "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
    })
    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return {
        "metadata": {
            "name": name, "generateName": f"{rs_name}-", "namespace": ns, "uid": _uid(rng),
            "creationTimestamp": time, "labels": {"app": app, "pod-template-hash": pod_hash},
            "ownerReferences": [owner], "managedFields": _managed_fields("kube-controller-manager", time),
        },
        "spec": spec,
        "status": {
            "phase": "Running", "hostIP": f"192.168.{rng.randrange(4)}.{rng.randrange(1, 255)}", "podIP": ip,
            "podIPs": [{"ip": ip}], "startTime": time, "qosClass": "Burstable",
            "conditions": [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": time}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{
                "name": c["name"], "state": {"running": {"startedAt": time}}, "lastState": {}, "ready": True,
                "restartCount": 0, "image": c["image"], "imageID": f"{c['image']}@sha256:{rng.getrandbits(256):064x}",
                "containerID": f"containerd://{rng.getrandbits(256):064x}", "started": True,
            } for c in spec["containers"]],
        },
    }
