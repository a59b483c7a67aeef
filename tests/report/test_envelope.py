"""report.envelope: the one place every report gets its apiVersion, kind, context, server and errors."""
from __future__ import annotations

import pytest

from kubectl_pss.report.envelope import envelope, server_info, source_name


def test_the_envelope_comes_first_then_the_body():
    doc = envelope("AuditReport", {"namespaces": [], "notes": []}, context="prod",
                   server=server_info({"gitVersion": "v1.30.1", "minor": "30"}, 30))
    assert list(doc) == ["apiVersion", "kind", "context", "server", "errors", "namespaces", "notes"]
    assert doc["apiVersion"] == "kubectl-pss/v1" and doc["kind"] == "AuditReport" and doc["context"] == "prod"
    assert doc["server"] == {"gitVersion": "v1.30.1", "minor": 30} and doc["errors"] == []


def test_offline_has_no_context_and_no_server():
    doc = envelope("CheckReport", {"results": []})
    assert (doc["context"], doc["server"]) == (None, None)
    assert server_info(None, None) is None and server_info({}, None) is None


def test_errors_are_objects_with_a_message():
    doc = envelope("NodesReport", {}, errors=["plain text", {"node": "a", "error": "old shape"},
                                              {"namespace": "n", "message": "new shape", "status": 403}])
    assert doc["errors"] == [{"message": "plain text"}, {"node": "a", "message": "old shape"},
                             {"namespace": "n", "message": "new shape", "status": 403}]


def test_a_body_cannot_override_the_envelope():
    with pytest.raises(ValueError, match="errors"):
        envelope("AuditReport", {"errors": []})


def test_source_name_says_snapshot_offline():
    assert source_name({"context": None, "cluster": {"snapshot": ["a.json", "b.json"]}}) == "snapshot a.json, b.json"
    assert source_name({"context": "prod", "cluster": {"snapshot": None}}) == "prod"
    assert source_name({"context": None}) == "-"
