"""Unstructured magnitude pruning: drop the smallest |w| of the layer."""

import torch

from search.transforms._base import BasePruner


class MagnitudePruner(BasePruner):
    def keep_mask(self, weight: torch.Tensor, sparsity: float) -> torch.Tensor:
        n_prune = round(sparsity * weight.numel())
        keep = torch.ones(weight.numel(), dtype=torch.bool)
        # stable sort: equal magnitudes are pruned in index order, so the count is exact
        order = torch.sort(weight.detach().abs().flatten(), stable=True).indices
        keep[order[:n_prune]] = False
        return keep.view_as(weight)
