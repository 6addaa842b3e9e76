"""Analytic model of the hwsearch layer-pipelined FPGA accelerator with zero skipping.

Pure numpy, no I/O. The microarchitecture contract is SPEC.md; its constants are in
`_contract.py`. `Network` (of `LayerSpec` stages) and `Folding` are the one description of an
accelerator: this package estimates it, rtl/ generates SystemVerilog from it (adding only the
engines' memory images), and search/ lowers each candidate to it once. Typical use from search/:

    net = Network("mlp", (LayerSpec("fc1", "linear", (64, 1, 1), (32, 1, 1), ...), ...))
    est = estimate(net, "zcu102", clock_mhz=200.0)      # folds for max throughput
    est.throughput_fps, est.resources, est.to_dict()

and for confirmation against simulation:

    schedule = exact_network_cycles(net, est.folding, input_masks)
    schedule.start, schedule.done, schedule.total_cycles   # what the RTL records and takes
"""

from ._buffers import extra_bank_resources
from ._chain import NotAChainError, require_chain
from ._contract import (
    ENGINE_DRAIN,
    ENGINE_FILL,
    FIXED_DRAIN,
    HANDOFF,
    INPUT_NAME,
    accumulator_bits,
    sliding_window_size,
    weight_store,
)
from ._cycles import (
    Schedule,
    StageTimes,
    exact_network_cycles,
    exact_stage_cycles,
    exact_stage_times,
    latency_cycles,
    pipeline_schedule,
    stage_roles,
    steady_interval,
    window_masks,
)
from ._devices import DEFAULT_MAX_UTILISATION, DEVICES, Device, get_device
from ._estimate import Estimate, StageEstimate, estimate
from ._folding import Folding, pe_options, simd_options
from ._folding_search import DoesNotFitError, fold
from ._network import LayerSpec, Network
from ._prepared import Evaluation, PreparedNetwork, expected_stage_cycles, prepare
from ._resources import RESOURCE_NAMES

__all__ = [
    "DEFAULT_MAX_UTILISATION",
    "DEVICES",
    "ENGINE_DRAIN",
    "ENGINE_FILL",
    "FIXED_DRAIN",
    "HANDOFF",
    "INPUT_NAME",
    "RESOURCE_NAMES",
    "Device",
    "DoesNotFitError",
    "Estimate",
    "Evaluation",
    "Folding",
    "LayerSpec",
    "Network",
    "NotAChainError",
    "PreparedNetwork",
    "Schedule",
    "StageEstimate",
    "StageTimes",
    "accumulator_bits",
    "estimate",
    "exact_network_cycles",
    "exact_stage_cycles",
    "exact_stage_times",
    "expected_stage_cycles",
    "extra_bank_resources",
    "fold",
    "get_device",
    "latency_cycles",
    "pe_options",
    "pipeline_schedule",
    "prepare",
    "require_chain",
    "simd_options",
    "sliding_window_size",
    "stage_roles",
    "steady_interval",
    "weight_store",
    "window_masks",
]
