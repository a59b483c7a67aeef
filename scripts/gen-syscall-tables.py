#!/usr/bin/env python3
"""Generate kubectl_pss/seccomp/data/{syscalls,runtime_default}.json: run once, check the output in.

1. Syscall tables (``syscalls.json``): number -> name for every architecture libseccomp knows,
   read from libseccomp itself through ctypes (``seccomp_syscall_resolve_num_arch``), which
   is how every container runtime (runc, crun) resolves names. libseccomp keeps its tables
   in step with the kernel's syscall tables (``src/syscalls.csv``); the version used is
   recorded in the file. libseccomp's arch tokens are the kernel's AUDIT_ARCH_* values, so
   the ``arch=`` field of audit records maps straight to them.

2. The RuntimeDefault profile (``runtime_default.json``): which syscalls the default seccomp
   profiles of containerd (``contrib/seccomp/seccomp_default.go``, the CRI runtime default)
   and moby (``profiles/seccomp/default.json``, used by Docker and cri-dockerd) allow, and on
   what condition (always, a kernel version, an architecture, a capability, argument filters).

Sources used for the checked-in files (Debian trixie packages, fetched with apt-get download
and unpacked with dpkg -x; any newer libseccomp / runtime source works the same way):

    libseccomp2 2.6.0-2                          (libseccomp 2.6.0, syscall tables of Linux 6.13)
    golang-github-containerd-containerd-dev 1.7.24~ds1-6+deb13u1   (containerd v1.7.24)
    golang-github-docker-docker-dev 26.1.5+dfsg1-9+deb13u1         (moby v26.1.5)

Run:
    python3 scripts/gen-syscall-tables.py \
        --libseccomp ROOT/usr/lib/x86_64-linux-gnu/libseccomp.so.2 --libseccomp-package "Debian libseccomp2 2.6.0-2" \
        --containerd ROOT/usr/share/gocode/src/github.com/containerd/containerd --containerd-version v1.7.24 \
        --moby ROOT/usr/share/gocode/src/github.com/docker/docker --moby-version v26.1.5 \
        --package "Debian golang-github-containerd-containerd-dev 1.7.24~ds1-6+deb13u1" \
        --package "Debian golang-github-docker-docker-dev 26.1.5+dfsg1-9+deb13u1"

where ROOT holds the unpacked packages. On a Debian machine of an older release, a private
sources.list naming the trixie suite of your usual Debian mirror keeps the system untouched:

    mkdir -p lists/partial cache/archives/partial     # sources.list: "deb <mirror> trixie main"
    APT="-o Dir::Etc::sourcelist=$PWD/sources.list -o Dir::Etc::sourceparts=/nonexistent
         -o Dir::State::Lists=$PWD/lists -o Dir::Cache=$PWD/cache"
    apt-get $APT update
    apt-get $APT download libseccomp2 golang-github-containerd-containerd-dev golang-github-docker-docker-dev
    for deb in *.deb; do dpkg -x "$deb" ROOT; done

The x86_64 build of libseccomp resolves the numbers of every architecture.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "kubectl_pss" / "seccomp" / "data"

# libseccomp's architecture names (seccomp_arch_resolve_name) -> SCMP_ARCH_* constant of the
# OCI runtime spec (what seccomp profiles list in "architectures").
ARCHES = {
    "x86_64": "SCMP_ARCH_X86_64", "x86": "SCMP_ARCH_X86", "x32": "SCMP_ARCH_X32",
    "aarch64": "SCMP_ARCH_AARCH64", "arm": "SCMP_ARCH_ARM",
    "ppc64le": "SCMP_ARCH_PPC64LE", "ppc64": "SCMP_ARCH_PPC64", "ppc": "SCMP_ARCH_PPC",
    "s390x": "SCMP_ARCH_S390X", "s390": "SCMP_ARCH_S390",
    "riscv64": "SCMP_ARCH_RISCV64", "loongarch64": "SCMP_ARCH_LOONGARCH64",
    "mips": "SCMP_ARCH_MIPS", "mipsel": "SCMP_ARCH_MIPSEL",
    "mips64": "SCMP_ARCH_MIPS64", "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mips64n32": "SCMP_ARCH_MIPS64N32", "mipsel64n32": "SCMP_ARCH_MIPSEL64N32",
    "parisc": "SCMP_ARCH_PARISC", "parisc64": "SCMP_ARCH_PARISC64",
    "m68k": "SCMP_ARCH_M68K", "sh": "SCMP_ARCH_SH", "sheb": "SCMP_ARCH_SHEB",
}
X32_SYSCALL_BIT = 0x40000000
# The syscall numbers the kernel uses (and audit records carry) per architecture: x32's have
# bit 30 set, MIPS o32/n64/n32 start at 4000/5000/6000, ARM has private syscalls at 0x0f0001...
# (libseccomp also resolves the bare numbers of x32 and MIPS, which no kernel uses: not kept.)
RANGES = {
    "x32": [range(X32_SYSCALL_BIT, X32_SYSCALL_BIT + 0x1000)],
    "mips": [range(4000, 5000)], "mipsel": [range(4000, 5000)],
    "mips64": [range(5000, 6000)], "mipsel64": [range(5000, 6000)],
    "mips64n32": [range(6000, 7000)], "mipsel64n32": [range(6000, 7000)],
    "arm": [range(0, 0x4000), range(0x0F0000, 0x0F0100)],
}
DEFAULT_RANGES = [range(0, 0x4000)]


def syscall_tables(lib_path: str, package: str) -> dict:
    lib = ctypes.CDLL(lib_path)
    lib.seccomp_version.restype = ctypes.c_void_p
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p  # char *, freed by the caller
    lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.free.argtypes = [ctypes.c_void_p]

    class Version(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]

    ver = ctypes.cast(lib.seccomp_version(), ctypes.POINTER(Version)).contents
    version = f"{ver.major}.{ver.minor}.{ver.micro}"
    arches: dict[str, dict] = {}
    for name, scmp in ARCHES.items():
        token = lib.seccomp_arch_resolve_name(name.encode())
        if token == 0:
            print(f"libseccomp {version} does not know {name}; skipped", file=sys.stderr)
            continue
        table: dict[str, str] = {}
        for numbers in RANGES.get(name, DEFAULT_RANGES):
            for nr in numbers:
                ptr = lib.seccomp_syscall_resolve_num_arch(token, nr)
                if ptr:
                    table[str(nr)] = ctypes.string_at(ptr).decode()
                    libc.free(ptr)
        # libseccomp's token for x32 is not what audit records carry: an x32 task reports
        # arch=c000003e (x86_64) and a syscall number with bit 30 set.
        audit = 0xC000003E if name == "x32" else token
        arches[name] = {"scmp": scmp, "audit": f"{audit:08x}", "syscalls": table}
        print(f"{name:12} {scmp:22} audit={audit:08x} {len(table)} syscalls", file=sys.stderr)
    return {"source": f"libseccomp {version} ({package})",
            "libseccomp": version, "arches": arches}


# --- RuntimeDefault ---------------------------------------------------------------------

# Go's GOARCH names (of the host the runtime runs on) -> libseccomp's.
GOARCH = {"amd64": ["x86_64"], "386": ["x86"], "x86": ["x86"], "x32": ["x32"], "arm64": ["aarch64"],
          "arm": ["arm"], "ppc64le": ["ppc64le"], "s390": ["s390"], "s390x": ["s390x"],
          "riscv64": ["riscv64"]}


def _add(rules: dict, name: str, condition: dict) -> None:
    rules.setdefault(name, [])
    if condition not in rules[name]:
        rules[name].append(condition)


ENOSYS = 38


def moby_rules(profile_path: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """name -> the conditions under which moby's default profile allows it (any one suffices),
    and the names it answers with ENOSYS (so that libc falls back to an older syscall)."""
    profile = json.loads(profile_path.read_text())
    rules: dict[str, list[dict]] = {}
    enosys: set[str] = set()
    for rule in profile["syscalls"]:
        if rule["action"] == "SCMP_ACT_ERRNO" and rule.get("errnoRet") == ENOSYS:
            enosys.update(rule["names"])
        if rule["action"] != "SCMP_ACT_ALLOW":
            continue
        includes, excludes = rule.get("includes") or {}, rule.get("excludes") or {}
        condition: dict = {}
        if rule.get("args"):
            condition["args"] = True
        if includes.get("caps"):
            condition["caps"] = includes["caps"]
        if includes.get("minKernel"):
            condition["minKernel"] = includes["minKernel"]
        if includes.get("arches"):
            condition["arches"] = sorted({a for g in includes["arches"] for a in GOARCH.get(g, [g])})
        if excludes.get("caps"):
            condition["withoutCaps"] = excludes["caps"]
        if excludes.get("arches"):
            condition["notArches"] = sorted({a for g in excludes["arches"] for a in GOARCH.get(g, [g])})
        for name in rule["names"]:
            _add(rules, name, condition)
    return rules, sorted(enosys)


def containerd_rules(go_path: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """The same from containerd's Go source: its blocks are read by their comments and case labels."""
    text = go_path.read_text()
    body = text[text.index("func DefaultProfile"):]
    rules: dict[str, list[dict]] = {}
    enosys: set[str] = set()
    context: dict = {}
    admin_negated = False
    case_arches: list[str] = []
    token = re.compile(r'//\s*include by kernel version|//\s*include by arch|case\s+("[^"]+"(?:\s*,\s*"[^"]+")*)\s*:'
                       r'|\bdefault:|if !admin|Names:\s*\[\]string\{(?P<names>[^}]*)\}')
    for m in token.finditer(body):
        s = m.group(0)
        if s.startswith("//") and "kernel" in s:
            context = {"minKernel": "4.8"}
            kernel = re.search(r"KernelVersion\{Kernel:\s*(\d+),\s*Major:\s*(\d+)\}", body[m.end():])
            if kernel:
                context = {"minKernel": f"{kernel.group(1)}.{kernel.group(2)}"}
        elif s.startswith("//"):
            context = {}
        elif s.startswith("if !admin"):
            admin_negated = True
            context = {"withoutCaps": ["CAP_SYS_ADMIN"]}
        elif s == "default:":  # the other host architectures of the last switch
            context = {**({"withoutCaps": ["CAP_SYS_ADMIN"]} if admin_negated else {}), "notArches": case_arches}
        elif s.startswith("case"):
            labels = re.findall(r'"([^"]+)"', m.group(1))
            if labels[0].startswith("CAP_"):
                context = {"caps": labels}
                continue
            case_arches = sorted({a for g in labels for a in GOARCH.get(g, [g])})
            context = {"withoutCaps": ["CAP_SYS_ADMIN"]} if admin_negated else {}
            context["arches"] = case_arches
        else:
            names = re.findall(r'"([^"]+)"', m.group("names"))
            # The rule's own Action and Args follow its Names.
            rest = body[m.end():]
            end = re.search(r"\n\t\t\}", rest)
            rule_text = rest[: end.start() if end else 400]
            if "specs.ActErrno" in rule_text and "&nosys" in rule_text:
                enosys.update(names)
            if "specs.ActAllow" not in rule_text:
                continue
            condition = dict(context)
            if re.search(r"Args:\s*\[\]specs\.LinuxSeccompArg\{\s*\{", rule_text):
                condition["args"] = True
            for name in names:
                _add(rules, name, condition)
    return rules, sorted(enosys)


def runtime_default(containerd_dir: Path, containerd_version: str, moby_dir: Path, moby_version: str,
                    packages: list[str]) -> dict:
    go = containerd_dir / "contrib" / "seccomp" / "seccomp_default.go"
    moby = moby_dir / "profiles" / "seccomp" / "default.json"
    return {
        "source": {
            "containerd": f"containerd {containerd_version} contrib/seccomp/seccomp_default.go",
            "moby": f"moby {moby_version} profiles/seccomp/default.json",
        },
        "packages": packages,
        # Both profiles deny every other syscall (SCMP_ACT_ERRNO, EPERM).
        "defaultAction": "SCMP_ACT_ERRNO",
        # "allow": name -> the conditions under which the profile allows it (any one suffices):
        # {} always; "args": only some argument values; "caps": only if the container has one of
        # these capabilities; "withoutCaps": only if it has none of them; "minKernel": kernel
        # version; "arches"/"notArches": host architectures. "enosys": answered with ENOSYS.
        # The capabilities containerd and Docker give a container by default (oci.defaultUnixCaps).
        "defaultCapabilities": ["CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
                                "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
                                "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"],
        "runtimes": {name: {"allow": dict(sorted(allow.items())), "enosys": enosys}
                     for name, (allow, enosys) in (("containerd", containerd_rules(go)), ("moby", moby_rules(moby)))},
    }


def dump(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":"), sort_keys=False) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--libseccomp", default=ctypes.util.find_library("seccomp"), help="path of libseccomp.so.2")
    parser.add_argument("--libseccomp-package", required=True, help='where the library came from, e.g. "libseccomp2 2.6.0-2 (Debian trixie)"')
    parser.add_argument("--containerd", type=Path, required=True, help="containerd source tree")
    parser.add_argument("--containerd-version", required=True)
    parser.add_argument("--moby", type=Path, required=True, help="moby (docker) source tree")
    parser.add_argument("--moby-version", required=True)
    parser.add_argument("--package", action="append", default=[], dest="packages",
                        help='a package the runtime sources came from, for the record (repeatable)')
    args = parser.parse_args()
    if not args.libseccomp:
        parser.error("libseccomp not found: pass --libseccomp")
    dump(syscall_tables(args.libseccomp, args.libseccomp_package), OUT / "syscalls.json")
    dump(runtime_default(args.containerd, args.containerd_version, args.moby, args.moby_version, args.packages),
         OUT / "runtime_default.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
