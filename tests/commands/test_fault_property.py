"""Property (issue 12): for random fault plans over a random small cluster, ``audit`` and ``simulate``
never call a namespace complete unless every list it needs was read to the end, and ``label --yes``
never changes a namespace that was not.

A seeded random loop (reproducible: the failing seed and plan are in the assertion message), bounded
in time. The oracle is the fake API server's own record of what it answered: a list was read to the
end for namespace NS if the server sent the real last page of it (cluster-wide or in NS) unaltered, or
a 404 for a workload kind (the rule of ``ClusterState.incomplete``: a kind the server does not serve).
"""
from __future__ import annotations

import json
import random
import time

import pytest

from kubectl_pss.cli import main
from kubectl_pss.cluster import client as client_mod
from kubectl_pss.cluster import inventory as inventory_mod
from kubectl_pss.cluster.inventory import RESOURCES
from tests.apiserver import FakeApiServer, write_kubeconfig
from tests.apiserver.server import FOREVER
from tests.scenarios import BASELINE_SPEC, PRIVILEGED_SPEC, RESTRICTED_SPEC

BUDGET = 10.0  # seconds for the loop, once MIN_CASES have run
MIN_CASES = 20
MAX_CASES = 60
FAULTS = [403, 404, 410, 429, 500, 503, "html", "empty", "array", "object", "truncated", "reset", "drop", "stall"]


def random_cluster(rng: random.Random, server: FakeApiServer) -> list[str]:
    names = [f"ns-{i}" for i in range(rng.randint(1, 4))]
    for name in names:
        server.add_namespace(name)
        for j in range(rng.randint(0, 5)):  # pages of 2: faults on page 2 and 410s on a continue happen
            spec = rng.choice([RESTRICTED_SPEC, RESTRICTED_SPEC, BASELINE_SPEC, PRIVILEGED_SPEC])
            server.add_pod(name, f"p{j}", spec)
        if rng.random() < 0.4:
            server.add({"kind": "Deployment", "metadata": {"name": "web", "namespace": name},
                        "spec": {"template": {"metadata": {}, "spec": rng.choice([RESTRICTED_SPEC, BASELINE_SPEC])}}})
    return names


def random_plan(rng: random.Random, names: list[str], first: int | str) -> list[dict]:
    """1-3 faults, the first of kind ``first``: on the namespace list (rarely: it ends the command), on a
    cluster-wide list, or on one namespace's list (then mostly with the cluster-wide list forbidden, so
    that the per-namespace one is read)."""
    plan = []
    kinds = [first]

    def fault(path: str, exact: bool, kind: int | str) -> dict:
        return {"path": path, "exact": exact, "fault": kind, "times": rng.choice([1, 2, FOREVER, FOREVER]),
                "page": rng.choice([None, None, 1, 2])}

    kinds += [rng.choice(FAULTS) for _ in range(rng.choice([0, 0, 1, 1, 2]))]
    for kind in kinds:
        res = rng.choice(list(RESOURCES[:1]) * 4 + list(RESOURCES))  # pods most often
        where = rng.random()
        if where < 0.05:
            plan.append(fault("/api/v1/namespaces", True, kind))
        elif where < 0.5:
            plan.append(fault(res.path(), True, kind))
        else:
            if rng.random() < 0.7:
                plan.append(dict(fault(res.path(), True, 403), times=FOREVER, page=None))
            plan.append(fault(res.path(rng.choice(names)), False, kind))
    return plan


def install(server: FakeApiServer, plan: list[dict]) -> None:
    server._faults.clear()
    for f in plan:
        server.inject(f["path"], f["fault"], times=f["times"], page=f["page"], exact=f["exact"], methods=["GET"],
                      retry_after=0 if f["fault"] == 429 else None, delay=0.05)
    server.clear_requests()


def fully_read(server: FakeApiServer, names: list[str]) -> set[str]:
    """The namespaces every list was read to the end for, by what the server answered."""
    gets = [r for r in server.requests if r.method == "GET"]

    def read(res, ns: str) -> bool:
        paths = (res.path(), res.path(ns))
        return any(r.path in paths and (r.read_to_the_end or (r.reply is not None and r.reply.status == 404
                                                               and res.name != "pods")) for r in gets)

    listed = any(r.path == "/api/v1/namespaces" and r.read_to_the_end for r in gets)
    return {ns for ns in names if listed and all(read(res, ns) for res in RESOURCES)}


def run(capsys, kubeconfig, *argv) -> tuple[int, dict | None]:
    code = main([*argv, "--kubeconfig", str(kubeconfig), "-o", "json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out) if out else None


def check_case(capsys, tmp_path, seed: int, stats: dict) -> None:
    rng = random.Random(seed)
    with FakeApiServer() as server:
        kubeconfig = write_kubeconfig(tmp_path / f"kc-{seed}", [server.context("fake")], "fake")
        names = random_cluster(rng, server)
        plan = [] if seed == 0 else random_plan(rng, names, FAULTS[(seed - 1) % len(FAULTS)])  # every kind
        why = f"seed {seed}, plan {plan}"
        for argv in (["audit", "-A"], ["simulate", "restricted", "-A"]):
            install(server, plan)
            code, report = run(capsys, kubeconfig, *argv)
            read = fully_read(server, names)
            if report is None:
                assert code == 2, why
                continue
            for ns in report["namespaces"]:
                known = ns["strictestLevel"] is not None if argv[0] == "audit" else ns["verdict"] != "unknown"
                assert known == ns["complete"] and ns["complete"] == (not ns["errors"]), why
                if ns["complete"]:
                    assert ns["name"] in read, f"{argv[0]} calls {ns['name']} complete; {why}"
                else:
                    stats["incomplete"] += 1
                    assert code == 2, why
            if not plan:
                assert code in (0, 1) and all(ns["complete"] for ns in report["namespaces"]), why
        install(server, plan)
        code, report = run(capsys, kubeconfig, "label", "-A", "--enforce", "restricted", "--yes")
        read = fully_read(server, names)
        patched = {r.path.rsplit("/", 1)[1] for r in server.requests
                   if r.method == "PATCH" and r.query.get("dryRun") != "All"}
        assert patched <= read, f"label changed {sorted(patched - read)} not read to the end; {why}"
        if report is not None:
            assert all(ns["complete"] for ns in report["namespaces"] if ns["name"] in patched), why
        stats["patched"] += len(patched)


def test_no_namespace_is_complete_or_changed_unless_every_list_was_read(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(client_mod, "BACKOFF", (0.001,) * 5)
    monkeypatch.setattr(inventory_mod, "PAGE_SIZE", 2)  # pages, so that page faults and 410s happen
    monkeypatch.chdir(tmp_path)
    stats = {"incomplete": 0, "patched": 0}
    started, seed = time.monotonic(), 0
    while seed < MIN_CASES or (seed < MAX_CASES and time.monotonic() - started < BUDGET):
        check_case(capsys, tmp_path, seed, stats)
        seed += 1
    # the property was not checked vacuously: some namespaces were incomplete, some were changed
    assert stats["incomplete"] > 0 and stats["patched"] > 0, (seed, stats)
    print(f"{seed} cases in {time.monotonic() - started:.1f} s: {stats}")


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q", "-s"])
