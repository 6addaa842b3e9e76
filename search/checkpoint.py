"""Checkpoints as safetensors: tensors plus a JSON header, never pickles.

The header records the schema version, the zoo model name and its metrics, so a checkpoint
says what it is without being executed.
"""

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

SCHEMA_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or for another model."""


def save_checkpoint(model: torch.nn.Module, path: str | Path, meta: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    header = {"schema_version": SCHEMA_VERSION, **meta}
    save_file(tensors, str(path), metadata={"hwsearch": json.dumps(header)})
    return path


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("hwsearch")
    except Exception as err:  # safetensors raises its own error types for corrupt headers
        raise CheckpointError(f"{path}: not a safetensors checkpoint ({err})") from err
    if raw is None:
        raise CheckpointError(f"{path}: safetensors file without an hwsearch header")
    meta = json.loads(raw)
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise CheckpointError(f"{path}: schema_version {meta.get('schema_version')} unsupported")
    return meta


def load_checkpoint(model: torch.nn.Module, path: str | Path, model_name: str) -> dict[str, Any]:
    """Load weights into `model` (strict) and return the header."""
    meta = read_checkpoint_meta(path)
    if meta.get("model") != model_name:
        raise CheckpointError(
            f"{path}: checkpoint is for {meta.get('model')!r}, not {model_name!r}"
        )
    model.load_state_dict(load_file(str(path)), strict=True)
    return meta
