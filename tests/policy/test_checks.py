"""Each check's exact reason and detail, its revision boundaries, and the pitfalls of re-implementing upstream
in Python (unset versus falsy values, result order, overrides, version switches inside checks, quoting)."""
from __future__ import annotations

import pytest
from tests.policy.podfactory import bare_pod, restricted_container, restricted_pod

from kubectl_pss.policy import apply_manifest_defaults, evaluate
from kubectl_pss.policy.helpers import go_quote


def violations(obj: dict, level: str, version: str = "latest") -> list[tuple[str, str, str]]:
    return [(v.check, v.reason, v.detail) for v in evaluate(obj, level, version).violations]


def only(obj: dict, level: str, version: str = "latest") -> tuple[str, str, str]:
    found = violations(obj, level, version)
    assert len(found) == 1, found
    return found[0]


def c(name: str, **security) -> dict:
    return {"name": name, "image": "x", "securityContext": security}


# --- baseline checks -------------------------------------------------------------------------

def test_privileged_lists_containers_in_visiting_order_init_regular_ephemeral():
    pod = bare_pod(c("b", privileged=True), c("ok", privileged=False),
                   initContainers=[c("a", privileged=True)], ephemeralContainers=[c("e", privileged=True)])
    assert only(pod, "baseline") == (
        "privileged", "privileged", 'containers "a", "b", "e" must not set securityContext.privileged=true')


def test_privileged_names_are_not_deduplicated():
    pod = bare_pod(c("x", privileged=True), c("x", privileged=True))
    assert only(pod, "baseline")[2] == 'containers "x", "x" must not set securityContext.privileged=true'


def test_host_namespaces_fixed_order():
    pod = bare_pod(hostIPC=True, hostPID=True, hostNetwork=False)
    assert only(pod, "baseline") == ("hostNamespaces", "host namespaces", "hostPID=true, hostIPC=true")


def test_host_ports_sorted_as_strings_unquoted_and_pluralised():
    pod = bare_pod(
        {"name": "b", "ports": [{"containerPort": 1, "hostPort": 8080}, {"containerPort": 2, "hostPort": 0}]},
        {"name": "c", "ports": [{"containerPort": 3, "hostPort": 10000}, {"containerPort": 4, "hostPort": 8080}]},
    )
    assert only(pod, "baseline") == ("hostPorts", "hostPort", 'containers "b", "c" use hostPorts 10000, 8080')
    single = bare_pod({"name": "b", "ports": [{"containerPort": 20, "hostPort": 20}]})
    assert only(single, "baseline")[2] == 'container "b" uses hostPort 20'


def test_host_port_zero_is_allowed():
    assert evaluate(bare_pod({"name": "b", "ports": [{"containerPort": 80, "hostPort": 0}]}), "baseline").allowed


def test_host_probes_sorted_deduplicated_names_and_hosts():
    def probe(host):
        return {"httpGet": {"path": "/", "port": 80, "host": host}}

    pod = bare_pod(
        {"name": "b", "livenessProbe": probe("localhost"), "readinessProbe": {"tcpSocket": {"port": 1, "host": "::1"}}},
        {"name": "a", "lifecycle": {"preStop": probe("127.0.0.1"), "postStart": {"tcpSocket": {"port": 1, "host": ""}}}},
        {"name": "b", "startupProbe": probe("localhost"), "livenessProbe": {"grpc": {"port": 1}}},
    )
    assert only(pod, "baseline") == (
        "hostProbesAndHostLifecycle", "probe or lifecycle host",
        'containers "a", "b" use probe or lifecycle hosts "127.0.0.1", "::1", "localhost"',
    )
    assert evaluate(pod, "baseline", "v1.33").allowed
    single = bare_pod({"name": "a", "livenessProbe": probe("localhost")})
    assert only(single, "baseline", "v1.34")[2] == 'container "a" uses probe or lifecycle host "localhost"'


def test_capabilities_baseline():
    pod = bare_pod(c("a", capabilities={"add": ["CHOWN", "NET_RAW", "chown"], "drop": ["ALL"]}),
                   c("b", capabilities={"add": ["CAP_CHOWN", "NET_RAW"]}), c("ok", capabilities={"add": ["KILL"]}))
    assert only(pod, "baseline") == (
        "capabilities_baseline", "non-default capabilities",
        'containers "a", "b" must not include "CAP_CHOWN", "NET_RAW", "chown" in securityContext.capabilities.add')


def test_capabilities_restricted_two_parts():
    pod = restricted_pod(
        restricted_container("a", capabilities={"add": ["FOO", "BAR"]}),
        restricted_container("b", capabilities={"drop": ["all"], "add": ["BAZ"]}),
        restricted_container("c", capabilities={"drop": ["ALL"], "add": ["CHOWN", "NET_BIND_SERVICE"]}),
    )
    assert only(pod, "restricted") == (
        "capabilities_restricted", "unrestricted capabilities",
        'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; '
        'containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add',
    )


def test_capabilities_restricted_missing_security_context_and_empty_capabilities():
    pod = restricted_pod({"name": "a", "image": "x", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {}}},
                         {"name": "b", "image": "x", "securityContext": {"allowPrivilegeEscalation": False}})
    assert only(pod, "restricted")[2] == 'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]'


def test_net_bind_service_is_the_only_add_allowed_at_restricted():
    ok = restricted_pod(restricted_container(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}))
    assert evaluate(ok, "restricted").allowed
    bad = restricted_pod(restricted_container(capabilities={"drop": ["ALL"], "add": ["CHOWN"]}))
    assert only(bad, "restricted")[0] == "capabilities_restricted"
    assert evaluate(bad, "baseline").allowed


def test_drop_every_capability_one_by_one_is_not_drop_all():
    pod = restricted_pod(restricted_container(capabilities={"drop": ["CHOWN", "KILL", "NET_RAW", "SETUID"]}))
    assert only(pod, "restricted")[0] == "capabilities_restricted"


def test_windows_exemptions_start_at_v1_25():
    pod = bare_pod({"name": "c", "image": "x"}, os={"name": "windows"}, securityContext={"runAsNonRoot": True})
    assert [v[0] for v in violations(pod, "restricted", "v1.24")] == [
        "allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted"]
    assert violations(pod, "restricted", "v1.25") == []
    linux_like = bare_pod({"name": "c", "image": "x"}, os={"name": "Windows"}, securityContext={"runAsNonRoot": True})
    assert len(violations(linux_like, "restricted", "v1.25")) == 3


def test_windows_pod_is_not_exempt_from_run_as_non_root_or_baseline():
    pod = bare_pod(c("c", capabilities={"add": ["NET_RAW"]}), os={"name": "windows"})
    assert [v[0] for v in violations(pod, "restricted", "latest")] == ["runAsNonRoot"]
    assert [v[0] for v in violations(pod, "baseline", "latest")] == ["capabilities_baseline"]


def test_app_armor_annotations_and_fields():
    pod = bare_pod(
        c("a", appArmorProfile={"type": "Unconfined"}), c("b", appArmorProfile={}),
        annotations={
            "container.apparmor.security.beta.kubernetes.io/x": "unconfined",
            "container.apparmor.security.beta.kubernetes.io/a": "runtime/default",
            "container.apparmor.security.beta.kubernetes.io/b": "",
            "container.apparmor.security.beta.kubernetes.io/": 'bo"gus',
            "container.apparmor.security.beta.kubernetes.io/c": "localhost/",
        },
        securityContext={"appArmorProfile": {"type": "Unconfined"}},
    )
    assert only(pod, "baseline", "v1.0") == (
        "appArmorProfile", "forbidden AppArmor profiles",
        'pod and containers "a", "b" and annotations must not set AppArmor profile type to '
        '"", "Unconfined", "container.apparmor.security.beta.kubernetes.io/="bo\\"gus"", '
        '"container.apparmor.security.beta.kubernetes.io/x="unconfined""',
    )


def test_app_armor_single_value_reason_is_singular():
    pod = bare_pod(securityContext={"appArmorProfile": {"type": "Unconfined"}})
    assert only(pod, "baseline", "v1.0") == (
        "appArmorProfile", "forbidden AppArmor profile", 'pod must not set AppArmor profile type to "Unconfined"')
    allowed = bare_pod(c("c", appArmorProfile={"type": "Localhost", "localhostProfile": "p"}),
                       securityContext={"appArmorProfile": {"type": "RuntimeDefault"}})
    assert evaluate(allowed, "baseline").allowed


def test_empty_app_armor_annotation_allowed_but_empty_seccomp_annotation_forbidden():
    pod = bare_pod(annotations={"container.apparmor.security.beta.kubernetes.io/c": "",
                                "container.seccomp.security.alpha.kubernetes.io/c": ""})
    assert only(pod, "baseline", "v1.18") == (
        "seccompProfile_baseline", "seccompProfile",
        'forbidden annotation container.seccomp.security.alpha.kubernetes.io/c=""')


def test_se_linux_options_messages_and_v1_31_type():
    pod = bare_pod(c("e", seLinuxOptions={"type": "foo"}), c("f", seLinuxOptions={"type": "bar", "level": "s0"}),
                   c("g", seLinuxOptions={"role": "r"}),
                   securityContext={"seLinuxOptions": {"type": "foo", "user": "u", "role": "r"}})
    assert only(pod, "baseline") == (
        "seLinuxOptions", "seLinuxOptions",
        'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; '
        "user may not be set; role may not be set",
    )
    engine = bare_pod(securityContext={"seLinuxOptions": {"type": "container_engine_t"}})
    assert only(engine, "baseline", "v1.30")[2] == 'pod set forbidden securityContext.seLinuxOptions: type "container_engine_t"'
    assert evaluate(engine, "baseline", "v1.31").allowed
    assert evaluate(bare_pod(securityContext={"seLinuxOptions": {"level": "s0:c1", "type": "container_kvm_t"}}), "baseline").allowed


def test_proc_mount_and_user_namespace_relaxation():
    pod = bare_pod(c("d", procMount="Unmasked"), c("e", procMount="other"), c("ok", procMount="Default"))
    detail = 'containers "d", "e" must not set securityContext.procMount to "Unmasked", "other"'
    assert only(pod, "baseline") == ("procMount", "procMount", detail)
    userns = dict(pod, spec=dict(pod["spec"], hostUsers=False))
    assert only(userns, "baseline", "v1.34") == ("procMount", "procMount", detail)
    assert evaluate(userns, "baseline", "v1.35").allowed
    # restricted keeps it unconditionally, under another id, from v1.35
    restricted_userns = restricted_pod(restricted_container("d", procMount="Unmasked"), hostUsers=False)
    assert violations(restricted_userns, "restricted", "v1.35") == [
        ("procMount_restricted", "procMount", 'container "d" must not set securityContext.procMount to "Unmasked"')]
    assert [v[0] for v in violations(restricted_userns, "restricted", "v1.34")] == ["procMount"]


def test_seccomp_baseline_annotations_until_v1_18():
    pod = bare_pod(c("a"), c("b"), annotations={
        "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
        "container.seccomp.security.alpha.kubernetes.io/a": "unconfined",
        "container.seccomp.security.alpha.kubernetes.io/b": "unknown",
        "container.seccomp.security.alpha.kubernetes.io/ghost": "unconfined",
    }, securityContext={"seccompProfile": {"type": "Unconfined"}})
    assert only(pod, "baseline", "v1.18") == (
        "seccompProfile_baseline", "seccompProfile",
        'forbidden annotations container.seccomp.security.alpha.kubernetes.io/a="unconfined", '
        'container.seccomp.security.alpha.kubernetes.io/b="unknown", seccomp.security.alpha.kubernetes.io/pod="unconfined"',
    )
    # from v1.19 the fields count and the annotations do not
    assert only(pod, "baseline", "v1.19") == (
        "seccompProfile_baseline", "seccompProfile", 'pod must not set securityContext.seccompProfile.type to "Unconfined"')


def test_seccomp_annotation_allowed_values():
    for value in ("runtime/default", "docker/default", "localhost/profile.json", "localhost/"):
        pod = bare_pod(annotations={"seccomp.security.alpha.kubernetes.io/pod": value})
        assert evaluate(pod, "baseline", "v1.0").allowed, value


def test_seccomp_baseline_fields():
    pod = bare_pod(c("c", seccompProfile={"type": "Unconfined"}), c("d", seccompProfile={}),
                   securityContext={"seccompProfile": {"type": "Unconfined"}})
    assert only(pod, "baseline") == (
        "seccompProfile_baseline", "seccompProfile",
        'pod and containers "c", "d" must not set securityContext.seccompProfile.type to "", "Unconfined"')


def test_seccomp_restricted_explicit_then_implicit():
    pod = bare_pod(c("a"), c("b", seccompProfile={"type": "Localhost", "localhostProfile": "x"}),
                   securityContext={"runAsNonRoot": True})
    assert [v for v in violations(pod, "restricted") if v[0] == "seccompProfile_restricted"] == [
        ("seccompProfile_restricted", "seccompProfile",
         'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')]
    # a pod-level bad value covers nothing and only the first message appears
    bad_pod = bare_pod(c("a"), securityContext={"seccompProfile": {"type": "Unconfined"}})
    assert [v for v in violations(bad_pod, "restricted") if v[0] == "seccompProfile_restricted"] == [
        ("seccompProfile_restricted", "seccompProfile", 'pod must not set securityContext.seccompProfile.type to "Unconfined"')]
    # restricted before v1.19 has no seccomp field requirement
    assert "seccompProfile_restricted" not in [v[0] for v in violations(pod, "restricted", "v1.18")]


def test_sysctls_per_version():
    def pod(*names):
        return bare_pod(securityContext={"sysctls": [{"name": n, "value": "1"} for n in names]})

    boundaries = {
        "net.ipv4.ip_local_reserved_ports": 27,
        "net.ipv4.tcp_keepalive_time": 29, "net.ipv4.tcp_fin_timeout": 29,
        "net.ipv4.tcp_keepalive_intvl": 29, "net.ipv4.tcp_keepalive_probes": 29,
        "net.ipv4.tcp_rmem": 32, "net.ipv4.tcp_wmem": 32,
        "net.ipv4.tcp_slow_start_after_idle": 37, "net.ipv4.tcp_notsent_lowat": 37,
    }
    for name, minor in boundaries.items():
        assert only(pod(name), "baseline", f"v1.{minor - 1}") == ("sysctls", "forbidden sysctls", name)
        assert evaluate(pod(name), "baseline", f"v1.{minor}").allowed, name
    assert evaluate(pod("kernel.shm_rmid_forced", "net.ipv4.ping_group_range"), "baseline", "v1.0").allowed
    assert only(pod("a", "net/ipv4/tcp_syncookies", "a", ""), "baseline")[2] == "a, net/ipv4/tcp_syncookies, a, "


def test_windows_host_process():
    pod = bare_pod(c("e", windowsOptions={"hostProcess": True}), c("f", windowsOptions={"hostProcess": True}),
                   c("g", windowsOptions={"hostProcess": False}),
                   securityContext={"windowsOptions": {"hostProcess": True}})
    assert only(pod, "baseline") == (
        "windowsHostProcess", "hostProcess",
        'pod and containers "e", "f" must not set securityContext.windowsOptions.hostProcess=true')


# --- restricted checks -----------------------------------------------------------------------

def test_allow_privilege_escalation_needs_explicit_false():
    pod = restricted_pod(
        {"name": "a", "image": "x", "securityContext": {"capabilities": {"drop": ["ALL"]}}},
        {"name": "b", "image": "x", "securityContext": {"allowPrivilegeEscalation": None, "capabilities": {"drop": ["ALL"]}}},
        {"name": "c", "image": "x", "securityContext": {"allowPrivilegeEscalation": True, "capabilities": {"drop": ["ALL"]}}},
        restricted_container("ok"),
    )
    assert only(pod, "restricted") == (
        "allowPrivilegeEscalation", "allowPrivilegeEscalation != false",
        'containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false')
    assert "allowPrivilegeEscalation" not in [v[0] for v in violations(pod, "restricted", "v1.7")]


def test_run_as_non_root_pod_false_is_reported_even_when_containers_set_true():
    pod = restricted_pod(restricted_container("a", runAsNonRoot=True), pod_security={"runAsNonRoot": False})
    assert only(pod, "restricted") == ("runAsNonRoot", "runAsNonRoot != true", "pod must not set securityContext.runAsNonRoot=false")


def test_run_as_non_root_coverage():
    pod = restricted_pod(restricted_container("a"), restricted_container("b", runAsNonRoot=True),
                         pod_security={"runAsNonRoot": None})
    assert only(pod, "restricted")[2] == 'pod or container "a" must set securityContext.runAsNonRoot=true'
    explicit = restricted_pod(restricted_container("a", runAsNonRoot=False), restricted_container("b", runAsNonRoot=False))
    assert only(explicit, "restricted")[2] == 'containers "a", "b" must not set securityContext.runAsNonRoot=false'
    # a non-zero runAsUser does not satisfy runAsNonRoot
    by_uid = restricted_pod(pod_security={"runAsNonRoot": None, "runAsUser": 1000})
    assert only(by_uid, "restricted")[0] == "runAsNonRoot"


def test_run_as_user_zero_is_not_unset():
    pod = restricted_pod(restricted_container("c", runAsUser=0), restricted_container("d", runAsUser=0),
                         restricted_container("e", runAsUser=1), pod_security={"runAsUser": 0})
    assert only(pod, "restricted") == ("runAsUser", "runAsUser=0", 'pod and containers "c", "d" must not set runAsUser=0')
    assert evaluate(pod, "restricted", "v1.22").allowed
    rescued = restricted_pod(restricted_container("c", runAsUser=1000), pod_security={"runAsUser": 0})
    assert only(rescued, "restricted")[2] == "pod must not set runAsUser=0"


def test_user_namespace_relaxes_run_as_checks_from_v1_35_only():
    pod = restricted_pod(restricted_container("c", runAsUser=0), pod_security={"runAsNonRoot": False}, hostUsers=False)
    assert [v[0] for v in violations(pod, "restricted", "v1.34")] == ["runAsNonRoot", "runAsUser"]
    assert violations(pod, "restricted", "v1.35") == []
    host_users_true = restricted_pod(restricted_container("c", runAsUser=0), hostUsers=True)
    assert [v[0] for v in violations(host_users_true, "restricted", "latest")] == ["runAsUser"]


def test_restricted_volumes():
    pod = restricted_pod(volumes=[
        {"name": "ok1", "configMap": {"name": "x"}}, {"name": "ok2", "csi": {"driver": "d"}},
        {"name": "ok3", "image": {"reference": "r"}}, {"name": "ok4", "ephemeral": {}},
        {"name": "v1", "hostPath": {"path": "/"}}, {"name": "v2", "nfs": {"server": "s", "path": "/"}},
        {"name": "v3", "hostPath": {}, "gitRepo": {}}, {"name": "v4", "foo": {}},
    ])
    assert only(pod, "restricted", "v1.0") == (
        "restrictedVolumes", "restricted volume types",
        'volumes "v1", "v2", "v3", "v4" use restricted volume types "hostPath", "nfs", "unknown"')
    single = restricted_pod(volumes=[{"name": "volume1", "hostPath": {"path": "/"}}])
    assert only(single, "restricted")[2] == 'volume "volume1" uses restricted volume type "hostPath"'


# --- pitfalls --------------------------------------------------------------------------------

@pytest.mark.parametrize("security", [
    {"privileged": False}, {"capabilities": {}}, {"runAsNonRoot": None}, {"procMount": "Default"},
    {"seLinuxOptions": {}}, {"windowsOptions": {"hostProcess": False}},
])
def test_falsy_or_empty_values_are_allowed_at_baseline(security):
    assert evaluate(bare_pod(c("c", **security)), "baseline").allowed


def test_empty_seccomp_profile_object_is_set_with_empty_type():
    pod = bare_pod(c("c", seccompProfile={}))
    assert only(pod, "baseline")[2] == 'container "c" must not set securityContext.seccompProfile.type to ""'


def test_go_quote():
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("tab\there\n") == '"tab\\there\\n"'
    assert go_quote("\x00\x7f") == '"\\x00\\x7f"'
    assert go_quote("héllo ✓") == '"héllo ✓"'
    assert go_quote("\u200b\U000e0001") == '"\\u200b\\U000e0001"'


def test_manifest_defaults_volume_without_source_becomes_empty_dir():
    pod = restricted_pod(volumes=[{"name": "volume0"}])
    assert only(pod, "restricted")[2] == 'volume "volume0" uses restricted volume type "unknown"'
    defaulted = apply_manifest_defaults(pod)
    assert defaulted["spec"]["volumes"] == [{"name": "volume0", "emptyDir": {}}]
    assert evaluate(defaulted, "restricted").allowed
    assert pod["spec"]["volumes"] == [{"name": "volume0"}]  # the input is not modified


def test_manifest_defaults_host_network_gives_pod_host_ports_but_not_templates():
    from tests.policy.podfactory import with_template

    pod = bare_pod({"name": "c", "ports": [{"containerPort": 80}, {"containerPort": 443, "hostPort": 8443}]},
                   initContainers=[{"name": "i", "ports": [{"containerPort": 9000}]}], hostNetwork=True)
    assert [v[:2] for v in violations(apply_manifest_defaults(pod), "baseline")] == [
        ("hostNamespaces", "host namespaces"), ("hostPorts", "hostPort")]
    assert violations(apply_manifest_defaults(pod), "baseline")[1][2] == 'containers "i", "c" use hostPorts 80, 8443, 9000'
    deployment = apply_manifest_defaults(with_template("Deployment", pod))
    assert [v[0] for v in violations(deployment, "baseline")] == ["hostNamespaces", "hostPorts"]
    assert violations(deployment, "baseline")[1][2] == 'container "c" uses hostPort 8443'
