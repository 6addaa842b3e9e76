"""The package surface: pure numpy, everything public listed in __all__."""

import subprocess
import sys

import hw_models


def test_hw_models_does_not_import_torch():
    code = "import sys, hw_models; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_public_names_are_exported():
    for name in hw_models.__all__:
        assert hasattr(hw_models, name), name
    assert {"LayerSpec", "Network", "Folding", "fold", "estimate", "accumulator_bits"} <= set(
        hw_models.__all__
    )
