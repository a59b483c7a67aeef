"""A program's output that must be one JSON object (an exec credential plugin's, crictl's)."""
from __future__ import annotations

import json
from typing import Any


def json_object(text: str | bytes, not_json: str, not_object: str) -> dict[str, Any]:
    """``text`` decoded; ValueError ``not_json: <why>`` when it is no JSON, ``not_object`` when no object."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{not_json}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(not_object)
    return data
