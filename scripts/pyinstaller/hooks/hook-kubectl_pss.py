"""PyInstaller hook for kubectl_pss: what static analysis of the entry point cannot see.

- ``kubectl_pss.commands.*`` are imported by name (importlib) in cli.py: collect every submodule.
- Package data (e.g. ``kubectl_pss/seccomp/data/*.json``): collected generically, whatever is added.
- The ``kubernetes`` client is imported inside functions only; name the modules the plugin and
  the client's config loading use, so that a refactoring of those imports cannot drop them.
"""
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

hiddenimports = collect_submodules("kubectl_pss") + [
    "kubernetes.client",
    "kubernetes.client.api_client",
    "kubernetes.client.configuration",
    "kubernetes.client.exceptions",
    "kubernetes.client.rest",
    "kubernetes.config",
    "kubernetes.config.config_exception",
    "kubernetes.config.exec_provider",
    "kubernetes.config.incluster_config",
    "kubernetes.config.kube_config",
    "kubernetes.stream",
    "kubernetes.stream.stream",
    "kubernetes.stream.ws_client",
    "websocket",
    "urllib3",
    "certifi",
    "yaml",
    "tabulate",
    "colorama",
    "ruamel.yaml",  # fix: imported inside functions only
]

datas = collect_data_files("kubectl_pss")
