"""PodSecurity's record in the API server's audit log: which requests were audited, denied or exempted.

Pure except ``sources`` (reading files, directories, gzip and stdin).
"""
from .events import FileStats, PodSecurityEvent, Scanner, select, user_kind, username
from .grouping import EventFilter, Grouper, parse_instant, parse_selector, suggest_exemptions, summarize
from .reasons import REASONS, check_id, parse_checks, split_message, split_reasons

__all__ = [
    "REASONS", "EventFilter", "FileStats", "Grouper", "PodSecurityEvent", "Scanner", "check_id", "parse_checks",
    "parse_instant", "parse_selector", "select", "split_message", "split_reasons", "suggest_exemptions",
    "summarize", "user_kind", "username",
]
