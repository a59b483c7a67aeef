"""Connection to a cluster: raw-JSON requests, retries, paged lists, warnings (``kubeconfig.connect``
makes it).

This module and ``kubeconfig`` are the only ones that import ``kubernetes`` (pinned 35.0.0), and only
inside functions: the import costs ~0.5 s. Requests go through ``ApiClient.call_api(...,
_preload_content=False)`` so TLS, client certificates, tokens and exec plugins from the kubeconfig
apply, and bodies stay raw JSON (the client's model objects are ~20x slower and ~10x bigger).
"""
from __future__ import annotations

import json
import logging
import random
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .. import __version__, logs
from .errors import (
    ClusterError,
    ClusterUnreachable,
    CutShort,
    Gone,
    error_for_status,
)
from .jsonbody import check_list, json_object
from .readahead import read_ahead
from .warnings import warnings_from_headers

# --- tunables -------------------------------------------------------------------------------
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds; without --request-timeout
DEFAULT_READ_TIMEOUT = 120.0
MAX_ATTEMPTS = 5  # per request, for 429 and 5xx
CONNECT_ATTEMPTS = 3  # per request, for connection errors (refused, reset)
MAX_RETRY_AFTER = 10.0  # cap on a server's Retry-After
BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0)  # seconds before attempt 2, 3, ... (jittered)
RELIST_ATTEMPTS = 2  # restarts of a paginated list after 410 Gone
READ_AHEAD_PAGES = 2  # pages of a list fetched (by a reader thread) ahead of their use
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _may_repeat(method: str, status: int, headers: list[tuple[str, str]]) -> bool:
    """Whether a failed request may be sent again. A GET always (bounded); a write only when the server
    says it did not act on it (as client-go): 429, or a 5xx with Retry-After. A bare 500 to a POST may
    have come after the object was created; repeating it would answer AlreadyExists for our own object."""
    return method == "GET" or status == 429 or any(k.lower() == "retry-after" for k, _ in headers)
USER_AGENT = f"kubectl-pss/{__version__} ({sys.platform}) kubernetes-python/35.0.0"
FIELD_MANAGER = "kubectl-pss"

log = logging.getLogger(__name__)


@dataclass
class ConnectionOptions:
    """What kubectl's connection flags say: ``--kubeconfig``, ``--context``, ``--cluster``, ``--user``,
    ``--request-timeout`` and ``-v``. ``cluster`` and ``user`` override the context's, as client-go's
    ConfigOverrides do (the context's namespace stays)."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None  # a clusters[] name of the kubeconfig, instead of the context's
    user: str | None = None  # a users[] name, instead of the context's
    request_timeout: float | None = None  # seconds; None or 0: connect 10 s, read 120 s
    verbosity: int = 0  # kubectl's -v: 6 logs every request on stderr (logs.py)
    compression: bool = True  # Accept-Encoding: gzip (kubectl's --disable-compression turns it off)
    # kubectl's overrides of the kubeconfig (client-go's ConfigOverrides): they win over the chosen entries
    server: str | None = None  # -s/--server
    certificate_authority: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    token: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    impersonate: "Impersonation | None" = None  # --as, --as-group, --as-uid


@dataclass(frozen=True)
class Impersonation:
    """kubectl's ``--as``, ``--as-group`` (repeatable) and ``--as-uid``: sent as Impersonate-* headers."""

    user: str
    groups: tuple[str, ...] = ()
    uid: str | None = None

    def headers(self) -> list[tuple[str, str]]:
        """One header line per group, as client-go sends them (the API server reads each line as one group)."""
        return ([("Impersonate-User", self.user)] + [("Impersonate-Group", g) for g in self.groups]
                + ([("Impersonate-Uid", self.uid)] if self.uid else []))


@dataclass
class Response:
    """A 2xx answer. ``headers`` keeps repeats in order; ``data`` is its JSON object (anything else raises)."""

    status: int
    headers: list[tuple[str, str]]
    data: Any
    warnings: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


# --- the cluster ----------------------------------------------------------------------------
def _incomplete_read(exc: BaseException) -> BaseException | None:
    """The IncompleteRead (urllib3's or http.client's) behind ``exc``, if the body ended early."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__name__ == "IncompleteRead":
            return cur
        nested = [a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)]
        cur = nested[0] if nested else (cur.__cause__ or cur.__context__)
    return None


def _describe_cut_short(exc: BaseException) -> str:
    short = _incomplete_read(exc)
    if short is not None:
        partial, expected = getattr(short, "partial", None), getattr(short, "expected", None)
        got = len(partial) if isinstance(partial, (bytes, bytearray)) else partial
        if isinstance(got, int) and isinstance(expected, int):
            return f"{got} bytes arrived, {expected} more were announced"
    return _describe_connection_error(exc)


def _describe_connection_error(exc: BaseException) -> str:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cur, TimeoutError) or type(cur).__name__ in ("ConnectTimeoutError", "ReadTimeoutError"):
            return "timed out"
        if type(cur).__name__ == "NameResolutionError":
            return "cannot resolve the host name"
        if isinstance(cur, ConnectionResetError):
            return "connection reset"
        nxt = getattr(cur, "reason", None)
        cur = nxt if isinstance(nxt, BaseException) else (cur.__cause__ or cur.__context__)
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


class _BodyFailed(Exception):
    """Reading a body failed after its status line and headers arrived."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


def _send_headers_too(api_client: Any, extra: list[tuple[str, str]]) -> None:
    """Every request of ``api_client`` also carries ``extra`` header lines (repeats kept: the client's own
    header dicts cannot hold a name twice, and Impersonate-Group must be one line per group)."""
    from urllib3 import HTTPHeaderDict

    pool = api_client.rest_client.pool_manager
    request = pool.request

    def with_extra(method: str, url: str, *args: Any, headers: Any = None, **kwargs: Any) -> Any:
        merged = HTTPHeaderDict(headers or {})
        for name, value in extra:
            merged.add(name, value)
        return request(method, url, *args, headers=merged, **kwargs)

    pool.request = with_extra


class Cluster:
    """One API server, through the ``kubernetes`` client's ApiClient. Thread-safe for requests."""

    def __init__(self, api_client: Any, *, context: str, namespace: str, server: str,
                 request_timeout: float | None = None, reauthenticate: Callable[[], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, verbosity: int = 0, compression: bool = True,
                 impersonate: "Impersonation | None" = None):
        self._api = api_client
        self.impersonate = impersonate
        if impersonate is not None:
            _send_headers_too(api_client, impersonate.headers())
        self.compression = compression
        self.context = context
        self.namespace = namespace
        self.server = server
        self.verbosity = verbosity
        if request_timeout:
            self._timeout: tuple[float, float] = (float(request_timeout), float(request_timeout))
        else:
            self._timeout = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
        self._reauthenticate = reauthenticate
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"Cluster(context={self.context!r}, server={self.server!r})"

    def close(self) -> None:
        try:
            self._api.rest_client.pool_manager.clear()
        except AttributeError:
            pass

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public ---------------------------------------------------------------------------
    def server_version(self) -> dict:
        """GET /version, raw (``gitVersion``, ``major``, ``minor``, ...)."""
        return self.request("GET", "/version").data or {}

    def websocket_settings(self) -> dict[str, Any]:
        """What a WebSocket to this server needs (cluster/exec.py), from the same Configuration as
        requests: ``url``, ``headers`` (Authorization, User-Agent), ``sslopt`` (websocket-client's, built
        as ``kubernetes.stream.ws_client.create_websocket`` does), ``proxy``, ``no_proxy``, ``timeout``
        (connect, read) and ``reauthenticate`` (a callable for a 401, or None)."""
        config = self._api.configuration
        token = config.auth_settings().get("BearerToken", {}).get("value")  # runs refresh hooks
        headers = {"User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = token
        import ssl

        sslopt: dict[str, Any] = {"cert_reqs": ssl.CERT_NONE}
        if config.host.startswith("https") and config.verify_ssl:
            import certifi

            sslopt = {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": config.ssl_ca_cert or certifi.where()}
            if config.assert_hostname is not None:
                sslopt["check_hostname"] = config.assert_hostname
        if config.cert_file:
            sslopt["certfile"] = config.cert_file
        if config.key_file:
            sslopt["keyfile"] = config.key_file
        if config.tls_server_name:
            sslopt["server_hostname"] = config.tls_server_name
        return {"url": config.host, "headers": headers, "sslopt": sslopt, "proxy": config.proxy,
                "impersonate": self.impersonate.headers() if self.impersonate else [],
                "no_proxy": config.no_proxy, "timeout": self._timeout, "reauthenticate": self._reauthenticate,
                "verbosity": self.verbosity}

    def request(self, method: str, path: str, query: dict[str, str] | list[tuple[str, str]] | None = None,
                body: Any = None, content_type: str | None = None) -> Response:
        """One API call with retries; raises a ClusterError subclass unless the answer is 2xx."""
        return self._send(method.upper(), path, query, body, content_type)

    def list_items(self, path: str, label_selector: str | None = None, limit: int | None = 500,
                   field_selector: str | None = None) -> Iterator[dict]:
        """Every item of a list endpoint, page by page (``limit``/``continue``), as raw dicts with
        ``kind``/``apiVersion`` set. On 410 Gone mid-list the list restarts from scratch (at most
        RELIST_ATTEMPTS times); items already yielded are not yielded again."""
        base: list[tuple[str, str]] = []
        if label_selector:
            base.append(("labelSelector", label_selector))
        if field_selector:
            base.append(("fieldSelector", field_selector))
        if limit:
            base.append(("limit", str(limit)))
        seen: set[str] = set()
        restarts = 0
        while True:
            pages = 0
            try:
                for data in read_ahead(self._pages(path, base), READ_AHEAD_PAGES, f"list {path}"):
                    pages += 1
                    list_kind = data.get("kind") or ""
                    kind = list_kind[:-4] if list_kind.endswith("List") else None
                    api_version = data.get("apiVersion")
                    for item in data.get("items") or ():
                        md = item.get("metadata") or {}
                        uid = md.get("uid")  # a hostile item's may be unhashable: placed by the caller's checks
                        key = uid if isinstance(uid, str) and uid else f"{md.get('namespace')!r}/{md.get('name')!r}"
                        if key in seen:
                            continue
                        seen.add(key)
                        if kind and "kind" not in item:
                            item["kind"] = kind
                        if api_version and "apiVersion" not in item:
                            item["apiVersion"] = api_version
                        yield item
                    del data  # the page is dropped once its items are handed on
                return
            except Gone as exc:
                if pages == 0 or restarts >= RELIST_ATTEMPTS:
                    raise Gone(f"{exc.message} (GET {path}: gave up after {restarts} restarts of the list)"
                               if pages else exc.message, status=410, reason=exc.reason,
                               details=exc.details) from None
                restarts += 1
                log.debug("continue token expired on %s; listing again (%d)", path, restarts)

    def _pages(self, path: str, base: list[tuple[str, str]]) -> Iterator[dict]:
        """The pages of a list, each checked to be one, following the continue tokens."""
        token: str | None = None
        while True:
            query = base + ([("continue", token)] if token else [])
            data = self._send("GET", path, query, None, None).data
            check_list(path, data)
            token = (data.get("metadata") or {}).get("continue")
            yield data
            if not token:
                return

    def patch_merge(self, path: str, patch: dict, dry_run: bool) -> Response:
        """JSON merge patch (RFC 7386); ``dry_run`` adds ``dryRun=All`` (admission runs, nothing is saved)."""
        query = [("fieldManager", FIELD_MANAGER)]
        if dry_run:
            query.insert(0, ("dryRun", "All"))
        return self._send("PATCH", path, query, patch, "application/merge-patch+json")

    # -- internals ------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        base = BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
        return base * (0.8 + 0.4 * random.random())

    def _send(self, method: str, path: str, query: Any, body: Any, content_type: str | None) -> Response:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        if isinstance(query, dict):
            query = list(query.items())
        headers = {"Accept": "application/json"}
        if self.compression:  # a win on remote links, a loss on loopback (benchmarks/bench_compression.py)
            headers["Accept-Encoding"] = "gzip"
        if content_type:
            headers["Content-Type"] = content_type
        attempts = 0
        connect_failures = 0
        cut_short = 0
        reauthenticated = False
        while True:
            attempts += 1
            started = time.monotonic()
            if self.verbosity >= logs.REQUEST_HEADERS:
                self._log_request(method, path, query, headers)
            try:
                raw = self._api.call_api(
                    path, method, query_params=list(query or []), header_params=dict(headers), body=body,
                    auth_settings=["BearerToken"], _return_http_data_only=True, _preload_content=False,
                    _request_timeout=self._timeout)
                try:
                    payload = raw.read()
                except (Urllib3Error, OSError) as exc:
                    raise _BodyFailed(exc) from exc
                finally:
                    raw.release_conn()
                status, resp_headers = raw.status, list(raw.headers.items())
            except _BodyFailed as failed:
                if _incomplete_read(failed.cause) is None and _describe_connection_error(failed.cause) == "timed out":
                    self._log_response(method, path, query, started, None, "timed out")
                    raise self._unreachable("timed out") from None  # as a stall before the headers
                cut_short = self._cut_short(method, path, query, started, failed.cause, cut_short)
                continue
            except ApiException as exc:
                if exc.status == 0:  # rest.py turns TLS failures into status 0
                    reason = " ".join(str(exc.reason or "").split())
                    self._log_response(method, path, query, started, None, f"TLS: {reason}")
                    raise ClusterUnreachable(f"cannot reach the Kubernetes API server at {self.server} "
                                             f'(context "{self.context}"): TLS: {reason}') from None
                status = exc.status
                resp_headers = list(exc.headers.items()) if exc.headers is not None else []
                payload = exc.body if isinstance(exc.body, bytes) else (exc.body or "").encode()
            except (Urllib3Error, OSError) as exc:
                if _incomplete_read(exc) is not None:  # an error status whose body ended early
                    cut_short = self._cut_short(method, path, query, started, exc, cut_short)
                    continue
                what = _describe_connection_error(exc)
                self._log_response(method, path, query, started, None, what)
                connect_failures += 1
                if what != "timed out" and connect_failures < CONNECT_ATTEMPTS:
                    self._sleep(self._backoff(connect_failures))
                    continue
                raise self._unreachable(what) from None

            self._log_response(method, path, query, started, status, None, resp_headers, payload)
            if 200 <= status < 300:
                ctype = next((v for k, v in resp_headers if k.lower() == "content-type"), "")
                data = json_object(path, ctype, payload)
                return Response(status, resp_headers, data, warnings_from_headers(resp_headers))

            if status == 401 and self._reauthenticate is not None and not reauthenticated:
                reauthenticated = True
                try:
                    self._reauthenticate()
                except Exception as exc:  # the plugin itself failed: report the 401 below
                    log.debug("re-running the exec plugin failed: %s", exc)
                else:
                    continue
            if status in RETRY_STATUSES and attempts < MAX_ATTEMPTS and _may_repeat(method, status, resp_headers):
                self._sleep(self._retry_wait(status, resp_headers, attempts))
                continue
            raise self._error(method, path, status, resp_headers, payload)

    def _unreachable(self, what: str) -> ClusterUnreachable:
        return ClusterUnreachable(f'cannot reach the Kubernetes API server at {self.server} (context "{self.context}"): '
                                  f"{what}")

    def _cut_short(self, method: str, path: str, query: Any, started: float, exc: BaseException,
                   failures: int) -> int:
        """A body that ended early: the server was reached. A GET is sent again (bounded like 5xx);
        anything else is not repeated (a PATCH may have been applied). Returns the failures so far."""
        what = _describe_cut_short(exc)
        self._log_response(method, path, query, started, None, f"answer cut short: {what}")
        failures += 1
        if method == "GET" and failures < MAX_ATTEMPTS:
            self._sleep(self._backoff(failures))
            return failures
        tried = f"; gave up after {failures} attempts" if method == "GET" else ""
        raise CutShort(f"the server's answer to {method} {path} was cut short ({what}{tried})") from None

    # -- -v logs (stderr only; credentials masked) --------------------------------------------------
    def _url(self, path: str, query: Any) -> str:
        from urllib.parse import urlencode

        return self.server.rstrip("/") + path + (f"?{urlencode(list(query))}" if query else "")

    def _log_request(self, method: str, path: str, query: Any, headers: dict[str, str]) -> None:
        sent = [*headers.items(), ("User-Agent", USER_AGENT), *(self.impersonate.headers() if self.impersonate else [])]
        if "authorization" in (self._api.configuration.api_key or {}):
            sent.append(("Authorization", "Bearer <masked>"))
        logs.info(f"{method} {self._url(path, query)}\nRequest Headers:\n"
                  + "\n".join(f"    {k}: {v}" for k, v in logs.masked_headers(sent)), depth=2)

    def _log_response(self, method: str, path: str, query: Any, started: float, status: int | None,
                      failure: str | None, headers: list[tuple[str, str]] | None = None,
                      payload: bytes | None = None) -> None:
        """kubectl's round_trippers line: ``GET URL 200 OK in 12 milliseconds``."""
        if self.verbosity < logs.REQUESTS:
            return
        import http

        took = int((time.monotonic() - started) * 1000)
        if status is None:
            answer = f"(no response: {failure})"
        else:
            try:
                answer = f"{status} {http.HTTPStatus(status).phrase}"
            except ValueError:
                answer = str(status)
        lines = [f"{method} {self._url(path, query)} {answer} in {took} milliseconds"]
        if headers is not None and self.verbosity >= logs.REQUEST_HEADERS:
            lines.append("Response Headers:")
            lines += [f"    {k}: {v}" for k, v in logs.masked_headers(headers)]
        if payload and self.verbosity >= logs.RESPONSE_BODY:
            lines.append(f"Response Body: {logs.body_text(payload, self.verbosity)}")
        logs.info("\n".join(lines), depth=2)

    def _retry_wait(self, status: int, headers: list[tuple[str, str]], attempt: int) -> float:
        retry_after = next((v for k, v in headers if k.lower() == "retry-after"), None)
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
            except ValueError:
                pass  # an HTTP-date: not sent by the apiserver; use the backoff
        if status == 429:
            return 1.0
        return self._backoff(attempt)

    def _error(self, method: str, path: str, status: int, headers: list[tuple[str, str]],
               payload: bytes) -> ClusterError:
        cls = error_for_status(status)
        warnings = warnings_from_headers(headers)
        message = reason = None
        details: dict = {}
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("kind") == "Status":
            message, reason, details = data.get("message"), data.get("reason"), data.get("details") or {}
        elif payload:
            text = payload.decode("utf-8", "replace").strip()
            message = text.splitlines()[0][:300] if text else None
        if status == 401:
            message = (f"Unauthorized: the API server at {self.server} rejected the credentials of "
                       f'context "{self.context}"')
        elif not message:
            message = f"{method} {path}: HTTP {status}"
        elif status == 404 and not details.get("name"):
            message = f"{message} ({method} {path})"
        elif status in RETRY_STATUSES:
            message = f"{message} ({method} {path}: HTTP {status}, gave up after {MAX_ATTEMPTS} attempts)"
        return cls(message, status=status, reason=reason, details=details, warnings=warnings)
