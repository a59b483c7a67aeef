"""release_lib.pack_archive: reproducible, krew-extractable archives."""
from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path

import pytest

import release_lib


def _tree(root: Path, umask_mode: int = 0o644) -> Path:
    (root / "_internal" / "sub").mkdir(parents=True)
    exe = root / "kubectl-pss"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o700)  # owner-only exec bit: still stored as 0755
    (root / "_internal" / "a.so").write_bytes(b"a" * 1000)
    (root / "_internal" / "sub" / "b.txt").write_text("b")
    (root / "_internal" / "sub" / "b.txt").chmod(umask_mode)
    return root


def _members(root: Path) -> list[tuple[str, Path]]:
    return [("kubectl-pss", root / "kubectl-pss"), ("_internal", root / "_internal"), ("LICENSE", release_lib.ROOT / "LICENSE")]


def test_same_tree_same_bytes_whatever_the_times_and_modes(tmp_path):
    one = _tree(tmp_path / "one")
    two = _tree(tmp_path / "two", umask_mode=0o600)
    os.utime(two / "_internal" / "a.so", (1, 1))
    os.utime(two / "kubectl-pss", (2_000_000_000, 2_000_000_000))
    a = release_lib.pack_archive(tmp_path / "a.tar.gz", _members(one))
    b = release_lib.pack_archive(tmp_path / "b.tar.gz", list(reversed(_members(two))))
    assert a.sha256 == b.sha256
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()


def test_normalised_headers(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    result = release_lib.pack_archive(tmp_path / "a.tar.gz", _members(_tree(tmp_path / "t")))
    raw = (tmp_path / "a.tar.gz").read_bytes()
    assert raw[:3] == b"\x1f\x8b\x08"
    assert raw[3] == 0  # FLG: no file name, no comment
    assert raw[4:8] == b"\0\0\0\0"  # gzip MTIME 0
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) == result.names
    assert names == ["LICENSE", "_internal", "_internal/a.so", "_internal/sub", "_internal/sub/b.txt", "kubectl-pss"]
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
        assert m.mtime == release_lib.DEFAULT_EPOCH
        assert m.isdir() or m.isreg()
    modes = {m.name: m.mode for m in members}
    assert modes["kubectl-pss"] == 0o755 and modes["_internal"] == 0o755
    assert modes["LICENSE"] == 0o644 and modes["_internal/sub/b.txt"] == 0o644


def test_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    release_lib.pack_archive(tmp_path / "a.tar.gz", _members(_tree(tmp_path / "t")))
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert {m.mtime for m in tar.getmembers()} == {1700000000}


def test_symlinks_are_dereferenced_or_dropped(tmp_path):
    root = _tree(tmp_path / "t")
    internal = root / "_internal"
    os.symlink("a.so", internal / "a.so.1")  # a library alias, as one-folder builds have
    os.symlink("sub", internal / "sub-link")  # a directory link
    os.symlink("missing", internal / "dangling")
    os.symlink("..", internal / "sub" / "up")  # a loop back to an ancestor
    result = release_lib.pack_archive(tmp_path / "a.tar.gz", _members(root))
    assert "_internal/a.so.1" in result.dereferenced and "_internal/sub-link" in result.dereferenced
    assert "_internal/dangling" in result.dropped and "_internal/sub/up" in result.dropped
    info = release_lib.inspect_archive(tmp_path / "a.tar.gz")
    assert info.problems == []
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert tar.extractfile("_internal/a.so.1").read() == b"a" * 1000
        assert tar.extractfile("_internal/sub-link/b.txt").read() == b"b"


@pytest.mark.parametrize("name", ["../evil", "/abs", "a/../b", "a\\b"])
def test_unsafe_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="unsafe"):
        release_lib.pack_archive(tmp_path / "a.tar.gz", [(name, release_lib.ROOT / "LICENSE")])


def test_nested_member_gets_parent_directories(tmp_path):
    release_lib.pack_archive(tmp_path / "a.tar.gz", [("doc/legal/LICENSE", release_lib.ROOT / "LICENSE")])
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert [(m.name, m.isdir()) for m in tar.getmembers()] == [
            ("doc", True), ("doc/legal", True), ("doc/legal/LICENSE", False)]


def test_inspect_flags_what_krew_refuses(tmp_path):
    path = tmp_path / "bad.tar.gz"
    import io

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("x/../y")
        tar.addfile(info, io.BytesIO(b""))
        fifo = tarfile.TarInfo("fifo")
        fifo.type = tarfile.FIFOTYPE
        tar.addfile(fifo)
    path.write_bytes(gzip.compress(buffer.getvalue()))
    problems = release_lib.inspect_archive(path).problems
    assert any("suspicious" in p for p in problems) and any("fifo" in p for p in problems)
    plain = tmp_path / "plain.tar"
    plain.write_bytes(buffer.getvalue())
    assert "not a gzip file" in release_lib.inspect_archive(plain).problems[0]


def test_names_and_platforms():
    assert release_lib.archive_name("0.1.0", "linux", "amd64") == "kubectl-pss_0.1.0_linux_amd64.tar.gz"
    assert release_lib.bin_name("windows") == "kubectl-pss.exe"
    assert release_lib.host_platform() in release_lib.PLATFORMS
    import kubectl_pss

    assert release_lib.project_version() == kubectl_pss.__version__
