"""hostPathVolumes (baseline, v1.0+): no hostPath volumes."""
from __future__ import annotations

from ..helpers import Forbidden, PodView, join_quote, pluralize
from ..levels import Level
from ._base import Check, Revision, register


def host_path_volumes_1_0(pod: PodView) -> Forbidden | None:
    volumes = pod.spec.get("volumes")
    if not volumes:
        return None
    bad = [_name(v) for v in volumes if isinstance(v, dict) and v.get("hostPath") is not None]
    if bad:
        return Forbidden("hostPath volumes", f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)}")
    return None


def _name(volume: dict) -> str:
    name = volume.get("name")
    return "" if name is None else str(name)


CHECK = register(Check("hostPathVolumes", Level.BASELINE, (Revision(0, host_path_volumes_1_0),)))
