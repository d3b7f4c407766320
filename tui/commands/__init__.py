"""The `mitra` command line, one module per group of commands (see tui/cli.py)."""
