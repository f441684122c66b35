"""Live plots of a training run's diagnostics (guide ch. 14), fed by the trainer's hooks (ch. 12).

``LiveDiagnostics`` is handed to ``Trainer(..., on_log=live.on_log, on_eval=live.on_eval)``.  Every logging
interval it records the averaged metrics (the same row the trainer appends to ``Trainer.history``), every
evaluation the ``eval.csv`` row.  In a Jupyter kernel with an inline backend it redraws one figure in place
(``display(fig, display_id=True)`` once, then ``handle.update(fig)``), at most every ``refresh_seconds``.
Anywhere else (a script, tests under ``MPLBACKEND=Agg``) it only records; ``figure()`` and ``save()`` draw the
same six panels at the end:

1. policy entropy: mean, min and max over the imagined states (ch. 6, 8);
2. the return range S of the Moments normaliser and its floor, with the share of updates spent at the floor (ch. 9);
3. world-model losses: reconstruction, reward, continue, KL (ch. 4);
4. actor and critic losses (ch. 7-8);
5. evaluation games: win, draw and loss rate (ch. 12);
6. updates against environment steps: the slope is the replay ratio's "updates per env step" (ch. 12-13).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

ENTROPY_KEYS = ("behavior/entropy_mean", "behavior/entropy_min", "behavior/entropy_max")
RANGE_KEYS = ("diagnostics/return_range_S", "diagnostics/return_range_at_floor")
WORLD_KEYS = ("world/recon_loss", "world/reward_loss", "world/continue_loss", "world/kl_loss")
BEHAVIOUR_KEYS = ("behavior/actor_loss", "behavior/critic_loss")
REQUIRED_METRICS = ENTROPY_KEYS + RANGE_KEYS + WORLD_KEYS + BEHAVIOUR_KEYS
REQUIRED_EVAL = ("env_steps", "win_rate", "draw_rate", "loss_rate")
PANEL_TITLES = ("policy entropy", "return range S", "world-model losses", "actor and critic losses",
                "evaluation games", "updates per env step")
_NON_INTERACTIVE = {"agg", "pdf", "ps", "svg", "cairo", "pgf", "template"}


def in_notebook() -> bool:
    """True inside a Jupyter kernel whose matplotlib backend draws inline (so a display handle can be updated)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    import matplotlib

    return matplotlib.get_backend().lower() not in _NON_INTERACTIVE


def _number(row: dict, key: str, where: str) -> float:
    try:
        value = float(row[key])
    except KeyError:
        raise ValueError(f"{where}: missing {key!r}") from None
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {key!r} must be a number, got {row[key]!r}") from None
    return value


class LiveDiagnostics:
    """Records the trainer's metrics and evaluations and draws them (guide ch. 14)."""

    def __init__(self, floor: float = 1.0, refresh_seconds: float = 10.0, live: bool | None = None):
        if not (math.isfinite(floor) and floor > 0):
            raise ValueError(f"floor (the Moments floor of S) must be a finite number > 0, got {floor!r}")
        if not refresh_seconds >= 0:
            raise ValueError(f"refresh_seconds must be >= 0, got {refresh_seconds!r}")
        self.floor = float(floor)
        self.refresh_seconds = float(refresh_seconds)
        self.live = in_notebook() if live is None else bool(live)
        self.rows: list[dict[str, float]] = []    # one per logging interval, as in Trainer.history
        self.evals: list[dict] = []               # one per evaluation, as in eval.csv
        self.updates_per_env_step: float | None = None
        self.entropy_bounds: tuple[float, float] | None = None   # what the actor's std limits allow (nats)
        self.handle = None
        self.redraws = 0
        self._last_draw = -math.inf

    # --- the trainer's hooks ------------------------------------------------------------------------------
    def on_log(self, trainer, metrics: dict) -> None:
        """``Trainer(on_log=...)``: record ``{env_steps, updates, **metrics}`` (the row of ``trainer.history``)."""
        self._from_trainer(trainer)
        self.add_metrics(trainer.env_steps, trainer.agent.updates, metrics)
        self.maybe_redraw()

    def on_eval(self, trainer, row: dict) -> None:
        """``Trainer(on_eval=...)``: record the evaluation row and redraw (evaluations are rare: no throttle)."""
        self._from_trainer(trainer)
        self.add_eval(row)
        self.maybe_redraw(force=True)

    def _from_trainer(self, trainer) -> None:
        self.floor = float(trainer.config.return_norm_floor)
        self.updates_per_env_step = float(trainer.config.updates_per_env_step)
        self.entropy_bounds = entropy_bounds(trainer.config, trainer.agent.action_dim)

    # --- recording ----------------------------------------------------------------------------------------
    def add_metrics(self, env_steps: int, updates: int, metrics: dict) -> dict:
        """Record one logging interval.  Raises ``ValueError`` if a plotted metric is missing or not a number."""
        if not isinstance(metrics, dict):
            raise ValueError(f"metrics must be a dict of name -> number, got {type(metrics).__name__}")
        for key in REQUIRED_METRICS:
            _number(metrics, key, "LiveDiagnostics metrics")
        row = {"env_steps": int(env_steps), "updates": int(updates), **{k: float(v) for k, v in metrics.items()}}
        self.rows.append(row)
        return row

    def add_eval(self, row: dict) -> dict:
        """Record one evaluation (a row of ``eval.csv``).  Raises ``ValueError`` if a rate is missing or outside [0, 1]."""
        if not isinstance(row, dict):
            raise ValueError(f"an evaluation row must be a dict, got {type(row).__name__}")
        for key in REQUIRED_EVAL[1:]:
            if not 0.0 <= _number(row, key, "LiveDiagnostics evaluation") <= 1.0:
                raise ValueError(f"LiveDiagnostics evaluation: {key} must lie in [0, 1], got {row[key]!r}")
        _number(row, "env_steps", "LiveDiagnostics evaluation")
        self.evals.append(dict(row))
        return self.evals[-1]

    @classmethod
    def from_run(cls, history: list[dict], run_dir: str | Path | None = None, floor: float = 1.0):
        """Rebuild the record of a finished run: ``Trainer.history`` and, if given, the run's ``eval.csv``."""
        from .plots import read_eval_csv

        live = cls(floor=floor, live=False)
        for row in history:
            metrics = {k: v for k, v in row.items() if k not in ("env_steps", "updates")}
            live.add_metrics(_number(row, "env_steps", "history"), _number(row, "updates", "history"), metrics)
        if run_dir is not None:
            for row in read_eval_csv(run_dir):
                live.add_eval(row)
        return live

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(env steps, values) of one recorded metric (or of an evaluation column such as ``win_rate``)."""
        rows = self.evals if key in REQUIRED_EVAL[1:] + ("mean_return",) else self.rows
        if rows and key not in rows[0]:
            raise ValueError(f"no recorded series {key!r}; known: {', '.join(sorted(rows[0]))}")
        steps = np.array([r["env_steps"] for r in rows], dtype=float)    # (N,)
        values = np.array([r[key] for r in rows], dtype=float)           # (N,)
        return steps, values

    def summary(self) -> dict[str, float]:
        """Numbers a reader checks first: last entropy, last S, share of intervals with S at its floor, last win rate."""
        if not self.rows:
            raise ValueError("nothing recorded yet: pass on_log=live.on_log to the Trainer and train")
        _, at_floor = self.series("diagnostics/return_range_at_floor")
        out = {"intervals": len(self.rows), "entropy_mean": self.rows[-1]["behavior/entropy_mean"],
               "return_range_S": self.rows[-1]["diagnostics/return_range_S"],
               "share_at_floor": float(np.mean(at_floor)), "all_finite": self.all_finite()}
        if self.evals:
            out["win_rate"] = float(self.evals[-1]["win_rate"])
        return out

    def all_finite(self) -> bool:
        """True when every recorded metric is a finite number."""
        return all(math.isfinite(v) for row in self.rows for v in row.values())

    # --- drawing ------------------------------------------------------------------------------------------
    def figure(self):
        """The six panels (see the module docstring) as a matplotlib figure."""
        import matplotlib.pyplot as plt

        if not self.rows and not self.evals:
            raise ValueError("nothing recorded yet: pass on_log=live.on_log to the Trainer and train")
        fig, axes = plt.subplots(2, 3, figsize=(15, 7.5))
        axes = axes.ravel()
        for ax, title in zip(axes, PANEL_TITLES):
            ax.set_title(title)
            ax.set_xlabel("environment steps")
            ax.grid(alpha=0.3)
        if self.rows:
            self._draw_entropy(axes[0])
            self._draw_range(axes[1])
            self._draw_lines(axes[2], WORLD_KEYS, "loss (per step)", log=True)
            self._draw_lines(axes[3], BEHAVIOUR_KEYS, "loss (per imagined step)")
            self._draw_updates(axes[5])
        self._draw_eval(axes[4])
        last = self.rows[-1] if self.rows else self.evals[-1]
        fig.suptitle(f"training diagnostics after {int(last['env_steps']):,} environment steps"
                     + (f", {int(last['updates']):,} updates" if "updates" in last else ""))
        fig.tight_layout()
        return fig

    def _draw_entropy(self, ax) -> None:
        x, mean = self.series("behavior/entropy_mean")
        _, low = self.series("behavior/entropy_min")
        _, high = self.series("behavior/entropy_max")
        ax.fill_between(x, low, high, color="C0", alpha=0.25, label="min to max")
        ax.plot(x, mean, color="C0", label="mean")
        ax.axhline(0.0, color="black", linewidth=0.8)
        if self.entropy_bounds is not None:
            for bound in self.entropy_bounds:
                ax.axhline(bound, color="grey", linestyle="--", linewidth=0.8)
            ax.plot([], [], color="grey", linestyle="--", linewidth=0.8, label="limits set by the std bounds")
        ax.set_ylabel("entropy (nats, pre-tanh Normal)")
        ax.legend(fontsize=8)

    def _draw_range(self, ax) -> None:
        x, s = self.series("diagnostics/return_range_S")
        _, at_floor = self.series("diagnostics/return_range_at_floor")
        ax.plot(x, s, color="C2", label="S (95th - 5th percentile of returns)")
        ax.axhline(self.floor, color="C3", linestyle="--", label=f"floor {self.floor:g}")
        floored = at_floor >= 0.5
        if floored.any():
            ax.scatter(x[floored], s[floored], color="C3", s=10, zorder=3, label="interval mostly at the floor")
        ax.set_ylabel("return range S")
        ax.set_title(f"return range S (at its floor in {100 * float(np.mean(at_floor)):.0f}% of updates)")
        ax.legend(fontsize=8)

    def _draw_lines(self, ax, keys, ylabel: str, log: bool = False) -> None:
        for i, key in enumerate(keys):
            x, y = self.series(key)
            ax.plot(x, y, color=f"C{i}", label=key.split("/")[1].replace("_", " "))
        if log:
            ax.set_yscale("symlog", linthresh=0.01)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)

    def _draw_eval(self, ax) -> None:
        if not self.evals:
            ax.text(0.5, 0.5, "no evaluation yet", ha="center", va="center", transform=ax.transAxes)
            return
        x = np.array([r["env_steps"] for r in self.evals], dtype=float)
        for key, style in (("win_rate", "o-"), ("draw_rate", "s:"), ("loss_rate", "^--")):
            ax.plot(x, [100 * float(r[key]) for r in self.evals], style, label=key.replace("_", " "))
        ax.set_ylim(-3, 103)
        ax.set_ylabel("share of evaluation games (%)")
        ax.legend(fontsize=8)

    def _draw_updates(self, ax) -> None:
        x, updates = self.series("updates")
        ax.plot(x, updates, "o", markersize=3, color="C4", label="gradient updates so far")
        if self.updates_per_env_step is not None and len(x):
            ax.plot(x, updates[0] + self.updates_per_env_step * (x - x[0]), color="black", linewidth=0.8,
                    label=f"slope {self.updates_per_env_step:g} updates per env step")
        ax.set_ylabel("gradient updates")
        ax.legend(fontsize=8)

    def maybe_redraw(self, force: bool = False) -> bool:
        """Redraw the live figure if in a notebook and ``refresh_seconds`` have passed (or ``force``)."""
        if not self.live or (not force and time.perf_counter() - self._last_draw < self.refresh_seconds):
            return False
        self.redraw()
        return True

    def redraw(self) -> None:
        """Draw the figure and show it in the one display handle (created on the first call)."""
        self._show(self.figure())

    def _show(self, fig) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
        self.redraws += 1
        self._last_draw = time.perf_counter()

    def save(self, path: str | Path) -> Path:
        """Draw the final figure and save it as a PNG; in a notebook it also becomes the live display's last frame."""
        import matplotlib.pyplot as plt

        fig = self.figure()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        if self.live:
            self._show(fig)
        else:
            plt.close(fig)
        return path


def entropy_bounds(config, action_dim: int) -> tuple[float, float]:
    """Lowest and highest entropy (nats, summed over ``action_dim``) that the actor's std limits allow (ch. 6):
    each dimension's Normal has 0.5 ln(2 pi e) + log sigma."""
    from ..distributions import gaussian_entropy_per_dim

    if config.actor_dist == "tanh_normal":
        low, high = config.log_std_min, config.log_std_max
    else:
        low, high = math.log(config.min_std), math.log(config.max_std)
    return action_dim * gaussian_entropy_per_dim(low), action_dim * gaussian_entropy_per_dim(high)


def require_gpu(flag: bool, cuda_available: bool | None = None) -> bool:
    """For the notebook's full-hockey switch: False when the flag is off; True when on and a CUDA GPU is there;
    otherwise a ``RuntimeError`` that says why (the full config at 2M steps would take days on a CPU)."""
    if not flag:
        return False
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if not cuda_available:
        raise RuntimeError("FULL_HOCKEY = True needs a CUDA GPU, and torch sees none here. The guide's full config "
                           "on a CPU runs at a few environment steps per second (benchmarks/train_speed.py): "
                           "set FULL_HOCKEY = False, or run the same thing on a GPU machine with "
                           "`python -m dreamer_edu train --steps ... --minutes ... --resume`.")
    return True
