"""Conformance against the upstream PSA fixture set, regenerated in memory.

Every fixture upstream renders into test/testdata/<level>/v1.<minor>/<pass|fail>/ is rebuilt
by pss_fixture_generators (4537 pods: 1051 pass, 3486 fail) and evaluated here after the
manifest defaulting the API server would apply:

* pass fixtures must be allowed at their level and version;
* fail fixtures must be denied, by the fixture's check -- or, at restricted level from the
  override version on, by the restricted check that replaces that baseline check -- with
  the message substring upstream's harness looks for, and never with an unknown reason.
"""
from __future__ import annotations

import collections

import pytest
from tests.policy.conformance.pss_fixture_generators import (
    CHECKS,
    EXPECT_SUBSTRING,
    LEVELS,
    MINORS,
    OVERRIDES,
    RESTRICTED,
    Fixture,
    all_fixtures,
    checks_for,
)

from kubectl_pss.policy import DEFAULT_REGISTRY, apply_manifest_defaults, evaluate, parse_level, parse_version

# Upstream's test/testdata at commit 8f84a87c7f617f64a4ddc1aea24aeeb7a2e07cb8 of
# github.com/kubernetes/pod-security-admission (after v0.37.0-alpha.2, policy versions v1.0-v1.37):
# <level>/v1.<minor>/<pass|fail>/<check id><n>.yaml plus base*.yaml, 4537 files.
UPSTREAM_TOTAL, UPSTREAM_PASS, UPSTREAM_FAIL = 4537, 1051, 3486

_GROUPS: dict[tuple[str, int, str], list[Fixture]] | None = None


def groups() -> dict[tuple[str, int, str], list[Fixture]]:
    global _GROUPS
    if _GROUPS is None:
        _GROUPS = collections.defaultdict(list)
        for fixture in all_fixtures():
            _GROUPS[(fixture.level, fixture.minor, fixture.outcome)].append(fixture)
    return _GROUPS


def _evaluate(fixture: Fixture):
    return evaluate(apply_manifest_defaults(fixture.pod), fixture.level, f"v1.{fixture.minor}")


def _overridden_at(minor: int) -> set[str]:
    return {baseline for baseline, (_, since) in OVERRIDES.items() if minor >= since}


CASES = [pytest.param(level, minor, id=f"{level}-v1.{minor}") for level in LEVELS for minor in MINORS]


def test_fixture_counts_match_upstream():
    fixtures = all_fixtures()
    by = collections.Counter((f.level, f.outcome) for f in fixtures)
    counts = {
        "baseline": (by[("baseline", "pass")], by[("baseline", "fail")]),
        "restricted": (by[("restricted", "pass")], by[("restricted", "fail")]),
    }
    total_pass = sum(p for p, _ in counts.values())
    total_fail = sum(f for _, f in counts.values())
    assert (len(fixtures), total_pass, total_fail) == (UPSTREAM_TOTAL, UPSTREAM_PASS, UPSTREAM_FAIL), counts
    # per level (derived from the generators; upstream only publishes the totals)
    assert counts == {"baseline": (433, 1122), "restricted": (618, 2364)}


def test_fixture_paths_are_unique_and_named_like_upstream():
    paths = [f.path for f in all_fixtures()]
    assert len(paths) == len(set(paths))
    for f in all_fixtures():
        assert f.pod["metadata"]["name"] == f.name
        assert f.pod["kind"] == "Pod" and "namespace" not in f.pod["metadata"]
        if f.check is not None:
            assert f.name.startswith(f.check.lower())


def test_every_check_has_fixtures_from_its_first_version():
    seen = {(f.level, f.minor, f.check) for f in all_fixtures() if f.outcome == "fail"}
    for check_id, (level, first) in CHECKS.items():
        levels = (level,) if level == RESTRICTED else LEVELS
        for lvl in levels:
            assert (lvl, first, check_id) in seen
            if first > 0:
                assert (lvl, first - 1, check_id) not in seen


@pytest.mark.parametrize("level, minor", CASES)
def test_fixture_checks_match_engine_plan(level, minor):
    """The checks the harness exercises, minus overridden ones, are exactly the engine's plan."""
    expected = set(checks_for(level, minor))
    if level == RESTRICTED:
        expected -= _overridden_at(minor)
    plan = DEFAULT_REGISTRY.plan(parse_level(level), parse_version(f"v1.{minor}"))
    assert {p.id for p in plan} == expected


@pytest.mark.parametrize("level, minor", CASES)
def test_pass_fixtures_are_allowed(level, minor):
    problems = []
    for fixture in groups()[(level, minor, "pass")]:
        result = _evaluate(fixture)
        if not result.allowed:
            problems.append(f"{fixture.path}: {result.denial()}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("level, minor", CASES)
def test_fail_fixtures_are_denied_by_the_expected_check(level, minor):
    overridden = _overridden_at(minor) if level == RESTRICTED else set()
    problems = []
    for fixture in groups()[(level, minor, "fail")]:
        result = _evaluate(fixture)
        by_id = {v.check: v for v in result.violations}
        if result.allowed:
            problems.append(f"{fixture.path}: allowed, expected a {fixture.expect} violation")
            continue
        if fixture.expect not in by_id:
            problems.append(f"{fixture.path}: expected {fixture.expect} among {list(by_id)}: {result.details()}")
            continue
        substring = EXPECT_SUBSTRING.get(fixture.expect, fixture.expect)
        if substring not in by_id[fixture.expect].message():
            problems.append(f"{fixture.path}: {substring!r} not in {by_id[fixture.expect].message()!r}")
        if "unknown forbidden reason" in result.details():
            problems.append(f"{fixture.path}: unknown forbidden reason: {result.details()}")
        if overridden & by_id.keys():
            problems.append(f"{fixture.path}: overridden check(s) {sorted(overridden & by_id.keys())} reported")
    assert not problems, "\n".join(problems)


def _find(path: str) -> dict:
    matches = [f.pod for f in all_fixtures() if f.path == path]
    assert len(matches) == 1, path
    return matches[0]


def _restricted_containers(**extra_security) -> tuple[dict, dict]:
    def sc(name: str) -> dict:
        body = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
        body.update(extra_security.get(name, {}))
        return {"name": name, "image": "registry.k8s.io/pause", "securityContext": body}

    return sc("container1"), sc("initcontainer1")


# Shapes of a handful of upstream testdata files (as decoded YAML), to pin the generators.
SPOT_CHECKS = {
    "restricted/v1.29/pass/base_linux.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "base_linux"},
        "spec": {
            "containers": [_restricted_containers()[0]],
            "initContainers": [_restricted_containers()[1]],
            "os": {"name": "linux"},
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        },
    },
    "baseline/v1.34/fail/hostprobesandhostlifecycle0.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hostprobesandhostlifecycle0"},
        "spec": {
            "containers": [{"image": "registry.k8s.io/pause", "name": "container1",
                            "livenessProbe": {"httpGet": {"host": "bad.host", "port": 8080}}}],
            "initContainers": [{"image": "registry.k8s.io/pause", "name": "initcontainer1"}],
        },
    },
    "baseline/v1.34/pass/hostprobesandhostlifecycle1.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hostprobesandhostlifecycle1"},
        "spec": {
            "containers": [{"image": "registry.k8s.io/pause", "name": "container1",
                            "livenessProbe": {"httpGet": {"port": 8080}}}],
            "initContainers": [{"image": "registry.k8s.io/pause", "name": "initcontainer1"}],
        },
    },
    "restricted/v1.35/fail/procmount0.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "procmount0"},
        "spec": {
            "containers": [_restricted_containers(container1={"procMount": "Unmasked"})[0]],
            "hostUsers": True,
            "initContainers": [_restricted_containers()[1]],
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        },
    },
    "restricted/v1.36/fail/procmount1.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "procmount1"},
        "spec": {
            "containers": [_restricted_containers()[0]],
            "hostUsers": True,
            "initContainers": [_restricted_containers(initcontainer1={"procMount": "Unmasked"})[1]],
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        },
    },
    "restricted/v1.35/fail/procmount_restricted0.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "procmount_restricted0"},
        "spec": {
            "containers": [_restricted_containers(container1={"procMount": "Unmasked"})[0]],
            "hostUsers": False,
            "initContainers": [_restricted_containers()[1]],
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        },
    },
    "restricted/v1.37/pass/procmount_restricted0.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "procmount_restricted0"},
        "spec": {
            "containers": [_restricted_containers(container1={"procMount": "Default"})[0]],
            "hostUsers": False,
            "initContainers": [_restricted_containers(initcontainer1={"procMount": "Default"})[1]],
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        },
    },
    "baseline/v1.37/pass/sysctls1.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sysctls1"},
        "spec": {
            "containers": [{"image": "registry.k8s.io/pause", "name": "container1"}],
            "initContainers": [{"image": "registry.k8s.io/pause", "name": "initcontainer1"}],
            "securityContext": {"sysctls": [
                {"name": "net.ipv4.tcp_slow_start_after_idle", "value": "0"},
                {"name": "net.ipv4.tcp_notsent_lowat", "value": "16384"},
            ]},
        },
    },
    "baseline/v1.36/pass/apparmorprofile0.yaml": lambda: {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "apparmorprofile0",
                     "annotations": {"container.apparmor.security.beta.kubernetes.io/container1": "localhost/foo"}},
        "spec": {
            "containers": [{"image": "registry.k8s.io/pause", "name": "container1"}],
            "initContainers": [{"image": "registry.k8s.io/pause", "name": "initcontainer1"}],
        },
    },
}


@pytest.mark.parametrize("path", sorted(SPOT_CHECKS))
def test_generated_fixture_matches_upstream_shape(path):
    assert _find(path) == SPOT_CHECKS[path]()


def test_restricted_volumes_pass_fixture_needs_manifest_defaulting():
    pod = _find("restricted/v1.0/pass/restrictedvolumes0.yaml")
    assert {"name": "volume0"} in pod["spec"]["volumes"]
    assert evaluate(apply_manifest_defaults(pod), "restricted", "v1.0").allowed


def test_admission_view_gives_identical_results_on_every_fixture():
    """The memory-saving view of an object must never change a verdict or a message."""
    from kubectl_pss.policy.objects import admission_view

    checked = 0
    for fixture in all_fixtures():
        pod = apply_manifest_defaults(fixture.pod)
        view = admission_view(pod)
        for level in ("baseline", "restricted"):
            version = f"v1.{fixture.minor}"
            assert evaluate(view, level, version) == evaluate(pod, level, version), fixture.path
        checked += 1
    assert checked == 4537


def test_verdict_cache_gives_identical_results_on_every_fixture():
    """One cache for all fixtures (as for a whole cluster): each verdict as evaluate() gives it, whether it
    came from the cache or not, and a workload whose template is a fixture's pod shares its verdicts."""
    from kubectl_pss.analysis.findings import VerdictCache
    from kubectl_pss.policy.levels import Level, parse_version
    from kubectl_pss.policy.objects import admission_view

    cache = VerdictCache()
    for _ in range(2):  # the second round answers from the cache
        for fixture in all_fixtures():
            pod = apply_manifest_defaults(fixture.pod)
            view = admission_view(pod)
            template = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "d"},
                        "spec": {"template": {"metadata": view.get("metadata"), "spec": view.get("spec")}}}
            version = parse_version(f"v1.{fixture.minor}")
            for level in (Level.BASELINE, Level.RESTRICTED):
                expected = evaluate(pod, level, version)
                for obj in (view, pod, template):
                    assert cache.result(obj, level, version) == expected, fixture.path
    # the full pod is keyed apart from its view (more fields), the view's template shares the view's verdicts
    assert cache.misses <= 2 * 2 * 4537 and cache.hits >= (2 + 3 * 2) * 4537


def test_stand_ins_give_identical_results_on_every_fixture():
    """Issue 20: what a live read keeps of each object (``StandIn``: its identity and the template of the
    first object with its key, shared across the run) evaluates, uncached, exactly as the object does;
    pods and a workload holding each fixture's template, through one cache as for a whole cluster."""
    from kubectl_pss.analysis.findings import StandIn, VerdictCache, view_key
    from kubectl_pss.policy.objects import admission_view
    from kubectl_pss.policy.schema import type_errors

    cache = VerdictCache()
    stood = 0
    for fixture in all_fixtures():
        pod = apply_manifest_defaults(fixture.pod)
        pod = {**pod, "metadata": {**(pod.get("metadata") or {}), "name": "p", "namespace": "ns"}}
        workload = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "d", "namespace": "ns"},
                    "spec": {"template": {"metadata": pod.get("metadata"), "spec": pod.get("spec")}}}
        version = f"v1.{fixture.minor}"
        for obj in (pod, workload):
            view = admission_view(obj)
            key = view_key(view)
            assert cache.wrong_types(view, key) == type_errors(view), fixture.path
            held = cache.stand_in(view, key)
            stood += isinstance(held, StandIn)
            made = held.as_object() if isinstance(held, StandIn) else held
            for level in ("baseline", "restricted"):
                assert evaluate(made, level, version) == evaluate(obj, level, version), fixture.path
    assert stood == 2 * 4537
