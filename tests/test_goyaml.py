"""YAML read as kubectl reads it (issue 12, item 6): go-yaml v2's scalar resolution and sigs.k8s.io/yaml's keys.

The table below is derived from go-yaml v2.4.0's resolve.go, as vendored by kubernetes/kubernetes
(vendor/gopkg.in/yaml.v2/resolve.go: resolveMapList, the resolveTable hints, ParseInt/ParseUint with
base 0 on the text without underscores, yamlStyleFloat, the 0b/-0b branches), and from
sigs.k8s.io/yaml's yaml.go (convertToJSONableObject: int keys via strconv.Itoa, float keys via
FormatFloat(f, 'g', -1, 32) with .inf/-.inf/.nan, bool keys "true"/"false", any other key an error).
"""
from __future__ import annotations

import math

import pytest
import yaml

from kubectl_pss.goyaml import load, resolve_plain

# plain scalar -> the value go-yaml v2 decodes into interface{} (then JSON)
PLAIN = [
    # resolveMapList booleans: YAML 1.1 words, three spellings each
    *[(word, True) for word in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")],
    *[(word, False) for word in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")],
    # other case mixes are no booleans
    *[(word, word) for word in ("yES", "oN", "tRUE", "nO", "OfF")],
    # nulls
    *[(word, None) for word in ("~", "null", "Null", "NULL", "")],
    ("nULL", "nULL"),
    # ints: strconv.ParseInt(plain, 0, 64) with underscores removed, then ParseUint
    ("0", 0), ("-0", 0), ("+1", 1), ("1_000", 1000), ("1__0", 10), ("0x1F", 31), ("0X1F", 31), ("-0x1F", -31),
    ("0x_1F", 31), ("0o17", 15), ("0O17", 15), ("-0o17", -15), ("017", 15), ("0755", 493), ("00", 0),
    ("0b101", 5), ("0B101", 5), ("-0b101", -5), ("0b-1", -1),  # the 0b branch parses plain[2:] with its sign
    ("9223372036854775807", 9223372036854775807), ("-9223372036854775808", -9223372036854775808),
    ("18446744073709551615", 18446744073709551615),  # ParseUint: above int64, still an int
    # floats: yamlStyleFloat then ParseFloat
    ("08", 8.0), ("09.5", 9.5),  # no valid octal, but a yamlStyleFloat
    ("1e3", 1000.0), ("1E5", 100000.0), ("1.", 1.0), ("0.1", 0.1), ("+.5", 0.5), ("-1.5e-3", -0.0015),
    (".5", 0.5), (".5e3", 500.0), ("18446744073709551616", 18446744073709551616.0), ("9" * 20, 1e20),
    ("-9223372036854775809", -9223372036854775809.0),
    # strings: no hint, or no parse succeeds, or ParseFloat's ErrRange
    ("1e", "1e"), ("0x", "0x"), ("0o", "0o"), ("0b", "0b"), ("0b2", "0b2"), ("_1", "_1"), ("-x", "-x"),
    (".iNf", ".iNf"), ("1e400", "1e400"), ("1" + "0" * 5000, "1" + "0" * 5000), ("0x1p-2", "0x1p-2"),
    ("12:30", "12:30"),  # no base 60 in go-yaml
    ("2001-12-14", "2001-12-14"), ("2001-12-14T21:59:43Z", "2001-12-14T21:59:43Z"),  # timestamps stay text
    ("=", "="), ("\u0663", "\u0663"), ("abc", "abc"),
]


@pytest.mark.parametrize("text, expected", PLAIN, ids=[repr(t[:12]) for t, _ in PLAIN])
def test_plain_scalars_resolve_as_go_yaml_v2(text, expected):
    value = load(f"v: {text}\n" if text else "v:\n")["v"]
    assert value == expected and type(value) is type(expected)
    assert resolve_plain(text)[1] == expected


@pytest.mark.parametrize("text", ["yes", "on", "Y", "null", "~", "0x1F", "1e3", ".inf", "017", ""])
@pytest.mark.parametrize("quote", ["'", '"'])
def test_quoted_scalars_stay_strings(text, quote):
    assert load(f"v: {quote}{text}{quote}\n") == {"v": text}
    assert load(f"{quote}{text}{quote}: v\n") == {text: "v"}


KEYS = [
    ("on", "true"), ("yes", "true"), ("off", "false"), ("N", "false"), ("true", "true"),
    ("80", "80"), ("0x10", "16"), ("017", "15"), ("-1", "-1"), ("1_000", "1000"),
    ("1.5", "1.5"), ("0.1", "0.1"), ("1e3", "1000"), ("100000", "100000"), ("1e6", "1e+06"), ("1e-5", "1e-05"),
    ("2.0", "2"), (".inf", ".inf"), ("-.inf", "-.inf"), (".nan", ".nan"),
    ("2001-12-14", "2001-12-14"), ("name", "name"),
]


@pytest.mark.parametrize("key, json_key", KEYS)
def test_keys_become_json_strings_as_sigs_yaml_makes_them(key, json_key):
    assert load(f"{key}: x\n") == {json_key: "x"}


@pytest.mark.parametrize("text, message", [
    ("~: x\n", "type <nil>"), ("null: x\n", "type <nil>"),  # a null key
    ("18446744073709551615: x\n", "type uint64"),  # ParseUint's type has no case in convertToJSONableObject
    ("v: .inf\n", "cannot be represented in JSON"), ("v: [-.Inf]\n", "cannot be represented in JSON"),
    ("v: .NaN\n", "cannot be represented in JSON"),  # json.Marshal fails on NaN and infinities
    ("v: !!int abc\n", "cannot decode str `abc` as a int"),
])
def test_what_kubectl_cannot_turn_into_json_is_an_error(text, message):
    with pytest.raises(yaml.YAMLError, match=message):
        load(text)


def test_explicit_tags_and_merge_keys():
    assert load("a: !!str yes\nb: !!float 1\nc: !!bool 'on'\nd: !custom text\ne: !!binary aGk=\n") == \
        {"a": "yes", "b": 1.0, "c": True, "d": "text", "e": "hi"}
    assert load("base: &b {hostPID: on}\npod:\n  <<: *b\n  hostIPC: Y\n")["pod"] == {"hostPID": True, "hostIPC": True}


def test_nan_and_inf_values_are_errors_and_finite_floats_pass():
    assert math.isclose(load("v: 1.5e3\n")["v"], 1500.0)


def test_keys_python_finds_equal_stay_apart_as_in_go():
    """(review of issue 12) 1.0 == 1 == True in Python; go yaml.v2 + sigs.k8s.io/yaml keep three keys."""
    assert load("{1.0: a, 2: b, true: c}\n") == {"1": "a", "2": "b", "true": "c"}
    assert load("{1: a, yes: b, 0: c, false: d}\n") == {"1": "a", "true": "b", "0": "c", "false": "d"}
    assert load("a: 1\na: 2\n") == {"a": 2}  # a repeated key: yaml.v2 (non-strict, as kubectl) keeps the last
    assert load("1.0: a\n1.00: b\n") == {"1": "b"}  # the same Go float64 key


@pytest.mark.parametrize("text", ["1: a\n'1': b\n", "1: a\n1.0: b\n", "true: a\n'true': b\n"])
def test_different_keys_with_the_same_json_text_are_an_error(text):
    with pytest.raises(yaml.YAMLError, match='two different map keys are both "'):
        load(text)
