"""The cluster layer: connecting (client), reading everything PSA looks at (inventory), errors.

Importing this package does not import ``kubernetes``; ``connect()`` does.
"""
from .client import Cluster, ConnectionOptions, Response
from .errors import (
    ClusterError,
    ClusterUnreachable,
    ConfigError,
    CutShort,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
    UnexpectedAnswer,
)
from .kubeconfig import connect
from .inventory import RESOURCES, Inventory, InventoryError, Resource, fetch_inventory

__all__ = [
    "Cluster",
    "ClusterError",
    "ClusterUnreachable",
    "ConfigError",
    "ConnectionOptions",
    "CutShort",
    "Forbidden",
    "Gone",
    "Invalid",
    "Inventory",
    "InventoryError",
    "NotFound",
    "RESOURCES",
    "Resource",
    "Response",
    "TooManyRequests",
    "Unauthorized",
    "UnexpectedAnswer",
    "connect",
    "fetch_inventory",
]
