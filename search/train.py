"""Train a zoo model and save a tensors-only checkpoint.

hwsearch train digits-mlp --epochs 5
hwsearch train char-gpt            # also writes char-gpt.losses.json and a loss plot
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from search.checkpoint import save_checkpoint
from search.data import load_dataset
from search.models import checkpoint_path, zoo_entry
from search.tasks import make_task

LOSS_EVAL_EVERY = 100  # steps between train/val loss points on the loss curve


@dataclass
class TrainResult:
    model_name: str
    checkpoint: Path
    epochs: int
    seconds: float
    val_metrics: dict[str, float]
    loss_curve: list[dict[str, float]] = field(default_factory=list)


def train_model(
    name: str,
    epochs: int | None = None,
    out: str | Path | None = None,
    seed: int = 0,
    data_path: str | Path | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Adam on cross-entropy; validation metrics after each epoch; checkpoint at the end.

    `on_step(step, total_steps, loss)` lets the CLI draw a progress bar.
    """
    entry = zoo_entry(name)
    epochs = entry.epochs if epochs is None else epochs
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dataset = load_dataset(entry.dataset, data_path)
    task = make_task(entry.task)
    model = entry.build()
    optimizer = torch.optim.AdamW(model.parameters(), lr=entry.lr, weight_decay=1e-4)
    steps_per_epoch = sum(
        1 for _ in task.batches(dataset, entry.batch_size, np.random.default_rng(0))
    )
    total = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)

    start, step, curve = time.perf_counter(), 0, []
    for _ in range(epochs):
        model.train()
        for x, y in task.batches(dataset, entry.batch_size, rng):
            loss = task.loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if on_step:
                on_step(step, total, loss.item())
            if entry.task == "next-char" and (step % LOSS_EVAL_EVERY == 0 or step == total):
                model.eval()
                curve.append(
                    {
                        "step": step,
                        "train_loss": task.evaluate(model, dataset, "train")["cross_entropy"],
                        "val_loss": task.evaluate(model, dataset, "val")["cross_entropy"],
                    }
                )
                model.train()
    model.eval()
    val_metrics = task.evaluate(model, dataset, "val")
    out = Path(out) if out else checkpoint_path(name)
    meta = {"model": name, "epochs": epochs, "seed": seed, "val": val_metrics}
    save_checkpoint(model, out, meta)
    if curve:
        write_loss_curve(
            curve, out.with_suffix(".losses.json"), out.with_suffix(".losses.png"), name
        )
    return TrainResult(name, out, epochs, time.perf_counter() - start, val_metrics, curve)


def write_loss_curve(curve: list[dict[str, float]], json_path: Path, png_path: Path, title: str):
    """Training and validation loss against step, as JSON and as a PNG plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    json_path.write_text(json.dumps(curve, indent=1))
    steps = [p["step"] for p in curve]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, [p["train_loss"] for p in curve], label="train")
    ax.plot(steps, [p["val_loss"] for p in curve], label="validation")
    ax.set(xlabel="step", ylabel="cross-entropy (nats/char)", title=f"{title} loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
