"""krew's rules for a plugin manifest and its archives, re-stated in Python for the tests.

Sources (kubernetes-sigs/krew):
- internal/index/validation/validate.go: apiVersion, kind, plugin name ``^[\\w-]+$`` and not a
  Windows device name, metadata.name = file name, shortDescription set without line breaks,
  platforms non-empty, version set and semver with a leading v (internal/installation/semver,
  k8s.io/apimachinery ParseSemantic), per platform: uri, sha256 ``^[a-f0-9]{64}$``, bin,
  files unset or non-empty with from and to set, a selector with matchLabels or
  matchExpressions, keys os and arch only, matchLabels not empty when given.
- cmd/validate-krew-manifest/main.go (what krew-index CI runs): file extension .yaml, each
  selector matches a supported os/arch, no os/arch matched by two platforms, installing every
  platform works, and a LICENSE (or alike) file is installed. Line length warnings: description
  and caveats 80, shortDescription 70 (errors here).
- internal/download/downloader.go: the archive type is detected from its first bytes (gzip or
  zip); tar entries must be regular files or directories (symlinks are refused), names must not
  contain ".." nor be absolute.
- internal/installation/move.go and install.go: ``files[].to`` must be clean; a ``from`` that
  exists is moved as is (to "." keeps its name), otherwise it is a glob whose matches go into
  ``to``; nothing may leave the staging or install directory; bin must exist inside the install
  directory.
Project rules on top: shortDescription at most 50 characters, homepage an https URL, no field
krew does not know (krew ignores unknown fields, which hides typos).
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import os
import posixpath
import re
import shutil
import tarfile
from pathlib import Path

import yaml

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
SAFE_NAME = re.compile(r"^[0-9A-Za-z_-]+$")  # Go's \w is ASCII
WINDOWS_FORBIDDEN = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(rf"^v{_NUM}\.{_NUM}\.{_NUM}(?:-{_PRE}(?:\.{_PRE})*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
SHA256 = re.compile(r"^[a-f0-9]{64}$")
SUPPORTED = [("windows", "386"), ("windows", "amd64"), ("windows", "arm64"), ("linux", "386"), ("linux", "amd64"),
             ("linux", "arm"), ("linux", "arm64"), ("linux", "ppc64le"), ("darwin", "386"), ("darwin", "amd64"),
             ("darwin", "arm64")]
LICENSE_FILES = {"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying",
                 "copying.txt"}
KNOWN_FIELDS = {
    "": {"apiVersion", "kind", "metadata", "spec"},
    "metadata": {"name", "namespace", "labels", "annotations", "creationTimestamp"},
    "spec": {"version", "homepage", "shortDescription", "description", "caveats", "platforms"},
    "platform": {"selector", "uri", "sha256", "bin", "files"},
    "file": {"from", "to"},
}


def selector_matches(selector: dict, os_name: str, arch: str) -> bool:
    labels = {"os": os_name, "arch": arch}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _unknown(obj: dict, kind: str, where: str) -> list[str]:
    return [f"{where}: unknown field {key!r}" for key in obj if key not in KNOWN_FIELDS[kind]]


def _line_lengths(text: str, limit: int, field: str) -> list[str]:
    # krew warns only for lines with spaces (one long word, a URL, is fine).
    return [f"spec.{field}: line longer than {limit} characters: {line!r}"
            for line in text.split("\n") if len(line) > limit and " " in line.strip()]


def validate_selector(selector: dict | None) -> list[str]:
    if selector is None:
        return ["nil selector is not supported"]
    if selector.get("matchLabels") is None and not selector.get("matchExpressions"):
        return ["empty selector is not supported"]
    keys = list(selector.get("matchLabels") or {}) + [e.get("key") for e in selector.get("matchExpressions") or []]
    errors = [f"selector key {k!r} not supported" for k in keys if k not in ("os", "arch")]
    if "matchLabels" in selector and not selector["matchLabels"]:
        errors.append("matchLabels specified but empty")
    if "matchExpressions" in selector and not selector["matchExpressions"]:
        errors.append("matchExpressions specified but empty")
    return errors


def validate_platform(p: dict, i: int) -> list[str]:
    where = f"spec.platforms[{i}]"
    errors = _unknown(p, "platform", where)
    if not p.get("uri"):
        errors.append(f"{where}: uri has to be set")
    sha = p.get("sha256")
    if not sha:
        errors.append(f"{where}: sha256 has to be set")
    elif not SHA256.match(str(sha)):
        errors.append(f"{where}: sha256 {sha!r} is not valid")
    if not p.get("bin"):
        errors.append(f"{where}: bin has to be set")
    files = p.get("files")
    if files is not None:
        if not files:
            errors.append(f"{where}: files has to be unspecified or non-empty")
        for j, op in enumerate(files):
            errors += _unknown(op, "file", f"{where}.files[{j}]")
            if not op.get("from"):
                errors.append(f"{where}.files[{j}]: from has to be set")
            if not op.get("to"):
                errors.append(f"{where}.files[{j}]: to has to be set")
            elif posixpath.normpath(op["to"]) != op["to"]:
                errors.append(f"{where}.files[{j}]: to {op['to']!r} is not clean")
    errors += [f"{where}: {e}" for e in validate_selector(p.get("selector"))]
    return errors


def validate_manifest(path: Path) -> list[str]:
    """Everything krew and krew-index CI check without installing; [] when valid."""
    path = Path(path)
    if path.suffix != ".yaml":
        return [f"expected manifest extension .yaml, found {path.suffix!r}"]
    name = path.stem
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = _unknown(doc, "", "manifest")
    if doc.get("apiVersion") != API_VERSION:
        errors.append(f"apiVersion {doc.get('apiVersion')!r} is not {API_VERSION}")
    if doc.get("kind") != "Plugin":
        errors.append(f"kind {doc.get('kind')!r} is not Plugin")
    if not SAFE_NAME.match(name) or name.upper() in WINDOWS_FORBIDDEN:
        errors.append(f"the plugin name {name!r} is not allowed")
    metadata = doc.get("metadata") or {}
    errors += _unknown(metadata, "metadata", "metadata")
    if metadata.get("name") != name:
        errors.append(f"plugin should be named {name!r}, not {metadata.get('name')!r}")
    spec = doc.get("spec") or {}
    errors += _unknown(spec, "spec", "spec")
    short = spec.get("shortDescription") or ""
    if not short:
        errors.append("should have a short description")
    if "\r" in short or "\n" in short:
        errors.append("should not have line breaks in short description")
    if len(short) > 50:
        errors.append(f"shortDescription is {len(short)} characters, more than 50")
    errors += _line_lengths(short, 70, "shortDescription")
    errors += _line_lengths(spec.get("description") or "", 80, "description")
    errors += _line_lengths(spec.get("caveats") or "", 80, "caveats")
    if not str(spec.get("homepage", "")).startswith("https://"):
        errors.append("homepage should be an https URL")
    platforms = spec.get("platforms") or []
    if not platforms:
        errors.append("should have a platform specified")
    version = spec.get("version")
    if not version:
        errors.append("should have a version specified")
    elif not SEMVER.match(str(version)):
        errors.append(f"version {version!r} is not a semantic version with a leading v")
    for i, p in enumerate(platforms):
        errors += validate_platform(p, i)
        if not errors and not any(selector_matches(p["selector"], o, a) for o, a in SUPPORTED):
            errors.append(f"spec.platforms[{i}]'s selector doesn't match any supported platform")
    if not errors:
        for o, a in SUPPORTED:
            hits = [i for i, p in enumerate(platforms) if selector_matches(p["selector"], o, a)]
            if len(hits) > 1:
                errors.append(f"platforms {hits} have overlapping selectors that select os={o}/arch={a}")
    return errors


class InstallError(Exception):
    pass


def _extract_like_krew(archive: Path, staging: Path) -> None:
    data = archive.read_bytes()
    if not data.startswith(b"\x1f\x8b\x08"):
        raise InstallError(f"{archive.name}: not application/x-gzip (krew detects the type from the first bytes)")
    with tarfile.open(fileobj=__import__("io").BytesIO(gzip.decompress(data))) as tar:
        for member in tar.getmembers():
            if member.name == "pax_global_header":
                continue
            if ".." in member.name:
                raise InstallError(f"refusing to unpack archive with suspicious entry {member.name!r}")
            if member.name.startswith(("/", "\\")):
                raise InstallError(f"refusing to unpack archive with absolute entry {member.name!r}")
            target = staging / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                os.chmod(target, member.mode | 0o700)
            elif member.isreg():
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.chmod(target, member.mode)
            else:
                raise InstallError(f"unable to handle file type {member.type!r} for {member.name!r} in tar")


def _inside(base: Path, path: Path) -> bool:
    base, path = os.path.abspath(base), os.path.abspath(path)
    return path == base or path.startswith(base + os.sep)


def _move_all(staging: Path, dest: Path, files: list[dict] | None) -> None:
    for op in files if files is not None else [{"from": "*", "to": "."}]:
        to = op["to"]
        if posixpath.normpath(to) != to:
            raise InstallError(f"the provided path is not clean, {to!r}")
        direct = staging / op["from"]
        if os.path.exists(direct):  # krew: os.Stat succeeds -> a direct move, else a glob
            target = dest / (direct.name if to == "." else to)
            moves = [(direct, target)]
        else:
            matches = sorted(glob.glob(str(staging / op["from"])))
            if not matches:
                raise InstallError(f"no files in the plugin archive matched the glob pattern={op['from']}")
            moves = [(Path(m), dest / to / Path(m).name) for m in matches]
        for src, target in moves:
            if not (_inside(staging, src) and _inside(dest, target)):
                raise InstallError(f"can't move {src} to {target}: out of bounds")
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                shutil.rmtree(target)
            os.rename(src, target)


def install_platform(platform: dict, archive: Path, root: Path, plugin: str, version: str) -> Path:
    """Install one platform's archive the way ``kubectl krew install --manifest --archive`` does.

    Returns the bin link (KREW_ROOT/bin/kubectl-<plugin>, a relative symlink as krew makes it)."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != platform["sha256"]:
        raise InstallError(f"checksum does not match: want {platform['sha256']}, got {digest}")
    staging = root / "staging"
    staging.mkdir(parents=True)
    _extract_like_krew(archive, staging)
    install_dir = root / "store" / plugin / version
    install_dir.mkdir(parents=True)
    _move_all(staging, install_dir, platform.get("files"))
    binary = install_dir / platform["bin"]
    if not _inside(install_dir, binary):
        raise InstallError(f"bin {platform['bin']!r} is outside the install directory")
    if not binary.is_file():
        raise InstallError(f"can't create symbolic link, source binary ({platform['bin']}) cannot be found in extracted archive")
    installed = [p.name.lower() for p in install_dir.rglob("*") if p.is_file()]
    if not LICENSE_FILES.intersection(installed):
        raise InstallError("LICENSE (or alike) file is not extracted from the archive as part of installation")
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    windows = platform["bin"].endswith(".exe")
    link = bin_dir / ("kubectl-" + plugin.replace("-", "_") + (".exe" if windows else ""))
    os.symlink(os.path.relpath(binary, bin_dir), link)
    return link
