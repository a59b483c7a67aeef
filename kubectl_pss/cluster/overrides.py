"""kubectl's override flags on the kubeconfig (client-go's ConfigOverrides): ``-s``, ``--certificate-authority``,
``--insecure-skip-tls-verify``, ``--tls-server-name``, ``--token``, ``--client-certificate``, ``--client-key``
win over the chosen cluster's and user's fields, for a kubeconfig and for the in-cluster configuration.
"""
from __future__ import annotations

import os
from typing import Any

from .client import ConnectionOptions
from .errors import ConfigError


def has_overrides(options: ConnectionOptions) -> bool:
    """Whether any of kubectl's cluster or user override flags (-s, --token, --certificate-authority...) is given."""
    return bool(options.server or options.certificate_authority or options.insecure_skip_tls_verify
                or options.tls_server_name or options.token or options.client_certificate or options.client_key)


def apply_overrides(cluster: dict, user: dict, options: ConnectionOptions, user_name: str) -> None:
    """client-go's ConfigOverrides on the chosen cluster and user entries (changed in place): each flag
    wins over its kubeconfig field; --certificate-authority or --insecure-skip-tls-verify replace the CA
    (and each other); -s or --tls-server-name replace tls-server-name; --token wins over every other
    credential source of the user. Then kubectl's validation of the result, as one ConfigError line."""
    if options.server:
        cluster["server"] = options.server
    if options.certificate_authority or options.insecure_skip_tls_verify:
        for key in ("certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify"):
            cluster.pop(key, None)
        if options.certificate_authority:
            cluster["certificate-authority"] = os.path.abspath(options.certificate_authority)
        cluster["insecure-skip-tls-verify"] = options.insecure_skip_tls_verify
    if options.tls_server_name or options.server:
        cluster.pop("tls-server-name", None)
        if options.tls_server_name:
            cluster["tls-server-name"] = options.tls_server_name
    if options.token:
        for key in ("tokenFile", "exec", "auth-provider"):
            user.pop(key, None)
        user["token"] = options.token
    for flag, key in ((options.client_certificate, "client-certificate"), (options.client_key, "client-key")):
        if flag:
            user[key] = os.path.abspath(flag)
    who = f'"{user_name}"' if user_name else "the user"
    for key, short in (("client-certificate", "client-cert"), ("client-key", "client-key")):
        if user.get(key) and user.get(f"{key}-data"):
            raise ConfigError(f"{short}-data and {short} are both specified for {who}. {short}-data will override")
    has_cert = bool(user.get("client-certificate") or user.get("client-certificate-data"))
    has_key = bool(user.get("client-key") or user.get("client-key-data"))
    if has_cert != has_key:
        missing = "client-key" if has_cert else "client-cert"
        raise ConfigError(f"{missing}-data or {missing} must be specified for {who} to use the clientCert "
                          "authentication method")


def override_entries(merged: Any, cluster_name: str, user_name: str, options: ConnectionOptions,
                      named_user: str) -> None:
    """apply_overrides on the merged kubeconfig's first entries of the chosen cluster and user (the ones the
    loader uses; the merger read them fresh for this connection, so changing them changes nothing else).
    A user that is not there (the context names none) is added for the flags' credentials."""
    def first(section: str, name: str) -> dict:
        key = section[:-1]
        entry = next((e for e in merged.value.get(section) or () if getattr(e, "value", e).get("name") == name), None)
        if entry is None:
            entry = {"name": name, key: {}}
            merged.value.setdefault(section, []).insert(0, entry)
        value = getattr(entry, "value", entry)
        if not isinstance(value.get(key), dict):
            value[key] = {}
        return value[key]

    apply_overrides(first("clusters", cluster_name), first("users", user_name), options, named_user)


def in_cluster_overrides(config: Any, options: ConnectionOptions) -> None:
    """client-go's in-cluster config with overrides: --token, --certificate-authority, --insecure-skip-tls-verify
    and --tls-server-name replace the service account's (impersonation is the Cluster's)."""
    if options.token:
        config.api_key = {"authorization": f"Bearer {options.token}"}
        config.refresh_api_key_hook = None
    if options.certificate_authority:
        config.ssl_ca_cert = os.path.abspath(options.certificate_authority)
    if options.insecure_skip_tls_verify:
        config.verify_ssl = False
    if options.tls_server_name:
        config.tls_server_name = options.tls_server_name
    if options.client_certificate or options.client_key:
        if not (options.client_certificate and options.client_key):
            missing = "client-key" if options.client_certificate else "client-cert"
            raise ConfigError(f"{missing}-data or {missing} must be specified for the in-cluster configuration "
                              "to use the clientCert authentication method")
        config.cert_file = os.path.abspath(options.client_certificate)
        config.key_file = os.path.abspath(options.client_key)
