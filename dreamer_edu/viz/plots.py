"""Plots of training runs: the learning curve from ``eval.csv`` (guide ch. 12 and 14)."""
from __future__ import annotations

import csv
from pathlib import Path


def read_eval_csv(path: str | Path) -> list[dict[str, float]]:
    """Rows of a run's ``eval.csv`` (a run directory or the file itself), numbers as floats."""
    path = Path(path)
    if path.is_dir():
        path = path / "eval.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no evaluations yet (the trainer writes eval.csv at each evaluation)")
    rows = []
    with path.open() as f:
        for row in csv.DictReader(f):
            rows.append({k: (float(v) if k not in ("opponent", "mode") else v) for k, v in row.items()})
    return rows


def plot_training_curve(runs, path: str | Path | None = None, x: str = "env_steps", title: str | None = None):
    """Win/draw/loss rate against env steps (or ``x="wall_seconds"``) for one or more runs.

    ``runs`` is a run directory / eval.csv path, or a dict ``{label: path}``.  Saves a PNG when ``path`` is given
    and returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    if not isinstance(runs, dict):
        runs = {Path(runs).name: runs}
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, run in runs.items():
        rows = read_eval_csv(run)
        xs = [r[x] / (60 if x == "wall_seconds" else 1) for r in rows]
        ax.plot(xs, [100 * r["win_rate"] for r in rows], marker="o", label=f"{label}: win")
        ax.plot(xs, [100 * r["loss_rate"] for r in rows], linestyle="--", label=f"{label}: loss")
    ax.set_xlabel("wall-clock minutes" if x == "wall_seconds" else "environment steps")
    ax.set_ylabel("rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title or "Evaluation games against the opponent")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig
