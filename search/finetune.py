"""Short fine-tuning of a pruned float model with its pruning masks held fixed."""

import copy

import numpy as np
import torch
from torch import nn

from search.models import ZOO
from search.transforms import weighted_layers

DEFAULT_BATCH_SIZE = 64


def finetune_pruned(model: nn.Module, workload, config) -> nn.Module:
    """`config.epochs` epochs of Adam at `config.lr`; pruned weights stay exactly zero.

    Thresholded ReLUs stay in place, so the network learns around its activation sparsity.
    """
    model = copy.deepcopy(model).train()
    dtype = next(model.parameters()).dtype
    masks = {name: (m.weight != 0) for name, m in weighted_layers(model)}
    with torch.enable_grad():  # scoring runs under no_grad; training here needs gradients
        _train(model, workload, config, masks, dtype)
    return model.eval()


def _train(model: nn.Module, workload, config, masks: dict, dtype: torch.dtype) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = np.random.default_rng(0)
    entry = ZOO.get(workload.model_name)
    batch_size = entry.batch_size if entry else DEFAULT_BATCH_SIZE
    for _ in range(config.epochs):
        for x, y in workload.task.batches(workload.dataset, batch_size, rng):
            if x.is_floating_point():
                x = x.to(dtype)
            loss = workload.task.loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for name, m in weighted_layers(model):
                    m.weight.mul_(masks[name])
