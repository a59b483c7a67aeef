"""Pure fixing logic of ``kubectl pss fix``: which safe edits make an object pass a level, and which
violations need a person (no I/O; objects are dicts as kubectl reads them).

``plan.plan_fix`` judges with the engine on the object as go-yaml reads it and returns edits by
path; ``edit.apply_edits`` applies them to any mapping tree (plain dicts or ruamel's round-trip
maps, new keys in Kubernetes API field order); ``patch.strategic_patch`` turns them into a
strategic-merge patch for a live object.
"""
from .edit import DELETE, Edit, apply_edits, path_text
from .plan import ALLOW_NAMES, FixPlan, plan_fix

__all__ = ["ALLOW_NAMES", "DELETE", "Edit", "FixPlan", "apply_edits", "path_text", "plan_fix"]
