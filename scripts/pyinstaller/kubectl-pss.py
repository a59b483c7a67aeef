"""PyInstaller entry point of the kubectl-pss binary (scripts/build-binary.py)."""
from kubectl_pss.cli import entry

entry()
