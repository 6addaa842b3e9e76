"""Which layers a model has, in data-flow order, and which ReLU feeds which layer.

Zoo models register their modules in the order data flows through them (nanoGPT style), so
registration order is data-flow order: the ReLU that feeds a weighted layer is the last ReLU
registered before it with no weighted layer in between.
"""

import torch
from torch import nn

WEIGHTED = (nn.Linear, nn.Conv2d)


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, WEIGHTED)]


def relu_feeds(model: nn.Module) -> dict[str, str]:
    """Map each ReLU's module name to the weighted layer that consumes its output."""
    feeds, pending = {}, None
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            pending = name
        elif isinstance(module, WEIGHTED):
            if pending is not None:
                feeds[pending] = name
            pending = None
    return feeds


def set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


@torch.no_grad()
def capture_inputs(model: nn.Module, names: list[str], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run `model` on `x` and return the input tensor of each named submodule."""
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        model.get_submodule(n).register_forward_pre_hook(
            lambda _m, args, n=n: captured.__setitem__(n, args[0].detach())
        )
        for n in names
    ]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return captured
