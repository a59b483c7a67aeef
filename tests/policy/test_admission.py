"""Namespace label resolution, admission configuration, and the namespace dry-run warnings."""
from __future__ import annotations

import pytest
from tests.policy.podfactory import bare_pod, restricted_container, restricted_pod

from kubectl_pss.policy import Level, parse_version
from kubectl_pss.policy.admission import (
    AdmissionConfigError,
    AdmissionDefaults,
    Exemptions,
    ModePolicy,
    namespace_dry_run,
    parse_admission_config,
    resolve_policy,
)

P = "pod-security.kubernetes.io/"


def test_no_labels_gives_defaults():
    policy = resolve_policy({})
    assert [str(policy.mode(m)) for m in ("enforce", "audit", "warn")] == ["privileged:latest"] * 3
    assert policy.fully_privileged


def test_warn_follows_stricter_enforce_level_and_version():
    policy = resolve_policy({P + "enforce": "baseline", P + "enforce-version": "v1.25"})
    assert str(policy.enforce) == "baseline:v1.25" and str(policy.warn) == "baseline:v1.25"
    assert str(policy.audit) == "privileged:latest"
    with_version = resolve_policy({P + "enforce": "restricted", P + "warn-version": "v1.20"})
    assert str(with_version.warn) == "restricted:v1.20"
    explicit = resolve_policy({P + "enforce": "restricted", P + "warn": "baseline"})
    assert str(explicit.warn) == "baseline:latest"


def test_warn_does_not_follow_when_default_warn_is_stricter():
    defaults = AdmissionDefaults(warn=ModePolicy(Level.RESTRICTED, parse_version("v1.30")))
    policy = resolve_policy({P + "enforce": "baseline"}, defaults)
    assert str(policy.warn) == "restricted:v1.30"


def test_invalid_labels_fail_closed_for_enforce_open_for_audit_warn():
    policy = resolve_policy({P + "enforce": "strict", P + "audit": "nope", P + "warn": "x", P + "enforce-version": "v1"})
    assert policy.enforce.level is Level.RESTRICTED and str(policy.enforce.version) == "latest"
    assert policy.audit.level is Level.PRIVILEGED and policy.warn.level is Level.PRIVILEGED
    assert [str(e) for e in policy.errors] == [
        'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
        'metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "v1": must be "latest" or "v1.x"',
        'metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "nope": must be one of privileged, baseline, restricted',
        'metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "x": must be one of privileged, baseline, restricted',
    ]
    assert not policy.fully_privileged
    # an invalid enforce level does not drag warn along
    assert resolve_policy({P + "enforce": "strict"}).warn.level is Level.PRIVILEGED


ADMISSION_CONFIG = {
    "apiVersion": "apiserver.config.k8s.io/v1",
    "kind": "AdmissionConfiguration",
    "plugins": [{"name": "PodSecurity", "configuration": {
        "apiVersion": "pod-security.admission.config.k8s.io/v1",
        "kind": "PodSecurityConfiguration",
        "defaults": {"enforce": "baseline", "enforce-version": "latest", "audit": "restricted",
                     "audit-version": "v1.30", "warn": "restricted", "warn-version": "latest"},
        "exemptions": {"usernames": [], "runtimeClasses": ["kata"], "namespaces": ["kube-system"]},
    }}],
}


def test_parse_admission_configuration():
    config, warnings = parse_admission_config(ADMISSION_CONFIG, "cfg.yaml")
    assert warnings == []
    assert str(config.defaults.enforce) == "baseline:latest" and str(config.defaults.audit) == "restricted:v1.30"
    assert config.exemptions.namespace_exempt("kube-system") and not config.exemptions.namespace_exempt("default")
    assert config.exemptions.runtime_class_exempt({"runtimeClassName": "kata"})
    assert not config.exemptions.runtime_class_exempt({"runtimeClassName": ""})
    labelled = resolve_policy({P + "enforce": "restricted"}, config.defaults)
    assert str(labelled.enforce) == "restricted:latest" and str(labelled.audit) == "restricted:v1.30"


def test_parse_bare_pod_security_configuration_with_unknown_fields():
    doc = dict(ADMISSION_CONFIG["plugins"][0]["configuration"], extra=1)
    doc["defaults"] = dict(doc["defaults"], enforcee="x")
    _, warnings = parse_admission_config(doc)
    assert warnings == ['unknown field "extra"', 'unknown field "defaults.enforcee"']


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["defaults"].update(enforce="strict"), 'defaults.enforce: Invalid value: "strict"'),
    (lambda c: c["defaults"].update({"warn-version": "1.2"}), 'defaults.warn-version: Invalid value: "1.2"'),
    (lambda c: c["exemptions"].update(namespaces=["a", "a"]), 'exemptions.namespaces[1]: Duplicate value: "a"'),
    (lambda c: c["exemptions"].update(usernames=[""]), "exemptions.usernames[0]: Invalid value"),
    (lambda c: c.update(apiVersion="pod-security.admission.config.k8s.io/v2"), "unknown PodSecurityConfiguration apiVersion"),
])
def test_invalid_admission_configuration(mutate, message):
    import copy

    doc = copy.deepcopy(ADMISSION_CONFIG["plugins"][0]["configuration"])
    mutate(doc)
    with pytest.raises(AdmissionConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_admission_config(doc)


def test_admission_configuration_without_pod_security_plugin():
    with pytest.raises(AdmissionConfigError, match="no PodSecurity plugin"):
        parse_admission_config({"kind": "AdmissionConfiguration", "plugins": [{"name": "EventRateLimit"}]})


def _pod(name: str, spec_pod: dict, controller_uid: str | None = None) -> dict:
    pod = dict(spec_pod, metadata={"name": name, "namespace": "rec-a"})
    if controller_uid:
        pod["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": controller_uid, "controller": True}]
    return pod


def test_dry_run_warnings_match_recorded_server_output():
    priv = bare_pod(restricted_container(privileged=True, allowPrivilegeEscalation=None, capabilities=None), hostNetwork=True)
    priv["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    pods = [_pod(f"priv-{i}", priv) for i in (2, 0, 1)]
    outcome = namespace_dry_run("rec-a", pods, Level.RESTRICTED, parse_version("latest"))
    # shared/apiserver/patch-ns-enforce-restricted-dryrun.json (the recordings beside the repository)
    assert outcome.warnings == [
        'existing pods in namespace "rec-a" violate the new PodSecurity enforce level "restricted:latest"',
        "priv-0 (and 2 other pods): host namespaces, privileged, allowPrivilegeEscalation != false, "
        "unrestricted capabilities, runAsNonRoot != true, seccompProfile",
    ]


def test_dry_run_groups_counts_and_sorting():
    plain = bare_pod()
    good = restricted_pod()
    root = restricted_pod(restricted_container(runAsUser=0))
    pods = [_pod("b", plain), _pod("a", plain), _pod("z", root), _pod("ok", good), _pod("c", root)]
    outcome = namespace_dry_run("ns", pods, Level.RESTRICTED, parse_version("v1.30"))
    assert outcome.warnings == [
        'existing pods in namespace "ns" violate the new PodSecurity enforce level "restricted:v1.30"',
        "a (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        "c (and 1 other pod): runAsUser=0",
    ]
    assert namespace_dry_run("ns", [_pod("ok", good)], Level.RESTRICTED, parse_version("latest")).warnings == []


def test_dry_run_limit_prioritises_one_pod_per_controller_and_skips_exempt_runtime_classes():
    plain = bare_pod()
    kata = bare_pod(runtimeClassName="kata")
    pods = [_pod("rs-1", plain, "u1"), _pod("rs-2", plain, "u1"), _pod("other-1", plain, "u2"), _pod("k", kata)]
    outcome = namespace_dry_run("ns", pods, Level.RESTRICTED, parse_version("latest"),
                                Exemptions(runtime_classes=frozenset({"kata"})), limit=2)
    assert outcome.total == 3 and outcome.checked == 2
    assert outcome.warnings[0] == "new PodSecurity enforce level only checked against the first 2 of 3 existing pods"
    assert outcome.warnings[2].startswith("other-1 (and 1 other pod): ")  # rs-1 and other-1, not rs-2
