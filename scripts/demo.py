"""`make demo`: the most complete end-to-end flow the repository has today.

Runs the shipped digits-mlp through three candidates (dense 8-bit, 50% sparse 8-bit,
70% sparse 4-bit with 60% activation sparsity) and prints float, fake-quant and integer
accuracy for each, with the per-layer statistics the hardware model consumes.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = {
    "dense-8bit": {"default": {"w_bits": 8, "a_bits": 8}},
    "sparse50-8bit": {"default": {"weight_sparsity": 0.5, "w_bits": 8, "a_bits": 8}},
    "sparse70-4bit-act60": {
        "default": {"weight_sparsity": 0.7, "act_sparsity": 0.6, "w_bits": 4, "a_bits": 4}
    },
}


def main() -> int:
    hwsearch = Path(sys.executable).with_name("hwsearch")
    with tempfile.TemporaryDirectory() as tmp:
        for name, candidate in CANDIDATES.items():
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(candidate))
            print(f"\n=== hwsearch eval digits-mlp --candidate {name}.json", flush=True)
            result = subprocess.run([hwsearch, "eval", "digits-mlp", "--candidate", path])
            if result.returncode:
                return result.returncode
    print("\nDemo done: each candidate was pruned, thresholded and quantized; the integer")
    print("reference model and the fake-quant path agreed on every test sample.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
