"""Round-trip editing of hand-written manifests: comments, key order, quoting, flow/block style and
untouched documents survive; new keys go where the API puts them; go-yaml's reading decides."""
from __future__ import annotations

import json
import textwrap

from kubectl_pss.fix.document import fix_text, guess_indent
from kubectl_pss.policy import Level, parse_version

LATEST = parse_version("latest")


def fix(text: str, level: Level = Level.RESTRICTED, allow: frozenset = frozenset(), source: str = "m.yaml"):
    return fix_text(source, textwrap.dedent(text), level, LATEST, allow)


STYLES = """\
# a comment before the leading document marker
---
# a comment inside the first document
apiVersion: apps/v1
kind: Deployment      # kind comment, odd spacing
metadata:
  name: 'web'
  labels: {app: web, tier: "front"}
  annotations:
    note: |
      literal block
        kept as is
    folded: >
      folded text
      continues
spec:
  replicas: 0x2   # hex stays
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: "nginx:1.25"   # double quoted
        args: ["--port", '8080', plain]
        ports:
        - containerPort: 8080
          name: http
        env: &env
        - {name: A, value: "1"}
        imagePullPolicy: IfNotPresent
        stdin: false
      - name: side
        image: busybox
        env: *env
        securityContext: {readOnlyRootFilesystem: true}
      restartPolicy: Always
...
"""


def test_every_style_survives_and_only_the_fixes_are_added():
    result = fix(STYLES)
    assert not result.errors
    out = result.text
    before_lines = STYLES.splitlines()
    after_lines = out.splitlines()
    added = [line for line in after_lines if line not in before_lines]
    removed = [line for line in before_lines if line not in after_lines]
    assert removed == ["        securityContext: {readOnlyRootFilesystem: true}"]
    assert "        securityContext: {readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}, allowPrivilegeEscalation: false}" \
        not in out  # flow style kept, but keys in API order:
    assert "        securityContext: {capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}" in out
    assert added[:6] == ["        securityContext:", "          capabilities:", "            drop:", "            - ALL",
                         "          allowPrivilegeEscalation: false",
                         "        securityContext: {capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}"]
    assert out.startswith("# a comment before the leading document marker\n---\n# a comment inside the first document\n")
    # API field order: the container's securityContext between imagePullPolicy and stdin
    assert out.index("imagePullPolicy: IfNotPresent") < out.index("        securityContext:\n") < out.index("stdin: false")
    # the pod's securityContext after restartPolicy, runAsNonRoot before seccompProfile
    assert out.endswith("      restartPolicy: Always\n      securityContext:\n        runAsNonRoot: true\n"
                        "        seccompProfile:\n          type: RuntimeDefault\n...\n")
    assert result.objects[0].plan.allowed_after
    assert fix(out).text == out  # idempotent


MULTI = """\
# header comment
apiVersion: v1
kind: ConfigMap
metadata:   {name: cfg}
data:
    key:   "untouched  spacing"
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: p1}
    spec:
      containers: [{name: c, image: x, securityContext: {allowPrivilegeEscalation: yes}}]
  - apiVersion: example.com/v1
    kind: Widget
    spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: already}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: x
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"""


def test_multi_document_lists_and_unknown_kinds():
    result = fix(MULTI)
    docs_before = MULTI.split("---\n")
    docs_after = result.text.split("---\n")
    assert docs_after[0] == docs_before[0] and docs_after[2] == docs_before[2]  # byte-identical
    assert "kind: Widget\n    spec: {containers: [{name: c}]}\n" in docs_after[1]
    # go-yaml reads "yes" as true: flipped to false
    assert "allowPrivilegeEscalation: false" in docs_after[1] and "yes" not in docs_after[1]
    [p1, already] = result.objects
    assert (p1.name, p1.document, already.document) == ("p1", 1, 2)
    assert {"path": "items[0].spec.containers[0].securityContext.allowPrivilegeEscalation", "from": True,
            "to": False} not in p1.plan.changes()  # paths are relative to the object
    assert {"path": "spec.containers[0].securityContext.allowPrivilegeEscalation", "from": True,
            "to": False} in p1.plan.changes()
    assert already.plan.edits == [] and already.plan.allowed_after
    assert fix(result.text).text == result.text


def test_decisions_are_reported_and_left_alone():
    text = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: p}
    spec:
      hostNetwork: true
      securityContext: {runAsNonRoot: false}
      containers:
      - name: c
        image: x
        securityContext:
          privileged: true
          seccompProfile: {type: Unconfined}
    """
    result = fix(text)
    [obj] = result.objects
    checks = [d["check"] for d in obj.plan.needs_decision]
    assert checks == ["hostNamespaces", "privileged", "allowPrivilegeEscalation", "runAsNonRoot",
                      "seccompProfile_restricted"]
    assert all(d["hint"] and d["reason"] for d in obj.plan.needs_decision)
    out = result.text
    assert "hostNetwork: true" in out and "privileged: true" in out and "runAsNonRoot: false" in out
    assert "{type: Unconfined}" in out and "allowPrivilegeEscalation" not in out  # privileged: never both
    assert not obj.plan.allowed_after
    allowed = fix(text, allow=frozenset({"hostNamespaces", "privileged", "runAsNonRoot", "seccomp"}))
    assert allowed.objects[0].plan.allowed_after, allowed.objects[0].plan.needs_decision
    assert "hostNetwork: false" in allowed.text and "privileged: false" in allowed.text


def test_windows_pods_get_no_linux_only_field_and_baseline_adds_nothing():
    text = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: win}
    spec:
      os: {name: windows}
      containers: [{name: c, image: x}]
    """
    result = fix(text)
    assert result.objects[0].plan.allowed_after
    assert [c["path"] for c in result.objects[0].plan.changes()] == ["spec.securityContext.runAsNonRoot"]
    # before v1.25 PodSecurity did not exempt Windows pods: the Linux-only checks stay decisions
    old = fix_text("m.yaml", textwrap.dedent(text), Level.RESTRICTED, parse_version("v1.24"))
    assert [c["path"] for c in old.objects[0].plan.changes()] == ["spec.securityContext.runAsNonRoot"]
    assert {d["check"] for d in old.objects[0].plan.needs_decision} == {
        "allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted"}
    linux = text.replace("      os: {name: windows}\n", "")
    baseline = fix(linux, Level.BASELINE)
    assert baseline.text == textwrap.dedent(linux) and baseline.objects[0].plan.allowed_after


def test_sys_admin_keeps_allow_privilege_escalation_a_decision():
    text = """\
    apiVersion: v1
    kind: Pod
    metadata: {name: p}
    spec:
      containers:
      - name: c
        image: x
        securityContext:
          capabilities: {add: [SYS_ADMIN]}
    """
    result = fix(text)
    assert "allowPrivilegeEscalation" not in result.text
    assert "drop: [ALL]" in result.text and "add: [SYS_ADMIN]" in result.text  # adds kept
    assert {"allowPrivilegeEscalation", "capabilities_restricted"} <= {
        d["check"] for d in result.objects[0].plan.needs_decision}


def test_indentation_styles_are_kept():
    four = """\
    kind: Pod
    metadata:
        name: p
    spec:
        containers:
            -   name: c
                image: x
    """
    assert guess_indent(textwrap.dedent(four)) == (4, 8, 4)
    out = fix(four).text
    assert out.startswith(textwrap.dedent(four) + "            securityContext:\n                capabilities:\n")
    kubectl = "kind: Pod\nspec:\n  containers:\n  - name: c\n    image: x\n"
    assert guess_indent(kubectl) == (2, 2, 0)
    assert fix(kubectl).text.startswith(kubectl.rstrip("\n") + "\n    securityContext:\n      capabilities:\n")


def test_json_sources_stay_json():
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "x"}]}}
    result = fix_text("p.json", json.dumps(obj), Level.RESTRICTED, LATEST)
    fixed = json.loads(result.text)
    assert fixed["spec"]["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert list(fixed["spec"]["containers"][0]) == ["name", "image", "securityContext"]
    assert fix_text("p.json", result.text, Level.RESTRICTED, LATEST).text == result.text


def test_a_document_go_yaml_reads_but_ruamel_refuses_is_left_and_reported():
    text = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n"
    dup = "kind: Pod\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n"
    assert fix(text).text != text
    result = fix(dup)
    if result.errors:  # go-yaml v2 refuses duplicate keys too: then it is an error either way
        assert result.text == dup
