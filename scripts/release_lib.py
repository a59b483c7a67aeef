"""Release helpers shared by build-binary.py, krew-manifest.py and tests/packaging.

Standard library only: the packing code runs in CI before anything is installed.

- ``pack_archive``: a reproducible ``.tar.gz`` (sorted entries, fixed mtime, uid/gid 0, no owner
  names, modes 0755/0644, gzip header mtime 0 and no file name) without symlinks, which krew's
  tar extractor rejects (it accepts regular files and directories only): symlinks are
  dereferenced, dangling ones dropped.
- ``inspect_archive``: what krew's extractor would say about an archive.
- platform names in Go's spelling (krew's ``os``/``arch`` selector labels).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import platform
import re
import stat
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

PLUGIN = "pss"
EXECUTABLE = "kubectl-pss"
COMPLETION_HELPER = "kubectl_complete-pss"
ROOT = Path(__file__).resolve().parent.parent

# Every platform the release matrix builds, in Go's os/arch spelling (krew selector labels).
PLATFORMS: tuple[tuple[str, str], ...] = (
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
)

# 1980-01-01T00:00:00Z: the oldest time a zip can store too; override with SOURCE_DATE_EPOCH.
DEFAULT_EPOCH = 315532800

_GO_OS = {"linux": "linux", "darwin": "darwin", "windows": "windows"}
_GO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_platform() -> tuple[str, str]:
    """This machine's (os, arch) in Go's spelling, e.g. ("linux", "amd64")."""
    system = platform.system().lower()
    machine = platform.machine().lower()
    if system not in _GO_OS or machine not in _GO_ARCH:
        raise SystemExit(f"unsupported build platform {system}/{machine}")
    return _GO_OS[system], _GO_ARCH[machine]


def project_version(root: Path = ROOT) -> str:
    """``kubectl_pss.__version__`` read from the source (no import, so no dependencies needed)."""
    text = (root / "kubectl_pss" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not match:
        raise SystemExit("no __version__ in kubectl_pss/__init__.py")
    return match.group(1)


def archive_name(version: str, os_name: str, arch: str) -> str:
    return f"{EXECUTABLE}_{version}_{os_name}_{arch}.tar.gz"


def bin_name(os_name: str) -> str:
    return EXECUTABLE + (".exe" if os_name == "windows" else "")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_date_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(value) if value.isdigit() else DEFAULT_EPOCH


@dataclass
class _Entry:
    name: str
    source: Path | None  # None: a directory


@dataclass
class PackResult:
    path: Path
    sha256: str
    names: list[str]
    dereferenced: list[str] = field(default_factory=list)  # symlinks stored as their target's content
    dropped: list[str] = field(default_factory=list)  # dangling or looping symlinks left out


def _collect(arcname: str, source: Path, entries: dict[str, _Entry], result: PackResult, stack: tuple[str, ...]) -> None:
    if source.is_symlink():
        if not source.exists():
            result.dropped.append(arcname)
            return
        result.dereferenced.append(arcname)
    real = os.path.realpath(source)
    if source.is_dir():
        if real in stack:  # a symlink back to an ancestor directory
            result.dropped.append(arcname)
            return
        entries[arcname] = _Entry(arcname, None)
        for child in sorted(os.listdir(source)):
            _collect(f"{arcname}/{child}", source / child, entries, result, stack + (real,))
    elif source.is_file():
        entries[arcname] = _Entry(arcname, source)
    else:  # sockets, fifos, devices
        result.dropped.append(arcname)


def _check_name(name: str) -> None:
    # krew refuses any entry containing ".." and absolute entries; keep names portable too.
    if not name or ".." in name or name.startswith(("/", "\\")) or "\\" in name:
        raise ValueError(f"unsafe archive entry name {name!r}")


def pack_archive(out: Path, members: list[tuple[str, Path]], mtime: int | None = None) -> PackResult:
    """Write a reproducible .tar.gz at ``out`` from (name in archive, file or directory) pairs.

    Directories are added recursively. The result does not depend on the files' owners, times,
    umask or directory listing order: only on names, contents and whether a file is executable.
    """
    mtime = source_date_epoch() if mtime is None else mtime
    out = Path(out)
    result = PackResult(path=out, sha256="", names=[])
    entries: dict[str, _Entry] = {}
    for arcname, source in members:
        arcname = arcname.rstrip("/")
        _check_name(arcname)
        source = Path(source)
        if not source.exists():
            raise FileNotFoundError(f"{source} (for {arcname} in {out.name})")
        # Parent directories of a nested member get their own entries.
        parts = arcname.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            entries.setdefault(parent, _Entry(parent, None))
        _collect(arcname, source, entries, result, ())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            _check_name(name)
            entry = entries[name]
            info = tarfile.TarInfo(name)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry.source is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                data = entry.source.read_bytes()
                executable = os.stat(entry.source).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                info.type = tarfile.REGTYPE
                info.mode = 0o755 if executable else 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            result.names.append(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as raw:
        # filename="" and mtime=0: the gzip header carries neither a name nor a time.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(buffer.getvalue())
    os.replace(tmp, out)
    result.sha256 = sha256_file(out)
    return result


@dataclass
class ArchiveInfo:
    files: dict[str, int]  # regular file name -> mode
    dirs: list[str]
    problems: list[str]  # what krew's extractor would refuse

    def top_level(self) -> list[str]:
        return sorted({name.split("/", 1)[0] for name in list(self.files) + self.dirs})


def inspect_archive(path: Path) -> ArchiveInfo:
    """List an archive the way krew's tar.gz extractor reads it, and what it would refuse."""
    info = ArchiveInfo(files={}, dirs=[], problems=[])
    with open(path, "rb") as f:
        if f.read(3) != b"\x1f\x8b\x08":
            info.problems.append("not a gzip file (krew detects the archive type from its first bytes)")
            return info
    with tarfile.open(path, mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name
            if name == "pax_global_header":
                continue
            if ".." in name:
                info.problems.append(f"suspicious entry {name!r} (contains '..')")
            if name.startswith(("/", "\\")):
                info.problems.append(f"absolute entry {name!r}")
            if member.isdir():
                info.dirs.append(name.rstrip("/"))
            elif member.isreg():
                info.files[name] = member.mode
            elif member.issym() or member.islnk():
                info.problems.append(f"link {name!r} -> {member.linkname!r} (krew accepts only files and directories)")
            else:
                info.problems.append(f"entry {name!r} of type {member.type!r} (krew accepts only files and directories)")
    return info


def main(argv: list[str]) -> int:  # python scripts/release_lib.py ARCHIVE...: show what krew would see
    code = 0
    for arg in argv:
        archive = inspect_archive(Path(arg))
        print(f"{arg}: {len(archive.files)} files, {len(archive.dirs)} directories, sha256 {sha256_file(Path(arg))}")
        for problem in archive.problems:
            print(f"  problem: {problem}")
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
