"""Row-balanced magnitude pruning: every output row keeps the same number of weights."""

import torch

from search.transforms._base import BasePruner


class RowBalancedPruner(BasePruner):
    """Keeps the largest |w| of each output row (a linear neuron's fan-in, a conv filter's
    `C * k * k` weights), the same count in every row.

    Why: an engine's PE lanes step through their rows in lockstep, so a group of rows takes as
    long as its fullest row. Unstructured pruning leaves row counts spread binomially and the
    fullest row sets the pace; equal rows turn the whole sparsity into cycles (load-balance-aware
    pruning, Han et al., ESE, FPGA 2017). When the kept count does not divide by the rows, the
    rows whose next weight is largest keep one more, so the layer's sparsity stays exact.
    """

    def keep_mask(self, weight: torch.Tensor, sparsity: float) -> torch.Tensor:
        magnitudes = weight.detach().abs().reshape(weight.shape[0], -1)
        rows, fan_in = magnitudes.shape
        keep_total = weight.numel() - round(sparsity * weight.numel())
        per_row, extra = divmod(keep_total, rows)
        # stable sort: equal magnitudes are kept in index order, so the counts are exact
        order = torch.sort(magnitudes, dim=1, descending=True, stable=True)
        counts = torch.full((rows,), per_row)
        if extra:
            next_weight = order.values[:, per_row]
            counts[torch.sort(next_weight, descending=True, stable=True).indices[:extra]] += 1
        rank = torch.empty_like(order.indices)
        rank.scatter_(1, order.indices, torch.arange(fan_in).expand(rows, fan_in).contiguous())
        return (rank < counts[:, None]).view_as(weight)
