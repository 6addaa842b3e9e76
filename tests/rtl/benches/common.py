"""Reusable cocotb bench parts: case loading, clock/reset, a valid-beat monitor, an in-order
checker, and signed/unsigned packing of lane vectors (after cocotb's matrix_multiplier example).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.handle import SimHandleBase
from cocotb.triggers import ClockCycles, RisingEdge


def load_case() -> dict:
    """The JSON case the pytest entry wrote for this run ($HWS_CASE)."""
    return json.loads(Path(os.environ["HWS_CASE"]).read_text())


def pack(values: Iterable[int], bits: int) -> int:
    """Element j at bits [j*bits +: bits], two's complement."""
    word, mask = 0, (1 << bits) - 1
    for j, v in enumerate(values):
        word |= (int(v) & mask) << (j * bits)
    return word


def unpack(word: int, n: int, bits: int, signed: bool) -> list[int]:
    """Inverse of `pack`."""
    mask, out = (1 << bits) - 1, []
    for j in range(n):
        v = (word >> (j * bits)) & mask
        out.append(v - (1 << bits) if signed and v >> (bits - 1) else v)
    return out


async def start_and_reset(dut: SimHandleBase, cycles: int = 3) -> None:
    """10 ns clock on clk_i; rst_ni low for `cycles` cycles (asynchronous reset needs an edge)."""
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    dut.rst_ni.value = 1
    await ClockCycles(dut.clk_i, 1)
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, cycles)
    dut.rst_ni.value = 1


class CycleCounter:
    """Counts rising edges after reset; `now` is the index of the current cycle."""

    def __init__(self, clk: SimHandleBase) -> None:
        self.now = 0
        cocotb.start_soon(self._run(clk))

    async def _run(self, clk: SimHandleBase) -> None:
        while True:
            await RisingEdge(clk)
            self.now += 1


class ValidMonitor:
    """Calls `callback(cycle, data)` for every cycle where `valid` is high at a rising edge."""

    def __init__(
        self,
        clk: SimHandleBase,
        valid: SimHandleBase,
        data: SimHandleBase | None,
        callback: Callable[[int, int | None], None],
    ) -> None:
        self.cycle = 0
        cocotb.start_soon(self._run(clk, valid, data, callback))

    async def _run(self, clk, valid, data, callback) -> None:
        while True:
            await RisingEdge(clk)
            if int(valid.value):
                callback(self.cycle, None if data is None else int(data.value))
            self.cycle += 1


class InOrderChecker:
    """Compares observed transactions with expected ones, in order; counts errors."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.expected: deque = deque()
        self.errors: list[str] = []
        self.matched = 0

    def expect(self, item: object) -> None:
        self.expected.append(item)

    def observe(self, item: object) -> None:
        if not self.expected:
            self.errors.append(f"{self.name}: unexpected {item!r}")
        elif (want := self.expected.popleft()) != item:
            self.errors.append(f"{self.name}: expected {want!r}, got {item!r}")
        else:
            self.matched += 1

    def check(self) -> None:
        assert not self.errors, "\n".join(self.errors[:10])
        assert not self.expected, f"{self.name}: {len(self.expected)} transactions missing"
