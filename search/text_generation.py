"""Generate text from char-gpt, float or as a pruned/quantized candidate."""

import torch
from torch import nn

from search.data import TextDataset


@torch.no_grad()
def sample_text(
    model: nn.Module,
    dataset: TextDataset,
    tokens: int,
    seed: int = 0,
    prompt: str = "\n",
    temperature: float = 0.8,
) -> str:
    """`tokens` characters continuing `prompt`, sampled with a seeded generator."""
    if tokens < 1:
        raise ValueError(f"tokens must be >= 1, got {tokens}")
    generator = torch.Generator().manual_seed(seed)
    start = torch.from_numpy(dataset.encode(prompt))[None, :]  # (1, T)
    ids = model.generate(start, tokens, temperature=temperature, generator=generator)
    return dataset.decode(ids[0, start.shape[1] :].numpy())
