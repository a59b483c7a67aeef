"""kubectl's label selector (kubectl_pss/scope.py): parsed once, matched as apimachinery does, sent in a
canonical form; cross-checked with the test API server's own parser (tests/apiserver/selectors.py)."""
from __future__ import annotations

import itertools

import pytest

from kubectl_pss.scope import NamespaceScope, SelectorError, excluded, parse_field_selector, parse_selector
from tests.apiserver.selectors import label_matcher


@pytest.mark.parametrize("text, canonical", [
    ("a=b", "a=b"), ("a==b", "a==b"), ("a!=b", "a!=b"), ("a", "a"), ("!a", "!a"), (" ! a ", "!a"),
    ("a in (y, x)", "a in (x,y)"), ("a notin (x)", "a notin (x)"), ("a=", "a="), ("n>3", "n>3"), ("n < 10", "n<10"),
    ("example.com/team = blue , !legacy", "example.com/team=blue,!legacy"),
    ("kubernetes.io/metadata.name in (a,b)", "kubernetes.io/metadata.name in (a,b)"),
])
def test_canonical_form(text, canonical):
    assert str(parse_selector(text)) == canonical


@pytest.mark.parametrize("text", [
    "a b", "a=b,", ",a", "a,,b", "in (a)", "a in ()", "a in (b", "a in b", "!a=b", "=b", "a=b=c", "a>x",
    "a/b/c=d", "-a=b", "a=-b", "a in (b c)", "n<-1", "a" * 64, "a=" + "b" * 64, "Exa.com/a=b",
])
def test_bad_syntax_is_refused(text):
    with pytest.raises(SelectorError):
        parse_selector(text)


SELECTORS = ["team=blue", "team!=blue", "team", "!team", "team in (blue,red)", "team notin (blue)",
             "team=blue,tier", "!team,tier!=apps", "n>2", "n<2", "team==red", "team="]
LABELS = [{}, {"team": "blue"}, {"team": "red", "tier": "apps"}, {"tier": "db"}, {"team": ""}, {"n": "3"},
          {"n": "1"}, {"n": "x"}, {"team": "green", "tier": "apps"}]


@pytest.mark.parametrize("selector, labels", list(itertools.product(SELECTORS, LABELS)))
def test_matches_as_the_api_server_does(selector, labels):
    obj = {"metadata": {"labels": labels}}
    assert parse_selector(selector).selects(obj) == label_matcher(selector)(obj)


def test_excludes_are_shell_globs_on_the_whole_name():
    assert excluded("kube-system", ("kube-*",)) and excluded("a1", ("a?",)) and excluded("b", ("x", "[ab]"))
    assert not excluded("my-kube-system", ("kube-*",)) and not excluded("kube", ("kube-*",))


def test_a_scope_covers_named_selected_and_not_excluded():
    ns = lambda name, **labels: {"metadata": {"name": name, "labels": labels}}  # noqa: E731
    scope = NamespaceScope(None, parse_selector("team"), ("kube-*",))
    assert scope.covers(ns("web", team="x")) and not scope.covers(ns("kube-x", team="x"))
    assert not scope.covers(ns("web"))
    assert not NamespaceScope(("a",)).covers(ns("b")) and NamespaceScope(("a",)).covers(ns("a"))
    assert scope.as_dict() == {"namespaces": None, "selector": "team", "excludeNamespaces": ["kube-*"]}


@pytest.mark.parametrize("text, canonical", [
    ("spec.nodeName=node-1", "spec.nodeName=node-1"),
    ("status.phase!=Failed, spec.nodeName == n", "status.phase!=Failed,spec.nodeName==n"),
    ("metadata.name=", "metadata.name="),
])
def test_field_selectors_are_made_canonical(text, canonical):
    assert parse_field_selector(text) == canonical


@pytest.mark.parametrize("text", ["", "spec.nodeName", "a=b=c", "a in (b)", "a=b,", "a>1"])
def test_bad_field_selectors_are_refused(text):
    with pytest.raises(SelectorError):
        parse_field_selector(text)
