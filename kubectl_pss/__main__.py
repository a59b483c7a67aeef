"""``python -m kubectl_pss``."""
from .cli import main

raise SystemExit(main())
