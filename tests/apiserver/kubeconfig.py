"""Write kubeconfig files (one or several contexts) pointing at fake API servers."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class KubeContext:
    """One context + its cluster + its user, as kubectl would write them."""

    name: str
    server: str
    token: str | None = None
    ca_pem: bytes | None = None
    namespace: str | None = None
    insecure_skip_tls_verify: bool = False
    exec: dict[str, Any] | None = None  # users[].user.exec
    cluster_name: str | None = None
    user_name: str | None = None
    extra_user: dict[str, Any] = field(default_factory=dict)

    def cluster_entry(self) -> dict:
        cluster: dict[str, Any] = {"server": self.server}
        if self.ca_pem:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        if self.insecure_skip_tls_verify:
            cluster["insecure-skip-tls-verify"] = True
        return {"name": self.cluster_name or self.name, "cluster": cluster}

    def user_entry(self) -> dict:
        user: dict[str, Any] = dict(self.extra_user)
        if self.token is not None:
            user["token"] = self.token
        if self.exec is not None:
            user["exec"] = self.exec
        return {"name": self.user_name or self.name, "user": user}

    def context_entry(self) -> dict:
        ctx: dict[str, Any] = {"cluster": self.cluster_name or self.name, "user": self.user_name or self.name}
        if self.namespace:
            ctx["namespace"] = self.namespace
        return {"name": self.name, "context": ctx}


def kubeconfig_dict(contexts: list[KubeContext], current_context: str | None = None) -> dict:
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [c.cluster_entry() for c in contexts],
        "users": [c.user_entry() for c in contexts],
        "contexts": [c.context_entry() for c in contexts],
    }
    if current_context is not None:
        config["current-context"] = current_context
    return config


def write_kubeconfig(path: str | Path, contexts: list[KubeContext], current_context: str | None = None) -> Path:
    """Write a kubeconfig with these contexts; ``current_context=None`` leaves it unset."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig_dict(contexts, current_context), sort_keys=False))
    path.chmod(0o600)
    return path
