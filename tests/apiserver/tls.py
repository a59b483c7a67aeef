"""A self-signed certificate for 127.0.0.1/localhost, made once per test process with the openssl CLI.

(`cryptography` is not a dependency; the openssl binary is on every CI image we use.)
"""
from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertPair:
    cert_path: Path
    key_path: Path

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()


_lock = threading.Lock()
_cached: CertPair | None = None


def self_signed_cert() -> CertPair:
    """The process-wide certificate (EC P-256, SAN IP:127.0.0.1 + DNS:localhost, CA:TRUE)."""
    global _cached
    with _lock:
        if _cached is None:
            directory = Path(tempfile.mkdtemp(prefix="fake-apiserver-tls-"))
            atexit.register(shutil.rmtree, directory, True)
            _cached = make_cert(directory)
        return _cached


def make_cert(directory: Path, common_name: str = "127.0.0.1") -> CertPair:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl CLI is needed to make the fake API server's certificate")
    cert, key = directory / "server.crt", directory / "server.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={common_name}",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True,
    )
    return CertPair(cert, key)
