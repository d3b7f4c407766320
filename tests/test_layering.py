"""The layers stay apart: the store never imports Textual; screens never build SQL or hold a
session (they call store services from workers)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_store_never_imports_textual_or_the_front_ends():
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imports(path) if name.split(".")[0] in {"textual", "tui", "screens"})
        for path in (ROOT / "store").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_every_service_loads_no_textual():
    code = (
        "import pkgutil, importlib, sys, store.services as s\n"
        "[importlib.import_module(f'store.services.{m.name}') for m in pkgutil.iter_modules(s.__path__)]\n"
        "import store.migrate, store.audit, store.csvio, store.bulk\n"
        "print('textual' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_screens_hold_no_session_and_build_no_sql():
    # Model enums (states, kinds) may be imported for labels; queries and sessions may not.
    forbidden = {"sqlalchemy", "sqlmodel", "store.uow", "store.engine"}
    offenders = {}
    for path in list((ROOT / "screens").rglob("*.py")) + list((ROOT / "tui").rglob("*.py")):
        if "commands" in path.parts:
            continue  # the command line is not a screen
        bad = sorted(name for name in _imports(path) if any(name == f or name.startswith(f + ".") for f in forbidden))
        # The app receives the Database object to hand to services; it never queries it.
        bad = [name for name in bad if not (path.name == "app.py" and name == "store.engine")]
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}
