#!/usr/bin/env python3
"""Build the kubectl-pss binary with PyInstaller and pack the krew archive.

    python3 scripts/build-binary.py [--mode onedir|onefile] [--[no-]strip] [--verify-reproducible]

1. Copies the project's sources (pyproject.toml, README.md, LICENSE, kubectl_pss/) to
   build/binary/src, so that nothing stale from the work tree (build/lib, egg-info) gets in.
2. Creates a clean virtual environment build/binary/venv with the running Python and installs
   the project non-editable plus PyInstaller, all at the exact versions of
   scripts/binary-constraints.txt.
3. Runs PyInstaller (scripts/pyinstaller/kubectl-pss.py, hooks in scripts/pyinstaller/hooks) with
   PYTHONHASHSEED=0 and SOURCE_DATE_EPOCH set.
4. Packs dist/kubectl-pss_<version>_<os>_<arch>.tar.gz: the executable (``kubectl-pss``, with its
   ``_internal/`` folder in onedir mode), ``kubectl_complete-pss`` (kubectl's plugin-completion
   helper; not on Windows), ``LICENSE`` and a short ``README.md``. Reproducible (see
   release_lib.pack_archive); symlinks are dereferenced since krew rejects them.
5. Runs the packed executable once (``--version``) and prints sizes, times and the sha256.

One-folder is the default: ``--help`` starts in ~0.06 s against 0.15 s (stripped) to 0.32 s for
one-file, which unpacks itself to a temporary directory on every run (README, "Install").
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from release_lib import (  # noqa: E402
    COMPLETION_HELPER,
    EXECUTABLE,
    ROOT,
    archive_name,
    bin_name,
    host_platform,
    pack_archive,
    project_version,
    source_date_epoch,
)

SCRIPTS = ROOT / "scripts"
CONSTRAINTS = SCRIPTS / "binary-constraints.txt"
ENTRY = SCRIPTS / "pyinstaller" / "kubectl-pss.py"
HOOKS = SCRIPTS / "pyinstaller" / "hooks"
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "kubectl_pss")
# Never used by the plugin or its dependencies (kubernetes.watch needs pydoc: keep it); a smaller bundle.
EXCLUDES = ("tkinter", "_tkinter", "unittest", "pydoc_data", "lib2to3", "ensurepip", "idlelib",
            "test", "distutils", "setuptools", "pkg_resources", "pip")

HELPER_SCRIPT = """#!/bin/sh
# kubectl (1.26+) runs kubectl_complete-pss for `kubectl pss <TAB>`: answer with the plugin itself.
# krew installs only kubectl-pss on PATH; link this file next to it (see README.md).
self=$(readlink -f "$0" 2>/dev/null || echo "$0")
exec "$(dirname "$self")/kubectl-pss" __complete "$@"
"""

ARCHIVE_README = """# kubectl-pss {version} ({os}/{arch})

What the Kubernetes Pod Security Standards would do to your cluster, before anything breaks.

    kubectl krew install pss        # or put `{bin}` (with `_internal/`, if present) on your PATH
    kubectl pss --help
    kubectl pss check -f manifests/
    kubectl pss audit -A

Shell completion of `kubectl pss <TAB>` (kubectl 1.26+): put `kubectl_complete-pss` on your PATH, e.g.

    ln -s "$HOME/.krew/store/pss/v{version}/kubectl_complete-pss" "$HOME/.krew/bin/"

For the `kubectl-pss` command itself: `source <(kubectl-pss completion bash)` (or zsh, fish).

Source, documentation and the RBAC each command needs: {homepage}
License: Apache-2.0 (LICENSE). This binary bundles CPython and third-party Python packages under
their own licenses (PSF, MIT, BSD, Apache-2.0, MPL-2.0 for certifi's CA bundle).
"""

HOMEPAGE = "https://github.com/kubectl-pss/kubectl-pss"


def log(message: str) -> None:
    print(f"build-binary: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, **kwargs)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def copy_sources(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)


def make_venv(venv: Path, src: Path, reuse: bool) -> Path:
    python = venv_python(venv)
    if not (reuse and python.exists()):
        if venv.exists():
            shutil.rmtree(venv)
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-c", str(CONSTRAINTS), "pyinstaller", "pyinstaller-hooks-contrib"])
    # Non-editable, from the clean copy; --force-reinstall so that a reused venv gets this tree.
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(CONSTRAINTS), "--force-reinstall", "--no-cache-dir", str(src)])
    # A deterministic check that the pins held (pip may accept a range the constraints don't name).
    freeze = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                            check=True).stdout
    (venv.parent / "freeze.txt").write_text(freeze)
    return python


def pyinstaller(python: Path, work: Path, mode: str, strip: bool) -> Path:
    if work.exists():
        shutil.rmtree(work)
    env = dict(os.environ, PYTHONHASHSEED="0", SOURCE_DATE_EPOCH=str(source_date_epoch()))
    cmd = [str(python), "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
           "--name", EXECUTABLE, f"--{mode}",
           "--distpath", str(work / "dist"), "--workpath", str(work / "build"), "--specpath", str(work),
           "--additional-hooks-dir", str(HOOKS)]
    for module in EXCLUDES:
        cmd += ["--exclude-module", module]
    if strip and os.name != "nt":
        cmd.append("--strip")
    cmd.append(str(ENTRY))
    # From the work dir, so that nothing in the project root shadows an installed module.
    run(cmd, env=env, cwd=work.parent)
    return work / "dist"


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build(args: argparse.Namespace) -> tuple[Path, str]:
    version = project_version()
    os_name, arch = host_platform()
    build_root = (ROOT / args.build_dir / "binary").resolve()
    build_root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    src = build_root / "src"
    copy_sources(src)
    python = make_venv(build_root / "venv", src, args.reuse_venv)
    venv_done = time.monotonic()
    out = pyinstaller(python, build_root / "work", args.mode, args.strip)
    frozen_done = time.monotonic()

    extra = build_root / "extra"
    if extra.exists():
        shutil.rmtree(extra)
    extra.mkdir()
    exe = bin_name(os_name)
    (extra / "README.md").write_text(ARCHIVE_README.format(version=version, os=os_name, arch=arch, bin=exe,
                                                           homepage=HOMEPAGE))
    members: list[tuple[str, Path]] = []
    if args.mode == "onedir":
        folder = out / EXECUTABLE
        members.append((exe, folder / exe))
        for child in sorted(folder.iterdir()):
            if child.name != exe:
                members.append((child.name, child))
    else:
        members.append((exe, out / exe))
    if os_name != "windows":
        helper = extra / COMPLETION_HELPER
        helper.write_text(HELPER_SCRIPT)
        helper.chmod(0o755)
        members.append((COMPLETION_HELPER, helper))
    members += [("LICENSE", ROOT / "LICENSE"), ("README.md", extra / "README.md")]

    dist = (ROOT / args.dist_dir).resolve()
    archive = dist / archive_name(version, os_name, arch)
    result = pack_archive(archive, members)
    (dist / (archive.name + ".sha256")).write_text(f"{result.sha256}  {archive.name}\n")
    done = time.monotonic()

    for name in result.dereferenced:
        log(f"symlink stored as a regular file: {name}")
    for name in result.dropped:
        log(f"dangling or looping symlink left out: {name}")
    smoke(archive, exe)
    log(f"mode {args.mode}{' (stripped)' if args.strip else ''}: unpacked {tree_size(out) / 1e6:.1f} MB, "
        f"archive {archive.stat().st_size / 1e6:.1f} MB, {len(result.names)} entries")
    log(f"times: venv {venv_done - started:.1f} s, PyInstaller {frozen_done - venv_done:.1f} s, "
        f"pack {done - frozen_done:.1f} s, total {done - started:.1f} s")
    print(f"{result.sha256}  {archive.relative_to(ROOT) if archive.is_relative_to(ROOT) else archive}")
    return archive, result.sha256


def smoke(archive: Path, exe: str) -> None:
    """Unpack the archive as krew would and run the executable from another directory."""
    import tarfile

    with tempfile.TemporaryDirectory(prefix="kubectl-pss-smoke-") as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp)
        proc = subprocess.run([str(Path(tmp) / exe), "--version"], capture_output=True, text=True, cwd=tempfile.gettempdir())
        if proc.returncode != 0 or "kubectl-pss v" not in proc.stdout:
            raise SystemExit(f"the packed binary does not run: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
        log(f"packed binary runs: {proc.stdout.strip()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("onedir", "onefile"), default="onedir",
                        help="PyInstaller one-folder (default: fast start) or one-file bundle")
    parser.add_argument("--strip", action=argparse.BooleanOptionalAction, default=sys.platform.startswith("linux"),
                        help="strip symbols from the bundled libraries: halves the size, same start time "
                             "(default on Linux; PyInstaller advises against it on Windows and macOS)")
    parser.add_argument("--dist-dir", default="dist", help="where the archive goes (default dist/)")
    parser.add_argument("--build-dir", default="build", help="work space (default build/)")
    parser.add_argument("--reuse-venv", action="store_true",
                        help="keep build/binary/venv if it exists (faster; the project is still reinstalled)")
    parser.add_argument("--verify-reproducible", action="store_true",
                        help="build a second time from scratch and fail unless both archives have the same sha256")
    args = parser.parse_args()
    archive, first = build(args)
    if args.verify_reproducible:
        saved = archive.with_name(archive.name + ".first")
        shutil.copy2(archive, saved)
        args.reuse_venv = False
        _, second = build(args)
        saved.unlink()
        if first != second:
            log(f"NOT reproducible: {first} then {second}")
            return 1
        log(f"reproducible: both builds {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
