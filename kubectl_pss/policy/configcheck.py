"""Check an AdmissionConfiguration / PodSecurityConfiguration document the way an operator needs:
every problem at once (unknown fields, bad levels and versions, malformed or missing exemptions),
each with the field it is about. ``kubectl pss admission-config --check``.

Pure: the document as parsed; a callback reads a plugin's ``path:`` file; the cluster's
namespaces and version are handed in when known.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .admission import (
    _DEFAULT_KEYS,
    _EXEMPTION_KEYS,
    MODES,
    AdmissionConfig,
    AdmissionConfigError,
    parse_admission_config,
)
from .levels import PolicyValueError, parse_version

ADMISSION_CONFIG_VERSIONS = ("apiserver.config.k8s.io/v1", "apiserver.k8s.io/v1alpha1")
# The first Kubernetes minor that serves each PodSecurityConfiguration version.
POD_SECURITY_MINIMUM_MINOR = {
    "pod-security.admission.config.k8s.io/v1": 25,
    "pod-security.admission.config.k8s.io/v1beta1": 23,
    "pod-security.admission.config.k8s.io/v1alpha1": 22,
}
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: str  # error: the API server refuses the file; warning: it runs, probably not as meant
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.severity}: {self.field}: {self.message}" if self.field else f"{self.severity}: {self.message}"


@dataclass
class CheckResult:
    problems: list[Problem]
    config: AdmissionConfig | None  # None when the PodSecurity configuration has errors
    pod_security_api_version: str | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]


def _unknown(obj: dict, known: tuple[str, ...], prefix: str) -> list[Problem]:
    return [Problem(WARNING, f"{prefix}{key}", "unknown field (ignored or refused by the API server)")
            for key in obj if key not in known]


def _pod_security_document(doc: Any, problems: list[Problem],
                           read_path: Callable[[str], Any] | None) -> tuple[Any, str]:
    """The PodSecurityConfiguration inside ``doc`` and the field prefix to report it under."""
    if not isinstance(doc, dict):
        problems.append(Problem(ERROR, "", "not a YAML/JSON object"))
        return None, ""
    kind = doc.get("kind")
    if kind == "PodSecurityConfiguration":
        return doc, ""
    if kind != "AdmissionConfiguration":
        problems.append(Problem(ERROR, "kind", f'expected AdmissionConfiguration or PodSecurityConfiguration, got "{kind}"'))
        return None, ""
    if doc.get("apiVersion") not in ADMISSION_CONFIG_VERSIONS:
        problems.append(Problem(ERROR, "apiVersion", f'unknown AdmissionConfiguration apiVersion "{doc.get("apiVersion")}" '
                                                     f'(expected {ADMISSION_CONFIG_VERSIONS[0]})'))
    problems.extend(_unknown(doc, ("apiVersion", "kind", "plugins"), ""))
    plugins = doc.get("plugins")
    if not isinstance(plugins, list):
        problems.append(Problem(ERROR, "plugins", "must be a list of admission plugins"))
        return None, ""
    found = None
    for i, plugin in enumerate(plugins):
        if not isinstance(plugin, dict):
            problems.append(Problem(ERROR, f"plugins[{i}]", "must be an object"))
            continue
        problems.extend(_unknown(plugin, ("name", "path", "configuration"), f"plugins[{i}]."))
        if plugin.get("name") == "PodSecurity":
            if found is not None:
                problems.append(Problem(ERROR, f"plugins[{i}]", "PodSecurity is configured twice"))
                continue
            found = i
    if found is None:
        problems.append(Problem(ERROR, "plugins", "no PodSecurity plugin"))
        return None, ""
    plugin = plugins[found]
    prefix = f"plugins[{found}].configuration."
    if plugin.get("configuration") is None and plugin.get("path"):
        if read_path is None:
            problems.append(Problem(ERROR, f"plugins[{found}].path", "the configuration is in another file"))
            return None, ""
        try:
            return read_path(str(plugin["path"])), f"{plugin['path']}: "
        except ValueError as exc:
            problems.append(Problem(ERROR, f"plugins[{found}].path", str(exc)))
            return None, ""
    if not isinstance(plugin.get("configuration"), dict):
        problems.append(Problem(ERROR, f"plugins[{found}].configuration", "missing: the PodSecurity plugin has no configuration"))
        return None, ""
    return plugin["configuration"], prefix


def check_admission_document(doc: Any, *, read_path: Callable[[str], Any] | None = None,
                             namespaces: set[str] | None = None, server_minor: int | None = None,
                             context: str | None = None) -> CheckResult:
    """Every problem of the document. ``namespaces``: the cluster's (None: not checked);
    ``server_minor``: the cluster's version (None: not checked)."""
    problems: list[Problem] = []
    psc, prefix = _pod_security_document(doc, problems, read_path)
    if psc is None:
        return CheckResult(problems, None)
    if not isinstance(psc, dict):
        problems.append(Problem(ERROR, prefix.rstrip(". "), "the PodSecurity configuration is not an object"))
        return CheckResult(problems, None)
    if psc.get("kind") != "PodSecurityConfiguration":
        problems.append(Problem(ERROR, f"{prefix}kind", f'expected PodSecurityConfiguration, got "{psc.get("kind")}"'))
    api_version = psc.get("apiVersion")
    problems.extend(_unknown(psc, ("apiVersion", "kind", "defaults", "exemptions"), prefix))
    defaults = psc.get("defaults") if isinstance(psc.get("defaults"), dict) else {}
    exemptions = psc.get("exemptions") if isinstance(psc.get("exemptions"), dict) else {}
    problems.extend(_unknown(defaults, _DEFAULT_KEYS, f"{prefix}defaults."))
    problems.extend(_unknown(exemptions, _EXEMPTION_KEYS, f"{prefix}exemptions."))
    config = None
    try:
        config, _ = parse_admission_config({**psc, "kind": "PodSecurityConfiguration"})  # kind reported above
    except AdmissionConfigError as exc:
        for message in str(exc).split("; "):
            field, sep, rest = message.partition(": ")
            if sep and re.fullmatch(r"(defaults|exemptions)\S*", field):
                problems.append(Problem(ERROR, f"{prefix}{field}", rest))
            else:
                problems.append(Problem(ERROR, f"{prefix}apiVersion" if "apiVersion" in message else prefix.rstrip(". "),
                                        message))
    for key, pattern, what in (("namespaces", DNS_LABEL, "a namespace name (DNS-1123 label)"),
                               ("runtimeClasses", DNS_SUBDOMAIN, "a RuntimeClass name (DNS-1123 subdomain)")):
        values = exemptions.get(key)
        for i, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str) and value and (not pattern.fullmatch(value) or len(value) > (63 if key == "namespaces" else 253)):
                problems.append(Problem(ERROR, f"{prefix}exemptions.{key}[{i}]", f'Invalid value: "{value}": not {what}'))
    if namespaces is not None:
        values = exemptions.get("namespaces")
        where = f' on context "{context}"' if context else ""
        for i, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str) and DNS_LABEL.fullmatch(value) and value not in namespaces:
                problems.append(Problem(WARNING, f"{prefix}exemptions.namespaces[{i}]",
                                        f'namespace "{value}" does not exist{where}'))
    if server_minor is not None:
        minimum = POD_SECURITY_MINIMUM_MINOR.get(str(api_version))
        if minimum is not None and server_minor < minimum:
            older = [v for v, m in POD_SECURITY_MINIMUM_MINOR.items() if m <= server_minor]
            hint = f"; use {older[0]}" if older else ""
            problems.append(Problem(ERROR, f"{prefix}apiVersion", f"{api_version} needs Kubernetes 1.{minimum} or newer, "
                                                                  f"the cluster is v1.{server_minor}{hint}"))
        for mode in MODES:
            text = defaults.get(f"{mode}-version")
            try:
                version = parse_version(text) if text is not None else None
            except PolicyValueError:
                continue
            if version is not None and version.minor is not None and version.minor > server_minor:
                problems.append(Problem(WARNING, f"{prefix}defaults.{mode}-version",
                                        f"{text} is newer than the cluster (v1.{server_minor}): it evaluates as the "
                                        f"cluster's newest policy, v1.{server_minor}, and tightens on upgrade"))
    return CheckResult(problems, config, api_version if isinstance(api_version, str) else None)


__all__ = ["ADMISSION_CONFIG_VERSIONS", "CheckResult", "ERROR", "POD_SECURITY_MINIMUM_MINOR", "Problem", "WARNING",
           "check_admission_document"]
