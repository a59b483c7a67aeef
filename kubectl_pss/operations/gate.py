"""The CI gate's inputs and outputs beside the manifests: ``kubectl kustomize DIR``, baseline files."""
from __future__ import annotations

import os
import shutil
import sys
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from ..analysis.gate import Baseline, BaselineError, parse_baseline
from ..errors import FatalError, UsageError
from ..manifests import load_documents

if TYPE_CHECKING:
    from ..analysis.gate import FailOn

Judged = TypeVar("Judged")

KUSTOMIZE_TIMEOUT = 300.0


def kustomize(directory: str) -> str:
    """``kubectl kustomize DIR``'s output (the kubectl on PATH); a one-line FatalError with its stderr when
    there is no kubectl or it fails."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise FatalError(f"-k {directory}: kubectl not found on PATH (kubectl kustomize renders the kustomization)")
    try:
        proc = subprocess.run([kubectl, "kustomize", directory], capture_output=True, timeout=KUSTOMIZE_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FatalError(f"-k {directory}: kubectl kustomize did not finish in {KUSTOMIZE_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise FatalError(f"-k {directory}: cannot run {kubectl}: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        stderr = " ".join(proc.stderr.decode("utf-8", "replace").split())
        raise FatalError(f"-k {directory}: kubectl kustomize failed (exit {proc.returncode}): "
                         f"{stderr or 'no message'}")
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FatalError(f"-k {directory}: kubectl kustomize wrote no UTF-8 text (byte {exc.start})") from None


def kustomization_file(directory: str) -> str:
    """The kustomization file kustomize reads in ``directory`` (its first name found), else the directory."""
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name)
    return directory


def read_baseline(path: str, target: str) -> Baseline:
    """A baseline file (YAML or JSON); UsageError with one line when it cannot be used."""
    documents, errors = load_documents([path])
    if errors:
        raise UsageError(f"--baseline: {errors[0]}")
    if len(documents) != 1:
        raise UsageError(f"--baseline: {path}: expected one document, found {len(documents)}")
    try:
        return parse_baseline(documents[0].data, target, path)
    except BaselineError as exc:
        raise UsageError(f"--baseline: {exc}") from None


def write_baseline(path: str, document: dict[str, Any]) -> None:
    """Write the baseline (JSON for *.json, else YAML) whole or not at all (a temporary file renamed)."""
    from ..goyaml import dump
    from ..report.render import write_json

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"--write-baseline {path}: no such directory")
    try:
        handle = tempfile.NamedTemporaryFile("w", dir=directory, prefix=".baseline-", suffix=".tmp", delete=False,
                                             encoding="utf-8")
    except OSError as exc:  # the temporary file's name means nothing to the user
        raise FatalError(f"--write-baseline {path}: {(exc.strerror or str(exc)).lower()}") from None
    try:
        with handle:
            if path.lower().endswith(".json"):
                write_json(document, handle)
            else:
                dump(document, handle, sort_keys=False, allow_unicode=True, default_flow_style=False)
        os.replace(handle.name, path)
    except BaseException:
        os.unlink(handle.name)
        raise


def live_namespace_labels(connection: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
    """Every live namespace's labels (one paged list) and the server's /version (None if unreadable)."""
    from ..cluster.errors import ClusterError

    cluster = connection.cluster()
    labels: dict[str, dict[str, Any]] = {}
    for namespace in cluster.list_items("/api/v1/namespaces"):
        metadata = namespace.get("metadata") if isinstance(namespace.get("metadata"), dict) else {}
        name = metadata.get("name")
        if isinstance(name, str):
            found = metadata.get("labels")
            labels[name] = found if isinstance(found, dict) else {}
    try:
        version = cluster.server_version()
    except ClusterError:
        version = None
    return labels, version


def judge_and_write(judge: Callable[[Baseline | None], Judged], keys: Callable[[Judged], Iterable[tuple[str, ...]]],
                    target: str, baseline: Baseline | None, write_path: str | None) -> tuple[Judged, Baseline | None]:
    """The gate's one path for check, audit and simulate: ``judge`` against ``baseline``; with ``write_path``
    the baseline of what it found (``previous``'s reasons and expiries kept) is written and the run judged
    again against what was written (an expired entry still fails). Returns the judgement and the baseline
    it was judged against."""
    from ..analysis.gate import baseline_document

    judged = judge(baseline)
    if write_path:
        document = baseline_document(target, keys(judged), baseline)
        write_baseline(write_path, document)
        print(f"baseline written: {write_path}", file=sys.stderr)
        baseline = parse_baseline(document, target, write_path)
        judged = judge(baseline)
    return judged, baseline


def run_gate(state: Any, report: dict[str, Any], fail_on: "FailOn | None", baseline: Baseline | None,
             write_path: str | None, version: Any = None, simulated: Any = None) -> None:
    """audit's and simulate's ``--fail-on``/``--baseline``/``--write-baseline`` on a read cluster state: the
    report's ``gate``; a written baseline is in force for this run (what it holds is not new)."""
    from ..analysis.gate import audit_keys, live_gate

    # only namespaces in scope and read to the end can have fixed entries (or lose them when writing)
    judged = {name for name in (ns["metadata"]["name"] for ns in state.namespaces) if not state.incomplete(name)}
    if baseline is not None:
        baseline.judged = judged

    def judge(known: Baseline | None) -> dict[str, Any] | None:
        if known is not None:
            known.judged = judged
        if fail_on is None:
            return None
        for key in audit_keys({"findings": []}, report["namespaces"]) if known is not None else ():
            known.status(key)  # what the report shows still matches: not fixed
        return live_gate(state.namespaces, state.pods, state.workloads, state.config, state.registry, fail_on,
                         known, version, state.verdicts, simulated)

    gate, _ = judge_and_write(judge, lambda gate: audit_keys(gate or {"findings": []}, report["namespaces"]),
                              "audit", baseline, write_path)
    if gate is not None and not state.namespaces and not report["errors"]:
        # a gate over nothing is no pass: the run exits 2 as for what could not be read
        report["errors"].append({"namespace": None, "resource": "namespaces", "status": None,
                                 "message": f"--fail-on {gate['failOn']} judged nothing: no namespace in scope"})
    if gate is not None:
        report["gate"] = gate
        failed = gate["failedNamespaces"]
        if failed:
            print(f"--fail-on {gate['failOn']}: {len(failed)} namespace(s) fail: {', '.join(failed)}", file=sys.stderr)
        for entry in (gate["baseline"] or {}).get("fixed", []):
            print(f"note: baseline entry fixed (no longer matches): {_audit_entry(entry)}", file=sys.stderr)
        for entry in (gate["baseline"] or {}).get("expired", []):
            print(f"warning: baseline entry expired on {entry['expires']}: {_audit_entry(entry)}", file=sys.stderr)


def _audit_entry(entry: dict[str, Any]) -> str:
    return f"namespace {entry['namespace']} {entry['ownerKind']}/{entry['ownerName']} {entry['check']}"
