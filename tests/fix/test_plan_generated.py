"""fix on the conformance fixtures' variety (4537 pods, v1.0-v1.37, as every workload kind): every
object reported as passing passes by an independent evaluation of the edited object, only the safe
fields are ever written, nothing the API server rejects, and a second run changes nothing."""
from __future__ import annotations

import copy
import itertools

import pytest
from tests.policy.conformance.pss_fixture_generators import all_fixtures

from kubectl_pss.fix import ALLOW_NAMES, DELETE, apply_edits, plan_fix
from kubectl_pss.policy import TEMPLATE_PATHS, apply_manifest_defaults, evaluate, parse_level, parse_version
from kubectl_pss.policy.schema import type_errors

KINDS = list(TEMPLATE_PATHS)
SAFE_KEYS = {"allowPrivilegeEscalation", "drop", "runAsNonRoot", "seccompProfile"}


def wrap(pod: dict, kind: str) -> dict:
    """The pod as ``kind``: its metadata and spec become the pod template."""
    path = TEMPLATE_PATHS[kind]
    template = {"metadata": copy.deepcopy(pod.get("metadata") or {}), "spec": copy.deepcopy(pod.get("spec") or {})}
    if path is None:
        return {"apiVersion": "v1", "kind": "Pod", **template}
    obj: dict = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "w"}}
    node = obj
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = template
    return obj


def cases():
    kinds = itertools.cycle(KINDS)
    for fixture in all_fixtures():
        if fixture.level == "restricted" or fixture.minor % 6 == 0:
            yield fixture, next(kinds)


def containers(spec: dict):
    for name in ("initContainers", "containers", "ephemeralContainers"):
        yield from (c for c in spec.get(name) or () if isinstance(c, dict))


def template_spec(obj: dict) -> dict:
    node = obj
    for key in TEMPLATE_PATHS[obj["kind"]] or ():
        node = node[key]
    return node["spec"]


def assert_valid_combination(obj: dict) -> None:
    """What the API server's validation refuses: allowPrivilegeEscalation false with privileged or
    CAP_SYS_ADMIN; Linux-only fields on a Windows pod."""
    spec = template_spec(obj)
    windows = (spec.get("os") or {}).get("name") == "windows"
    for c in containers(spec):
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is False:
            assert sc.get("privileged") is not True
            assert not {"SYS_ADMIN", "CAP_SYS_ADMIN"} & set((sc.get("capabilities") or {}).get("add") or ())


@pytest.mark.parametrize("level_name", ["restricted", "baseline"])
def test_generated_workloads_are_fixed_and_proven(level_name):
    level = parse_level(level_name)
    seen = fixed = decided = 0
    for fixture, kind in cases():
        obj = wrap(fixture.pod, kind)
        if type_errors(obj):
            continue
        version = parse_version(f"v1.{fixture.minor}")
        plan = plan_fix(obj, level, version)
        seen += 1
        after = copy.deepcopy(obj)
        apply_edits(after, plan.edits)
        verdict = evaluate(apply_manifest_defaults(after), level, version)
        assert verdict.allowed == plan.allowed_after, fixture.path
        assert [v.check for v in verdict.violations] == [d["check"] for d in plan.needs_decision], fixture.path
        if level_name == "baseline":
            assert plan.edits == [], fixture.path  # baseline adds no restricted-only field, decides nothing
        windows = (template_spec(obj).get("os") or {}).get("name") == "windows"
        for edit in plan.edits:
            assert edit.key in SAFE_KEYS, (fixture.path, edit)
            assert edit.value is not DELETE
            if edit.key == "allowPrivilegeEscalation":
                assert edit.old in (None, True)
            else:
                assert edit.old is None or edit.append, (fixture.path, edit)  # never flips an explicit value
            if edit.key in ("runAsNonRoot", "seccompProfile"):
                assert edit.path[-2] == "spec", edit  # pod level only
            if windows:
                assert edit.key == "runAsNonRoot", (fixture.path, edit)
        assert_valid_combination(after)
        again = plan_fix(after, level, version)
        assert again.edits == [], fixture.path  # idempotent
        if plan.edits and plan.allowed_after:
            fixed += 1
        decided += bool(plan.needs_decision)
    print(f"{level_name}: {seen} objects, {fixed} fixed, {decided} need a decision")
    assert seen > 2000
    if level_name == "restricted":
        assert fixed > 300


def test_allowed_decisions_are_fixed_without_rejected_combinations():
    level = parse_level("restricted")
    allow = frozenset(ALLOW_NAMES.values())
    fixed = 0
    for fixture, kind in cases():
        if fixture.check not in ("privileged", "hostNamespaces", "hostPorts", "capabilities_baseline",
                                 "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"):
            continue
        obj = wrap(fixture.pod, kind)
        if type_errors(obj):
            continue
        version = parse_version(f"v1.{fixture.minor}")
        plan = plan_fix(obj, level, version, allow)
        after = copy.deepcopy(obj)
        apply_edits(after, plan.edits)
        assert_valid_combination(after)
        assert evaluate(apply_manifest_defaults(after), level, version).allowed == plan.allowed_after
        fixed += plan.allowed_after
    assert fixed > 100
