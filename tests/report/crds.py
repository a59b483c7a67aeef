"""The report CRDs of tests/data/crds as JSON Schemas, to validate what the tool emits as the API server would.

The conversion keeps what a CRD's structural schema enforces: types, ``required``, ``enum``, integer
formats (their ranges), ``additionalProperties`` maps; an object with ``properties`` and no
``x-kubernetes-preserve-unknown-fields`` gets ``additionalProperties: false`` (the API server prunes
unknown fields, ``kubectl --validate`` rejects them: here they are an error). ``metadata`` (only
``type: object`` in a CRD) is checked as the ObjectMeta fields a report may carry; ``apiVersion`` and
``kind`` must name the version and kind served.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CRD_DIR = Path(__file__).resolve().parents[1] / "data" / "crds"
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT_META = {
    "type": "object", "additionalProperties": False, "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
                   "namespace": {"type": "string"}, "labels": STRING_MAP, "annotations": STRING_MAP,
                   "resourceVersion": {"type": "string"}, "uid": {"type": "string"},
                   "creationTimestamp": {"type": ["string", "null"]}, "generation": {"type": "integer"},
                   "managedFields": {"type": "array"}},
}


def convert(node: dict[str, Any]) -> dict[str, Any]:
    """One structural-schema node as JSON Schema (see the module's docstring)."""
    out: dict[str, Any] = {}
    for key in ("type", "enum", "required"):
        if key in node:
            out[key] = node[key]
    if node.get("format") in INT_RANGES:
        out["minimum"], out["maximum"] = INT_RANGES[node["format"]]
    if "items" in node:
        out["items"] = convert(node["items"])
    if "properties" in node:
        out["properties"] = {name: convert(child) for name, child in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = convert(node["additionalProperties"])
    return out


@lru_cache(maxsize=None)
def validator(api_version: str, kind: str) -> Any:
    from jsonschema import Draft202012Validator

    group, version = api_version.split("/")
    for path in sorted(CRD_DIR.glob(f"{group}_*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc["spec"]["names"]["kind"] != kind:
            continue
        served = {v["name"]: v for v in doc["spec"]["versions"] if v["served"]}
        if version not in served:
            raise KeyError(f"{kind} is not served as {api_version}")
        schema = convert(served[version]["schema"]["openAPIV3Schema"])
        schema["properties"]["metadata"] = OBJECT_META
        schema["properties"]["apiVersion"] = {"const": api_version}
        schema["properties"]["kind"] = {"const": kind}
        schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
        if doc["spec"]["scope"] == "Namespaced":
            schema["properties"]["metadata"] = {**OBJECT_META, "required": ["name", "namespace"]}
        else:
            schema["properties"]["metadata"] = {**OBJECT_META, "properties": {
                k: v for k, v in OBJECT_META["properties"].items() if k != "namespace"}}
        Draft202012Validator.check_schema(schema)
        return Draft202012Validator(schema)
    raise KeyError(f"no CRD for {kind} in {CRD_DIR}")


def crd_errors(report: Any) -> list[str]:
    """Why ``report`` would not be accepted as written by the API server serving the CRD ([] if it would)."""
    if not isinstance(report, dict):
        return ["not an object"]
    try:
        check = validator(str(report.get("apiVersion")), str(report.get("kind")))
    except (KeyError, ValueError) as exc:
        return [str(exc)]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in check.iter_errors(report)]


def policyreport_output(argv: tuple[str, ...], out: str) -> list[Any] | None:
    """The reports ``audit -o policyreport`` printed (a v1 List), None for other output."""
    if ("policyreport" not in argv and "--output=policyreport" not in argv) or not out.strip():
        return None
    document = yaml.safe_load(out)
    assert document["apiVersion"] == "v1" and document["kind"] == "List", document
    return document["items"]
