"""The report schemas under docs/schema/ (one per kind) and a validator of documents against them."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schema"
API_VERSION = "kubectl-pss/v1"


@lru_cache(maxsize=None)
def validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / f"{kind}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(document: Any) -> list[str]:
    """Why ``document`` does not match its kind's schema ([] when it does)."""
    if not isinstance(document, dict) or document.get("apiVersion") != API_VERSION:
        return [f"not a {API_VERSION} report"]
    kind = document.get("kind")
    if not isinstance(kind, str) or not (SCHEMA_DIR / f"{kind}.json").is_file():
        return [f"no schema for kind {kind!r}"]
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                for e in validator(kind).iter_errors(document)]
    if kind == "List" and not problems:  # a fleet: each whole report against its own kind's schema
        for i, item in enumerate(document["items"]):
            if len(item) > len(ENVELOPE_KEYS):
                problems += [f"items/{i}/{p}" for p in schema_errors(item)]
    return problems


ENVELOPE_KEYS = ("apiVersion", "kind", "context", "server", "errors")


def report_of(argv: tuple[str, ...], out: str) -> Any:
    """The report a command printed with ``-o json|yaml`` (None for other output)."""
    argv = tuple(map(str, argv))
    fmt = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-o", "--output")), None)
    fmt = fmt or next((a.split("=", 1)[1] for a in argv if a.startswith("--output=")), None)
    if fmt not in ("json", "yaml") or not out.strip():
        return None
    import yaml

    try:
        return json.loads(out) if fmt == "json" else yaml.safe_load(out)
    except (ValueError, yaml.YAMLError):
        return None
