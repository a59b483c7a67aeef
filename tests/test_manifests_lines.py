"""manifests' line tracking (``track_lines``): where each node of a document is written."""
from __future__ import annotations

from kubectl_pss.manifests import parse_text

TEXT = """\
# a comment
base: &base
  image: nginx
  name: old
pod:
  <<: *base
  name: new
  name: newest
items: [a, {b: 1}]
---
second: {x:
  1}
"""


def test_positions_of_keys_items_merges_repeats_and_later_documents():
    first, second = parse_text("m.yaml", TEXT, track_lines=True)
    p = first.positions
    assert p[("base",)] == (2, 1) and p[("base", "image")] == (3, 3)
    assert p[("pod", "name")] == (8, 3)  # a repeated key: the last, as kubectl keeps it
    assert p[("pod", "image")] == (3, 3)  # merged from the anchor: where it is written
    assert p[("items", 1, "b")] == (9, 13) and p[("items", 0)] == (9, 9)
    assert ("pod", "missing") not in p and p.get(("items", 5)) is None and ("items", "x") not in p
    assert second.positions[("second", "x")] == (11, 10)


def test_positions_of_json_documents_and_none_without_tracking():
    text = '{"a": 1}\n  {"kind": "Pod",\n "spec": {"x": [1, 2]}}'
    one, two = parse_text("s.json", text, track_lines=True)
    assert one.positions[("a",)] == (1, 2)
    assert two.positions[("kind",)] == (2, 4) and two.positions[("spec", "x", 1)] == (3, 20)
    assert all(d.positions is None for d in parse_text("s.json", text))
