"""Saving and loading training state safely (guide ch. 12: "nothing lost").

A checkpoint is written to a temporary file and renamed over the old one, so a run killed in the middle of a
save keeps its previous checkpoint intact.  Loading uses ``torch.load(weights_only=True)``: a checkpoint file
can only hold tensors and plain containers, never code.  Every failure names the file and the reason in one
line (``CheckpointError``).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

CHECKPOINT_NAME = "checkpoint.pt"
REPLAY_NAME = "replay.npz"
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or not one of ours."""


def atomic_torch_save(obj, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def find_checkpoint(path: str | Path) -> Path:
    """A run directory (containing checkpoint.pt) or a checkpoint file -> the file."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint (expected a run directory or a {CHECKPOINT_NAME} file)")
    return path


def read_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt zip, truncated file, foreign pickle...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(err).__name__}: {reason[:200]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION or "agent" not in data:
        raise CheckpointError(f"{path}: not a dreamer_edu checkpoint (format {FORMAT_VERSION} expected)")
    return data
