"""A fake kube-apiserver for tests: real sockets, real HTTP(S), state in Python dicts."""
from .kubeconfig import KubeContext, kubeconfig_dict, write_kubeconfig
from .populate import Populated, populate
from .server import (
    RESOURCES,
    FakeApiServer,
    RecordedRequest,
    load_recording,
    quote_warning,
    status_body,
)

__all__ = [
    "FakeApiServer",
    "KubeContext",
    "Populated",
    "RESOURCES",
    "RecordedRequest",
    "kubeconfig_dict",
    "load_recording",
    "populate",
    "quote_warning",
    "status_body",
    "write_kubeconfig",
]
