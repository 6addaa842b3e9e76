"""Chains: networks whose every stage reads only its predecessor's frame.

Consumers that build only chains of some stage kinds (the RTL generator) check a network here,
so the check and its message exist once.
"""

from __future__ import annotations

from ._contract import INPUT_NAME
from ._network import Network


class NotAChainError(NotImplementedError):
    """A consumer that builds only chains of some stage kinds (the RTL generator) was given
    something else; one message for every such check."""

    def __init__(self, network: str, implementer: str, kinds: tuple[str, ...], problem: str):
        super().__init__(
            f"{network}: {implementer} builds chains of {', '.join(kinds)} stages; {problem} "
            "(only the analytic hardware model, hw_models, implements it so far)"
        )


def require_chain(network: Network, kinds: tuple[str, ...], implementer: str) -> None:
    """Raise NotAChainError unless `network` is a chain of `kinds` stages.

    A chain: every layer reads its predecessor's frame (the first the input) and no layer has
    a second operand.
    """
    for i, layer in enumerate(network.layers):
        previous = INPUT_NAME if i == 0 else network.layers[i - 1].name
        if layer.kind not in kinds:
            problem = f"layer {layer.name!r} is a {layer.kind} stage"
        elif network.source_of(layer) != previous or layer.second_input is not None:
            problem = f"layer {layer.name!r} does not read only the previous layer's frame"
        else:
            continue
        raise NotAChainError(network.name, implementer, kinds, problem)
