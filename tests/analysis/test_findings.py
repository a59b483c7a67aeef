"""Owner grouping, templates, exemptions and the per-namespace audit/simulate verdicts (pure)."""
from __future__ import annotations

from tests.policy.podfactory import bare_pod, restricted_pod

from kubectl_pss.policy import Level, parse_version
from kubectl_pss.policy.admission import AdmissionConfig, AdmissionDefaults, Exemptions, ModePolicy
from kubectl_pss.analysis.findings import Evaluator, collect_subjects, findings_at
from kubectl_pss.analysis.namespaces import audit_namespace, simulate_namespace
from kubectl_pss.policy.registry import DEFAULT_REGISTRY, registry_for


def meta(name, uid, owner=None, ns="app"):
    m = {"name": name, "namespace": ns, "uid": uid}
    if owner:
        m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": owner[2], "controller": True}]
    return m


def pod(name, template_pod, owner=None, uid=None):
    return {"kind": "Pod", "metadata": meta(name, uid or f"uid-{name}", owner), "spec": template_pod["spec"]}


def workload(kind, name, template_pod, owner=None, **spec):
    body = {"template": {"metadata": {}, "spec": template_pod["spec"]}, **spec}
    if kind == "CronJob":
        body = {"jobTemplate": {"spec": body}}
    return {"kind": kind, "metadata": meta(name, f"uid-{name}", owner), "spec": body}


PLAIN = bare_pod()
GOOD = restricted_pod()
PRIV = bare_pod({"name": "c", "image": "x", "securityContext": {"privileged": True}})


def cluster_objects():
    deploy = workload("Deployment", "web", PLAIN, replicas=2)
    rs = workload("ReplicaSet", "web-5d9c", PLAIN, owner=("Deployment", "web", "uid-web"))
    old_rs = workload("ReplicaSet", "web-old", PRIV, owner=("Deployment", "web", "uid-web"), replicas=0)
    pods = [
        pod("web-5d9c-b", PLAIN, ("ReplicaSet", "web-5d9c", "uid-web-5d9c")),
        pod("web-5d9c-a", PLAIN, ("ReplicaSet", "web-5d9c", "uid-web-5d9c")),
        pod("bare", PRIV),
        pod("etcd-node1", PRIV, ("Node", "node1", "uid-node1")),
        pod("job-1-x", GOOD, ("Job", "job-1", "uid-job-1")),
        pod("orphan-x", PLAIN, ("Rollout", "canary", "uid-rollout")),
    ]
    cron = workload("CronJob", "nightly", PLAIN)
    job = workload("Job", "job-1", PLAIN, owner=("CronJob", "nightly", "uid-nightly"))
    scaled_to_zero = workload("StatefulSet", "db", PRIV, replicas=0)
    return pods, [deploy, rs, old_rs, cron, job, scaled_to_zero]


def test_findings_group_pods_by_top_owner_and_include_top_level_templates():
    pods, workloads = cluster_objects()
    subjects = collect_subjects(pods, workloads)
    assert subjects.pods == 6 and subjects.workloads == 3  # Deployment, CronJob, StatefulSet
    findings = findings_at(subjects.subjects, Level.BASELINE, Evaluator(parse_version("latest")))
    assert [(str(f.owner), f.pods, f.template) for f in findings] == [
        ("Pod/bare", ["bare"], False),
        ("Pod/etcd-node1", ["etcd-node1"], False),  # a static pod is its own owner, not the Node
        ("StatefulSet/db", [], True),  # scaled to zero: only the template speaks
    ]
    restricted = findings_at(subjects.subjects, Level.RESTRICTED, Evaluator(parse_version("latest")))
    owners = {str(f.owner): (f.pods, f.template) for f in restricted}
    assert owners["Deployment/web"] == (["web-5d9c-a", "web-5d9c-b"], True)
    assert owners["CronJob/nightly"] == ([], True)  # the Job's pod is compliant, the CronJob template is not
    assert owners["Rollout/canary"] == (["orphan-x"], False)  # an owner we do not hold is named as referenced
    assert "ReplicaSet/web-old" not in owners  # history of a Deployment is covered by it


def test_runtime_class_exemption_skips_pods_and_templates():
    kata = bare_pod(runtimeClassName="kata", containers=[{"name": "c", "image": "x", "securityContext": {"privileged": True}}])
    subjects = collect_subjects([pod("k", kata)], [workload("Deployment", "d", kata)],
                                Exemptions(runtime_classes=frozenset({"kata"})))
    assert subjects.exempt_pods == ["k"] and subjects.subjects == []


def test_audit_namespace_strictest_and_enforce_violation():
    pods, workloads = cluster_objects()
    ns = {"metadata": {"name": "app", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}
    audit = audit_namespace(ns, pods, workloads, AdmissionConfig(), DEFAULT_REGISTRY).as_dict()
    assert audit["strictestLevel"] == "privileged" and audit["violatesEnforce"] is True
    assert {f["level"] for f in audit["findings"]} == {"baseline"}
    assert audit["labels"]["enforce"] == {"level": "baseline", "version": "latest", "source": "label"}
    assert audit["labels"]["warn"] == {"level": "baseline", "version": "latest", "source": "default", "followsEnforce": True}
    assert audit["evaluatedAt"] == "v1.37"


def test_audit_reports_enforce_findings_beyond_next_level():
    ns = {"metadata": {"name": "app", "labels": {"pod-security.kubernetes.io/enforce": "restricted",
                                                   "pod-security.kubernetes.io/enforce-version": "v1.24"}}}
    audit = audit_namespace(ns, [pod("bare", PRIV)], [], AdmissionConfig(), DEFAULT_REGISTRY).as_dict()
    assert [f["level"] for f in audit["findings"]] == ["baseline", "restricted"]
    assert audit["evaluatedAt"] == "v1.24"


def test_audit_exempt_namespace_and_defaults():
    config = AdmissionConfig(AdmissionDefaults(enforce=ModePolicy(Level.BASELINE, parse_version("latest"))),
                             Exemptions(namespaces=frozenset({"kube-system"})), "cfg.yaml")
    system = audit_namespace({"metadata": {"name": "kube-system"}}, [pod("bare", PRIV)], [], config, DEFAULT_REGISTRY)
    assert system.exempt and not system.violates_enforce
    other = audit_namespace({"metadata": {"name": "other"}}, [pod("bare", PRIV)], [], config, DEFAULT_REGISTRY)
    assert other.as_dict()["labels"]["enforce"] == {"level": "baseline", "version": "latest", "source": "default"}
    assert other.violates_enforce


def test_latest_on_an_older_cluster_evaluates_at_its_version():
    userns = restricted_pod(hostUsers=False, pod_security={"runAsNonRoot": False})
    ns = {"metadata": {"name": "app"}}
    old = simulate_namespace(ns, [pod("u", userns)], [], Level.RESTRICTED, parse_version("latest"), "enforce",
                             AdmissionConfig(), registry_for(34))
    new = simulate_namespace(ns, [pod("u", userns)], [], Level.RESTRICTED, parse_version("latest"), "enforce",
                             AdmissionConfig(), registry_for(35))
    assert old.would_reject and not new.would_reject
    assert registry_for(40) is DEFAULT_REGISTRY


def test_simulate_counts():
    pods, workloads = cluster_objects()
    sim = simulate_namespace({"metadata": {"name": "app"}}, pods, workloads, Level.RESTRICTED, parse_version("latest"),
                             "enforce", AdmissionConfig(), DEFAULT_REGISTRY)
    assert sim.would_reject and sim.current == "privileged:latest"
    assert sim.rejected_pods() == 5  # every pod but the compliant Job pod
    assert sim.rejected_workloads() == 3  # Deployment, CronJob, StatefulSet templates


def test_admission_view_keeps_what_admission_reads_and_gives_the_same_verdicts():
    from kubectl_pss.policy import evaluate
    from kubectl_pss.policy.objects import admission_view

    annotations = {"kubectl.kubernetes.io/last-applied-configuration": "{...}" * 100,
                   "container.apparmor.security.beta.kubernetes.io/c": "unconfined",
                   "container.seccomp.security.alpha.kubernetes.io/c": "unconfined",
                   "seccomp.security.alpha.kubernetes.io/pod": "unconfined"}
    pod = {"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running"},
           "metadata": {"name": "p", "namespace": "n", "uid": "u", "annotations": annotations,
                        "managedFields": [{}], "ownerReferences": [{"kind": "ReplicaSet", "uid": "r", "controller": True}]},
           "spec": PRIV["spec"]}
    view = admission_view(pod)
    assert "status" not in view and "managedFields" not in view["metadata"]
    assert set(view["metadata"]["annotations"]) == set(annotations) - {"kubectl.kubernetes.io/last-applied-configuration"}
    cron = {"kind": "CronJob", "metadata": {"name": "c", "annotations": annotations},
            "spec": {"schedule": "x", "jobTemplate": {"metadata": {}, "spec": {"template": {
                "metadata": {"annotations": annotations}, "spec": PRIV["spec"]}}}}}
    for obj in (pod, cron):
        for level, version in (("baseline", "v1.18"), ("restricted", "latest"), ("baseline", "latest")):
            assert evaluate(admission_view(obj), level, version) == evaluate(obj, level, version)
    assert admission_view({"kind": "ConfigMap", "data": {}}) == {"kind": "ConfigMap", "data": {}}


def cyclic_workloads():
    """A Deployment and a ReplicaSet controlling each other (no controller does that; a broken or hostile
    cluster can), a pod of the ReplicaSet, and a StatefulSet controlling itself."""
    deploy = workload("Deployment", "loop", PRIV, owner=("ReplicaSet", "loop-rs", "uid-loop-rs"))
    rs = workload("ReplicaSet", "loop-rs", PLAIN, owner=("Deployment", "loop", "uid-loop"))
    selfish = workload("StatefulSet", "me", PRIV, owner=("StatefulSet", "me", "uid-me"))
    pods = [pod("loop-rs-a", PLAIN, ("ReplicaSet", "loop-rs", "uid-loop-rs"))]
    return pods, [deploy, rs, selfish]


def test_ownership_cycles_do_not_hide_templates():
    pods, workloads = cyclic_workloads()
    subjects = collect_subjects(pods, workloads)
    assert subjects.workloads == 3  # each workload on a cycle is its own top-level owner
    findings = findings_at(subjects.subjects, Level.BASELINE, Evaluator(parse_version("latest")))
    assert [(str(f.owner), f.pods, f.template) for f in findings] == [
        ("Deployment/loop", [], True), ("StatefulSet/me", [], True)]
    restricted = findings_at(subjects.subjects, Level.RESTRICTED, Evaluator(parse_version("latest")))
    # the pod goes to the first workload of the cycle it reaches, which is the object itself
    assert [(str(f.owner), f.pods, f.template) for f in restricted if f.owner.name == "loop-rs"] == [
        ("ReplicaSet/loop-rs", ["loop-rs-a"], True)]
    assert subjects.notes == [
        "ownerReferences form a cycle (Deployment/loop -> ReplicaSet/loop-rs -> Deployment/loop): "
        "each is evaluated as its own owner, with its template",
        "ownerReferences form a cycle (StatefulSet/me -> StatefulSet/me): each is evaluated as its own owner, "
        "with its template"]


def test_ownership_cycle_is_noted_and_counted_in_audit_and_simulate():
    pods, workloads = cyclic_workloads()
    ns = {"metadata": {"name": "app", "labels": {}}}
    audit = audit_namespace(ns, pods, workloads, AdmissionConfig(), DEFAULT_REGISTRY)
    assert audit.strictest is Level.PRIVILEGED and audit.workloads == 3
    assert len(audit.as_dict()["notes"]) == 2
    sim = simulate_namespace(ns, pods, workloads, Level.BASELINE, parse_version("latest"), "enforce",
                             AdmissionConfig(), DEFAULT_REGISTRY)
    assert sim.rejected_workloads() == 2 and len(sim.as_dict()["notes"]) == 2
    # a chain without a cycle still goes to the top owner, and nothing is noted
    _, plain = cluster_objects()
    assert collect_subjects([], plain).notes == []


def test_label_plan_refuses_a_level_that_a_template_on_an_ownership_cycle_violates():
    from kubectl_pss.analysis.findings import rejected
    from kubectl_pss.analysis.rollout import REFUSED, plan_namespace

    pods, workloads = cyclic_workloads()
    ns = {"metadata": {"name": "app", "labels": {}}}
    plan = plan_namespace(ns, pods, workloads, {"pod-security.kubernetes.io/enforce": "baseline"}, AdmissionConfig(),
                          DEFAULT_REGISTRY)
    assert plan.action == REFUSED and rejected(plan.findings)[1] == 2
    assert sum("ownerReferences form a cycle" in note for note in plan.notes) == 2


def test_verdict_cache_evaluates_each_distinct_view_once_per_level_and_version():
    from kubectl_pss.analysis.findings import VerdictCache

    cache = VerdictCache(DEFAULT_REGISTRY)
    bad = bare_pod()
    bad["spec"]["hostNetwork"] = True
    pods = [pod(f"p{i}", bad, uid=f"u{i}") for i in range(10)] + [pod(f"q{i}", restricted_pod(), uid=f"v{i}") for i in range(5)]
    config = AdmissionConfig()
    first = audit_namespace({"metadata": {"name": "app"}}, pods, [], config, DEFAULT_REGISTRY, cache)
    plain = audit_namespace({"metadata": {"name": "app"}}, pods, [], config, DEFAULT_REGISTRY)
    assert first == plain and first.strictest is Level.PRIVILEGED
    assert cache.misses == 2 and cache.hits >= 10  # 2 distinct views, graded at baseline only (one fails it)
    before = cache.misses
    second = audit_namespace({"metadata": {"name": "other"}}, pods, [], config, DEFAULT_REGISTRY, cache)
    assert cache.misses == before and second.findings == first.findings


def test_verdict_cache_keeps_pods_apart_that_differ_only_in_what_a_check_reads():
    from kubectl_pss.analysis.findings import VerdictCache

    cache = VerdictCache(DEFAULT_REGISTRY)
    plain = restricted_pod()
    confined = restricted_pod()
    name = plain["spec"]["containers"][0]["name"]
    confined.setdefault("metadata", {})["annotations"] = {
        f"container.apparmor.security.beta.kubernetes.io/{name}": "unconfined"}
    level, version = Level.BASELINE, parse_version("latest")
    assert cache.result(plain, level, version).allowed
    assert not cache.result(confined, level, version).allowed
    assert cache.result(plain, level, parse_version("v1.0")).allowed and cache.misses == 3


def test_verdict_cache_of_another_registry_is_not_used():
    from kubectl_pss.analysis.findings import VerdictCache

    cache = VerdictCache(DEFAULT_REGISTRY)
    evaluator = Evaluator(parse_version("latest"), registry_for(24), cache)
    subjects = collect_subjects([pod("p", restricted_pod(), uid="u")], []).subjects
    findings_at(subjects, Level.RESTRICTED, evaluator)
    assert cache.hits + cache.misses == 0


def test_verdict_cache_shares_pods_that_differ_in_names_no_check_reports():
    """The per-pod service account volume (kube-api-access-xxxxx) does not split a template's pods; the
    name of a hostPath or other restricted volume, which the messages name, does."""
    from kubectl_pss.analysis.findings import VerdictCache

    def with_volumes(*volumes):
        obj = restricted_pod()
        obj["spec"]["volumes"] = [dict(v) for v in volumes]
        return obj

    cache = VerdictCache(DEFAULT_REGISTRY)
    level, version = Level.RESTRICTED, parse_version("latest")
    token = [{"name": f"kube-api-access-{i}", "projected": {"sources": []}} for i in range(3)]
    for volume in token:
        assert cache.result(with_volumes(volume), level, version).allowed
    assert cache.misses == 1 and cache.hits == 2
    first = cache.result(with_volumes({"name": "a", "hostPath": {"path": "/"}}), level, version)
    second = cache.result(with_volumes({"name": "b", "hostPath": {"path": "/"}}), level, version)
    assert '"a"' in first.details() and '"b"' in second.details()
    for name in ("c", "d"):  # an allowed source besides hostPath: baseline's hostPathVolumes still names it
        mixed = with_volumes({"name": name, "hostPath": {"path": "/"}, "emptyDir": {}})
        assert f'"{name}"' in cache.result(mixed, Level.BASELINE, version).details()
    assert cache.misses == 5


def test_graded_pods_of_one_template_share_their_containers_and_keep_their_own_volumes():
    from kubectl_pss.analysis.findings import VerdictCache

    cache = VerdictCache(DEFAULT_REGISTRY)
    pods = []
    for i in range(3):
        obj = pod(f"p{i}", restricted_pod(), uid=f"u{i}")
        obj["spec"]["volumes"] = [{"name": f"kube-api-access-{i}", "projected": {}}]
        pods.append(obj)
    other = pod("q", bare_pod(), uid="q")
    for obj in pods + [other]:
        cache.grade(obj, parse_version("latest"))
    assert pods[1]["spec"]["containers"] is pods[0]["spec"]["containers"] is pods[2]["spec"]["containers"]
    assert [p["spec"]["volumes"][0]["name"] for p in pods] == ["kube-api-access-0", "kube-api-access-1", "kube-api-access-2"]
    assert pods[1]["spec"] == {**pods[0]["spec"], "volumes": pods[1]["spec"]["volumes"]}
    assert other["spec"]["containers"] is not pods[0]["spec"]["containers"]
    assert audit_namespace({"metadata": {"name": "app"}}, pods + [other], [], AdmissionConfig(), DEFAULT_REGISTRY,
                           cache).strictest is Level.BASELINE


def test_workload_templates_of_one_spec_share_their_containers_and_keep_their_verdicts():
    from kubectl_pss.analysis.findings import VerdictCache

    cache = VerdictCache(DEFAULT_REGISTRY)
    first, second = (workload("ReplicaSet", f"rs{i}", restricted_pod()) for i in range(2))
    job = workload("CronJob", "cj", bare_pod())
    for obj in (first, second, job):
        cache.share(obj)
    assert second["spec"]["template"]["spec"]["containers"] is first["spec"]["template"]["spec"]["containers"]
    assert second["spec"]["template"]["spec"] is not first["spec"]["template"]["spec"]
    assert cache.result(second, Level.RESTRICTED, parse_version("latest")).allowed
