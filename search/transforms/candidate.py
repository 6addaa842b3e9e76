"""Candidate files: the per-layer pruning and quantization choices of one design point.

    {"default": {"weight_sparsity": 0.5, "act_sparsity": 0.0, "w_bits": 8, "a_bits": 8},
     "layers": {"fc1": {"w_bits": 4}}}

`weight_sparsity` is the fraction of the layer's weights pruned; `act_sparsity` the target
fraction of zeros in the layer's *input* activations (reached by thresholding the ReLU that
produces them); `w_bits` the weight width; `a_bits` the width of the layer's input
activations. Layers not named take `default`.

`pruning` says how each layer's weights are chosen: "unstructured" (the smallest |w| of the
layer, what a candidate without the field has always meant) or "balanced" (the same count kept
in every output row, which lockstep PE lanes turn into cycles). Jobs set it from their spec.
"""

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError

from search.transforms.fixed_point import MAX_BITS, MIN_BITS
from search.validation import InputError

Sparsity = Annotated[StrictFloat | StrictInt, Field(ge=0, lt=1)]
Bits = Annotated[StrictInt, Field(ge=MIN_BITS, le=MAX_BITS)]
Pruning = Literal["unstructured", "balanced"]


class CandidateError(InputError):
    """A candidate is malformed; the message names the file and the field."""


class LayerConfig(BaseModel):
    """Resolved choices for one layer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weight_sparsity: Sparsity = 0.0
    act_sparsity: Sparsity = 0.0
    w_bits: Bits = 8
    a_bits: Bits = 8


class LayerOverride(BaseModel):
    """Per-layer overrides: only the fields given replace the default."""

    model_config = ConfigDict(extra="forbid")
    weight_sparsity: Sparsity | None = None
    act_sparsity: Sparsity | None = None
    w_bits: Bits | None = None
    a_bits: Bits | None = None


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: LayerConfig = LayerConfig()
    layers: dict[str, LayerOverride] = {}
    pruning: Pruning = "unstructured"

    def resolve(
        self, layer_names: list[str], relu_fed: set[str], source: str = "candidate"
    ) -> dict[str, LayerConfig]:
        """Per-layer configs for a model's weighted layers (in order).

        `relu_fed` are the layers whose input comes from a ReLU; only they can have activation
        sparsity. The default's act_sparsity is ignored elsewhere; naming it for such a layer
        is an error.
        """
        unknown = [name for name in self.layers if name not in layer_names]
        if unknown:
            raise CandidateError(
                source,
                f"unknown layer; the model's layers are {', '.join(layer_names)}",
                ("layers", unknown[0]),
            )
        resolved = {}
        for name in layer_names:
            override = self.layers.get(name)
            fields = override.model_dump(exclude_none=True) if override else {}
            if name not in relu_fed:
                if fields.get("act_sparsity", 0) > 0:
                    raise CandidateError(
                        source,
                        f"the input of {name} is not produced by a ReLU, so it cannot be "
                        "thresholded",
                        ("layers", name, "act_sparsity"),
                    )
                fields["act_sparsity"] = 0.0
            resolved[name] = self.default.model_copy(update=fields)
        return resolved


def parse_candidate(data: Any, source: str = "candidate") -> Candidate:
    try:
        return Candidate.model_validate(data)
    except ValidationError as err:
        raise CandidateError.from_validation(err, source) from err


def load_candidate(path: str | Path) -> Candidate:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise CandidateError(str(path), "candidate file not found") from err
    except json.JSONDecodeError as err:
        raise CandidateError(str(path), f"not valid JSON ({err})") from err
    return parse_candidate(data, str(path))


def uniform_candidate(
    weight_sparsity: float = 0.0,
    act_sparsity: float = 0.0,
    w_bits: int = 8,
    a_bits: int = 8,
    pruning: Pruning = "unstructured",
) -> Candidate:
    """The same choices in every layer (baselines and quick experiments)."""
    return Candidate(
        default=LayerConfig(
            weight_sparsity=weight_sparsity, act_sparsity=act_sparsity, w_bits=w_bits, a_bits=a_bits
        ),
        pruning=pruning,
    )
