"""Judge a manifest's objects where they will land, as PodSecurity admission will (``check -f``).

Each object lands in its ``metadata.namespace`` (else the default namespace, as kubectl apply); that
namespace's enforce/audit/warn level:version come from its labels (a Namespace object of the bundle, or the
live cluster's), else the admission configuration's defaults. Exempt namespaces and runtimeClasses are
honoured; exempt usernames cannot be: who will apply the manifests is not known.

Every mode is judged on its own, so a gate sees all it asks for: the API server itself adds no warning to a
Pod it already denies, and enforce does not reject a workload, only the pods its controller then creates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..policy.admission import MODES, AdmissionConfig, NamespacePolicy, resolve_policy
from ..policy.evaluate import Result, evaluate
from ..policy.levels import Level, Version
from ..policy.objects import pod_template
from ..policy.registry import Registry


@dataclass(frozen=True, slots=True)
class NamespaceLabels:
    """A namespace's labels and where they were read: ``manifest`` (a Namespace object of the input) or
    ``cluster`` (the live namespace)."""

    labels: dict[str, Any]
    source: str


@dataclass
class Landing:
    """Where objects land and what admission does to them there."""

    config: AdmissionConfig
    registry: Registry
    default_namespace: str = "default"
    namespaces: dict[str, NamespaceLabels] = field(default_factory=dict)
    _policies: dict[str, NamespacePolicy] = field(default_factory=dict)

    def namespace_of(self, obj: dict) -> str:
        namespace = (obj.get("metadata") or {}).get("namespace")
        return namespace if isinstance(namespace, str) and namespace else self.default_namespace

    def labels_source(self, namespace: str) -> str:
        """``manifest``, ``cluster`` or ``defaults`` (no labels known: the admission config's defaults)."""
        known = self.namespaces.get(namespace)
        return known.source if known is not None else "defaults"

    def policy(self, namespace: str) -> NamespacePolicy:
        policy = self._policies.get(namespace)
        if policy is None:
            known = self.namespaces.get(namespace)
            policy = self._policies[namespace] = resolve_policy(known.labels if known else None, self.config.defaults)
        return policy

    def exemption(self, namespace: str, obj: dict) -> str | None:
        """Why admission exempts the object (None: it is judged)."""
        if self.config.exemptions.namespace_exempt(namespace):
            return f'namespace "{namespace}" is exempt (the admission configuration\'s exemptions.namespaces)'
        template = pod_template(obj)
        spec = template[1] if template is not None else None
        if self.config.exemptions.runtime_class_exempt(spec):
            return (f'runtimeClassName "{spec["runtimeClassName"]}" is exempt (the admission configuration\'s '  # type: ignore[index]
                    "exemptions.runtimeClasses)")
        return None

    def judge(self, obj: dict) -> dict[str, Any]:
        """The ``admission`` object of a result: namespace, where its labels came from, exemption, and per
        mode the level, version, verdict and violations. Raises what ``evaluate`` raises on a bad object."""
        namespace = self.namespace_of(obj)
        policy = self.policy(namespace)
        exempt = self.exemption(namespace, obj)
        results: dict[tuple[Level, Version], Result] = {}
        data: dict[str, Any] = {"namespace": namespace, "labels": self.labels_source(namespace), "exempt": exempt}
        for mode in MODES:
            target = policy.mode(mode)
            violations: list[dict[str, str]] = []
            if exempt is None:
                key = (target.level, target.version)
                if key not in results:
                    results[key] = evaluate(obj, target.level, target.version, self.registry)
                violations = [v.as_dict() for v in results[key].violations]
            data[mode] = {"level": target.level.value, "version": str(target.version),
                          "allowed": not violations, "violations": violations}
        return data


def violated_modes(admission: dict[str, Any]) -> list[str]:
    """The modes an ``admission`` object fails, strictest effect first (enforce, audit, warn)."""
    return [mode for mode in MODES if not admission[mode]["allowed"]]
