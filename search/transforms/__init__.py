"""Per-layer transforms: pruning, activation thresholds, fixed-point quantization, and the
integer reference model they define."""

from search.transforms._balanced import RowBalancedPruner
from search.transforms._base import BasePruner, BaseQuantizer
from search.transforms._graph import capture_inputs, relu_feeds, weighted_layers
from search.transforms._magnitude import MagnitudePruner
from search.transforms._mse import MSEQuantizer
from search.transforms.apply import (
    QuantizedLayer,
    TransformedModel,
    TransformError,
    build_integer_network,
    threshold_for_sparsity,
    transform,
)
from search.transforms.candidate import (
    Candidate,
    CandidateError,
    LayerConfig,
    LayerOverride,
    Pruning,
    load_candidate,
    parse_candidate,
    uniform_candidate,
)
from search.transforms.fixed_point import FixedPoint, fake_requantize, requantize
from search.transforms.integer_model import IntegerNetwork, IntLayer, Requantization
from search.transforms.stats import LayerStats, collect_stats

__all__ = [
    "BasePruner",
    "BaseQuantizer",
    "Candidate",
    "CandidateError",
    "FixedPoint",
    "IntLayer",
    "IntegerNetwork",
    "LayerConfig",
    "LayerOverride",
    "LayerStats",
    "MSEQuantizer",
    "MagnitudePruner",
    "Pruning",
    "QuantizedLayer",
    "Requantization",
    "RowBalancedPruner",
    "TransformError",
    "TransformedModel",
    "build_integer_network",
    "capture_inputs",
    "collect_stats",
    "fake_requantize",
    "load_candidate",
    "parse_candidate",
    "relu_feeds",
    "requantize",
    "threshold_for_sparsity",
    "transform",
    "uniform_candidate",
    "weighted_layers",
]
