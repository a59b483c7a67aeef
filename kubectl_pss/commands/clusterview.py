"""The cluster as audit, simulate and label see it: namespaces, pods, workloads, version, admission config.

One place that turns connection flags into data; the commands only evaluate and render.
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import FatalError, UsageError
from ..manifests import load_admission_config
from ..policy.admission import KUBERNETES_DEFAULT_CONFIG, AdmissionConfig
from ..policy.objects import admission_view
from ..policy.registry import NEWEST_MINOR, Registry, registry_for


@dataclass
class ClusterView:
    context: str | None
    server_version: dict[str, Any] | None
    server_minor: int | None
    registry: Registry
    config: AdmissionConfig
    namespaces: list[dict]
    pods: dict[str, list[dict]] = field(default_factory=dict)
    workloads: dict[str, list[dict]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def cluster_dict(self) -> dict[str, Any]:
        git_version = (self.server_version or {}).get("gitVersion")
        return {
            "context": self.context,
            "serverVersion": git_version,
            "policyLatest": f"v1.{self.registry.max_minor}",
            "admissionConfig": self.config.source,
        }


def server_minor(version: dict[str, Any] | None) -> int | None:
    """The API server's minor version from /version ("minor": "30+" on some clouds, else gitVersion)."""
    if not version:
        return None
    match = re.match(r"([0-9]+)", str(version.get("minor", "")))
    if match and str(version.get("major", "1")).startswith("1"):
        return int(match.group(1))
    match = re.match(r"v1\.([0-9]+)", str(version.get("gitVersion", "")))
    return int(match.group(1)) if match else None


def admission_config(path: str | None) -> tuple[AdmissionConfig, list[str]]:
    if path is None:
        return KUBERNETES_DEFAULT_CONFIG, []
    try:
        return load_admission_config(path)
    except ValueError as exc:
        raise UsageError(f"--admission-config: {exc}") from None


def progress_printer() -> Callable[[str], None] | None:
    """Progress lines on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        sys.stderr.write(f"\r\x1b[K{message}")
        sys.stderr.flush()

    return show


def load_cluster_view(connection: Any, namespaces: list[str] | None, config_path: str | None,
                      lower_latest_to_cluster: bool = True) -> ClusterView:
    """Connect, read /version and every namespace, pod and workload in scope (None: all namespaces)."""
    from ..cluster.client import connect
    from ..cluster.errors import ClusterError
    from ..cluster.inventory import fetch_inventory

    config, warnings = admission_config(config_path)
    for warning in warnings:
        print(f"warning: --admission-config {config_path}: {warning}", file=sys.stderr)
    progress = progress_printer()
    try:
        cluster = connect(connection)
        inventory = fetch_inventory(cluster, namespaces, progress=progress, transform=admission_view)
        version = inventory.server_version
    except ClusterError as exc:
        raise FatalError(str(exc)) from None
    finally:
        if progress is not None:
            progress("")
    minor = server_minor(version)
    registry = registry_for(minor if lower_latest_to_cluster else None)
    view = ClusterView(
        context=cluster.context, server_version=version, server_minor=minor, registry=registry, config=config,
        namespaces=sorted(inventory.namespaces.values(), key=lambda ns: ns["metadata"]["name"]),
    )
    if minor is not None and minor > NEWEST_MINOR:
        view.notes.append(f"the server is v1.{minor}, newer than the newest policy this tool knows (v1.{NEWEST_MINOR}); "
                          f"latest is evaluated as v1.{NEWEST_MINOR}")
    if config.source is None:
        view.notes.append("no --admission-config: assuming Kubernetes' defaults (privileged:latest, no exemptions)")
    pods: dict[str, list[dict]] = defaultdict(list)
    workloads: dict[str, list[dict]] = defaultdict(list)
    for kind, objects in inventory.objects.items():
        target = pods if kind == "Pod" else workloads
        for obj in objects:
            target[(obj.get("metadata") or {}).get("namespace", "")].append(obj)
    view.pods, view.workloads = dict(pods), dict(workloads)
    view.errors = [{"namespace": e.namespace, "resource": e.resource, "error": e.message} for e in inventory.errors]
    return view
