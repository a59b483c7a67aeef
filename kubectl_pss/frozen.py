"""Runtime fixes for the PyInstaller binary (``sys.frozen``).

PyInstaller's bootloader puts its bundle directory in front of ``LD_LIBRARY_PATH`` (Linux,
``LIBPATH`` on AIX) so that the bundled libpython and OpenSSL are found, and keeps the user's
value in ``LD_LIBRARY_PATH_ORIG`` (absent when there was none). Child processes would inherit the
bundle path: an exec credential plugin from the kubeconfig (aws, gcloud, az, kubelogin) or
kubectl would then load the bundle's libssl/libz instead of the system's and fail or misbehave.

The dynamic loader of this process read the variable at start-up, so changing it here affects
children only.
"""
from __future__ import annotations

import os
import sys

_VARIABLES = ("LD_LIBRARY_PATH", "LIBPATH")


def restore_environment(environ: "os._Environ[str] | dict[str, str] | None" = None, bundle_dir: str | None = None) -> None:
    """Give child processes the library search path the user started us with."""
    environ = os.environ if environ is None else environ
    bundle_dir = getattr(sys, "_MEIPASS", None) if bundle_dir is None else bundle_dir
    for name in _VARIABLES:
        original = environ.pop(name + "_ORIG", None)
        if original is not None:
            environ[name] = original
            continue
        current = environ.get(name)
        if current is None:
            continue
        # No _ORIG: the user had none, so whatever is there now is the bootloader's bundle path
        # (possibly followed by nothing else). Only remove it if it is ours.
        entries = current.split(os.pathsep)
        if bundle_dir and entries and os.path.normpath(entries[0]) == os.path.normpath(bundle_dir):
            rest = [e for e in entries[1:] if e]
            if rest:
                environ[name] = os.pathsep.join(rest)
            else:
                del environ[name]
