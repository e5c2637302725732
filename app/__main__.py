"""`python -m app keys ...` and `python -m app projects ...` (see app/cli.py)."""

import sys

from app.cli import main

sys.exit(main())
