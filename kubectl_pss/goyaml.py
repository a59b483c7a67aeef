"""YAML read as kubectl reads it: sigs.k8s.io/yaml on gopkg.in/yaml.v2, then JSON.

Plain scalars resolve by go-yaml v2's ``resolve()`` (resolve.go): y/Y/yes/Yes/YES/on/On/ON are
true, n/N/no/No/NO/off/Off/OFF false, ``~``/null/Null/NULL/empty are null, ints in Go's base-0
syntax (0x, 0o, 0b, a leading 0 for octal, underscores dropped), floats as its yamlStyleFloat
(``1e3``, ``.5``, ``08`` -- an invalid octal read as a float), ``.inf``/``.nan``. A number out of
range for float64 stays a string, as Go's ParseFloat fails with ErrRange. Timestamps stay strings
(yaml.v2 keeps them as text when decoding into interface{}). Quoted scalars are always strings.

Keys become JSON strings as sigs.k8s.io/yaml's convertToJSONableObject does: a bool key is
"true"/"false", an int its decimal text, a float Go's ``FormatFloat(f, 'g', -1, 32)``; a null key,
a key beyond int64 or a collection key is an error. A value JSON cannot hold (``.inf``, ``.nan``)
is an error, as json.Marshal fails on it.
"""
from __future__ import annotations

import base64
import math
import re
import struct
from typing import Any

import yaml
from yaml.constructor import ConstructorError

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"

# resolve.go: resolveMapList.
_WORDS: dict[str, tuple[str, Any]] = {}
for _value, _tag, _words in (
        (True, BOOL_TAG, "y Y yes Yes YES true True TRUE on On ON"),
        (False, BOOL_TAG, "n N no No NO false False FALSE off Off OFF"),
        (None, NULL_TAG, "~ null Null NULL"),
        (math.nan, FLOAT_TAG, ".nan .NaN .NAN"),
        (math.inf, FLOAT_TAG, ".inf .Inf .INF +.inf +.Inf +.INF"),
        (-math.inf, FLOAT_TAG, "-.inf -.Inf -.INF")):
    for _word in _words.split():
        _WORDS[_word] = (_tag, _value)
_WORDS[""] = (NULL_TAG, None)

_INT64 = (-(1 << 63), (1 << 63) - 1)
_UINT64_MAX = (1 << 64) - 1
# resolve.go: yamlStyleFloat.
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", re.ASCII)
# Go's ParseFloat on a text starting with "." (underscores only between digits).
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?", re.ASCII)
_DIGITS = {2: re.compile(r"[01]+"), 8: re.compile(r"[0-7]+"), 10: re.compile(r"[0-9]+", re.ASCII),
           16: re.compile(r"[0-9a-fA-F]+")}


def _parse_uint(text: str, base: int) -> int | None:
    """Go's strconv.ParseUint(text, base, 64) without underscores; None when it fails."""
    if base == 0:
        base = 10
        if text[:1] == "0":
            prefix = text[1:2].lower()
            if len(text) >= 3 and prefix in ("b", "o", "x"):
                base, text = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
            else:
                base, text = 8, text[1:] or "0"
    if not _DIGITS[base].fullmatch(text):
        return None
    if base == 10 and len(text) > 20:  # also keeps int() clear of Python's 4300-digit limit
        return None
    value = int(text, base)
    return value if value <= _UINT64_MAX else None


def _parse_int(text: str, base: int) -> int | None:
    """Go's strconv.ParseInt(text, base, 64): an optional sign, then ParseUint."""
    sign = 1
    if text[:1] in ("+", "-"):
        sign, text = (-1 if text[0] == "-" else 1), text[1:]
    magnitude = _parse_uint(text, base) if text else None
    if magnitude is None:
        return None
    value = sign * magnitude
    return value if _INT64[0] <= value <= _INT64[1] else None


def _finite(text: str) -> float | None:
    value = float(text)
    return None if math.isinf(value) else value  # ParseFloat's ErrRange: the scalar stays a string


def resolve_plain(text: str) -> tuple[str, Any]:
    """(tag, value) of a plain scalar, as go-yaml v2's resolve("", text)."""
    word = _WORDS.get(text)
    if word is not None:
        return word
    hint = text[:1]
    if hint == ".":
        if _DOT_FLOAT.fullmatch(text):
            value = _finite(text.replace("_", ""))
            if value is not None:
                return FLOAT_TAG, value
    elif hint and hint in "+-0123456789":
        # A timestamp is tried first but stays a string in interface{}; it is no number either.
        plain = text.replace("_", "")
        number: Any = _parse_int(plain, 0)
        if number is None:
            number = _parse_uint(plain, 0) if plain[:1] not in ("+", "-") and plain else None
        if number is not None:
            return INT_TAG, number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            value = _finite(plain)
            if value is not None:
                return FLOAT_TAG, value
        if plain.startswith("0b"):
            number = _parse_int(plain[2:], 2)
            if number is None and plain[2:3] not in ("+", "-") and plain[2:]:
                number = _parse_uint(plain[2:], 2)
            if number is not None:
                return INT_TAG, number
        elif plain.startswith("-0b"):
            number = _parse_int("-" + plain[3:], 2)
            if number is not None:
                return INT_TAG, number
    elif text == "<<":
        return MERGE_TAG, text
    return STR_TAG, text


def _go_float32_g(value: float) -> str:
    """Go's strconv.FormatFloat(value, 'g', -1, 32): the shortest float32 digits, %e for an exponent < -4 or >= 6."""
    if math.isnan(value):
        return ".nan"
    single = struct.unpack("f", struct.pack("f", value))[0] if abs(value) < 3.4028235677973366e38 else math.copysign(math.inf, value)
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    for digits in range(1, 10):
        text = f"{single:.{digits - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, exponent = text.split("e")
    exp = int(exponent)
    if exp < -4 or exp >= 6:
        return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    sign = "-" if mantissa.startswith("-") else ""
    figures = mantissa.lstrip("-").replace(".", "")
    if exp >= 0:
        figures = figures.ljust(exp + 1, "0")
        whole, frac = figures[:exp + 1], figures[exp + 1:]
    else:
        whole, frac = "0", "0" * (-exp - 1) + figures
    return sign + whole + (f".{frac}" if frac else "")


def json_key(key: Any, node: yaml.Node) -> str:
    """A YAML map key as sigs.k8s.io/yaml turns it into a JSON object key."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int) and _INT64[0] <= key <= _INT64[1]:
        return str(key)
    if isinstance(key, float):
        return _go_float32_g(key)
    kind = "<nil>" if key is None else "uint64" if isinstance(key, int) else type(key).__name__
    raise ConstructorError(None, None, f"a map key of type {kind} cannot be a JSON object key", node.start_mark)


def _construct_scalar(loader: "GoYamlLoader", node: Any) -> Any:
    """A null/bool/int/float scalar: go-yaml v2 resolves its text; an explicit tag must agree."""
    tag, value = resolve_plain(loader.construct_scalar(node))
    if tag != node.tag:
        if node.tag == FLOAT_TAG and tag == INT_TAG:
            value = float(value)
        else:
            raise ConstructorError(None, None, f"cannot decode {tag.rsplit(':', 1)[1]} `{node.value}` as a "
                                               f"{node.tag.rsplit(':', 1)[1]}", node.start_mark)
    return value


def check_json_value(node: Any) -> None:
    """Refuse a value node json.Marshal fails on (NaN, infinities); as keys they are fine (".inf")."""
    if node.tag == FLOAT_TAG and isinstance(node, yaml.ScalarNode):
        word = _WORDS.get(node.value)
        if word is not None and not math.isfinite(word[1]):
            raise ConstructorError(None, None, f"the value {node.value} cannot be represented in JSON", node.start_mark)


class GoYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML loader whose scalars, keys and tags follow sigs.k8s.io/yaml + go-yaml v2."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return resolve_plain(value)[0]
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        """Keys become their JSON text as they are read: Python's 1.0 == 1 == True must not merge keys
        that are three keys in Go. yaml.v2 (non-strict, as kubectl decodes) keeps the last of a repeated
        key; two different Go keys with the same JSON text (``1`` and ``"1"``) are an error, because
        sigs.k8s.io/yaml keeps whichever its Go map iteration meets last: no fixed answer to match."""
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)  # merge keys (<<) into node.value, before the mapping's own keys
        mapping: dict[str, Any] = {}
        go_keys: dict[str, tuple[type, Any]] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            text = json_key(key, node)
            check_json_value(value_node)
            if text in go_keys and go_keys[text] != (type(key), key):
                raise ConstructorError(None, None, f'two different map keys are both "{text}" in JSON (kubectl '
                                                   "would keep either one)", key_node.start_mark)
            go_keys[text] = (type(key), key)
            mapping[text] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_sequence(self, node: Any, deep: bool = False) -> list:
        for child in node.value:
            check_json_value(child)
        return super().construct_sequence(node, deep=deep)

    def construct_text(self, node: Any) -> Any:
        """!!timestamp and unknown scalar tags: the text (yaml.v2 into interface{})."""
        if isinstance(node, yaml.ScalarNode):
            return self.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return self.construct_sequence(node, deep=True)
        return self.construct_mapping(node, deep=True)

    def construct_binary_text(self, node: Any) -> str:
        try:
            return base64.b64decode(self.construct_scalar(node), validate=False).decode("utf-8", "replace")
        except ValueError:
            raise ConstructorError(None, None, "!!binary value contains invalid base64 data", node.start_mark) from None


for _tag in (NULL_TAG, BOOL_TAG, INT_TAG, FLOAT_TAG):
    GoYamlLoader.add_constructor(_tag, _construct_scalar)
GoYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", GoYamlLoader.construct_text)
GoYamlLoader.add_constructor("tag:yaml.org,2002:binary", GoYamlLoader.construct_binary_text)
for _tag in ("tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs", None):
    GoYamlLoader.add_constructor(_tag, GoYamlLoader.construct_text)


class GoYamlDumper(yaml.SafeDumper):
    """Writes YAML that kubectl and other readers read back as written: a string that go-yaml v2
    (``y``, ``0o17``, ``08``, ``1e3``) or a YAML 1.1 reader such as PyYAML (a timestamp) would resolve to
    something else is quoted."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = resolve_plain(value)[0]
            return tag if tag != STR_TAG else super().resolve(kind, value, implicit)
        return super().resolve(kind, value, implicit)


def dump(data: Any, stream: Any = None, **options: Any) -> Any:
    """yaml.safe_dump, for kubectl's reader (see GoYamlDumper)."""
    return yaml.dump(data, stream, Dumper=GoYamlDumper, **options)


def load(text: str) -> Any:
    """One YAML document, as kubectl reads it (raises yaml.YAMLError)."""
    loader = GoYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_json_value(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


__all__ = ["GoYamlDumper", "GoYamlLoader", "check_json_value", "dump", "json_key", "load", "resolve_plain"]
