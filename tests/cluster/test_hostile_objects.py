"""Issue 12 follow-up: a hostile cluster object (metadata not an object, an item that is not an object,
names/namespaces/uids that are not strings) is an error of its namespace, or of the whole list when no
namespace can be known (then every namespace in scope is incomplete), never a crash or an all-clear."""
from __future__ import annotations

import json

import pytest


def _cluster(apiserver):
    apiserver.add_namespace("good")
    apiserver.add_namespace("odd")
    apiserver.add_pod("good", "fine")
    return apiserver.add_pod("odd", "bad")


def _audit(run_cli, apiserver, *scope):
    code, out, err = run_cli("audit", *scope, "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert "internal error" not in err and code == 2, err
    report = json.loads(out)
    return {ns["name"]: ns["complete"] for ns in report["namespaces"]}, report["errors"]


@pytest.mark.parametrize("scope", [("-A",), ("-n", "good,odd")])
@pytest.mark.parametrize("field,value", [("namespace", ["odd"]), ("uid", {"a": 1}), ("name", ["bad"])])
def test_an_identity_field_that_is_not_a_string_is_an_error_of_its_namespace(apiserver, run_cli, scope, field, value):
    bad = _cluster(apiserver)
    bad["metadata"][field] = value
    complete, errors = _audit(run_cli, apiserver, *scope)
    if field == "namespace" and scope == ("-A",):  # no namespace can be known: the list's error
        assert complete == {"good": False, "odd": False}
        assert [e["namespace"] for e in errors] == [None]
    else:
        assert complete == {"good": True, "odd": False}
        assert [(e["namespace"], e["resource"]) for e in errors] == [("odd", "pods")]
        assert f"metadata.{field}: expected string" in errors[0]["message"]


@pytest.mark.parametrize("scope", [("-A",), ("-n", "good,odd")])
@pytest.mark.parametrize("hostile", ["metadata", "item"])
def test_metadata_or_item_that_is_not_an_object(apiserver, run_cli, scope, hostile):
    bad = _cluster(apiserver)
    if hostile == "metadata":
        bad["metadata"] = "x"
    else:
        store = apiserver._stores["pods"]
        store.by_key["odd/bad"] = store.by_ns["odd"]["bad"] = 42
    complete, errors = _audit(run_cli, apiserver, *scope)
    if scope == ("-A",):  # a cluster-wide list: which namespace it was in cannot be known
        assert complete == {"good": False, "odd": False}
        assert [e["namespace"] for e in errors] == [None]
    else:
        assert complete == {"good": True, "odd": False}
        assert [e["namespace"] for e in errors] == ["odd"]


def test_a_namespace_whose_name_is_not_a_string_is_a_one_line_error(apiserver, run_cli):
    _cluster(apiserver)
    apiserver._stores["namespaces"].by_key["odd"]["metadata"]["name"] = ["odd"]
    code, out, err = run_cli("audit", "-A", "--kubeconfig", apiserver.kubeconfig_path, "-o", "json")
    assert code == 2 and "internal error" not in err
    assert "metadata.name: expected string" in err


def test_a_namespace_read_by_name_whose_metadata_is_not_an_object(apiserver, run_cli):
    _cluster(apiserver)
    apiserver.inject("/api/v1/namespaces", 403, exact=True, times=99)
    apiserver._stores["namespaces"].by_key["odd"]["metadata"] = "x"
    complete, errors = _audit(run_cli, apiserver, "-n", "good,odd")
    assert complete == {"good": True}
    assert [(e["namespace"], e["resource"]) for e in errors] == [("odd", "namespaces")]

