"""Saving and loading training state safely (guide ch. 12: "nothing lost").

A checkpoint is written to a temporary file and renamed over the old one, so a run killed in the middle of a
save keeps its previous checkpoint intact.  A training run saves two files that must match, the checkpoint and
its replay buffer (``save_run_files``): both are written in full first, then renamed; a run killed between the
two renames is completed the next time the directory is read (``finish_interrupted_save``).  Loading uses ``torch.load(weights_only=True)``: a checkpoint file
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
NEXT_SUFFIX = ".next"         # a file being saved, before it is renamed into place


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or not one of ours."""


#: Where the shipped agents live: ``checkpoints/`` at the top of the repository.
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def atomic_torch_save(obj, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_run_files(run_dir: str | Path, state: dict, buffer) -> Path:
    """Save ``state`` as ``checkpoint.pt`` and ``buffer`` as ``replay.npz`` in ``run_dir``, as one pair."""
    run_dir = Path(run_dir)
    replay_next = run_dir / (REPLAY_NAME + NEXT_SUFFIX)
    checkpoint_next = run_dir / (CHECKPOINT_NAME + NEXT_SUFFIX)
    buffer.save(str(replay_next))                       # complete and on disk before anything is renamed
    with open(checkpoint_next, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(replay_next, run_dir / REPLAY_NAME)      # from here on checkpoint.pt.next alone completes the pair
    os.replace(checkpoint_next, run_dir / CHECKPOINT_NAME)
    return run_dir / CHECKPOINT_NAME


def finish_interrupted_save(run_dir: str | Path) -> None:
    """Complete or undo a ``save_run_files`` that was killed part-way, so the directory holds a matching pair.

    Only ``checkpoint.pt.next`` left: the new replay buffer is already in place, and its checkpoint was written
    in full, so it takes its place.  Anything else left over is a save that never got to its renames: removed."""
    run_dir = Path(run_dir)
    replay_next = run_dir / (REPLAY_NAME + NEXT_SUFFIX)
    checkpoint_next = run_dir / (CHECKPOINT_NAME + NEXT_SUFFIX)
    if checkpoint_next.exists() and not replay_next.exists():
        os.replace(checkpoint_next, run_dir / CHECKPOINT_NAME)
    for leftover in (replay_next, checkpoint_next, Path(str(replay_next) + ".tmp")):
        leftover.unlink(missing_ok=True)


def shipped_agents() -> list[str]:
    """Names of the trained agents that come with the repository (``checkpoints/<name>/checkpoint.pt``, each with
    a ``MODEL_CARD.md`` beside it); ``evaluate`` and ``play`` take them by name."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(d.name for d in SHIPPED_DIR.iterdir() if (d / CHECKPOINT_NAME).is_file())


def find_checkpoint(path: str | Path) -> Path:
    """A run directory (containing checkpoint.pt), a checkpoint file, or the name of a shipped agent -> the file."""
    path = Path(path)
    if not path.exists() and len(path.parts) == 1 and path.name in shipped_agents():
        path = SHIPPED_DIR / path.name
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        names = ", ".join(shipped_agents()) or "none"
        raise CheckpointError(f"{path}: no such checkpoint (expected a run directory, a {CHECKPOINT_NAME} file or "
                              f"the name of a shipped agent: {names})")
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
