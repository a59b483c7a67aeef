"""``python -m kubectl_pss``."""
from .cli import entry

entry()
