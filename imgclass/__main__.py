"""``python -m imgclass``: the command-line interface."""

from imgclass.cli import main

raise SystemExit(main())
