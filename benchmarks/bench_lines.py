"""Benchmark: reading a manifest bundle plain (``check -o json``) and with line tracking (``check -o sarif``),
and ``check`` end to end in both formats. Not a test.

    PYTHONPATH=. python benchmarks/bench_lines.py [--objects 2000] [--repeat 7]

CPU seconds (median of ``--repeat``) of ``load_documents`` on one YAML stream of ``--objects`` Deployments
(block style, comments, a flow-style securityContext) and on the same as one JSON List. Run it with
PYTHONPATH pointing at another checkout to compare that checkout's plain path.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEPLOYMENT = """\
# deployment {i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{i}
  namespace: team-{ns}
  labels: {{app: web-{i}, tier: frontend}}
spec:
  replicas: 3
  selector:
    matchLabels: {{app: web-{i}}}
  template:
    metadata:
      labels: {{app: web-{i}}}
    spec:
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
      - name: web
        image: registry.example/web:{i}
        ports:
        - containerPort: 8080
        env:
        - {{name: MODE, value: prod}}
        - {{name: REPLICA, value: "{i}"}}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
          privileged: {privileged}
"""


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = cpu_s()
        fn()
        runs.append(cpu_s() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from kubectl_pss.manifests import load_documents

    text = "---\n".join(DEPLOYMENT.format(i=i, ns=i % 20, privileged="true" if i % 10 == 0 else "false")
                        for i in range(args.objects))
    with tempfile.TemporaryDirectory() as tmp:
        yaml_path = Path(tmp) / "bundle.yaml"
        yaml_path.write_text(text)
        docs, _ = load_documents([str(yaml_path)])
        json_path = Path(tmp) / "bundle.json"
        json_path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [d.data for d in docs]}, indent=2))
        tracking = "track_lines" in load_documents.__code__.co_varnames
        print(f"{args.objects} Deployments: YAML {yaml_path.stat().st_size / 1e6:.1f} MB, "
              f"JSON {json_path.stat().st_size / 1e6:.1f} MB; median CPU s of {args.repeat}")
        for name, path in (("YAML", yaml_path), ("JSON", json_path)):
            plain = timed(lambda: load_documents([str(path)]), args.repeat)
            line = f"  load {name}: plain {plain:.3f} s"
            if tracking:
                lines = timed(lambda: load_documents([str(path)], track_lines=True), args.repeat)
                line += f", with lines {lines:.3f} s ({lines / plain:.2f}x)"
            print(line)
        if tracking:
            from kubectl_pss.cli import main as cli

            for output in ("json", "sarif"):
                def run() -> None:
                    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                        cli(["check", "-f", str(yaml_path), "-o", output])
                print(f"  check -o {output}: {timed(run, max(3, args.repeat // 2)):.3f} s")


if __name__ == "__main__":
    main()
