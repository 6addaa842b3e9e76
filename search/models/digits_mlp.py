"""digits-mlp: a 64-64-32-10 perceptron for sklearn's 8x8 digits."""

import itertools
from collections import OrderedDict
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class DigitsMLPConfig:
    in_features: int = 64
    hidden: tuple[int, ...] = (64, 32)
    num_classes: int = 10


class DigitsMLP(nn.Sequential):
    def __init__(self, config: DigitsMLPConfig = DigitsMLPConfig()):
        widths = (config.in_features, *config.hidden)
        layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(widths), start=1):
            layers[f"fc{i}"] = nn.Linear(fan_in, fan_out)
            layers[f"relu{i}"] = nn.ReLU()
        layers[f"fc{len(widths)}"] = nn.Linear(widths[-1], config.num_classes)
        super().__init__(layers)
        self.config = config
