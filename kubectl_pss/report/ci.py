"""``check``'s CI formats: SARIF 2.1.0 (code scanning), JUnit XML (test reports), GitHub workflow commands."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Iterator, TextIO

from ..analysis.landing import violated_modes
from ..analysis.locate import field_path
from ..manifests import Positions
from ..policy.admission import MODES
from ..policy.registry import DEFAULT_REGISTRY

CI_FORMATS = ("sarif", "junit", "github")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
PSS_PAGE = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
# GitHub code scanning ranks security alerts by this (0-10): what baseline forbids is worse
SECURITY_SEVERITY = {"baseline": "8.0", "restricted": "5.0"}
STDIN = "<stdin>"


@dataclass
class LocatedResult:
    """A check result with what it was judged from: the object as written, where its document's nodes are
    (None: not known), the object's path in the document, and the violations the gate judges (``failing``:
    those not baselined)."""

    entry: dict[str, Any]
    obj: dict
    positions: Positions | None
    path: tuple[Any, ...]
    gate: list[dict[str, str]]
    failing: list[dict[str, str]] = field(default_factory=list)

    def place(self, check: str, detail: str) -> tuple[int, int] | None:
        """(line, column) of the offending field when it is written in the file, else the object's ``kind:``."""
        if self.positions is None:
            return None
        found = field_path(self.obj, check, detail)
        if found is not None and self.path + found in self.positions:
            return self.positions[self.path + found]
        return self.positions.get(self.path + ("kind",)) or self.positions.get(self.path)


@dataclass
class Finding:
    """One violated check of one object, at the strictest mode it fails (SARIF result, annotation)."""

    located: LocatedResult
    check: str
    message: str
    modes: list[str]
    error: bool
    baselined: bool
    detail: str


def findings(located: LocatedResult, gated: bool) -> Iterator[Finding]:
    """The object's findings; an error is what fails the gate (``gated``: --fail-on), else what enforce denies."""
    entry = located.entry
    admission = entry["admission"]
    by_check: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for mode in violated_modes(admission):
        for violation in admission[mode]["violations"]:
            by_check.setdefault(violation["check"], []).append((mode, violation))
    failing = {v["check"] for v in located.failing}
    for violation in located.gate:  # a --fail-on LEVEL's violations, though no mode of the namespace fails
        if violation["check"] not in by_check:
            by_check[violation["check"]] = [("", violation)]
    for check, hits in by_check.items():
        first = hits[0][1]
        modes = [mode for mode, _ in hits if mode]
        message = f"{first['reason']}: {first['detail']}" if first["detail"] else first["reason"]
        yield Finding(located, check, message, modes, check in failing if gated else "enforce" in modes,
                      all(v.get("baselined", False) for _, v in hits), first["detail"])


def artifact_uri(source: str) -> str | None:
    """The source as a path relative to the working directory, with ``/``; outside it an absolute ``file://``
    URI (a relative ``../..`` names nothing in the repository); None for stdin."""
    if source == STDIN:
        return None
    relative = os.path.relpath(source)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return Path(os.path.abspath(source)).as_uri()
    return relative.replace(os.sep, "/")


def _describe(check_id: str) -> tuple[str, str]:
    """(level, description) of a check, from its module's first line (``id (level, ...): what``)."""
    check = DEFAULT_REGISTRY.checks[check_id]
    doc = sys.modules[check.revisions[0].check.__module__].__doc__ or check_id
    return check.level.value, doc.split("\n", 1)[0].split(": ", 1)[-1].strip()


def sarif_rules() -> tuple[list[dict[str, Any]], dict[str, int]]:
    rules, index = [], {}
    for check_id in sorted(DEFAULT_REGISTRY.checks):
        level, description = _describe(check_id)
        index[check_id] = len(rules)
        rules.append({
            "id": check_id, "name": check_id,
            "shortDescription": {"text": f"Pod Security Standards ({level}): {check_id}"},
            "fullDescription": {"text": description},
            "helpUri": f"{PSS_PAGE}#{level}",
            "help": {"text": f"{description} The {level} level of the Pod Security Standards: {PSS_PAGE}#{level}"},
            "defaultConfiguration": {"level": "error"},
            "properties": {"level": level, "tags": ["security", "kubernetes", "pod-security"],
                           "security-severity": SECURITY_SEVERITY[level]},
        })
    return rules, index


def _object_name(entry: dict[str, Any]) -> str:
    return f"{entry['kind']} {entry['admission']['namespace']}/{entry['name'] or '-'}"


def sarif(reports: list[Any], with_baseline: bool) -> dict[str, Any]:
    """One SARIF log; one run per report (a fleet's contexts: each run's ``automationDetails.id`` names its
    context, so code scanning keeps them as separate analyses)."""
    several = len(reports) > 1
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [_sarif_run(report, with_baseline, report.context if several else None) for report in reports]}


def _sarif_run(report: Any, with_baseline: bool, context: str | None) -> dict[str, Any]:
    from .. import __version__

    rules, index = sarif_rules()
    results = []
    for located in report.located:
        entry = located.entry
        for found in findings(located, _gated(report)):
            location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {}}}
            uri = artifact_uri(entry["source"])
            artifact = location["physicalLocation"]["artifactLocation"]
            if uri is None:
                artifact["description"] = {"text": "standard input"}
            else:
                artifact["uri"] = uri
            place = located.place(found.check, found.detail)
            if place is not None:
                location["physicalLocation"]["region"] = {"startLine": place[0], "startColumn": place[1]}
            location["logicalLocations"] = [{"name": entry["name"] or "-", "kind": "object",
                                             "fullyQualifiedName": _object_name(entry)}]
            identity = "/".join((entry["kind"], entry["admission"]["namespace"], entry["name"] or "", found.check))
            result: dict[str, Any] = {
                "ruleId": found.check, "ruleIndex": index[found.check],
                "level": "error" if found.error else "warning",
                "message": {"text": f"{found.message} ({_object_name(entry)})"},
                "locations": [location],
                "partialFingerprints": {"kubectlPssObjectCheck/v1": hashlib.sha256(identity.encode()).hexdigest()},
                "properties": {"modes": found.modes, "namespace": entry["admission"]["namespace"],
                               "labels": entry["admission"]["labels"],
                               "policies": {m: f"{entry['admission'][m]['level']}:{entry['admission'][m]['version']}"
                                            for m in found.modes}},
            }
            if with_baseline:
                result["baselineState"] = "unchanged" if found.baselined else "new"
            results.append(result)
    notifications = [{"level": "error", "message": {"text": str(error)}} for error in report.errors]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "kubectl-pss", "version": __version__, "informationUri": PSS_PAGE,
                            "rules": rules}},
        "invocations": [{"executionSuccessful": not report.errors, "toolExecutionNotifications": notifications}],
        "results": results,
    }
    if context is not None:
        run["automationDetails"] = {"id": f"kubectl-pss/{context}/"}
    return run


def junit(reports: list[Any]) -> str:
    """One testsuite per file, one testcase per object, a failure per mode it violates (baselined violations
    do not fail); exempt objects are skipped, unreadable documents are errors. A fleet's contexts: a suite per
    context and file, named ``context: file``."""
    import xml.etree.ElementTree as ET

    suites: dict[str, ET.Element] = {}
    several = len(reports) > 1
    for report in reports:
        _junit_cases(report, suites, f"{report.context}: " if several else "")
    root = ET.Element("testsuites", name="kubectl pss check")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for element in suites.values():
        counts = {"tests": len(element.findall("testcase")), "failures": len(element.findall("testcase/failure")),
                  "errors": len(element.findall("testcase/error")), "skipped": len(element.findall("testcase/skipped"))}
        for key, value in counts.items():
            element.set(key, str(value))
            totals[key] += value
        root.append(element)
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _junit_cases(report: Any, suites: dict[str, Any], prefix: str) -> None:
    """``report``'s testcases into ``suites`` (by suite name: ``prefix`` + file)."""
    import xml.etree.ElementTree as ET

    fail_on = (report.gate or {}).get("failOn")
    level_gate = fail_on if fail_on is not None and fail_on not in MODES else None

    def suite(source: str) -> ET.Element:
        name = prefix + source
        if name not in suites:
            suites[name] = ET.Element("testsuite", name=name)
        return suites[name]

    for located in report.located:
        entry = located.entry
        case = ET.SubElement(suite(entry["source"]), "testcase", classname=prefix + entry["source"],
                             name=_object_name(entry))
        if entry["admission"]["labels"] == "defaults":  # the namespace's labels are not known
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", name="labels", value="defaults")
        if entry["admission"]["exempt"] is not None:
            ET.SubElement(case, "skipped", message=f"exempt: {entry['admission']['exempt']}")
            continue
        if located.failing and level_gate is not None:
            failure = ET.SubElement(case, "failure", type=f"fail-on {level_gate}",
                                    message=f"--fail-on {level_gate}: cannot pass {level_gate}: "
                                            + ", ".join(_violation_text(v) for v in located.failing))
            failure.text = "\n".join(f"{v['check']}: {v['reason']}: {v['detail']}" for v in located.failing)
        for mode in violated_modes(entry["admission"]):
            verdict = entry["admission"][mode]
            new = [v for v in verdict["violations"] if not v.get("baselined")]
            if not new:
                continue
            policy = f"{verdict['level']}:{verdict['version']}"
            failure = ET.SubElement(case, "failure", type=mode,
                                    message=f'{mode}: violates PodSecurity "{policy}": '
                                            + ", ".join(_violation_text(v) for v in new))
            failure.text = "\n".join(f"{v['check']}: {v['reason']}: {v['detail']}" for v in new)
    for error in report.errors:
        case = ET.SubElement(suite(error.source), "testcase", classname=prefix + error.source,
                             name="(the whole file)" if error.index is None else f"document {error.index}")
        ET.SubElement(case, "error", message=error.message)


def _violation_text(violation: dict[str, str]) -> str:
    return f"{violation['reason']} ({violation['detail']})" if violation["detail"] else violation["reason"]


def _gated(report: Any) -> bool:
    return (report.gate or {}).get("failOn") is not None


def _escape(text: str, property_value: bool = False) -> str:
    """GitHub's workflow-command escaping (data; property values also ``:`` and ``,``)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def github(reports: list[Any]) -> str:
    """``::error file=...,line=...,col=...,title=...::message`` per finding (warning for audit/warn only;
    notice for a baselined one); errors reading the input as errors without a place. A fleet's contexts:
    each title names its context."""
    several = len(reports) > 1
    return "".join(_github_lines(report, f" ({report.context})" if several else "") for report in reports)


def _github_lines(report: Any, suffix: str) -> str:
    lines = []
    for located in report.located:
        for found in findings(located, _gated(report)):
            command = "notice" if found.baselined else "error" if found.error else "warning"
            props = []
            uri = artifact_uri(located.entry["source"])
            if uri is not None:
                props.append(f"file={_escape(uri, True)}")
                place = located.place(found.check, found.detail)
                if place is not None:
                    props.append(f"line={place[0]},col={place[1]}")
            props.append(f"title={_escape(f'PodSecurity {found.check}{suffix}', True)}")
            modes = ", ".join(f"{m} {located.entry['admission'][m]['level']}:{located.entry['admission'][m]['version']}"
                              for m in found.modes) or "--fail-on"
            lines.append(f"::{command} {','.join(props)}::"
                         + _escape(f"{found.message} ({_object_name(located.entry)}; violates {modes})"))
    for error in report.errors:
        lines.append(f"::error title={_escape(f'kubectl-pss{suffix}', True)}::{_escape(str(error))}")
    return "".join(line + "\n" for line in lines)


def write_ci_report(reports: list[Any], output: str, stream: TextIO, with_baseline: bool) -> None:
    """``check``'s reports (one; a fleet's: one per context) as SARIF, JUnit or GitHub annotations."""
    if output == "sarif":
        json.dump(sarif(reports, with_baseline), stream, indent=2, ensure_ascii=False)
        stream.write("\n")
    elif output == "junit":
        stream.write(junit(reports))
    else:
        stream.write(github(reports))
