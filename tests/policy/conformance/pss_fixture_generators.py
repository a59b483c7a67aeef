"""Regenerates the upstream Pod Security Admission conformance fixtures, in Python.

Upstream (k8s.io/pod-security-admission/test) renders one YAML file per fixture into
``testdata/<level>/v1.<minor>/<pass|fail>/<checkid><n>.yaml``. The files are produced by
small generators: a minimal valid pod per level and version, and for every check a set of
"pass" and "fail" mutations of that pod, registered from a minimum version on. This module
re-expresses that logic (no upstream file is reproduced) so the whole fixture set can be
rebuilt in memory and evaluated against the engine.

Rules mirrored from the upstream harness (test/fixtures.go, whose comments say: a baseline
generator is "also register[ed] to restricted"; "If no fixture generator exists for the given
version, previous generators are checked back to 1.0") and from policy/checks.go and registry.go
(a restricted check's OverrideCheckIDs name baseline checks that then do not run at restricted):

* A generator registered at v1.N is used for v1.N and every later version until a newer
  generator for the same check is registered. A generator registered for a baseline check
  also applies at restricted level (it is then fed the restricted minimal pod).
* The checks that get fixtures at (level, v1.M) are those whose *first* revision is at or
  before v1.M and whose level is ``level`` -- or any level when ``level`` is restricted.
  Baseline checks that a restricted check overrides therefore still get fixtures at
  restricted level; those fail fixtures must then be denied by the overriding check.
* Fixture names are the lower-cased check id followed by the index inside the generator's
  pass or fail list; every ``pass`` directory also holds ``base`` (the minimal valid pod),
  and restricted v1.29+ also holds ``base_linux`` and ``base_windows``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

Pod = dict
PassFn = Callable[[Pod, str], list[Pod]]
FailFn = Callable[[Pod], list[Pod]]

BASELINE = "baseline"
RESTRICTED = "restricted"
LEVELS = (BASELINE, RESTRICTED)
NEWEST_MINOR = 37
MINORS = tuple(range(NEWEST_MINOR + 1))
# Upstream only renders OS-specific base pods from this minor on (a harness constant,
# not a policy change: the Windows exemptions themselves start at v1.25).
OS_SPECIFIC_BASES_FROM = 29

# Every check: (level, minor of its first revision), as registered by upstream's policy/check_*.go
# (e.g. CheckRunAsUser: restricted, api.MajorMinorVersion(1, 23)); written out here independently of
# the engine's registry.
CHECKS: dict[str, tuple[str, int]] = {
    "appArmorProfile": (BASELINE, 0),
    "capabilities_baseline": (BASELINE, 0),
    "hostNamespaces": (BASELINE, 0),
    "hostPathVolumes": (BASELINE, 0),
    "hostPorts": (BASELINE, 0),
    "hostProbesAndHostLifecycle": (BASELINE, 34),
    "privileged": (BASELINE, 0),
    "procMount": (BASELINE, 0),
    "seLinuxOptions": (BASELINE, 0),
    "seccompProfile_baseline": (BASELINE, 0),
    "sysctls": (BASELINE, 0),
    "windowsHostProcess": (BASELINE, 0),
    "allowPrivilegeEscalation": (RESTRICTED, 8),
    "capabilities_restricted": (RESTRICTED, 22),
    "procMount_restricted": (RESTRICTED, 35),
    "restrictedVolumes": (RESTRICTED, 0),
    "runAsNonRoot": (RESTRICTED, 0),
    "runAsUser": (RESTRICTED, 23),
    "seccompProfile_restricted": (RESTRICTED, 19),
}

# Baseline check -> (restricted check that overrides it, minor from which it does).
OVERRIDES: dict[str, tuple[str, int]] = {
    "hostPathVolumes": ("restrictedVolumes", 0),
    "seccompProfile_baseline": ("seccompProfile_restricted", 19),
    "capabilities_baseline": ("capabilities_restricted", 22),
    "procMount": ("procMount_restricted", 35),
}


# Substring upstream's harness expects in the denial message, per check id (defaults to the id).
EXPECT_SUBSTRING: dict[str, str] = {
    "appArmorProfile": "forbidden AppArmor profile",
    "capabilities_baseline": "capabilities",
    "capabilities_restricted": "unrestricted capabilities",
    "hostNamespaces": "host namespaces",
    "hostPathVolumes": "hostPath volumes",
    "hostPorts": "hostPort",
    "hostProbesAndHostLifecycle": "probe or lifecycle host",
    "procMount": "procMount",
    "procMount_restricted": "procMount",
    "restrictedVolumes": "restricted volume types",
    "seLinuxOptions": "seLinuxOptions",
    "seccompProfile_baseline": "seccompProfile",
    "seccompProfile_restricted": "seccompProfile",
    "sysctls": "forbidden sysctl",
    "windowsHostProcess": "hostProcess",
}


def checks_for(level: str, minor: int) -> list[str]:
    """Check ids that get fixtures at (level, v1.minor), overridden baseline ids included."""
    return [
        check_id
        for check_id, (check_level, first) in CHECKS.items()
        if first <= minor and (check_level == level or level == RESTRICTED)
    ]


def expected_check(level: str, minor: int, check_id: str) -> str:
    """The check id a fail fixture of ``check_id`` must be denied by at (level, v1.minor)."""
    if level == RESTRICTED and check_id in OVERRIDES:
        overriding, since = OVERRIDES[check_id]
        if minor >= since:
            return overriding
    return check_id


# --------------------------------------------------------------------------- pod helpers

PAUSE = "registry.k8s.io/pause"


def tweak(pod: Pod, mutate: Callable[[Pod], None]) -> Pod:
    """A deep copy of ``pod`` with ``mutate`` applied (the input is left alone)."""
    out = copy.deepcopy(pod)
    mutate(out)
    return out


def spec(pod: Pod) -> dict:
    return pod["spec"]


def ctr(pod: Pod) -> dict:
    return pod["spec"]["containers"][0]


def init(pod: Pod) -> dict:
    return pod["spec"]["initContainers"][0]


def both(pod: Pod) -> tuple[dict, dict]:
    return ctr(pod), init(pod)


def annotations(pod: Pod) -> dict:
    return pod.setdefault("metadata", {}).setdefault("annotations", {})


def ensure_security_context(pod: Pod) -> Pod:
    """A copy with a (possibly empty) securityContext on the pod and on both containers."""
    pod = copy.deepcopy(pod)
    spec(pod).setdefault("securityContext", {})
    for c in both(pod):
        c.setdefault("securityContext", {})
    return pod


def ensure_capabilities(pod: Pod) -> Pod:
    pod = ensure_security_context(pod)
    for c in both(pod):
        c["securityContext"].setdefault("capabilities", {})
    return pod


def ensure_selinux_options(pod: Pod) -> Pod:
    pod = ensure_security_context(pod)
    spec(pod)["securityContext"].setdefault("seLinuxOptions", {})
    for c in both(pod):
        c["securityContext"].setdefault("seLinuxOptions", {})
    return pod


def ensure_pod_security_context(pod: Pod) -> Pod:
    pod = copy.deepcopy(pod)
    spec(pod).setdefault("securityContext", {})
    return pod


def drop_key(mapping: dict, key: str) -> None:
    """Go's ``field = nil``: the key disappears from the serialized object."""
    mapping.pop(key, None)


def seccomp(kind: str, localhost_profile: str | None = None) -> dict:
    profile = {"type": kind}
    if localhost_profile is not None:
        profile["localhostProfile"] = localhost_profile
    return profile


# --------------------------------------------------------------------------- base pods

def _baseline_1_0() -> Pod:
    return {
        "spec": {
            "initContainers": [{"name": "initcontainer1", "image": PAUSE}],
            "containers": [{"name": "container1", "image": PAUSE}],
        }
    }


def _restricted_bases() -> dict[int, Pod]:
    r0 = tweak(_baseline_1_0(), lambda p: spec(p).__setitem__("securityContext", {"runAsNonRoot": True}))

    def add_ape(p: Pod) -> None:
        for c in both(p):
            c["securityContext"] = {"allowPrivilegeEscalation": False}

    r8 = tweak(r0, add_ape)

    def add_seccomp(p: Pod) -> None:
        p.get("metadata", {}).pop("annotations", None)
        spec(p)["securityContext"]["seccompProfile"] = seccomp("RuntimeDefault")

    r19 = tweak(r8, add_seccomp)

    def drop_all(p: Pod) -> None:
        for c in both(p):
            c["securityContext"]["capabilities"] = {"drop": ["ALL"]}

    r22 = tweak(r19, drop_all)
    return {0: r0, 8: r8, 19: r19, 22: r22}


def _with_os(pod: Pod, name: str) -> Pod:
    return tweak(pod, lambda p: spec(p).__setitem__("os", {"name": name}))


_MINIMAL: dict[str, dict[int, Pod]] = {BASELINE: {0: _baseline_1_0()}, RESTRICTED: _restricted_bases()}


def _latest_at(table: dict[int, Pod], minor: int) -> Pod:
    return copy.deepcopy(table[max(m for m in table if m <= minor)])


def minimal_valid_pod(level: str, minor: int) -> Pod:
    """The OS-neutral minimal valid pod for (level, v1.minor)."""
    return _latest_at(_MINIMAL[level], minor)


def minimal_linux_pod(minor: int) -> Pod:
    return _with_os(minimal_valid_pod(RESTRICTED, minor), "linux")


def minimal_windows_pod(minor: int) -> Pod:
    # From v1.25 none of the restricted requirements added after v1.0 apply to a pod
    # that declares spec.os.name=windows, so its minimal valid pod is restricted v1.0's.
    return _with_os(minimal_valid_pod(RESTRICTED, 0 if minor >= 25 else minor), "windows")


# --------------------------------------------------------------------------- generators

@dataclass(frozen=True)
class Generator:
    generate_pass: PassFn
    generate_fail: FailFn


# check id -> {minimum minor: generator}
GENERATORS: dict[str, dict[int, Generator]] = {}


def register(check_id: str, minor: int, generate_pass: PassFn, generate_fail: FailFn) -> None:
    assert check_id in CHECKS, check_id
    slot = GENERATORS.setdefault(check_id, {})
    assert minor not in slot, (check_id, minor)
    slot[minor] = Generator(generate_pass, generate_fail)


def generator_for(check_id: str, minor: int) -> Generator:
    slot = GENERATORS[check_id]
    return slot[max(m for m in slot if m <= minor)]


def _none(_pod: Pod, _level: str) -> list[Pod]:
    return []


# appArmorProfile ------------------------------------------------------------

APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _apparmor_pass(pod: Pod, _level: str) -> list[Pod]:
    def annotate(p: Pod) -> None:
        # upstream writes runtime/default and then localhost/foo under the same key
        # (both use the first container's name), so only the latter remains
        annotations(p)[APPARMOR_PREFIX + ctr(p)["name"]] = "runtime/default"
        annotations(p)[APPARMOR_PREFIX + ctr(p)["name"]] = "localhost/foo"

    return [tweak(pod, annotate)]


def _apparmor_fail(pod: Pod) -> list[Pod]:
    return [
        tweak(pod, lambda p: annotations(p).__setitem__(APPARMOR_PREFIX + ctr(p)["name"], "unconfined")),
        tweak(pod, lambda p: annotations(p).__setitem__(APPARMOR_PREFIX + init(p)["name"], "unconfined")),
    ]


register("appArmorProfile", 0, _apparmor_pass, _apparmor_fail)

# capabilities_baseline ------------------------------------------------------

BASELINE_CAPS = [
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
]


def _caps_baseline_pass(pod: Pod, _level: str) -> list[Pod]:
    # no pass fixture once the minimal pod drops ALL (restricted v1.22+)
    if "ALL" in (ctr(pod).get("securityContext") or {}).get("capabilities", {}).get("drop", []):
        return []
    pod = ensure_capabilities(pod)

    def add_all(p: Pod) -> None:
        for c in both(p):
            c["securityContext"]["capabilities"]["add"] = list(BASELINE_CAPS)

    return [tweak(pod, add_all)]


def _caps_add(which: Callable[[Pod], dict], caps: list[str]) -> Callable[[Pod], None]:
    return lambda p: which(p)["securityContext"]["capabilities"].__setitem__("add", list(caps))


def _caps_baseline_fail(pod: Pod) -> list[Pod]:
    pod = ensure_capabilities(pod)
    return [
        tweak(pod, _caps_add(ctr, ["NET_RAW"])),
        tweak(pod, _caps_add(init, ["NET_RAW"])),
        tweak(pod, _caps_add(ctr, ["chown"])),  # case matters
        tweak(pod, _caps_add(ctr, ["CAP_CHOWN"])),  # no CAP_ prefix
    ]


register("capabilities_baseline", 0, _caps_baseline_pass, _caps_baseline_fail)

# hostNamespaces -------------------------------------------------------------


def _host_namespaces_fail(pod: Pod) -> list[Pod]:
    return [tweak(pod, lambda p, f=field: spec(p).__setitem__(f, True)) for field in ("hostIPC", "hostNetwork", "hostPID")]


register("hostNamespaces", 0, _none, _host_namespaces_fail)

# hostPathVolumes ------------------------------------------------------------


def _host_path_fail(pod: Pod) -> list[Pod]:
    return [
        tweak(pod, lambda p: spec(p).__setitem__("volumes", [
            {"name": "volume-emptydir", "emptyDir": {}},
            {"name": "volume-hostpath", "hostPath": {"path": "/a"}},
        ])),
        tweak(pod, lambda p: spec(p).__setitem__("volumes", [
            {"name": "volume-hostpath-a", "hostPath": {"path": "/a"}},
            {"name": "volume-hostpath-b", "hostPath": {"path": "/b"}},
        ])),
    ]


register("hostPathVolumes", 0, _none, _host_path_fail)

# hostPorts ------------------------------------------------------------------


def _host_ports_pass(pod: Pod, _level: str) -> list[Pod]:
    def ports(p: Pod) -> None:
        ctr(p)["ports"] = [{"containerPort": 12345}]
        init(p)["ports"] = [{"containerPort": 12346}]

    return [tweak(pod, ports)]


def _host_ports_fail(pod: Pod) -> list[Pod]:
    def mixed(p: Pod) -> None:
        ctr(p)["ports"] = [{"containerPort": 12345, "hostPort": 12345}, {"containerPort": 12347}]
        init(p)["ports"] = [{"containerPort": 12346, "hostPort": 12346}, {"containerPort": 12348}]

    return [
        tweak(pod, lambda p: ctr(p).__setitem__("ports", [{"containerPort": 12345, "hostPort": 12345}])),
        tweak(pod, lambda p: init(p).__setitem__("ports", [{"containerPort": 12346, "hostPort": 12346}])),
        tweak(pod, mixed),
    ]


register("hostPorts", 0, _host_ports_pass, _host_ports_fail)

# hostProbesAndHostLifecycle -------------------------------------------------


def _probe(action: str, port: int, host: str | None = None) -> dict:
    target: dict = {"port": port}
    if host is not None:
        target["host"] = host
    return {action: target}


def _host_probes_pass(pod: Pod, _level: str) -> list[Pod]:
    return [
        copy.deepcopy(pod),  # no probes at all
        tweak(pod, lambda p: ctr(p).__setitem__("livenessProbe", _probe("httpGet", 8080))),
        tweak(pod, lambda p: ctr(p).__setitem__("readinessProbe", _probe("tcpSocket", 8080))),
    ]


def _host_probes_fail(pod: Pod) -> list[Pod]:
    def sidecar_probe(p: Pod) -> None:
        init(p)["restartPolicy"] = "Always"
        init(p)["readinessProbe"] = _probe("tcpSocket", 8080, "8.8.8.8")

    return [
        tweak(pod, lambda p: ctr(p).__setitem__("livenessProbe", _probe("httpGet", 8080, "bad.host"))),
        tweak(pod, sidecar_probe),
        tweak(pod, lambda p: ctr(p).__setitem__("lifecycle", {"postStart": _probe("httpGet", 8080, "bad.host")})),
        tweak(pod, lambda p: ctr(p).__setitem__("livenessProbe", _probe("httpGet", 8080, "127.0.0.1"))),
        tweak(pod, lambda p: ctr(p).__setitem__("readinessProbe", _probe("tcpSocket", 8080, "::1"))),
    ]


register("hostProbesAndHostLifecycle", 34, _host_probes_pass, _host_probes_fail)

# privileged -----------------------------------------------------------------


def _privileged_pass(pod: Pod, _level: str) -> list[Pod]:
    pod = ensure_security_context(pod)

    def unprivileged(p: Pod) -> None:
        for c in both(p):
            c["securityContext"]["privileged"] = False

    return [tweak(pod, unprivileged)]


def _privileged_fail(pod: Pod) -> list[Pod]:
    pod = ensure_security_context(pod)

    def privileged(which: Callable[[Pod], dict]) -> Callable[[Pod], None]:
        def mutate(p: Pod) -> None:
            sc = which(p)["securityContext"]
            sc["privileged"] = True
            drop_key(sc, "allowPrivilegeEscalation")

        return mutate

    return [tweak(pod, privileged(ctr)), tweak(pod, privileged(init))]


register("privileged", 0, _privileged_pass, _privileged_fail)

# procMount / procMount_restricted -------------------------------------------


def _proc_mount(containers: Callable[[Pod], tuple[dict, ...]], value: str, host_users: bool) -> Callable[[Pod], None]:
    def mutate(p: Pod) -> None:
        for c in containers(p):
            c["securityContext"]["procMount"] = value
        spec(p)["hostUsers"] = host_users

    return mutate


def _only(which: Callable[[Pod], dict]) -> Callable[[Pod], tuple[dict, ...]]:
    return lambda p: (which(p),)


def _proc_mount_pass_1_0(pod: Pod, _level: str) -> list[Pod]:
    pod = ensure_security_context(pod)
    return [tweak(pod, _proc_mount(both, "Default", False))]


def _proc_mount_fail_1_0(pod: Pod) -> list[Pod]:
    # before v1.35 a user namespace does not relax procMount
    pod = ensure_security_context(pod)
    return [
        tweak(pod, _proc_mount(_only(ctr), "Unmasked", False)),
        tweak(pod, _proc_mount(_only(init), "Unmasked", False)),
    ]


def _proc_mount_pass_1_35(pod: Pod, level: str) -> list[Pod]:
    pod = ensure_security_context(pod)
    passing = [tweak(pod, _proc_mount(both, "Default", False))]
    if level == BASELINE:
        # baseline v1.35+ allows any procMount in a user-namespaced pod; restricted does
        # not (procMount_restricted stays unconditional), so this one is baseline-only
        passing.append(tweak(pod, _proc_mount(both, "Unmasked", False)))
    return passing


def _proc_mount_fail_1_35(pod: Pod) -> list[Pod]:
    pod = ensure_security_context(pod)
    return [
        tweak(pod, _proc_mount(_only(ctr), "Unmasked", True)),
        tweak(pod, _proc_mount(_only(init), "Unmasked", True)),
    ]


register("procMount", 0, _proc_mount_pass_1_0, _proc_mount_fail_1_0)
register("procMount", 35, _proc_mount_pass_1_35, _proc_mount_fail_1_35)
# procMount_restricted keeps failing user-namespaced pods
register("procMount_restricted", 35, _proc_mount_pass_1_0, _proc_mount_fail_1_0)

# seLinuxOptions -------------------------------------------------------------


def _selinux_pass(valid_types: tuple[str, str, str]) -> PassFn:
    def generate(pod: Pod, _level: str) -> list[Pod]:
        pod = ensure_selinux_options(pod)

        def none_or_empty(p: Pod) -> None:
            drop_key(spec(p)["securityContext"], "seLinuxOptions")  # no pod-level
            drop_key(ctr(p)["securityContext"], "seLinuxOptions")  # no container-level
            init(p)["securityContext"]["seLinuxOptions"] = {}  # empty container-level

        def valid(p: Pod) -> None:
            pod_type, ctr_type, init_type = valid_types
            spec(p)["securityContext"]["seLinuxOptions"]["type"] = pod_type
            ctr(p)["securityContext"]["seLinuxOptions"]["type"] = ctr_type
            init(p)["securityContext"]["seLinuxOptions"]["type"] = init_type
            # any level is fine ("" at pod level serializes as absent)
            ctr(p)["securityContext"]["seLinuxOptions"]["level"] = "somevalue"

        return [tweak(pod, none_or_empty), tweak(pod, valid)]

    return generate


def _selinux_fail(pod: Pod) -> list[Pod]:
    pod = ensure_selinux_options(pod)

    def pod_opts(key: str) -> Callable[[Pod], None]:
        return lambda p: spec(p)["securityContext"]["seLinuxOptions"].__setitem__(key, "somevalue")

    def ctr_type(which: Callable[[Pod], dict]) -> Callable[[Pod], None]:
        return lambda p: which(p)["securityContext"]["seLinuxOptions"].__setitem__("type", "somevalue")

    return [
        tweak(pod, pod_opts("type")),
        tweak(pod, ctr_type(ctr)),
        tweak(pod, ctr_type(init)),
        tweak(pod, pod_opts("user")),
        tweak(pod, pod_opts("role")),
    ]


register("seLinuxOptions", 0, _selinux_pass(("container_t", "container_init_t", "container_kvm_t")), _selinux_fail)
# v1.31 allows container_engine_t as well (same number of fixtures; the type set used by
# the "all valid types" fixture is not confirmed against upstream's files)
register("seLinuxOptions", 31, _selinux_pass(("container_t", "container_init_t", "container_engine_t")), _selinux_fail)

# seccompProfile_baseline ----------------------------------------------------

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"


def _seccomp_baseline_pass_1_0(pod: Pod, _level: str) -> list[Pod]:
    if (pod.get("metadata") or {}).get("annotations", {}).get(SECCOMP_POD_ANNOTATION) == "runtime/default":
        return []

    def annotate(p: Pod) -> None:
        annotations(p)[SECCOMP_POD_ANNOTATION] = "runtime/default"
        annotations(p)[SECCOMP_CONTAINER_PREFIX + ctr(p)["name"]] = "localhost/testing"
        # init container left unset

    return [tweak(pod, annotate)]


def _seccomp_baseline_fail_1_0(pod: Pod) -> list[Pod]:
    return [
        tweak(pod, lambda p: annotations(p).__setitem__(SECCOMP_POD_ANNOTATION, "unconfined")),
        tweak(pod, lambda p: annotations(p).__setitem__(SECCOMP_CONTAINER_PREFIX + ctr(p)["name"], "unconfined")),
        tweak(pod, lambda p: annotations(p).__setitem__(SECCOMP_CONTAINER_PREFIX + init(p)["name"], "unconfined")),
    ]


def _seccomp_baseline_pass_1_19(pod: Pod, _level: str) -> list[Pod]:
    if ((spec(pod).get("securityContext") or {}).get("seccompProfile") or {}).get("type") == "RuntimeDefault":
        return []
    pod = ensure_security_context(pod)

    def fields(p: Pod) -> None:
        spec(p)["securityContext"]["seccompProfile"] = seccomp("RuntimeDefault")
        ctr(p)["securityContext"]["seccompProfile"] = seccomp("RuntimeDefault")

    return [tweak(pod, fields)]


def _seccomp_baseline_fail_1_19(pod: Pod) -> list[Pod]:
    pod = ensure_security_context(pod)
    return [
        tweak(pod, lambda p: spec(p)["securityContext"].__setitem__("seccompProfile", seccomp("Unconfined"))),
        tweak(pod, lambda p: ctr(p)["securityContext"].__setitem__("seccompProfile", seccomp("Unconfined"))),
        tweak(pod, lambda p: init(p)["securityContext"].__setitem__("seccompProfile", seccomp("Unconfined"))),
    ]


register("seccompProfile_baseline", 0, _seccomp_baseline_pass_1_0, _seccomp_baseline_fail_1_0)
register("seccompProfile_baseline", 19, _seccomp_baseline_pass_1_19, _seccomp_baseline_fail_1_19)

# sysctls --------------------------------------------------------------------

SYSCTLS_1_0 = [
    ("kernel.shm_rmid_forced", "0"),
    ("net.ipv4.ip_local_port_range", "1024 65535"),
    ("net.ipv4.tcp_syncookies", "0"),
    ("net.ipv4.ping_group_range", "1 0"),
    ("net.ipv4.ip_unprivileged_port_start", "1024"),
]
SYSCTLS_1_27 = SYSCTLS_1_0 + [("net.ipv4.ip_local_reserved_ports", "1024-4999")]
SYSCTLS_1_29 = SYSCTLS_1_27 + [
    ("net.ipv4.tcp_keepalive_time", "7200"),
    ("net.ipv4.tcp_fin_timeout", "60"),
    ("net.ipv4.tcp_keepalive_intvl", "75"),
    ("net.ipv4.tcp_keepalive_probes", "9"),
]
# from v1.32 the "allowed" fixture lists only the names that revision adds
SYSCTLS_1_32 = [("net.ipv4.tcp_rmem", "4096 87380 16777216"), ("net.ipv4.tcp_wmem", "4096 65536 16777216")]
SYSCTLS_1_37 = [("net.ipv4.tcp_slow_start_after_idle", "0"), ("net.ipv4.tcp_notsent_lowat", "16384")]


def _sysctls_pass(allowed: list[tuple[str, str]]) -> PassFn:
    def generate(pod: Pod, _level: str) -> list[Pod]:
        pod = ensure_pod_security_context(pod)
        return [
            tweak(pod, lambda p: drop_key(spec(p)["securityContext"], "sysctls")),
            tweak(pod, lambda p: spec(p)["securityContext"].__setitem__(
                "sysctls", [{"name": n, "value": v} for n, v in allowed])),
        ]

    return generate


def _sysctls_fail(pod: Pod) -> list[Pod]:
    pod = ensure_pod_security_context(pod)
    return [tweak(pod, lambda p: spec(p)["securityContext"].__setitem__(
        "sysctls", [{"name": "othersysctl", "value": "other"}]))]


for _minor, _allowed in ((0, SYSCTLS_1_0), (27, SYSCTLS_1_27), (29, SYSCTLS_1_29), (32, SYSCTLS_1_32), (37, SYSCTLS_1_37)):
    register("sysctls", _minor, _sysctls_pass(_allowed), _sysctls_fail)

# windowsHostProcess ---------------------------------------------------------


def _host_process_fail(pod: Pod) -> list[Pod]:
    pod = ensure_security_context(pod)
    spec(pod)["securityContext"].setdefault("windowsOptions", {})
    for c in both(pod):
        c["securityContext"].setdefault("windowsOptions", {})

    def pod_level(p: Pod) -> None:
        spec(p)["hostNetwork"] = True  # required by API validation for hostProcess pods
        spec(p)["securityContext"]["windowsOptions"]["hostProcess"] = True

    def containers(p: Pod) -> None:
        spec(p)["hostNetwork"] = True
        for c in both(p):
            c["securityContext"]["windowsOptions"]["hostProcess"] = True

    return [tweak(pod, pod_level), tweak(pod, containers)]


register("windowsHostProcess", 0, _none, _host_process_fail)

# allowPrivilegeEscalation ---------------------------------------------------


def _ape_fail(pod: Pod) -> list[Pod]:
    if (spec(pod).get("os") or {}).get("name") == "windows":
        return []
    return [
        tweak(pod, lambda p: ctr(p)["securityContext"].__setitem__("allowPrivilegeEscalation", True)),
        tweak(pod, lambda p: init(p)["securityContext"].__setitem__("allowPrivilegeEscalation", True)),
        tweak(pod, lambda p: drop_key(ctr(p)["securityContext"], "allowPrivilegeEscalation")),
        tweak(pod, lambda p: drop_key(ctr(p), "securityContext")),
    ]


register("allowPrivilegeEscalation", 8, _none, _ape_fail)

# capabilities_restricted ----------------------------------------------------

ALL_INDIVIDUAL_CAPS = [
    "SYS_TIME", "SYS_MODULE", "SYS_RAWIO", "SYS_PACCT", "SYS_ADMIN", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "AUDIT_WRITE",
    "AUDIT_CONTROL", "MAC_OVERRIDE", "MAC_ADMIN", "NET_ADMIN", "SYSLOG",
    "CHOWN", "NET_RAW", "DAC_OVERRIDE", "FOWNER", "DAC_READ_SEARCH",
    "FSETID", "KILL", "SETGID", "SETUID", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
    "NET_BROADCAST", "IPC_LOCK", "IPC_OWNER", "SYS_CHROOT", "SYS_PTRACE",
    "SYS_BOOT", "LEASE", "SETFCAP", "WAKE_ALARM", "BLOCK_SUSPEND",
]


def _caps(p: Pod, which: Callable[[Pod], dict]) -> dict:
    return which(p)["securityContext"]["capabilities"]


def _caps_restricted_pass(pod: Pod, _level: str) -> list[Pod]:
    pod = ensure_capabilities(pod)

    def drop_all_add_bind(p: Pod) -> None:
        for which in (ctr, init):
            _caps(p, which)["drop"] = ["ALL"]
            _caps(p, which)["add"] = ["NET_BIND_SERVICE"]

    return [tweak(pod, drop_all_add_bind)]


def _caps_restricted_fail(pod: Pod) -> list[Pod]:
    pod = ensure_capabilities(pod)

    def individually(p: Pod) -> None:
        for which in (ctr, init):
            _caps(p, which)["drop"] = list(ALL_INDIVIDUAL_CAPS)

    def add_back(p: Pod) -> None:
        for which in (ctr, init):
            _caps(p, which)["drop"] = ["ALL"]
            _caps(p, which)["add"] = list(BASELINE_CAPS)

    return [
        tweak(pod, lambda p: drop_key(_caps(p, ctr), "drop")),  # drop: [] serializes as absent
        tweak(pod, lambda p: drop_key(_caps(p, init), "drop")),
        tweak(pod, individually),  # dropping every capability by name is not "ALL"
        tweak(pod, add_back),  # only NET_BIND_SERVICE may be added back
    ]


register("capabilities_restricted", 22, _caps_restricted_pass, _caps_restricted_fail)

# restrictedVolumes ----------------------------------------------------------


def _volume(source: str, value: dict) -> Pod:
    return {"name": "volume1", source: value}


RESTRICTED_VOLUME_SOURCES = [
    ("gcePersistentDisk", {"pdName": "test"}),
    ("awsElasticBlockStore", {"volumeID": "test"}),
    ("gitRepo", {"repository": "github.com/kubernetes/kubernetes"}),
    ("nfs", {"server": "test", "path": "/test"}),
    ("iscsi", {"targetPortal": "test", "iqn": "iqn.2001-04.com.example:storage.kube.sys1.xyz", "lun": 0}),
    ("glusterfs", {"path": "test", "endpoints": "test"}),
    ("rbd", {"monitors": ["test"], "image": "test"}),
    ("flexVolume", {"driver": "test"}),
    ("cinder", {"volumeID": "test"}),
    ("cephfs", {"monitors": ["test"]}),
    ("flocker", {"datasetName": "test"}),
    ("fc", {"wwids": ["test"]}),
    ("azureFile", {"secretName": "test", "shareName": "test"}),
    ("vsphereVolume", {"volumePath": "test"}),
    ("quobyte", {"registry": "localhost:1234", "volume": "test"}),
    ("azureDisk", {"diskName": "test", "diskURI": "https://test.blob.core.windows.net/test/test.vhd"}),
    ("portworxVolume", {"volumeID": "test", "fsType": "ext4"}),
    ("scaleIO", {"volumeName": "test", "gateway": "localhost", "system": "test"}),
    ("storageos", {"volumeName": "test"}),
    ("hostPath", {"path": "/dev/null"}),
]


def _restricted_volumes_pass(pod: Pod, _level: str) -> list[Pod]:
    volumes = [
        {"name": "volume0"},  # no source: the API server defaults it to emptyDir
        {"name": "volume1", "emptyDir": {}},
        {"name": "volume2", "secret": {"secretName": "test"}},
        {"name": "volume3", "persistentVolumeClaim": {"claimName": "test"}},
        {"name": "volume4", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"name": "volume5", "configMap": {"name": "test"}},
        {"name": "volume6", "projected": {"sources": []}},
    ]
    return [tweak(pod, lambda p: spec(p).__setitem__("volumes", copy.deepcopy(volumes)))]


def _restricted_volumes_fail(pod: Pod) -> list[Pod]:
    return [
        tweak(pod, lambda p, s=source, v=value: spec(p).__setitem__("volumes", [_volume(s, v)]))
        for source, value in RESTRICTED_VOLUME_SOURCES
    ]


register("restrictedVolumes", 0, _restricted_volumes_pass, _restricted_volumes_fail)

# runAsNonRoot ---------------------------------------------------------------


def _run_as_non_root(pod_value: bool | None, ctr_value: bool | None, init_value: bool | None) -> Callable[[Pod], None]:
    def mutate(p: Pod) -> None:
        for sc, value in (
            (spec(p)["securityContext"], pod_value),
            (ctr(p)["securityContext"], ctr_value),
            (init(p)["securityContext"], init_value),
        ):
            if value is None:
                drop_key(sc, "runAsNonRoot")
            else:
                sc["runAsNonRoot"] = value

    return mutate


def _run_as_non_root_pass(pod: Pod, _level: str) -> list[Pod]:
    pod = ensure_security_context(pod)
    return [
        tweak(pod, _run_as_non_root(True, None, None)),  # pod level covers containers
        tweak(pod, _run_as_non_root(None, True, True)),  # every container sets it
    ]


def _run_as_non_root_fail(pod: Pod) -> list[Pod]:
    pod = ensure_security_context(pod)
    return [
        tweak(pod, _run_as_non_root(None, None, None)),
        tweak(pod, lambda p: spec(p)["securityContext"].__setitem__("runAsNonRoot", False)),
        tweak(pod, lambda p: ctr(p)["securityContext"].__setitem__("runAsNonRoot", False)),
        tweak(pod, lambda p: init(p)["securityContext"].__setitem__("runAsNonRoot", False)),
    ]


register("runAsNonRoot", 0, _run_as_non_root_pass, _run_as_non_root_fail)

# runAsUser ------------------------------------------------------------------


def _run_as_user_pass(pod: Pod, _level: str) -> list[Pod]:
    pod = ensure_security_context(pod)

    def non_zero(p: Pod) -> None:
        for sc in (spec(p)["securityContext"], ctr(p)["securityContext"], init(p)["securityContext"]):
            sc["runAsUser"] = 1000

    return [tweak(pod, non_zero)]


def _run_as_user_fail(pod: Pod) -> list[Pod]:
    pod = ensure_security_context(pod)
    return [
        tweak(pod, lambda p: spec(p)["securityContext"].__setitem__("runAsUser", 0)),
        tweak(pod, lambda p: ctr(p)["securityContext"].__setitem__("runAsUser", 0)),
        tweak(pod, lambda p: init(p)["securityContext"].__setitem__("runAsUser", 0)),
    ]


register("runAsUser", 23, _run_as_user_pass, _run_as_user_fail)

# seccompProfile_restricted --------------------------------------------------


def _seccomp_restricted_pass(pod: Pod, _level: str) -> list[Pod]:
    pod = ensure_security_context(pod)

    def containers_only(p: Pod) -> None:
        drop_key(spec(p)["securityContext"], "seccompProfile")
        ctr(p)["securityContext"]["seccompProfile"] = seccomp("RuntimeDefault")
        init(p)["securityContext"]["seccompProfile"] = seccomp("Localhost", "testing")

    return [
        tweak(pod, lambda p: spec(p)["securityContext"].__setitem__("seccompProfile", seccomp("RuntimeDefault"))),
        tweak(pod, lambda p: spec(p)["securityContext"].__setitem__("seccompProfile", seccomp("Localhost", "testing"))),
        tweak(pod, containers_only),
    ]


def _seccomp_restricted_fail(pod: Pod) -> list[Pod]:
    pod = ensure_security_context(pod)

    def unset_pod(then: Callable[[Pod], None] | None = None) -> Callable[[Pod], None]:
        def mutate(p: Pod) -> None:
            drop_key(spec(p)["securityContext"], "seccompProfile")
            if then is not None:
                then(p)

        return mutate

    def container_unconfined(p: Pod) -> None:
        ctr(p)["securityContext"]["seccompProfile"] = seccomp("RuntimeDefault")
        init(p)["securityContext"]["seccompProfile"] = seccomp("Unconfined")

    return [
        tweak(pod, unset_pod()),  # unset everywhere
        tweak(pod, lambda p: spec(p)["securityContext"].__setitem__("seccompProfile", seccomp("Unconfined"))),
        tweak(pod, unset_pod(lambda p: ctr(p)["securityContext"].__setitem__("seccompProfile", seccomp("RuntimeDefault")))),
        tweak(pod, unset_pod(lambda p: init(p)["securityContext"].__setitem__("seccompProfile", seccomp("RuntimeDefault")))),
        tweak(pod, unset_pod(container_unconfined)),
    ]


register("seccompProfile_restricted", 19, _seccomp_restricted_pass, _seccomp_restricted_fail)


# --------------------------------------------------------------------------- fixtures

@dataclass(frozen=True)
class Fixture:
    """One rendered fixture, as upstream would write it to testdata."""

    level: str
    minor: int
    outcome: str  # "pass" or "fail"
    name: str  # file stem, e.g. "restrictedvolumes0" or "base"
    check: str | None  # generating check id (None for base pods)
    expect: str | None  # check id that must deny a fail fixture
    pod: Pod

    @property
    def path(self) -> str:
        return f"{self.level}/v1.{self.minor}/{self.outcome}/{self.name}.yaml"


def _render(pod: Pod, name: str) -> Pod:
    pod = copy.deepcopy(pod)
    metadata = pod.setdefault("metadata", {})
    if not metadata.get("annotations"):
        metadata.pop("annotations", None)  # an empty map is omitted when serialized
    metadata["name"] = name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod["spec"]}


def fixtures_for(level: str, minor: int) -> list[Fixture]:
    """Every fixture upstream renders into testdata/<level>/v1.<minor>/."""
    out = [Fixture(level, minor, "pass", "base", None, None, _render(minimal_valid_pod(level, minor), "base"))]
    if level == RESTRICTED and minor >= OS_SPECIFIC_BASES_FROM:
        out.append(Fixture(level, minor, "pass", "base_linux", None, None, _render(minimal_linux_pod(minor), "base_linux")))
        out.append(Fixture(level, minor, "pass", "base_windows", None, None, _render(minimal_windows_pod(minor), "base_windows")))
    for check_id in checks_for(level, minor):
        gen = generator_for(check_id, minor)
        passing = gen.generate_pass(minimal_valid_pod(level, minor), level)
        failing = gen.generate_fail(minimal_valid_pod(level, minor))
        assert failing, f"{check_id} at {level} v1.{minor}: a generator must produce at least one fail fixture"
        stem = check_id.lower()
        for i, pod in enumerate(passing):
            out.append(Fixture(level, minor, "pass", f"{stem}{i}", check_id, None, _render(pod, f"{stem}{i}")))
        expect = expected_check(level, minor, check_id)
        for i, pod in enumerate(failing):
            out.append(Fixture(level, minor, "fail", f"{stem}{i}", check_id, expect, _render(pod, f"{stem}{i}")))
    return out


_CACHE: list[Fixture] | None = None


def all_fixtures() -> list[Fixture]:
    """Every fixture for baseline and restricted, v1.0..v1.37 (generated once per process)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = [f for level in LEVELS for minor in MINORS for f in fixtures_for(level, minor)]
    return _CACHE
