"""`search`'s public face: every exported name resolves, and importing the package is cheap."""

import subprocess
import sys

import search


def test_every_exported_name_resolves():
    missing = [name for name in search.__all__ if getattr(search, name, None) is None]
    assert missing == []


def test_importing_search_loads_neither_torch_nor_optuna():
    code = "import sys, search; print(sorted({'torch', 'optuna'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
