"""Output of ``admission-config``: the AdmissionConfiguration document, as YAML with the reasons as
comments (for the file kube-apiserver reads) or as JSON, and the report of ``--check``."""
from __future__ import annotations

import json
from typing import Any, TextIO

from .color import Palette, color_enabled
from .render import format_table, heading, terminal_safe, write_notes

ADMISSION_API_VERSION = "apiserver.config.k8s.io/v1"
POD_SECURITY_API_PREFIX = "pod-security.admission.config.k8s.io/"
MODES = ("enforce", "audit", "warn")


def admission_configuration(defaults: dict[str, tuple[str, str]], usernames: list[str], runtime_classes: list[str],
                            namespaces: list[str], api_version: str = "v1") -> dict[str, Any]:
    """The document: ``defaults`` is mode -> (level, version)."""
    flat: dict[str, str] = {}
    for mode in MODES:
        level, version = defaults[mode]
        flat[mode] = level
        flat[f"{mode}-version"] = version
    return {
        "apiVersion": ADMISSION_API_VERSION,
        "kind": "AdmissionConfiguration",
        "plugins": [{
            "name": "PodSecurity",
            "configuration": {
                "apiVersion": POD_SECURITY_API_PREFIX + api_version,
                "kind": "PodSecurityConfiguration",
                "defaults": flat,
                "exemptions": {"usernames": list(usernames), "runtimeClasses": list(runtime_classes),
                               "namespaces": list(namespaces)},
            },
        }],
    }


def _scalar(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _comment(text: str, indent: str) -> list[str]:
    # One line whatever the text holds: a newline from a name or note must not end the comment.
    return [f"{indent}# {terminal_safe(' '.join(str(text).split()))}"] if text else []


def configuration_yaml(doc: dict[str, Any], header: list[str] = (), default_comments: dict[str, str] | None = None,  # type: ignore[assignment]
                       exemption_comments: dict[str, dict[str, str]] | None = None) -> str:
    """The document as YAML, laid out like the Kubernetes tutorial, with comments where reasons are known.

    ``default_comments``: mode -> text above ``<mode>:``; ``exemption_comments``: list name -> value -> text.
    """
    default_comments = default_comments or {}
    exemption_comments = exemption_comments or {}
    plugin = doc["plugins"][0]
    psc = plugin["configuration"]
    lines = [comment for line in header for comment in _comment(line, "")]
    lines += [f"apiVersion: {doc['apiVersion']}", f"kind: {doc['kind']}", "plugins:", f"- name: {plugin['name']}",
              "  configuration:", f"    apiVersion: {psc['apiVersion']}", f"    kind: {psc['kind']}",
              "    # Defaults applied when a namespace has no pod-security.kubernetes.io label for a mode.",
              "    defaults:"]
    for mode in MODES:
        lines += _comment(default_comments.get(mode, ""), "      ")
        lines.append(f"      {mode}: {_scalar(psc['defaults'][mode])}")
        lines.append(f"      {mode}-version: {_scalar(psc['defaults'][f'{mode}-version'])}")
    lines.append("    exemptions:")
    for key in ("usernames", "runtimeClasses", "namespaces"):
        values = psc["exemptions"][key]
        if not values:
            lines.append(f"      {key}: []")
            continue
        lines.append(f"      {key}:")
        for value in values:
            lines += _comment(exemption_comments.get(key, {}).get(value, ""), "      ")
            lines.append(f"      - {_scalar(value)}")
    return "\n".join(lines) + "\n"


def render_check(report: dict[str, Any], stream: TextIO, no_color: bool) -> None:
    palette = Palette(color_enabled(stream, no_color))
    problems = report["problems"]
    errors = sum(1 for p in problems if p["severity"] == "error")
    warnings = len(problems) - errors
    verdict = "OK" if not problems else f"{errors} error(s), {warnings} warning(s)"
    stream.write(heading(f"{report['file']}: {palette.paint(verdict, 'good' if not problems else 'error')}\n"))
    if problems:
        rows = [[palette.paint(p["severity"].upper(), "error" if p["severity"] == "error" else "warning"),
                 p["field"] or "-", p["message"]] for p in problems]
        stream.write(format_table(rows, ["severity", "field", "problem"], wrap=("problem",)) + "\n")
    write_notes(report.get("notes", []))
