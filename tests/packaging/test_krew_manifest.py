"""scripts/krew-manifest.py against krew's own rules (krew_rules.py), on small archives packed by
release_lib.pack_archive: no PyInstaller needed."""
from __future__ import annotations

import copy
import io
import tarfile
from pathlib import Path

import pytest
import yaml

import release_lib

from tests.packaging.krew_rules import InstallError, install_platform, validate_manifest

VERSION = "0.1.0"


def generate(krew_manifest, dist: Path, out: Path, *extra: str) -> int:
    return krew_manifest.main(["--dist-dir", str(dist), "--output", str(out), "--version", VERSION, *extra])


def test_template_covers_the_release_matrix():
    doc = yaml.safe_load((release_lib.ROOT / "krew" / "pss.yaml.tmpl").read_text())
    pairs = [(p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]) for p in doc["spec"]["platforms"]]
    assert pairs == list(release_lib.PLATFORMS)
    for p in doc["spec"]["platforms"]:
        assert p["sha256"] == "${sha256}"  # never a made-up checksum in the template
        assert "${version}" in p["uri"] and "${os}" in p["uri"] and "${arch}" in p["uri"]
        assert p["bin"] == release_lib.bin_name(p["selector"]["matchLabels"]["os"])
        assert {"from": "LICENSE", "to": "."} in p["files"]


def test_refuses_missing_platforms_without_the_flag(krew_manifest, make_archive, tmp_path, capsys):
    dist = tmp_path / "dist"
    make_archive(dist, "linux", "amd64")
    out = tmp_path / "pss.yaml"
    assert generate(krew_manifest, dist, out) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    for os_name, arch in release_lib.PLATFORMS[1:]:
        assert f"{os_name}/{arch}" in err
    assert "--only-built" in err


def test_only_built_platforms(krew_manifest, make_archive, tmp_path):
    dist = tmp_path / "dist"
    archive = make_archive(dist, "linux", "amd64")
    out = tmp_path / "pss.yaml"
    assert generate(krew_manifest, dist, out, "--only-built") == 0
    assert validate_manifest(out) == []
    doc = yaml.safe_load(out.read_text())
    assert doc["metadata"]["name"] == "pss"
    assert doc["spec"]["version"] == "v0.1.0"
    [platform] = doc["spec"]["platforms"]
    assert platform["selector"] == {"matchLabels": {"os": "linux", "arch": "amd64"}}
    assert platform["sha256"] == release_lib.sha256_file(archive)
    assert platform["uri"] == ("https://github.com/kubectl-pss/kubectl-pss/releases/download/v0.1.0/"
                               "kubectl-pss_0.1.0_linux_amd64.tar.gz")
    assert "${" not in out.read_text().replace("${KREW_ROOT", "")


def test_every_platform_installs_like_krew(krew_manifest, make_archive, tmp_path):
    dist = tmp_path / "dist"
    archives = {(o, a): make_archive(dist, o, a) for o, a in release_lib.PLATFORMS}
    out = tmp_path / "pss.yaml"
    assert generate(krew_manifest, dist, out) == 0
    assert validate_manifest(out) == []
    doc = yaml.safe_load(out.read_text())
    assert len(doc["spec"]["platforms"]) == len(release_lib.PLATFORMS)
    for platform in doc["spec"]["platforms"]:
        labels = platform["selector"]["matchLabels"]
        archive = archives[(labels["os"], labels["arch"])]
        info = release_lib.inspect_archive(archive)
        assert info.problems == []  # regular files and directories only: no symlinks
        assert platform["bin"] in info.files and "LICENSE" in info.files
        root = tmp_path / f"krew-{labels['os']}-{labels['arch']}"
        link = install_platform(platform, archive, root, "pss", doc["spec"]["version"])
        assert link.is_symlink() and link.resolve().is_file()
        assert (link.resolve().parent / "LICENSE").is_file()
        assert (link.resolve().parent / "_internal" / "kubectl_pss" / "data.json").is_file()
        if labels["os"] != "windows":
            assert link.name == "kubectl-pss"
            assert link.resolve().stat().st_mode & 0o111
            assert (link.resolve().parent / "kubectl_complete-pss").is_file()
        else:
            assert link.name == "kubectl-pss.exe"


def test_caveats_name_the_rbac(krew_manifest, make_archive, tmp_path):
    dist = tmp_path / "dist"
    make_archive(dist, "linux", "amd64")
    out = tmp_path / "pss.yaml"
    generate(krew_manifest, dist, out, "--only-built")
    spec = yaml.safe_load(out.read_text())["spec"]
    caveats = spec["caveats"]
    for words in ("get and list namespaces", "deployments", "cronjobs", "patch namespaces",
                  "pods/exec", "create and delete pods", "--node-inspect", "examples/rbac.yaml"):
        assert words in caveats
    assert "store/pss/v0.1.0/kubectl_complete-pss" in caveats
    assert len(spec["shortDescription"]) <= 50


def test_checksum_mismatch_is_caught(krew_manifest, make_archive, tmp_path):
    dist = tmp_path / "dist"
    archive = make_archive(dist, "linux", "amd64")
    out = tmp_path / "pss.yaml"
    generate(krew_manifest, dist, out, "--only-built")
    make_archive(dist, "linux", "amd64", extra={"NOTES": "rebuilt after the manifest"})
    [platform] = yaml.safe_load(out.read_text())["spec"]["platforms"]
    with pytest.raises(InstallError, match="checksum"):
        install_platform(platform, archive, tmp_path / "krew", "pss", "v0.1.0")


def _with_symlink(archive: Path) -> None:
    """Rewrite an archive with a symlink added, as an unprepared one-folder build could have."""
    buffer = io.BytesIO()
    with tarfile.open(archive) as src, tarfile.open(fileobj=buffer, mode="w") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        link = tarfile.TarInfo("_internal/libpython3.so")
        link.type = tarfile.SYMTYPE
        link.linkname = "libpython.so"
        dst.addfile(link)
    import gzip
    archive.write_bytes(gzip.compress(buffer.getvalue()))


def test_archive_with_a_symlink_is_refused(krew_manifest, make_archive, tmp_path, capsys):
    dist = tmp_path / "dist"
    archive = make_archive(dist, "linux", "amd64")
    _with_symlink(archive)
    assert any("link" in p for p in release_lib.inspect_archive(archive).problems)
    assert generate(krew_manifest, dist, tmp_path / "pss.yaml", "--only-built") == 1
    assert "krew would refuse it" in capsys.readouterr().err
    platform = {"sha256": release_lib.sha256_file(archive), "bin": "kubectl-pss", "files": [{"from": "*", "to": "."}]}
    with pytest.raises(InstallError, match="file type"):
        install_platform(platform, archive, tmp_path / "krew", "pss", "v0.1.0")


def test_archive_without_license_is_refused(krew_manifest, make_archive, tmp_path, capsys):
    dist = tmp_path / "dist"
    make_archive(dist, "linux", "amd64", omit=("LICENSE",))
    assert generate(krew_manifest, dist, tmp_path / "pss.yaml", "--only-built") == 1
    assert "'LICENSE' matches nothing" in capsys.readouterr().err


# The validator itself: each rule, broken once, is reported.
@pytest.fixture
def valid_manifest(krew_manifest, make_archive, tmp_path) -> dict:
    dist = tmp_path / "dist"
    for o, a in release_lib.PLATFORMS:
        make_archive(dist, o, a)
    out = tmp_path / "pss.yaml"
    generate(krew_manifest, dist, out)
    return yaml.safe_load(out.read_text())


def _break(doc: dict, path: str, value) -> dict:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is KeyError:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return doc


@pytest.mark.parametrize(("path", "value", "message"), [
    ("apiVersion", "krew.googlecontainertools.github.com/v1alpha1", "apiVersion"),
    ("kind", "Plugins", "kind"),
    ("metadata.name", "pss2", "should be named"),
    ("spec.version", "0.1.0", "semantic version"),
    ("spec.version", "v0.1", "semantic version"),
    ("spec.version", "v01.1.0", "semantic version"),
    ("spec.version", KeyError, "version specified"),
    ("spec.shortDescription", "x" * 51, "more than 50"),
    ("spec.shortDescription", "two\nlines", "line breaks"),
    ("spec.shortDescription", KeyError, "short description"),
    ("spec.homepage", "http://example.com", "https"),
    ("spec.platforms", [], "platform specified"),
    ("spec.platforms.0.sha256", "ABC", "sha256"),
    ("spec.platforms.0.sha256", KeyError, "sha256 has to be set"),
    ("spec.platforms.0.uri", KeyError, "uri has to be set"),
    ("spec.platforms.0.bin", KeyError, "bin has to be set"),
    ("spec.platforms.0.files", [], "unspecified or non-empty"),
    ("spec.platforms.0.files.0", {"from": "kubectl-pss", "to": "./bin/"}, "not clean"),
    ("spec.platforms.0.files.0", {"from": "", "to": "."}, "from has to be set"),
    ("spec.platforms.0.selector", None, "nil selector"),
    ("spec.platforms.0.selector", {"matchLabels": {"os": "linux", "cpu": "amd64"}}, "not supported"),
    ("spec.platforms.0.selector", {"matchLabels": {}}, "empty"),
    ("spec.platforms.0.selector", {"matchLabels": {"os": "plan9", "arch": "amd64"}}, "supported platform"),
    ("spec.platforms.1.selector", {"matchLabels": {"os": "linux"}}, "overlapping"),
    ("spec.platforms.0.sha265", "0" * 64, "unknown field"),
    ("spec.caveats", "a line that goes on and on " * 4, "longer than 80"),
])
def test_validator_catches(valid_manifest, tmp_path, path, value, message):
    assert validate_manifest(tmp_path / "pss.yaml") == []
    broken = tmp_path / "broken" / "pss.yaml"
    broken.parent.mkdir()
    broken.write_text(yaml.safe_dump(_break(valid_manifest, path, value), sort_keys=False))
    errors = validate_manifest(broken)
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize("name", ["pss.v2", "con", "a b"])
def test_validator_plugin_names(valid_manifest, tmp_path, name):
    path = tmp_path / "names" / f"{name}.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(_break(valid_manifest, "metadata.name", name)))
    assert any("not allowed" in e for e in validate_manifest(path))


def test_validator_accepts_prerelease_versions(valid_manifest, tmp_path):
    path = tmp_path / "pre" / "pss.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(_break(valid_manifest, "spec.version", "v1.2.3-rc.1+build.5")))
    assert validate_manifest(path) == []
