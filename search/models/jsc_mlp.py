"""jsc-mlp: 16-64-32-32-5, the hls4ml / MASE jet-substructure benchmark topology."""

from dataclasses import dataclass

from search.models.digits_mlp import DigitsMLP, DigitsMLPConfig


@dataclass(frozen=True)
class JSCMLPConfig(DigitsMLPConfig):
    in_features: int = 16
    hidden: tuple[int, ...] = (64, 32, 32)
    num_classes: int = 5


class JSCMLP(DigitsMLP):
    def __init__(self, config: JSCMLPConfig = JSCMLPConfig()):
        super().__init__(config)
