"""Reading audit logs: plain, rotated gzip (several members), directories, stdin; corrupt data is one error."""
from __future__ import annotations

import gzip
import io
import sys

import pytest

from kubectl_pss.auditlog import FileStats
from kubectl_pss.operations.audit_log_sources import SourceError, expand, read_lines
from tests.auditlog import eventgen as g


def test_plain_and_gzip_read_the_same_lines(tmp_path):
    plain = g.write(tmp_path / "audit.log", g.REAL)
    packed = g.write(tmp_path / "audit-2026-12-01T10-00-00.000.log.gz", g.REAL, compress=True)
    stats = FileStats(str(packed))
    assert list(read_lines(str(plain))) == list(read_lines(str(packed), stats))
    assert stats.compressed is True and len(list(read_lines(str(plain)))) == 8


def test_a_multi_member_gzip_is_read_whole(tmp_path):
    path = tmp_path / "audit.log.1.gz"
    path.write_bytes(gzip.compress(g.lines(g.REAL[:3])) + gzip.compress(g.lines(g.REAL[3:])))
    assert [n for n, _ in read_lines(str(path))] == list(range(1, 9))


def test_a_corrupt_gzip_member_stops_that_file_after_the_good_lines(tmp_path):
    good = gzip.compress(g.lines(g.REAL[:4]))
    bad = bytearray(gzip.compress(g.lines(g.REAL[4:])))
    bad[len(bad) // 2:len(bad) // 2 + 40] = b"\x00" * 40  # damage the second member's deflate data
    path = tmp_path / "audit.log.2.gz"
    path.write_bytes(good + bytes(bad))
    got = []
    with pytest.raises(SourceError, match=r'audit.log.2.gz": unreadable after line \d+'):
        for item in read_lines(str(path)):
            got.append(item)
    assert [n for n, _ in got][:4] == [1, 2, 3, 4]


def test_a_gzip_cut_short_is_an_error_too(tmp_path):
    data = gzip.compress(g.lines(g.REAL))
    path = tmp_path / "audit.log.gz"
    path.write_bytes(data[: len(data) - 30])
    with pytest.raises(SourceError, match="unreadable after line"):
        list(read_lines(str(path)))


def test_directories_give_their_log_files_sorted(tmp_path):
    g.write(tmp_path / "audit.log", g.REAL[:1])
    g.write(tmp_path / "audit-2026-12-01T10-00-00.000.log.gz", g.REAL[:1], compress=True)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub.log.d").mkdir()
    assert expand([str(tmp_path)]) == [str(tmp_path / "audit-2026-12-01T10-00-00.000.log.gz"),
                                       str(tmp_path / "audit.log")]


@pytest.mark.parametrize("paths, message", [
    (["nope.log"], '"nope.log": no such file or directory'),
    (["-", "-"], "stdin (-) can only be read once"),
])
def test_bad_paths(tmp_path, monkeypatch, paths, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        expand(paths)


def test_a_directory_without_logs_is_bad_input(tmp_path):
    with pytest.raises(SourceError, match="a directory without"):
        expand([str(tmp_path)])


def test_stdin_gzip_or_plain(monkeypatch):
    for data in (g.lines(g.REAL), gzip.compress(g.lines(g.REAL))):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
        assert len(list(read_lines("-"))) == 8
