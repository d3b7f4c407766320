"""`mitra --help` and `mitra --version` answer without loading the database layer, and the
command list they print is the commands' own."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tui.cli import COMMANDS, main

PROBE = """
import sys
from tui.cli import main
try:
    main([{args}], standalone_mode=False)
finally:
    heavy = sorted(name for name in sys.modules if name.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'textual', 'store') and name != 'store' and name != 'store.errors')
    print('LOADED', heavy, file=sys.stderr)
"""


@pytest.mark.parametrize("args", ["'--help'", "'--version'", "'waves', '--help'"])
def test_help_and_version_load_no_database_layer(args):
    finished = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True,
                              timeout=60)
    loaded = finished.stderr.strip().splitlines()[-1]
    if args == "'waves', '--help'":
        assert "sqlalchemy" in loaded  # a command's own help may load it: only the top level is kept light
        assert "Waves: their funnel" in finished.stdout
    else:
        assert loaded == "LOADED []", loaded
        assert finished.stdout.strip()


def test_the_listed_commands_are_the_commands_themselves():
    for name, (module, attribute, help_) in COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == help_, name
    assert main.get_command(None, "nonsense") is None
