"""The report CRDs (wgpolicyk8s.io PolicyReport/ClusterPolicyReport, openreports.io Report/ClusterReport) in
the fake API server, answering as a real one serving those CRDs does.

A group that is not installed (``install()``) is not served: every path under it is the API server's
plain 404. Installed, the served versions are those of the CRD files in tests/data/crds (wgpolicyk8s.io:
v1alpha1, v1alpha2, v1beta1 over one storage; openreports.io: v1alpha1), and an object reads back in the
version asked for. ``dryRun=All`` checks and answers, saves nothing. Create (POST) answers 409 AlreadyExists for a taken name; update (PUT) needs the
object's resourceVersion (409 Conflict when it is not the current one); delete honours the uid and
resourceVersion preconditions of its DeleteOptions (409 Conflict); a body that does not match the CRD's
schema (tests/report/crds.py) is 422 Invalid. Lists take a labelSelector. RBAC's ``forbid()`` applies.
"""
from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from .selectors import label_matcher
from .server import ResourceInfo, _Reply, now_rfc3339, status_body

if TYPE_CHECKING:
    from .server import FakeApiServer, RecordedRequest

GROUPS = {
    "wgpolicyk8s.io": (("v1alpha1", "v1alpha2", "v1beta1"),
                       (("policyreports", "PolicyReport", True), ("clusterpolicyreports", "ClusterPolicyReport", False))),
    "openreports.io": (("v1alpha1",), (("reports", "Report", True), ("clusterreports", "ClusterReport", False))),
}


class ReportApis:
    def __init__(self, server: "FakeApiServer") -> None:
        self.server = server
        self.installed: set[str] = set()
        self.objects: dict[tuple[str, str | None, str], dict] = {}  # (resource, namespace, name) -> stored object

    def install(self, *groups: str) -> None:
        """Serve these groups' CRDs (default: both)."""
        self.installed.update(groups or GROUPS)

    def put(self, resource: str, obj: dict) -> dict:
        """Store a report as if someone else had created it (fills uid, resourceVersion, creationTimestamp)."""
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        md.setdefault("uid", str(uuid.uuid4()))
        md.setdefault("creationTimestamp", now_rfc3339())
        md["resourceVersion"] = self.server._next_rv()
        self.objects[(resource, md.get("namespace"), md["name"])] = obj
        return obj

    def get(self, resource: str, namespace: str | None, name: str) -> dict | None:
        return self.objects.get((resource, namespace, name))

    def of(self, resource: str) -> list[dict]:
        return [obj for (res, _, _), obj in sorted(self.objects.items(), key=lambda kv: str(kv[0])) if res == resource]

    # ---------------------------------------------------------------- HTTP
    def _route(self, path: str) -> tuple[ResourceInfo, str | None, str | None] | None:
        parts = [p for p in path.split("/")]
        if len(parts) < 5 or parts[1] != "apis" or parts[2] not in GROUPS or parts[2] not in self.installed:
            return None
        group, version, rest = parts[2], parts[3], parts[4:]
        versions, resources = GROUPS[group]
        if version not in versions:
            return None
        namespace = None
        if rest[:1] == ["namespaces"] and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2 or not all(rest):
            return None
        for resource, kind, namespaced in resources:
            if rest[0] == resource and (namespace is None or namespaced):
                return ResourceInfo(resource, kind, group, version, namespaced), namespace, rest[1] if len(rest) == 2 else None
        return None

    def answer(self, rec: "RecordedRequest") -> _Reply | None:
        """The reply for a request under an installed report group, None for any other path."""
        route = self._route(rec.path)
        if route is None:
            return None
        info, namespace, name = route
        if not info.namespaced and namespace is not None:
            return None
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "DELETE": "delete"}.get(rec.method)
        if verb is None or (verb == "create" and name) or (verb in ("update", "delete") and not name):
            return self.server._method_not_allowed()
        denied = self.server._denied(verb, info, namespace, name)
        if denied:
            return denied
        with self.server._lock:
            if verb == "list":
                return self._list(rec, info, namespace)
            if verb == "get":
                obj = self.get(info.resource, namespace, name)
                return _Reply(200, self._as(info, obj)) if obj else self._not_found(info, name)
            dry_run = rec.query.get("dryRun")
            if dry_run not in (None, "", "All"):
                return _Reply(400, status_body(400, "BadRequest", f'Invalid dryRun parameter "{dry_run}"'))
            saved = (dict(self.objects), self.server._rv)
            body = rec.json if verb != "delete" or rec.body else {}
            if verb == "create":
                reply = self._create(rec, info, namespace, body)
            elif verb == "update":
                reply = self._update(rec, info, namespace, name, body)
            else:
                reply = self._delete(info, namespace, name, body)
            if dry_run == "All":  # admission and validation ran; nothing is saved
                self.objects, self.server._rv = saved
            return reply

    @staticmethod
    def _as(info: ResourceInfo, obj: dict) -> dict:
        return {**copy.deepcopy(obj), "apiVersion": info.api_version, "kind": info.kind}

    @staticmethod
    def _qualified(info: ResourceInfo) -> str:
        return f"{info.resource}.{info.group}"

    def _not_found(self, info: ResourceInfo, name: str) -> _Reply:
        return _Reply(404, status_body(404, "NotFound", f'{self._qualified(info)} "{name}" not found',
                                       {"name": name, "group": info.group, "kind": info.resource}))

    def _conflict(self, info: ResourceInfo, name: str, why: str) -> _Reply:
        return _Reply(409, status_body(409, "Conflict", f'Operation cannot be fulfilled on {self._qualified(info)} '
                                       f'"{name}": {why}', {"name": name, "group": info.group, "kind": info.resource}))

    def _list(self, rec: "RecordedRequest", info: ResourceInfo, namespace: str | None) -> _Reply:
        try:
            match = label_matcher(rec.query.get("labelSelector"))
        except ValueError as exc:
            return _Reply(400, status_body(400, "BadRequest", str(exc)))
        items = [self._as(info, obj) for (res, ns, _), obj in sorted(self.objects.items(), key=lambda kv: str(kv[0]))
                 if res == info.resource and (namespace is None or ns == namespace) and (match is None or match(obj))]
        for item in items:
            del item["apiVersion"], item["kind"]  # list items carry neither, as the API server sends them
        return _Reply(200, {"apiVersion": info.api_version, "kind": f"{info.kind}List",
                            "metadata": {"resourceVersion": self.server.resource_version}, "items": items})

    def _invalid(self, info: ResourceInfo, body: Any, namespace: str | None) -> _Reply | None:
        from tests.report.crds import crd_errors

        problems = crd_errors(body) if isinstance(body, dict) else ["the body is not a JSON object"]
        name = (body.get("metadata") or {}).get("name") if isinstance(body, dict) else None
        if not problems and isinstance(body, dict) and body.get("apiVersion") != info.api_version:
            problems = [f'apiVersion: Invalid value: "{body.get("apiVersion")}": must be {info.api_version}']
        if not problems and info.namespaced and body["metadata"].get("namespace") not in (None, namespace):
            return _Reply(400, status_body(400, "BadRequest", "the namespace of the provided object does not match "
                                           "the namespace sent on the request"))
        if not problems:
            return None
        return _Reply(422, status_body(422, "Invalid", f'{info.kind}.{info.group} "{name}" is invalid: '
                                       + "; ".join(problems), {"name": name, "group": info.group, "kind": info.kind}))

    def _managed_fields(self, rec: "RecordedRequest", info: ResourceInfo, operation: str) -> list[dict]:
        manager = rec.query.get("fieldManager") or (rec.header("User-Agent") or "unknown").split("/")[0]
        return [{"manager": manager, "operation": operation, "apiVersion": info.api_version, "time": now_rfc3339(),
                 "fieldsType": "FieldsV1", "fieldsV1": {}}]

    def _create(self, rec: "RecordedRequest", info: ResourceInfo, namespace: str | None, body: Any) -> _Reply:
        invalid = self._invalid(info, body, namespace)
        if invalid:
            return invalid
        name = body["metadata"]["name"]
        if self.get(info.resource, namespace, name) is not None:
            return _Reply(409, status_body(409, "AlreadyExists", f'{self._qualified(info)} "{name}" already exists',
                                           {"name": name, "group": info.group, "kind": info.resource}))
        obj = copy.deepcopy(body)
        md = obj["metadata"]
        if namespace is not None:
            md["namespace"] = namespace
        md.pop("resourceVersion", None)
        md.update(uid=str(uuid.uuid4()), resourceVersion=self.server._next_rv(), creationTimestamp=now_rfc3339(),
                  generation=1, managedFields=self._managed_fields(rec, info, "Update"))
        self.objects[(info.resource, namespace, name)] = obj
        return _Reply(201, self._as(info, obj))

    def _update(self, rec: "RecordedRequest", info: ResourceInfo, namespace: str | None, name: str, body: Any) -> _Reply:
        invalid = self._invalid(info, body, namespace)
        if invalid:
            return invalid
        current = self.get(info.resource, namespace, name)
        if current is None:
            return self._not_found(info, name)
        wanted = body["metadata"].get("resourceVersion")
        if not wanted:
            return _Reply(422, status_body(422, "Invalid", f'{info.kind}.{info.group} "{name}" is invalid: '
                                           "metadata.resourceVersion: Invalid value: 0x0: must be specified for an "
                                           "update", {"name": name, "group": info.group, "kind": info.kind}))
        if wanted != current["metadata"]["resourceVersion"]:
            return self._conflict(info, name, "the object has been modified; please apply your changes to the "
                                  "latest version and try again")
        obj = copy.deepcopy(body)
        md = obj["metadata"]
        old = current["metadata"]
        md.update(namespace=old.get("namespace"), uid=old["uid"], creationTimestamp=old["creationTimestamp"],
                  generation=old.get("generation", 1) + 1, resourceVersion=self.server._next_rv(),
                  managedFields=self._managed_fields(rec, info, "Update"))
        if md["namespace"] is None:
            del md["namespace"]
        self.objects[(info.resource, namespace, name)] = obj
        return _Reply(200, self._as(info, obj))

    def _delete(self, info: ResourceInfo, namespace: str | None, name: str, body: Any) -> _Reply:
        current = self.get(info.resource, namespace, name)
        if current is None:
            return self._not_found(info, name)
        pre = (body or {}).get("preconditions") or {}
        md = current["metadata"]
        if pre.get("uid") not in (None, md["uid"]):
            return self._conflict(info, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in object "
                                  f"meta: {md['uid']}")
        if pre.get("resourceVersion") not in (None, md["resourceVersion"]):
            return self._conflict(info, name, "Precondition failed: ResourceVersion in precondition: "
                                  f"{pre['resourceVersion']}, ResourceVersion in object meta: {md['resourceVersion']}")
        del self.objects[(info.resource, namespace, name)]
        self.server._next_rv()
        return _Reply(200, self._as(info, current))
