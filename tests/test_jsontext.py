"""jsontext.json_object: a program's output that must be one JSON object."""
from __future__ import annotations

import pytest

from kubectl_pss.jsontext import json_object


def test_an_object_is_returned():
    assert json_object(b'{"kind": "ExecCredential"}', "no JSON", "no object") == {"kind": "ExecCredential"}


@pytest.mark.parametrize("text", ["[]", "1", '"token"', "null", "true"])
def test_other_json_is_not_an_object(text):
    with pytest.raises(ValueError) as info:
        json_object(text, "no JSON", "the output is not a JSON object")
    assert str(info.value) == "the output is not a JSON object"


@pytest.mark.parametrize("text", ["", "{", "token: x"])
def test_no_json_says_why(text):
    with pytest.raises(ValueError) as info:
        json_object(text, "crictl printed no JSON", "no object")
    assert str(info.value).startswith("crictl printed no JSON: ") and len(str(info.value)) > len("crictl printed no JSON: ")
