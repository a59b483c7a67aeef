"""Write a mixed API server audit log for benchmarks: 5% of the lines PodSecurity events.

Run: python benchmarks/gen_audit_log.py OUT [SIZE_MB]   (default 1024; add .gz to OUT for a gzip file)

Every event is shaped after the real ones in examples/audit-events.jsonl (a v1.24 API server's log):
- PodSecurity lines (5%): the real violating pods, the Deployment, the controller's ReplicaSet and the denied
  pod (80%), and compliant pods that carry only enforce-policy (20%, they pass the raw-line pre-filter too);
- other lines (95%): the real namespace create turned into what fills real logs: Metadata-level reads
  (get/list/watch of many resources by many users, ~70%) and Request-level writes with a body (lease and
  configmap updates, ~30%).
Names, users, namespaces and timestamps vary; the file is compact JSON lines as the API server writes them.
"""
from __future__ import annotations

import copy
import gzip
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "audit-events.jsonl"
PODSECURITY_SHARE = 0.05


def _dump(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))


def templates() -> tuple[list[str], list[str], list[str]]:
    """(PodSecurity violations, compliant PodSecurity, other) as JSON with {ID} {TS} {NS} {NAME} holes."""
    real = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    create_ns, _, compliant, root, deployment, replicaset, denied, sa_pod = real

    def holes(event: dict, name_from: str | None) -> str:
        text = _dump(event)
        text = text.replace(event["auditID"], "{ID}")
        for key in ("requestReceivedTimestamp", "stageTimestamp"):
            text = text.replace(event[key], "{TS}")
        text = text.replace("ae-demo", "{NS}")
        if name_from:
            text = text.replace(f'"{name_from}"', '"{NAME}"').replace(f'\\"{name_from}\\"', '\\"{NAME}\\"')
        return text.replace("{", "{{").replace("}", "}}").replace("{{ID}}", "{ID}").replace("{{TS}}", "{TS}") \
            .replace("{{NS}}", "{NS}").replace("{{NAME}}", "{NAME}")

    violating = [holes(root, "web-root"), holes(sa_pod, "job-runner"), holes(denied, "shell"),
                 holes(deployment, "agent"), holes(replicaset, "agent-6f7c6d5c98")]
    ok = [holes(compliant, "web-ok")]
    other = []
    for verb, resource, group, level in (("get", "configmaps", "", "Metadata"), ("list", "pods", "", "Metadata"),
                                         ("watch", "endpointslices", "discovery.k8s.io", "Metadata"),
                                         ("get", "secrets", "", "Metadata"), ("list", "nodes", "", "Metadata"),
                                         ("get", "leases", "coordination.k8s.io", "Metadata"),
                                         ("list", "services", "", "Metadata"),
                                         ("update", "leases", "coordination.k8s.io", "Request"),
                                         ("update", "configmaps", "", "Request"),
                                         ("patch", "nodes", "", "Request")):
        event = copy.deepcopy(create_ns)
        event.update(verb=verb, level=level)
        event["objectRef"] = {"resource": resource, "namespace": "ae-demo", "name": "obj-x", "apiGroup": group,
                              "apiVersion": "v1"}
        event["requestURI"] = f"/apis/{group}/v1/namespaces/ae-demo/{resource}/obj-x" if group else \
            f"/api/v1/namespaces/ae-demo/{resource}/obj-x"
        event["responseStatus"] = {"metadata": {}, "code": 200}
        if level == "Metadata":
            event.pop("requestObject", None)
        else:
            event["requestObject"] = {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
                                      "metadata": {"name": "obj-x", "namespace": "ae-demo", "resourceVersion": "12345",
                                                   "labels": {"app": "x", "tier": "control-plane"},
                                                   "annotations": {"note": "z" * 600}},
                                      "spec": {"holderIdentity": "node-1_" + "a" * 36, "leaseDurationSeconds": 15,
                                               "acquireTime": "2026-12-07T18:11:32.763642Z",
                                               "renewTime": "2026-12-07T18:11:32.763642Z", "leaseTransitions": 3},
                                      "data": {f"key{i}": "v" * 40 for i in range(12)}}
        other.append(holes(event, "obj-x"))
    return violating, ok, other


USERS = ["system:kube-controller-manager", "system:kube-scheduler", "system:node:worker-1",
         "system:serviceaccount:kube-system:coredns", "system:serviceaccount:monitoring:prometheus", "admin"]


def generate(out: Path, size_mb: int, seed: int = 1) -> int:
    violating, ok, other = templates()
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    target = size_mb * 1024 * 1024
    namespaces = [f"team-{i}" for i in range(40)]
    written = lines = 0
    opener = gzip.open if out.suffix == ".gz" else open
    with opener(out, "wt", encoding="utf-8") as f:
        while written < target:
            batch = []
            for _ in range(2000):
                lines += 1
                ts = (start + timedelta(seconds=lines * 0.05)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                ns = rng.choice(namespaces)
                r = rng.random()
                if r < PODSECURITY_SHARE * 0.8:
                    text = rng.choice(violating).format(ID=uuid.UUID(int=rng.getrandbits(128)), TS=ts, NS=ns,
                                                        NAME=f"w{rng.randrange(500)}")
                elif r < PODSECURITY_SHARE:
                    text = ok[0].format(ID=uuid.UUID(int=rng.getrandbits(128)), TS=ts, NS=ns, NAME=f"ok{rng.randrange(500)}")
                else:
                    text = rng.choice(other).format(ID=uuid.UUID(int=rng.getrandbits(128)), TS=ts, NS=ns,
                                                    NAME=f"o{rng.randrange(5000)}")
                    text = text.replace('"username":"lab-admin"', f'"username":"{rng.choice(USERS)}"', 1)
                batch.append(text)
            chunk = "\n".join(batch) + "\n"
            f.write(chunk)
            written += len(chunk)
    return lines


if __name__ == "__main__":
    out = Path(sys.argv[1])
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    n = generate(out, size)
    print(f"{out}: {n} lines, ~{size} MB uncompressed, {PODSECURITY_SHARE:.0%} PodSecurity events")
