"""Comparing the API server's namespace dry-run warnings with the engine's (pure)."""
from __future__ import annotations

from kubectl_pss.analysis.rollout import compare_server_warnings, dry_run_verdict

HEADER = 'existing pods in namespace "ns" violate the new PodSecurity enforce level "restricted:latest"'
MODERN = "host namespaces, allowPrivilegeEscalation != false, runAsNonRoot != true, seccompProfile"
OLD = "host namespaces, seccompProfile, allowPrivilegeEscalation != false, runAsNonRoot != true, seccompProfile"
EXPECTED = [HEADER, f"a (and 2 other pods): {MODERN}"]
REJECTED = {"a": [MODERN, MODERN], "b": [MODERN, OLD], "c": [MODERN, OLD]}
V124 = {"server_version": "v1.24.3", "server_minor": 24}


def test_the_same_warnings_agree_without_a_note():
    assert compare_server_warnings(list(EXPECTED), EXPECTED, REJECTED, **V124) == (True, None)


def test_pre_1_25_grouping_and_repeats_agree_with_a_note_naming_the_version():
    server = [HEADER, f"a: {MODERN}", f"b (and 1 other pod): {OLD}"]
    agrees, note = compare_server_warnings(server, EXPECTED, REJECTED, **V124)
    assert agrees is True and note.startswith("the API server v1.24.3 words its warnings differently")
    assert "before v1.25 has no check overrides" in note
    # the same from a v1.25+ server: a check ran twice, which those servers do not do
    assert compare_server_warnings(server, EXPECTED, REJECTED, "v1.30.1", 30) == (False, None)


def test_another_order_of_the_same_reasons_is_wording_on_any_version():
    reordered = ", ".join(reversed(MODERN.split(", ")))
    agrees, note = compare_server_warnings([HEADER, f"a (and 2 other pods): {reordered}"], EXPECTED, REJECTED,
                                           "v1.30.1", 30)
    assert agrees is True and note.startswith("the API server v1.30.1 words") and "before v1.25" not in note


def test_what_matters_still_disagrees():
    cases = [
        [HEADER.replace('"ns"', '"other"'), f"a (and 2 other pods): {MODERN}"],  # another namespace
        [HEADER.replace("restricted:latest", "baseline:latest"), f"a (and 2 other pods): {MODERN}"],  # level
        [f"a (and 2 other pods): {MODERN}"],  # no rejection line
        [HEADER, f"a (and 3 other pods): {MODERN}"],  # one pod more
        [HEADER, f"a (and 1 other pod): {MODERN}"],  # one pod less
        [HEADER, f"z (and 2 other pods): {MODERN}"],  # a pod the engine does not reject
        [HEADER, f"a (and 2 other pods): host namespaces"],  # other reasons
        [HEADER, f"a (and 2 other pods): {MODERN}", "something else"],  # another warning
        [],  # nothing rejected
    ]
    for server in cases:
        assert compare_server_warnings(server, EXPECTED, REJECTED, **V124) == (False, None), server


def test_verdict_of_warnings():
    verdict = dry_run_verdict([HEADER, f"a: {MODERN}", f"b (and 1 other pod): {OLD}", "x y z"])
    assert verdict.headers == (HEADER,) and verdict.pods == 3 and verdict.other == ("x y z",)
    assert verdict.named == {"a": MODERN, "b": OLD}
