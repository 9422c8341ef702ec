"""The commands of the ``storefront`` CLI, one module each (``entrypoints/cli.py`` parses
the command line and dispatches to them)."""
