"""Which audit events are PodSecurity's, and what each says: from the real events and shapes derived from them."""
from __future__ import annotations

import json

from kubectl_pss.auditlog import FileStats, Scanner, select
from kubectl_pss.auditlog.events import METADATA_NAME_NOTE, METADATA_OWNER_NOTE, user_kind
from tests.auditlog import eventgen as g

DENIAL = ('pods "shell" is forbidden: violates PodSecurity "baseline:v1.24": privileged (container "shell" must not '
          'set securityContext.privileged=true), host namespaces (hostNetwork=true, hostPID=true)')


def scan(data: bytes) -> tuple[list, FileStats]:
    stats = FileStats("t")
    outcomes = [o for group in Scanner().feed(g.numbered(data), stats) for o in group]
    return outcomes, stats


def summary(outcomes) -> list[tuple]:
    return [(o.mode, o.resource, o.name, o.user, o.policy) for o in outcomes]


def test_the_real_log():
    outcomes, stats = scan(g.SAMPLE.read_bytes())
    assert (stats.read, stats.skipped) == (8, 0)
    assert summary(outcomes) == [
        ("audit", "pods", "web-root", "lab-admin", "restricted:v1.23"),
        ("audit", "deployments", "agent", "lab-admin", "restricted:v1.23"),
        ("audit", "replicasets", "agent-6f7c6d5c98", "system:serviceaccount:kube-system:deployment-controller",
         "restricted:v1.23"),
        ("audit", "pods", "shell", "lab-admin", "restricted:v1.23"),  # denied and audited: once in each mode
        ("enforce", "pods", "shell", "lab-admin", "baseline:latest"),
        ("audit", "pods", "job-runner", "system:serviceaccount:ae-demo:deployer", "restricted:v1.23"),
    ]
    web_root = outcomes[0]
    assert [c["check"] for c in web_root.checks] == ["allowPrivilegeEscalation", "capabilities_restricted",
                                                     "runAsNonRoot", "seccompProfile_restricted"]
    assert web_root.checks[2] == {"check": "runAsNonRoot", "reason": "runAsNonRoot != true",
                                  "detail": 'pod or container "web" must set securityContext.runAsNonRoot=true'}
    assert web_root.timestamp == "2026-12-07T18:11:33.374500Z" and web_root.notes == ()
    assert outcomes[2].owner == {"kind": "Deployment", "name": "agent"}
    assert outcomes[0].owner is None and outcomes[0].generated is False


def test_a_denial_without_a_message_is_evaluated_from_the_logged_request():
    [audit, enforce] = select(g.real(g.DENIED_POD))
    assert enforce.mode == "enforce" and enforce.policy == "baseline:latest"
    assert enforce.checks == ({"check": "privileged", "reason": "privileged",
                               "detail": 'container "shell" must not set securityContext.privileged=true'},)
    assert any(n.startswith("checks evaluated from the logged request") for n in enforce.notes)


def test_a_denial_message_is_parsed_not_evaluated():
    [_, enforce] = select(g.with_denial_message(g.DENIED_POD, DENIAL))
    assert enforce.policy == "baseline:v1.24"  # from the message
    assert [(c["check"], c["detail"]) for c in enforce.checks] == [
        ("privileged", 'container "shell" must not set securityContext.privileged=true'),
        ("hostNamespaces", "hostNetwork=true, hostPID=true")]
    assert enforce.notes == ()


def test_metadata_level_owner_and_checks_are_unknown_never_empty():
    [audit, enforce] = select(g.metadata_level(g.DENIED_POD))
    assert audit.owner is None and METADATA_OWNER_NOTE in audit.notes
    assert len(audit.checks) == 5  # the annotation is there at every level
    assert enforce.checks is None  # no message, no body: unknown, not "no checks"
    assert any(n.startswith("checks unknown") for n in enforce.notes)
    [rs] = select(g.metadata_level(g.REPLICASET))
    assert rs.owner is None and rs.name == "agent-6f7c6d5c98"  # owner not guessed from the name


def test_generate_name_pods_keep_the_prefix_and_the_owner():
    [pod] = select(g.generated_pod())
    assert (pod.name, pod.generated) == ("agent-6f7c6d5c98-", True)
    assert pod.owner == {"kind": "ReplicaSet", "name": "agent-6f7c6d5c98"}
    assert pod.user == "system:serviceaccount:kube-system:replicaset-controller"
    [meta] = select(g.metadata_level(g.generated_pod()))
    assert meta.name is None and METADATA_NAME_NOTE in meta.notes and meta.owner is None


def test_request_response_level_takes_the_stored_name():
    event = g.generated_pod()
    event["level"] = "RequestResponse"
    event["responseObject"] = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "agent-6f7c6d5c98-x2k4p"}}
    [pod] = select(event)
    assert (pod.name, pod.generated) == ("agent-6f7c6d5c98-x2k4p", False)


def test_users():
    assert user_kind("system:serviceaccount:kube-system:replicaset-controller") == "controller"
    assert user_kind("system:kube-controller-manager") == "controller"
    assert user_kind("system:serviceaccount:kube-system:coredns") == "serviceAccount"
    assert user_kind("system:serviceaccount:ae-demo:deployer") == "serviceAccount"
    assert user_kind("system:node:worker-1") == "node"
    assert user_kind("lab-admin") == "user"
    event = g.real(g.ROOT_POD)
    event["impersonatedUser"] = {"username": "system:serviceaccount:ci:runner"}
    [pod] = select(event)
    assert pod.user == "system:serviceaccount:ci:runner"  # PodSecurity (and its exemptions) see this one


def test_other_denials_and_stages_are_not_podsecuritys():
    webhook = g.real(g.COMPLIANT_POD)
    webhook["responseStatus"] = {"metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
                                 "message": 'admission webhook "policy.example.com" denied the request: no'}
    assert select(webhook) == []  # enforce-policy is there, but the message is someone else's
    rbac = g.real(g.COMPLIANT_POD)
    rbac["annotations"] = {"authorization.k8s.io/decision": "forbid"}
    rbac["responseStatus"] = {"code": 403}
    assert select(rbac) == []  # RBAC denies before admission: no PodSecurity annotation
    assert select(g.stage(g.ROOT_POD, "RequestReceived")) == []
    # only the final stage counts: the same request's other stages would count it twice
    assert select(g.stage(g.ROOT_POD, "ResponseStarted")) == [] and len(select(g.stage(g.ROOT_POD, "Panic"))) == 1
    assert select(g.real(g.COMPLIANT_POD)) == [] and select(g.real(g.LABEL_PATCH)) == []


def test_exemptions_used():
    [pod] = select(g.exempted(g.ROOT_POD, "namespace"))
    assert (pod.mode, pod.exempt, pod.policy, pod.checks) == ("exempt", "namespace", None, None)


def test_event_list_lines_count_their_items():
    data = g.line(g.event_list([g.NAMESPACE_CREATE, g.ROOT_POD, g.SA_POD])) + g.line(g.COMPLIANT_POD)
    outcomes, stats = scan(data)
    assert (stats.read, stats.skipped) == (4, 0)
    assert [o.name for o in outcomes] == ["web-root", "job-runner"]


def test_bad_lines_are_skipped_counted_and_numbered():
    data = (g.line(g.ROOT_POD) + b"not json at all\n" + b"\n"
            + g.line({"kind": "Status", "apiVersion": "audit.k8s.io/v1", "code": 1})  # JSON, not an Event
            + b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","annotations":{"pod-security.kubernetes.io/x":}\n'
            + g.line({"kind": "Event"})  # no apiVersion: not an audit event
            + g.line(g.SA_POD) + g.line(g.DENIED_POD)[:700])  # the last line cut short, as a live log's is
    outcomes, stats = scan(data)
    assert [o.name for o in outcomes] == ["web-root", "job-runner"]
    assert stats.skipped == 5 and stats.skipped_lines == [2, 4, 5, 6, 8]
    assert stats.read == 2  # events, not lines (review of issue 12): the skipped lines and the blank one are none


def test_the_prefilter_keeps_podsecurity_lines_only_from_the_parser(monkeypatch):
    import kubectl_pss.auditlog.events as events

    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(events.json, "loads", lambda text: parsed.append(text) or real_loads(text))
    outcomes, stats = scan(g.lines([g.NAMESPACE_CREATE, g.COMPLIANT_POD, g.ROOT_POD, g.SA_POD]))
    assert stats.read == 4 and len(outcomes) == 2
    # the namespace create names no pod-security key: never parsed; the compliant pod has enforce-policy
    assert len(parsed) == 3


def test_a_denied_request_the_engine_passes_has_unknown_checks_not_none():
    event = g.real(g.DENIED_POD)
    event["requestObject"]["spec"]["containers"][0]["securityContext"] = {}  # passes baseline here
    [_, enforce] = select(event)
    assert enforce.checks is None
    assert any("the logged request passes baseline:latest here" in n for n in enforce.notes)


def test_a_denial_known_only_by_its_message_passes_the_prefilter():
    # the pod-security webhook (instead of the built-in plugin) prefixes its audit annotations with its own name
    event = g.with_denial_message(g.DENIED_POD, 'admission webhook "pod-security-webhook.kubernetes.io" denied the '
                                                'request: violates PodSecurity "restricted:latest": hostPort (x)')
    event["annotations"] = {"authorization.k8s.io/decision": "allow"}
    data = g.line(event).replace(b"pod-security.kubernetes.io", b"psa.example.com")  # no annotation key anywhere
    outcomes, _ = scan(data)
    assert [(o.mode, o.policy, [c["check"] for c in o.checks]) for o in outcomes] == [
        ("enforce", "restricted:latest", ["hostPorts"])]
