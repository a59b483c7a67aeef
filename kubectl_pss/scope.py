"""Which namespaces a run covers: kubectl's label selector (parsed once, matched client-side where the
API takes no selector, sent to the server in a canonical form where it does), ``--exclude-namespace``
shell globs, and the scope they make with ``-n``/``-A``."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

_SPECIAL = set(" \t\n,()=!<>")
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_SET_OPS = ("in", "notin")


class SelectorError(ValueError):
    """A label selector kubectl would refuse (its message says why)."""


@dataclass(frozen=True)
class Requirement:
    """One requirement: ``op`` is ``=``, ``==``, ``!=``, ``in``, ``notin``, ``exists``, ``!``, ``>`` or ``<``."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        """apimachinery's Requirement.Matches: ``!=``/``notin`` hold for a missing key, ``>``/``<`` need one."""
        has, value = self.key in labels, labels.get(self.key)
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op in ("=", "==", "in"):
            return has and value in self.values
        if self.op in ("!=", "notin"):
            return not has or value not in self.values
        try:
            number = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return number > int(self.values[0]) if self.op == ">" else number < int(self.values[0])

    def __str__(self) -> str:
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        if self.op in _SET_OPS:
            return f"{self.key} {self.op} ({','.join(self.values)})"
        return f"{self.key}{self.op}{self.values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    """A parsed selector; ``str()`` is what goes to the server's ``labelSelector``."""

    requirements: tuple[Requirement, ...]

    def matches(self, labels: dict[str, str] | None) -> bool:
        return all(r.matches(labels or {}) for r in self.requirements)

    def selects(self, obj: dict) -> bool:
        """Whether an object's ``metadata.labels`` match."""
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        labels = metadata.get("labels")
        return self.matches(labels if isinstance(labels, dict) else {})

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _tokens(text: str) -> list[str]:
    """apimachinery's lexer: identifiers, ``(``, ``)``, ``,``, and the operators ``= == != ! < >``."""
    tokens, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),<>":
            tokens.append(ch)
            i += 1
        elif ch in "=!":
            two = text[i:i + 2]
            tokens.append(two if two in ("==", "!=") else ch)
            i += len(tokens[-1])
        else:
            start = i
            while i < len(text) and text[i] not in _SPECIAL:
                i += 1
            tokens.append(text[start:i])
    return tokens


def _is_identifier(token: str | None) -> bool:
    return token is not None and token[0] not in _SPECIAL


def _check_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not re.fullmatch(_PREFIX, prefix) or len(prefix) > 253):
        raise SelectorError(f'key "{key}": the prefix must be a DNS subdomain (e.g. "example.com")')
    if not re.fullmatch(_NAME, name) or len(name) > 63:
        raise SelectorError(f'key "{key}": a name of up to 63 alphanumerics, "-", "_" or ".", starting and ending '
                            "with an alphanumeric")


def _check_value(value: str) -> None:
    if value and (not re.fullmatch(_NAME, value) or len(value) > 63):
        raise SelectorError(f'value "{value}": up to 63 alphanumerics, "-", "_" or ".", starting and ending with an '
                            "alphanumeric")


def parse_selector(text: str) -> LabelSelector:
    """kubectl's full syntax (``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``, ``k notin (a,b)``,
    ``k>1``, ``k<1``), requirements separated by commas; SelectorError on bad syntax."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str | None:
        nonlocal pos
        pos += 1
        return tokens[pos - 1] if pos - 1 < len(tokens) else None

    def found(token: str | None) -> str:
        return f"found '{token or ''}'"

    requirements: list[Requirement] = []
    while tokens:
        negated = peek() == "!"
        if negated:
            take()
        key = take()
        if not _is_identifier(key) or key in _SET_OPS and peek() == "(":
            raise SelectorError(f"{found(key)}, expected: a key")
        assert key is not None
        _check_key(key)
        op = peek()
        if negated or op in (None, ","):
            requirements.append(Requirement(key, "!" if negated else "exists"))
        elif op in ("=", "==", "!=", "<", ">"):
            take()
            value = "" if not _is_identifier(peek()) else take() or ""
            if op in "<>" and not re.fullmatch(r"-?[0-9]+", value):
                raise SelectorError(f'"{key}{op}{value}": {op} needs an integer value')
            _check_value(value)
            requirements.append(Requirement(key, op, (value,)))
        elif op in _SET_OPS:
            take()
            if take() != "(":
                raise SelectorError(f"{found(tokens[pos - 1] if pos <= len(tokens) else None)}, expected: '(' after "
                                    f"'{op}'")
            values: list[str] = []
            while True:
                value = take() if _is_identifier(peek()) else ""
                _check_value(value or "")
                values.append(value or "")
                sep = take()
                if sep == ")":
                    break
                if sep != ",":
                    raise SelectorError(f"{found(sep)}, expected: ',' or ')' in the values of '{key} {op}'")
            if values == [""]:
                raise SelectorError(f"'{key} {op} ()': the set of values cannot be empty")
            requirements.append(Requirement(key, op, tuple(sorted(set(values)))))
        else:
            raise SelectorError(f"{found(op)} after '{key}', expected: =, ==, !=, in, notin, <, > or ','")
        sep = take()
        if sep is None:
            break
        if sep != ",":
            raise SelectorError(f"{found(sep)}, expected: ','")
        if peek() is None:
            raise SelectorError("found '', expected: a requirement after ','")
    return LabelSelector(tuple(requirements))


_FIELD_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*([^,=!\s]*)\s*")


def parse_field_selector(text: str) -> str:
    """A field selector (``field=value``, ``==``, ``!=``, comma-separated) in canonical form; SelectorError if not."""
    parts = text.split(",")
    if not text.strip() or not all(_FIELD_REQUIREMENT.fullmatch(part) for part in parts):
        raise SelectorError("field=value, field==value or field!=value, comma-separated (e.g. "
                            "spec.nodeName=node-1,status.phase=Running)")
    return ",".join(part.strip().replace(" ", "") for part in parts)


NAMESPACE_GLOB = re.compile(r"[-a-z0-9*?\[\]!]+")  # a namespace name, or a shell pattern of names


def excluded(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether a namespace matches one of the ``--exclude-namespace`` shell globs (``kube-*``)."""
    return any(fnmatchcase(name, pattern) for pattern in patterns)


@dataclass(frozen=True)
class NamespaceScope:
    """The namespaces a run covers. ``namespaces`` None: every namespace (``-A``, or ``-l`` alone); ()
    the context's namespace (nothing given), else the named ones. ``selector`` and ``exclude`` narrow it."""

    namespaces: tuple[str, ...] | None = None
    selector: LabelSelector | None = None
    exclude: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_default(self) -> bool:
        return self.namespaces == ()

    def named(self, names: list[str]) -> "NamespaceScope":
        return NamespaceScope(tuple(names), self.selector, self.exclude)

    def covers(self, namespace: dict) -> bool:
        """Whether a namespace object is in scope (its name named, not excluded, its labels selected)."""
        name = namespace["metadata"]["name"]
        return ((self.namespaces is None or name in self.namespaces) and not excluded(name, self.exclude)
                and (self.selector is None or self.selector.selects(namespace)))

    def inventory_args(self) -> dict:
        """``fetch_inventory``'s keywords for this scope (its default made concrete first)."""
        assert not self.is_default, "the context's namespace is named before reading"
        return {"namespaces": None if self.namespaces is None else list(self.namespaces),
                "namespace_selector": None if self.selector is None else str(self.selector), "exclude": self.exclude}

    @staticmethod
    def describe(recorded: dict) -> str:
        """A recorded scope (``as_dict``) as the flags that make it: ``-n a,b -l team --exclude-namespace x``,
        "" for every namespace."""
        words = []
        if recorded.get("namespaces") is not None:
            words.append("-n " + ",".join(map(str, recorded["namespaces"])))
        if recorded.get("selector"):
            words.append(f"-l '{recorded['selector']}'")
        words += [f"--exclude-namespace '{pattern}'" for pattern in recorded.get("excludeNamespaces") or []]
        return " ".join(words)

    def as_dict(self) -> dict:
        """The report's ``scope``: what was asked for, so a reader knows what was (not) audited."""
        return {"namespaces": None if self.namespaces is None else list(self.namespaces),
                "selector": None if self.selector is None else str(self.selector),
                "excludeNamespaces": list(self.exclude)}


ALL_NAMESPACES = NamespaceScope()


def unmatched_warnings(scope: NamespaceScope, found: set[str], unreadable: set[str]) -> list[str]:
    """What stderr warns about a scope (concrete, not the default): each namespace named with ``-n`` that
    the selector left out (or that does not exist), and a scope that matched no namespace at all."""
    warnings = []
    if scope.namespaces and scope.selector is not None:
        warnings += [f'namespace "{name}" (-n) does not match -l \'{scope.selector}\' (or does not exist): not audited'
                     for name in scope.namespaces if name not in found and name not in unreadable]
    if not found and not unreadable:
        warnings.append(f"no namespace matched {NamespaceScope.describe(scope.as_dict()) or '-A'}")
    return warnings



def default_scope_note(doing: str, namespace: str) -> str:
    """What stderr says when no -n/-A/-l was given (``doing``: "auditing")."""
    return f'{doing} namespace "{namespace}" only: -A for every namespace'
