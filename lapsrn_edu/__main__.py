"""``python -m lapsrn_edu`` is the same command line as ``lapsrn-edu``."""

from .cli import main

raise SystemExit(main())
