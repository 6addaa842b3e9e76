"""fmnist-cnn: LeNet-style, conv-ReLU-pool twice then two linear layers, for 28x28 images."""

from collections import OrderedDict
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class FMNISTCNNConfig:
    channels: tuple[int, int] = (6, 16)
    hidden: int = 64
    num_classes: int = 10


class FMNISTCNN(nn.Sequential):
    def __init__(self, config: FMNISTCNNConfig = FMNISTCNNConfig()):
        c1, c2 = config.channels
        super().__init__(
            OrderedDict(
                conv1=nn.Conv2d(1, c1, 5, padding=2),  # (B, c1, 28, 28)
                relu1=nn.ReLU(),
                pool1=nn.MaxPool2d(2),  # (B, c1, 14, 14)
                conv2=nn.Conv2d(c1, c2, 5),  # (B, c2, 10, 10)
                relu2=nn.ReLU(),
                pool2=nn.MaxPool2d(2),  # (B, c2, 5, 5)
                flatten=nn.Flatten(),  # (B, 25 * c2)
                fc1=nn.Linear(25 * c2, config.hidden),
                relu3=nn.ReLU(),
                fc2=nn.Linear(config.hidden, config.num_classes),
            )
        )
        self.config = config
