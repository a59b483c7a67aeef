"""The engine's public API, version handling, plan composition, ordering and overrides."""
from __future__ import annotations

import pytest
from tests.policy.podfactory import bare_pod, restricted_container, restricted_pod, with_template

from kubectl_pss.policy import (
    DEFAULT_REGISTRY,
    LATEST,
    Level,
    NEWEST_MINOR,
    PolicyValueError,
    Registry,
    evaluate,
    grade,
    parse_level,
    parse_version,
    strictest_level,
)
from kubectl_pss.policy.checks import ALL
from kubectl_pss.policy.checks._base import Check, Revision
from kubectl_pss.policy.objects import InvalidObjectError
from kubectl_pss.policy.registry import RegistryError


def ids(level: str, version: str) -> list[str]:
    return [p.id for p in DEFAULT_REGISTRY.plan(parse_level(level), parse_version(version))]


def failing(obj: dict, level: str, version: str = "latest") -> list[str]:
    return [v.check for v in evaluate(obj, level, version).violations]


@pytest.mark.parametrize("text", ["v1.0", "v1.5", "v1.25", "v1.37", "v1.10000", "latest"])
def test_valid_versions(text):
    assert str(parse_version(text)) == text


@pytest.mark.parametrize("text", ["v1.05", "v1", "1.25", "v2.0", "V1.25", "", "v1.25.0", "Latest", "v1.2\n", "v1.-1", " v1.2", None, 25])
def test_invalid_versions(text):
    with pytest.raises(PolicyValueError, match='must be "latest" or "v1.x"'):
        parse_version(text)


@pytest.mark.parametrize("text", ["Restricted", "", "strict", None, " baseline"])
def test_invalid_levels(text):
    with pytest.raises(PolicyValueError, match="must be one of privileged, baseline, restricted"):
        parse_level(text)


def test_level_order():
    assert Level.PRIVILEGED < Level.BASELINE < Level.RESTRICTED
    assert max(Level.BASELINE, Level.RESTRICTED, Level.PRIVILEGED) is Level.RESTRICTED
    assert Level.BASELINE.stricter() is Level.RESTRICTED and Level.RESTRICTED.stricter() is None


def test_newest_version_is_v1_37():
    assert NEWEST_MINOR == 37
    assert len(ALL) == 19


def test_latest_and_future_versions_clamp_to_newest_but_print_as_requested():
    pod = bare_pod(restricted_container(privileged=True))
    newest = evaluate(pod, "restricted", "v1.37")
    for version in ("latest", "v1.38", "v1.99", "v1.10000"):
        result = evaluate(pod, "restricted", version)
        assert result.violations == newest.violations
        assert result.policy == f"restricted:{version}"
    assert evaluate(pod, "restricted", "latest").denial().startswith('violates PodSecurity "restricted:latest": privileged (')


def test_privileged_level_runs_no_checks():
    pod = bare_pod(restricted_container(privileged=True), hostNetwork=True)
    assert evaluate(pod, "privileged", "v1.0").allowed
    assert ids("privileged", "latest") == []


BASELINE_ORDER = [
    "appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPathVolumes", "hostPorts",
    "hostProbesAndHostLifecycle", "privileged", "procMount", "seLinuxOptions", "seccompProfile_baseline",
    "sysctls", "windowsHostProcess",
]


def test_baseline_plan_order_is_bytewise_sorted():
    assert ids("baseline", "latest") == BASELINE_ORDER
    assert ids("baseline", "v1.33") == [i for i in BASELINE_ORDER if i != "hostProbesAndHostLifecycle"]


def test_restricted_plan_at_latest():
    assert ids("restricted", "latest") == [
        "appArmorProfile", "hostNamespaces", "hostPorts", "hostProbesAndHostLifecycle", "privileged",
        "seLinuxOptions", "sysctls", "windowsHostProcess",
        "allowPrivilegeEscalation", "capabilities_restricted", "procMount_restricted", "restrictedVolumes",
        "runAsNonRoot", "runAsUser", "seccompProfile_restricted",
    ]


def test_restricted_plan_at_v1_0_and_v1_8():
    v10 = ["appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPorts", "privileged", "procMount",
           "seLinuxOptions", "seccompProfile_baseline", "sysctls", "windowsHostProcess", "restrictedVolumes", "runAsNonRoot"]
    assert ids("restricted", "v1.0") == v10
    assert ids("restricted", "v1.7") == v10
    assert ids("restricted", "v1.8") == v10[:10] + ["allowPrivilegeEscalation"] + v10[10:]


@pytest.mark.parametrize(
    "before, after, removed, added",
    [
        ("v1.18", "v1.19", "seccompProfile_baseline", "seccompProfile_restricted"),
        ("v1.21", "v1.22", "capabilities_baseline", "capabilities_restricted"),
        ("v1.34", "v1.35", "procMount", "procMount_restricted"),
    ],
)
def test_override_boundaries(before, after, removed, added):
    assert removed in ids("restricted", before) and added not in ids("restricted", before)
    assert removed not in ids("restricted", after) and added in ids("restricted", after)
    assert removed in ids("baseline", after)  # overrides never touch the baseline level


def test_host_path_volumes_never_runs_at_restricted():
    for minor in range(NEWEST_MINOR + 1):
        assert "hostPathVolumes" not in ids("restricted", f"v1.{minor}")
    pod = restricted_pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    assert failing(pod, "baseline") == ["hostPathVolumes"]
    assert failing(pod, "restricted") == ["restrictedVolumes"]


def test_run_as_user_appears_at_v1_23():
    assert "runAsUser" not in ids("restricted", "v1.22")
    assert "runAsUser" in ids("restricted", "v1.23")


def test_result_order_baseline_ids_before_restricted_ids():
    pod = bare_pod(restricted_container(privileged=True, allowPrivilegeEscalation=True))
    assert failing(pod, "restricted") == [
        "privileged", "allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile_restricted",
    ]


def test_selinux_sorts_before_seccomp_baseline():
    pod = bare_pod(
        {"name": "c", "securityContext": {"seLinuxOptions": {"user": "u"}, "seccompProfile": {"type": "Unconfined"}}}
    )
    assert failing(pod, "baseline") == ["seLinuxOptions", "seccompProfile_baseline"]


def test_details_join_format():
    pod = restricted_pod(restricted_container(privileged=True, allowPrivilegeEscalation=True))
    result = evaluate(pod, "restricted", "latest")
    assert result.details() == (
        'privileged (container "c" must not set securityContext.privileged=true), '
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)'
    )
    assert result.reasons() == "privileged, allowPrivilegeEscalation != false"


@pytest.mark.parametrize("kind", ["Pod", "PodTemplate", "ReplicationController", "ReplicaSet", "Deployment",
                                  "StatefulSet", "DaemonSet", "Job", "CronJob"])
def test_every_template_kind_is_evaluated(kind):
    pod = restricted_pod(restricted_container(privileged=True))
    obj = pod if kind == "Pod" else with_template(kind, pod)
    assert failing(obj, "baseline") == ["privileged"]
    assert evaluate(with_template(kind, restricted_pod()) if kind != "Pod" else restricted_pod(), "restricted").allowed


def test_template_annotations_are_read():
    pod = restricted_pod()
    pod["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}
    assert failing(with_template("Deployment", pod), "baseline") == ["appArmorProfile"]


def test_workload_without_template_is_allowed():
    rc = {"kind": "ReplicationController", "metadata": {"name": "rc"}, "spec": {"replicas": 0}}
    assert evaluate(rc, "restricted").allowed
    assert evaluate({"kind": "CronJob", "metadata": {"name": "c"}, "spec": {}}, "restricted").allowed


def test_unsupported_kind_raises_key_error():
    with pytest.raises(KeyError):
        evaluate({"kind": "ConfigMap", "metadata": {"name": "x"}}, "baseline")


def test_malformed_object_raises_invalid_object():
    with pytest.raises(InvalidObjectError):
        evaluate({"kind": "Deployment", "spec": {"template": "nope"}}, "baseline")
    with pytest.raises(InvalidObjectError):
        evaluate({"kind": "Pod", "spec": {"containers": [{"name": "c", "ports": 5}]}}, "baseline")


def test_grade_and_strictest_level():
    assert strictest_level(restricted_pod()) is Level.RESTRICTED
    assert grade(restricted_pod()).blocking is None
    plain = bare_pod()
    graded = grade(plain)
    assert graded.level is Level.BASELINE
    assert graded.blocking.level is Level.RESTRICTED and not graded.blocking.allowed
    worst = grade(bare_pod(restricted_container(privileged=True)), "v1.20")
    assert worst.level is Level.PRIVILEGED
    assert [v.check for v in worst.blocking.violations] == ["privileged"]
    assert str(worst.blocking.version) == "v1.20"


def test_registry_rejects_bad_check_lists():
    fn = ALL[0].revisions[0].check
    with pytest.raises(RegistryError):
        Registry((Check("a", Level.BASELINE, (Revision(0, fn),)), Check("a", Level.BASELINE, (Revision(0, fn),))))
    with pytest.raises(RegistryError):
        Registry((Check("a", Level.BASELINE, (Revision(5, fn), Revision(5, fn))),))
    with pytest.raises(RegistryError):  # only restricted may override baseline
        Registry((Check("a", Level.BASELINE, (Revision(0, fn, overrides=("b",)),)), Check("b", Level.BASELINE, (Revision(0, fn),))))
    with pytest.raises(RegistryError):  # restricted may not override restricted
        Registry((Check("a", Level.RESTRICTED, (Revision(0, fn, overrides=("b",)),)), Check("b", Level.RESTRICTED, (Revision(0, fn),))))
    Registry((Check("a", Level.RESTRICTED, (Revision(0, fn, overrides=("missing",)),)),))  # tolerated upstream


def test_emulation_version_lowers_latest():
    lowered = Registry(max_minor=30)
    assert lowered.effective_minor(LATEST) == 30
    assert lowered.effective_minor(parse_version("v1.36")) == 30
    pod = restricted_pod(pod_security={"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}]})
    assert [v.check for v in evaluate(pod, "baseline", "latest", registry=lowered).violations] == ["sysctls"]
    assert evaluate(pod, "baseline", "latest").allowed
