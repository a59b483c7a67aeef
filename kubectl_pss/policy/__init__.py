"""A pure-Python Pod Security Standards engine that agrees with k8s.io/pod-security-admission.

No I/O here: callers hand in objects (dicts as decoded from JSON/YAML) and get results.
"""
from .defaulting import apply_manifest_defaults
from .evaluate import Grade, Result, Violation, evaluate, evaluate_pod, grade, strictest_level
from .levels import (
    LATEST,
    LEVEL_ERROR,
    LEVELS,
    VERSION_ERROR,
    Level,
    PolicyValueError,
    Version,
    level_version,
    parse_level,
    parse_version,
)
from .objects import TEMPLATE_PATHS, WORKLOAD_KINDS, InvalidObjectError, is_evaluated_kind, iter_items, object_ref, pod_template
from .registry import DEFAULT_REGISTRY, NEWEST_MINOR, Registry

__all__ = [
    "DEFAULT_REGISTRY", "Grade", "InvalidObjectError", "LATEST", "LEVELS", "LEVEL_ERROR", "Level",
    "NEWEST_MINOR", "PolicyValueError", "Registry", "Result", "TEMPLATE_PATHS", "VERSION_ERROR",
    "Version", "Violation", "WORKLOAD_KINDS", "apply_manifest_defaults", "evaluate", "evaluate_pod",
    "grade", "is_evaluated_kind", "iter_items", "level_version", "object_ref", "parse_level",
    "parse_version", "pod_template", "strictest_level",
]
