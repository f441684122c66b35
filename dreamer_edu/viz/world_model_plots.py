"""Figures of the world-model notebooks (guide ch. 3-5): losses, reconstructions, open-loop predictions.

Each ``plot_*`` takes numbers (numpy arrays or tensors) computed by ``dreamer_edu.open_loop`` or
``experiments.train_world_model``, returns a matplotlib figure, and saves it when given a path.
"""
from __future__ import annotations

import numpy as np

from .plots import finish

#: What each of the 18 observation entries is (player one's view; hockey spec, section 3), with units.
OBS_LABELS = [
    "player 1 x (m)", "player 1 y (m)", "player 1 angle (rad)", "player 1 vx (m/s)", "player 1 vy (m/s)",
    "player 1 ang. vel. (rad/s)", "player 2 x (m)", "player 2 y (m)", "player 2 angle (rad)",
    "player 2 vx (m/s)", "player 2 vy (m/s)", "player 2 ang. vel. (rad/s)", "puck x (m)", "puck y (m)",
    "puck vx (m/s)", "puck vy (m/s)", "player 1 keep timer (steps)", "player 2 keep timer (steps)",
]
#: The rink's free field in the observation frame (metres from the centre) and the goal mouths.
RINK_X, RINK_Y, GOAL_X, GOAL_HALF = 4.17, 3.33, 4.25, 1.25


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def moving_average(values, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (shorter at the start).  (N,) -> (N,)"""
    values = np.asarray(values, dtype=float)
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    sums = np.cumsum(np.concatenate([[0.0], values]))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (sums[1:] - sums[np.arange(1, len(values) + 1) - counts]) / counts


def plot_loss_curves(history: list[dict], free_nats: float, path=None, window: int = 20):
    """Four panels over updates: reconstruction, reward, continue, and the KL (its value and the loss term)."""
    import matplotlib.pyplot as plt

    def series(key):
        return np.array([h[key] for h in history])

    u = np.arange(1, len(history) + 1)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    panels = [("world/recon_loss", "reconstruction (symlog MSE, summed over 18)", True),
              ("world/reward_loss", "reward (two-hot cross-entropy)", True),
              ("world/continue_loss", "continue (binary cross-entropy)", True)]
    for ax, (key, title, log) in zip(axes, panels):
        ax.plot(u, series(key), color="C0", alpha=0.25, linewidth=0.7)
        ax.plot(u, moving_average(series(key), window), color="C0", label=f"mean of {window} updates")
        ax.set_yscale("log" if log else "linear")
        ax.set(title=title, xlabel="update", ylabel="loss (nats or squared symlog units)")
        ax.legend(fontsize=8)
    ax = axes[3]
    ax.plot(u, moving_average(series("world/kl_dynamics"), window), color="C1", label="KL(post ‖ prior) per step")
    ax.plot(u, moving_average(series("world/kl_loss"), window), color="C2", label="KL loss term (0.5 dyn + 0.1 rep)")
    ax.axhline(free_nats, color="grey", linestyle="--", linewidth=0.8, label=f"free nats = {free_nats:g}")
    ax.set(title="KL: value and loss term", xlabel="update", ylabel="nats")
    ax.legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig, path)


def plot_reconstruction(truth, pred, path=None, title: str = "Posterior reconstruction of a held-out game"):
    """The 18 observation entries over one episode: truth (T, 18) against the decoded posterior (T, 18)."""
    import matplotlib.pyplot as plt

    truth, pred = _np(truth), _np(pred)
    t = np.arange(len(truth))
    fig, axes = plt.subplots(6, 3, figsize=(13, 14), sharex=True)
    for i, ax in enumerate(axes.T.flatten()):          # column-wise: player 1, player 2, puck + timers
        ax.plot(t, truth[:, i], color="black", linewidth=1.0, label="truth")
        ax.plot(t, pred[:, i], color="C1", linewidth=1.0, linestyle="--", label="decoded")
        ax.set_title(f"[{i}] {OBS_LABELS[i]}", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("env step (20 ms)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return finish(fig, path)


def plot_open_loop(truth, pred, context: int, dims=(12, 13, 0, 1, 6, 7), path=None, title: str | None = None):
    """Selected entries: truth (T, 18) against open-loop predictions, one (T, 18) or several samples (S, T, 18);
    the first ``context`` steps were observed, the rest imagined with the real actions."""
    import matplotlib.pyplot as plt

    truth, pred = _np(truth), _np(pred)
    pred = pred[None] if pred.ndim == 2 else pred                    # (S, T, 18)
    t = np.arange(len(truth))
    cols = 2
    rows = (len(dims) + 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows), sharex=True, squeeze=False)
    for ax, d in zip(axes.flatten(), dims):
        for s in range(len(pred)):
            ax.plot(t, pred[s, :, d], color="C1", alpha=0.6 if len(pred) > 1 else 1.0, linewidth=0.9,
                    label="model" if s == 0 else None)
        ax.plot(t, truth[:, d], color="black", linewidth=1.3, label="truth")
        ax.axvspan(-0.5, context - 0.5, color="C0", alpha=0.08, label=f"observed ({context} steps)")
        ax.set_title(f"[{d}] {OBS_LABELS[d]}", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("env step (20 ms)")
    for ax in axes.flatten()[len(dims):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=8, loc="best")
    fig.suptitle(title or f"Open loop: {context} steps observed, then the prior with the real actions")
    fig.tight_layout()
    return finish(fig, path)


def plot_error_by_horizon(result: dict, threshold: float | None = None, mark: int | None = None, path=None,
                          what: str = "puck position"):
    """Mean prediction error against steps ahead for the model and the baselines in ``result``
    (``open_loop.error_by_horizon``); a dotted line at ``threshold`` and a vertical one at step ``mark``."""
    import matplotlib.pyplot as plt

    steps = result["steps"]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(steps, result["model"], marker="o", markersize=3, color="C1", label="world model (prior, real actions)")
    ax.plot(steps, result["stays"], color="grey", label="baseline: it stays where it is")
    ax.plot(steps, result["constant velocity"], color="grey", linestyle="--", label="baseline: constant velocity")
    ax.axhline(result["posterior"], color="C0", linestyle=":", linewidth=1,
               label=f"model while observing (posterior): {result['posterior']:.2f} m")
    if threshold is not None:
        ax.axhline(threshold, color="C3", linestyle=":", label=f"threshold {threshold:g} m")
    if mark is not None:
        ax.axvline(mark, color="black", linewidth=0.8, linestyle="-.", label=f"imagination horizon H = {mark}")
    ax.set(xlabel="steps ahead (20 ms each)", ylabel=f"mean error of the {what} (m)",
           title=f"Open-loop error, {result['starts']} starts from held-out games")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig, path)


def _draw_rink(ax):
    ax.plot([-RINK_X, RINK_X, RINK_X, -RINK_X, -RINK_X], [-RINK_Y, -RINK_Y, RINK_Y, RINK_Y, -RINK_Y],
            color="black", linewidth=1)
    for x in (-GOAL_X, GOAL_X):
        ax.plot([x, x], [-GOAL_HALF, GOAL_HALF], color="C3", linewidth=4, solid_capstyle="butt")
    ax.axvline(0.0, color="grey", linewidth=0.6, linestyle=":")
    ax.set_aspect("equal")
    ax.set(xlim=(-RINK_X - 0.4, RINK_X + 0.4), ylim=(-RINK_Y - 0.3, RINK_Y + 0.3), xlabel="x (m from centre)",
           ylabel="y (m from centre)")


def plot_imagined_paths(truth, samples, context: int, path=None, title: str | None = None):
    """Imagined puck paths over the rink: ``samples`` (S, T, 18) from one start, next to the real path (T, 18).

    Only the imagined part (steps ``context - 1`` onwards) is drawn for the samples; the real path is drawn
    over the same steps, and the observed context as a thin line."""
    import matplotlib.pyplot as plt

    truth, samples = _np(truth), _np(samples)
    start = context - 1
    fig, ax = plt.subplots(figsize=(8.6, 5.4))
    _draw_rink(ax)
    ax.plot(truth[:context, 12], truth[:context, 13], color="C0", linewidth=1, label="observed context")
    for s in range(len(samples)):
        ax.plot(samples[s, start:, 12], samples[s, start:, 13], color="C1", alpha=0.5, linewidth=1,
                label="imagined samples" if s == 0 else None)
        ax.plot(samples[s, -1, 12], samples[s, -1, 13], "o", color="C1", markersize=3, alpha=0.7)
    ax.plot(truth[start:, 12], truth[start:, 13], color="black", linewidth=2, label="what really happened")
    ax.plot(truth[-1, 12], truth[-1, 13], "o", color="black", markersize=5)
    ax.plot(truth[start, 12], truth[start, 13], "*", color="C0", markersize=12, label="last observed position")
    steps = len(truth) - context
    ax.set_title(title or f"Puck: {len(samples)} imagined futures of {steps} steps ({steps * 0.02:.2f} s)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return finish(fig, path)


def plot_unimix(probs_plain, probs_mixed, unimix: float, path=None):
    """The class probabilities of one categorical with and without the uniform mix, on a log scale."""
    import matplotlib.pyplot as plt

    plain, mixed = _np(probs_plain), _np(probs_mixed)
    k = np.arange(len(plain))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.bar(k - 0.2, plain, 0.4, label="softmax(logits)")
    ax.bar(k + 0.2, mixed, 0.4, label=f"{1 - unimix:g}·softmax + {unimix:g}/K")
    ax.axhline(unimix / len(plain), color="C3", linestyle=":", label=f"floor {unimix:g}/K = {unimix / len(plain):.3g}")
    ax.set_yscale("log")
    ax.set(xlabel="class", ylabel="probability (log scale)", title=f"One of the categoricals of z, K = {len(plain)}")
    ax.set_xticks(k)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig, path)
