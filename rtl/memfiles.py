"""File formats of the generated directory and the confirmation harness.

Run-time memory files (`$readmemh`, one hex word per line) in the weight layouts of SPEC
section 6, the harness's input file, and the parsing of its output file. The README written
next to them (`_readme.py`) documents every format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rtl.design import Design


def _hex_words(values: np.ndarray, bits: int) -> list[str]:
    """Rows of int codes -> one hex word per row, element j at bits [j*bits +: bits] (two's
    complement). `values` is (rows, n)."""
    mask = (1 << bits) - 1
    digits = -(-bits * values.shape[1] // 4)
    words = []
    for row in values.tolist():
        word = 0
        for j, v in enumerate(row):
            word |= (int(v) & mask) << (j * bits)
        words.append(f"{word:0{digits}x}")
    return words


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


STORE_CODES = {"dense": 0, "sparse": 1, "skip": 2}


def _index_bits(n: int) -> int:
    """hws_pkg::idx_bits: bits to index n items, at least 1."""
    return max(1, (n - 1).bit_length())


def weight_words(design: Design, name: str) -> list[str]:
    """Lines of `<name>_weight.mem` in the engine's layout (SPEC section 6, README)."""
    w, (pe, simd) = design.weight_matrix(name), design.folding[name]
    bits = design.layer(name).w_bits
    m, k = w.shape
    store = design.weight_store(name)
    if store == "dense":  # word (r, g): lane p's SIMD weights of columns g*SIMD.. at p*SIMD
        groups = -(-k // simd)
        padded = np.zeros((m, groups * simd), dtype=np.int64)
        padded[:, :k] = w
        words = padded.reshape(m // pe, pe, groups, simd).transpose(0, 2, 1, 3)
        return _hex_words(words.reshape(-1, pe * simd), bits)
    if store == "skip":  # row o: nonzero values in column order, then the K-bit mask
        slots, lines = design.max_row_nnz(name), []
        digits = -(-(slots * bits + k) // 4)
        mask_bits = (1 << bits) - 1
        for row in w.tolist():
            word, slot = 0, 0
            for col, v in enumerate(row):
                if v:
                    word |= (v & mask_bits) << (slot * bits)
                    word |= 1 << (slots * bits + col)
                    slot += 1
            lines.append(f"{word:0{digits}x}")
        return lines
    # sparse: per lane, words of SIMD (value, column) pairs and a last-of-row bit (bit 0)
    idx_bits, depth = _index_bits(k), design.lane_words(name)
    pair_bits = bits + idx_bits
    digits = -(-(1 + simd * pair_bits) // 4)
    lines = []
    for p in range(pe):
        lane: list[int] = []
        for o in range(p, m, pe):
            cols = np.flatnonzero(w[o]).tolist()
            chunks = [cols[i : i + simd] for i in range(0, len(cols), simd)] or [[]]
            for n, chunk in enumerate(chunks):
                word = int(n == len(chunks) - 1)
                for j, col in enumerate(chunk):
                    pair = (int(w[o, col]) & ((1 << bits) - 1)) | (col << bits)
                    word |= pair << (1 + j * pair_bits)
                lane.append(word)
        lane += [0] * (depth - len(lane))
        lines += [f"{word:0{digits}x}" for word in lane]
    return lines


def memory_files(design: Design, name: str) -> dict[str, list[str]]:
    """{file name: lines} of one layer's run-time memories (empty for a maxpool); its
    requantization constants are parameters of the generated top, not memories."""
    if name not in design.memories:
        return {}
    return {
        f"{name}_weight.mem": weight_words(design, name),
        f"{name}_bias.mem": _hex_words(design.memories[name].bias[:, None], design.acc_bits(name)),
    }


def write_memories(design: Design, out_dir: str | Path) -> list[Path]:
    """Write every layer's memory files into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for layer in design.layers:
        for file_name, lines in memory_files(design, layer.name).items():
            _write_lines(out / file_name, lines)
            paths.append(out / file_name)
    return paths


def input_words(design: Design, codes: np.ndarray) -> list[str]:
    """Input codes (N, C, H, W), or (N, K) for a (K, 1, 1) input, -> harness input lines, one
    loader beat per line: px consecutive pixels of one row, pixel j at [j*C*bits +: C*bits]."""
    c, h, w = design.in_shape
    x = np.asarray(codes, dtype=np.int64)
    if x.ndim == 2 and (h, w) == (1, 1):
        x = x[:, :, None, None]
    if x.ndim != 4 or x.shape[1:] != (c, h, w):
        raise ValueError(f"inputs must have shape (N, {c}, {h}, {w}), got {np.shape(codes)}")
    bits = design.in_bits
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if design.input_signed else (0, 2**bits - 1)
    if x.size and (x.min() < lo or x.max() > hi):
        raise ValueError(f"input codes must be in [{lo}, {hi}] ({bits} bits)")
    px = design.stage_px(0)
    beats = x.transpose(0, 2, 3, 1).reshape(-1, px * c)  # (N*H*W/px, px*C), pixel-major
    return _hex_words(beats, bits)


def write_inputs(design: Design, codes: np.ndarray, path: str | Path) -> int:
    """Write the harness input file; returns the number of frames."""
    _write_lines(Path(path), input_words(design, codes))
    return len(codes)


def parse_outputs(design: Design, lines: list[str], n_frames: int) -> np.ndarray:
    """Harness output lines -> int64 accumulators (N, M) (linear last) or (N, M, H, W)."""
    m, h, w = design.out_shape
    bits = design.out_bits
    if len(lines) != n_frames * h * w:
        raise ValueError(f"expected {n_frames * h * w} output pixels, got {len(lines)}")
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    out = np.empty((n_frames * h * w, m), dtype=np.int64)
    for i, line in enumerate(lines):
        word = int(line, 16)
        for c in range(m):
            v = (word >> (c * bits)) & mask
            out[i, c] = v - (1 << bits) if v & sign else v
    out = out.reshape(n_frames, h, w, m).transpose(0, 3, 1, 2)
    return out[:, :, 0, 0] if design.layers[-1].kind == "linear" else out
