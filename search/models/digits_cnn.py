"""digits-cnn: two 3x3 conv/ReLU/max-pool blocks and one linear layer for 8x8 digits."""

from collections import OrderedDict
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class DigitsCNNConfig:
    channels: tuple[int, int] = (8, 16)
    num_classes: int = 10


class DigitsCNN(nn.Sequential):
    def __init__(self, config: DigitsCNNConfig = DigitsCNNConfig()):
        c1, c2 = config.channels
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(1, c1, 3, padding=1),  # (B, c1, 8, 8)
                relu1=nn.ReLU(),
                pool1=nn.MaxPool2d(2),  # (B, c1, 4, 4)
                conv2=nn.Conv2d(c1, c2, 3, padding=1),  # (B, c2, 4, 4)
                relu2=nn.ReLU(),
                pool2=nn.MaxPool2d(2),  # (B, c2, 2, 2)
                flatten=nn.Flatten(),  # (B, 4 * c2)
                fc1=nn.Linear(4 * c2, config.num_classes),
            )
        )
        self.config = config
