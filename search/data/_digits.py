"""scikit-learn's 8x8 handwritten digits (1797 images).

Pixels (0..16) are divided by their overall standard deviation, not centred: inputs keep
their exact zeros (real input sparsity for the hardware) and train well at unit scale.
"""

import numpy as np
from sklearn import datasets

from search.data._splits import ArrayDataset, Split, split_three_ways


def load_digits() -> ArrayDataset:
    bunch = datasets.load_digits()
    x = bunch.images.astype(np.float32)[:, None, :, :]  # (N, 1, 8, 8)
    y = bunch.target.astype(np.int64)
    train, val, test = split_three_ways(x, y)
    scale = np.float32(train.x.std())
    train, val, test = (Split(s.x / scale, s.y) for s in (train, val, test))
    return ArrayDataset("digits", train, val, test, num_classes=10)
