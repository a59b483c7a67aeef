"""Grouping, filters, summaries and exemption suggestions."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kubectl_pss.auditlog import EventFilter, Grouper, parse_instant, parse_selector, select, suggest_exemptions, summarize
from tests.auditlog import eventgen as g

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=timezone.utc)


def grouped(events, event_filter=EventFilter()) -> Grouper:
    grouper = Grouper()
    for event in events:
        for outcome in select(event):
            if event_filter.accepts(outcome):
                grouper.add(outcome)
    return grouper


def test_repeats_group_with_count_first_and_last_seen():
    events = [g.at(g.ROOT_POD, "2026-12-05T10:00:00.5Z"), g.at(g.ROOT_POD, "2026-12-01T09:00:00Z"),
              g.at(g.ROOT_POD, "2026-12-07T11:00:00.000001Z")]
    [v] = grouped(events).violations()
    assert (v["name"], v["count"], v["firstSeen"], v["lastSeen"]) == (
        "web-root", 3, "2026-12-01T09:00:00Z", "2026-12-07T11:00:00.000001Z")
    assert v["userKind"] == "user" and v["generateName"] is False


def test_one_group_per_user_mode_and_policy():
    events = [g.ROOT_POD, g.as_user(g.ROOT_POD, "bob"), g.DENIED_POD, g.DENIED_POD]
    violations = grouped(events).violations()
    assert [(v["name"], v["user"], v["mode"], v["count"]) for v in violations] == [
        ("shell", "lab-admin", "audit", 2), ("shell", "lab-admin", "enforce", 2),
        ("web-root", "bob", "audit", 1), ("web-root", "lab-admin", "audit", 1)]


def test_unknown_checks_are_never_an_empty_list():
    events = [g.metadata_level(g.DENIED_POD), g.DENIED_POD]
    [enforce] = [v for v in grouped(events).violations() if v["mode"] == "enforce"]  # same pod, same user
    assert [c["check"] for c in enforce["checks"]] == ["privileged"] and enforce["count"] == 2
    assert "1 of 2 events name no checks" in enforce["notes"]
    assert "owner unknown (Metadata-level audit policy)" in enforce["notes"]
    only_unknown = grouped([g.metadata_level(g.DENIED_POD)]).violations()
    assert [v["checks"] for v in only_unknown if v["mode"] == "enforce"] == [None]


@pytest.mark.parametrize("text, expected", [
    ("2h", datetime(2026, 12, 7, 18, 0, tzinfo=timezone.utc)),
    ("1h30m", datetime(2026, 12, 7, 18, 30, tzinfo=timezone.utc)),
    ("7d", datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)),
    ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
    ("2026-12-01T12:00:00+02:00", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
])
def test_instants(text, expected):
    assert parse_instant(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2h-", "2026-12-01", "-5m", ""])
def test_bad_instants(text):
    with pytest.raises(ValueError):
        parse_instant(text, NOW)


def test_time_window_namespaces_and_selectors():
    events = [g.at(g.ROOT_POD, "2026-12-01T09:00:00Z"), g.at(g.SA_POD, "2026-12-07T19:00:00Z"),
              g.in_namespace(g.at(g.ROOT_POD, "2026-12-07T19:30:00Z"), "team-b"), g.at(g.DENIED_POD, "2026-12-07T19:45:00Z")]
    recent = EventFilter(since=parse_instant("2h", NOW))
    assert {(v["namespace"], v["name"]) for v in grouped(events, recent).violations()} == {
        ("ae-demo", "job-runner"), ("team-b", "web-root"), ("ae-demo", "shell")}
    until = EventFilter(until=parse_instant("2026-12-07T19:00:00Z", NOW))
    assert [v["name"] for v in grouped(events, until).violations()] == ["job-runner", "web-root"]
    team_b = EventFilter(namespaces=frozenset({"team-b"}))
    assert [v["namespace"] for v in grouped(events, team_b).violations()] == ["team-b"]
    enforce = EventFilter(selectors=parse_selector("mode=enforce"))
    assert [(v["name"], v["mode"]) for v in grouped(events, enforce).violations()] == [("shell", "enforce")]
    not_admin = EventFilter(selectors=parse_selector("user!=lab-admin,level=restricted"))
    assert [v["user"] for v in grouped(events, not_admin).violations()] == ["system:serviceaccount:ae-demo:deployer"]


@pytest.mark.parametrize("text", ["owner=x", "user", "=x"])
def test_bad_selectors(text):
    with pytest.raises(ValueError):
        parse_selector(text)


def test_summary_counts_events_and_objects():
    grouper = grouped([g.ROOT_POD, g.ROOT_POD, g.DENIED_POD, g.SA_POD, g.in_namespace(g.SA_POD, "team-b"),
                       g.exempted(g.ROOT_POD, "user")])
    violations, exemptions = grouper.violations(), grouper.exemptions()
    s = summarize(violations, exemptions)
    assert (s["violations"], s["objects"], s["auditEvents"], s["enforceEvents"], s["exemptEvents"]) == (5, 4, 5, 1, 1)
    assert s["byNamespace"] == [{"namespace": "ae-demo", "audit": 4, "enforce": 1, "objects": 3, "users": 2},
                                {"namespace": "team-b", "audit": 1, "enforce": 0, "objects": 1, "users": 1}]
    privileged = next(c for c in s["byCheck"] if c["check"] == "privileged")
    assert privileged == {"check": "privileged", "reason": "privileged", "audit": 1, "enforce": 1, "objects": 1}
    assert s["byCheck"][0]["audit"] == 5  # the most frequent first
    assert [(e["name"], e["exempt"], e["count"]) for e in exemptions] == [("web-root", "user", 1)]


def test_exemption_suggestions():
    ci = "system:serviceaccount:ci:runner"
    events = [g.in_namespace(g.as_user(g.ROOT_POD, ci), "builds"), g.in_namespace(g.as_user(g.SA_POD, ci), "builds"),
              g.in_namespace(g.generated_pod(), "web"),  # replicaset-controller only
              g.ROOT_POD, g.SA_POD]  # ae-demo: two identities, no candidate
    s = suggest_exemptions(grouped(events).violations())
    assert [(c["username"], c["namespaces"], c["events"], c["recommended"]) for c in s["candidates"]] == [
        (ci, ["builds"], 2, True),
        ("system:serviceaccount:kube-system:replicaset-controller", ["web"], 1, False)]
    assert "built-in controller" in s["candidates"][1]["reason"]
    assert s["exemptions"] == {"usernames": [ci]}
    already = suggest_exemptions(grouped(events).violations(), frozenset({ci}))
    assert already["exemptions"] == {"usernames": []} and already["candidates"][0]["reason"].startswith("already")
