"""Plots of training runs: the learning curve from ``eval.csv`` (guide ch. 12 and 14)."""
from __future__ import annotations

import csv
import os
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


# ======================================================================================================
# Figures for the teaching notebooks (guide ch. 6-10).  Each ``plot_*`` takes the numbers computed by
# ``dreamer_edu.viz.widgets`` and returns a matplotlib figure; ``finish`` saves it when given a path.
# ======================================================================================================
import numpy as np  # noqa: E402

_NON_INTERACTIVE = {"agg", "pdf", "ps", "svg", "cairo", "pgf", "template"}
_NATS = "entropy (nats)"


FIGURES_ENV = "DREAMER_EDU_FIGURES"     # set it to a folder to save the notebooks' full-mode figures there
MY_NOTEBOOKS = "my_notebooks"           # your working copies of the notebooks (``make lab``), not in git


def figures_dir() -> Path:
    """Where the notebooks save their figures in full mode: the folder named by ``$DREAMER_EDU_FIGURES`` when it is
    set (a relative path counts from the current folder; ``make figures`` sets it to the repository's ``figures/``),
    otherwise ``my_notebooks/figures/`` in the repository, next to your own copies of the notebooks.  Neither
    default is a tracked file: running a notebook never rewrites the committed figures unless you ask for it.
    (Without a repository around the package, an installed copy, it is ``figures/`` in the current folder.)"""
    chosen = os.environ.get(FIGURES_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").exists():
        return root / MY_NOTEBOOKS / "figures"
    return Path.cwd() / "figures"


def figure_path(notebook: str, name: str, quick: bool) -> Path:
    """The file ``<notebook>_<name>.png`` in ``figures_dir()``, or in the system's temporary folder when ``quick``
    (quick runs are tests: they must never rewrite anyone's figures).  The temporary folder is always the same
    one, so repeated runs overwrite their figures instead of piling up folders.  The folder is created."""
    if quick:
        import tempfile

        folder = Path(tempfile.gettempdir()) / "dreamer_edu_figures"
    else:
        folder = figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{notebook}_{name}.png"


def finish(fig, path: str | Path | None = None):
    """Save ``fig`` when a path is given.  With a non-interactive backend (``MPLBACKEND=Agg``: tests, scripts)
    close it as well, so that headless runs do not pile up open figures.  Returns the figure."""
    import matplotlib.pyplot as plt

    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    if plt.get_backend().lower() in _NON_INTERACTIVE:
        plt.close(fig)
    return fig


def _grid(ax):
    ax.grid(alpha=0.3)
    return ax


def plot_entropy_curves(curves: dict, path=None):
    """Left: log sigma against the raw network output (``bounded_log_std``).  Right: entropy per dimension of the
    pre-tanh Normal and of the tanh-squashed action, against the same raw output."""
    import matplotlib.pyplot as plt

    from ..distributions import HALF_LOG_2PIE, ZERO_ENTROPY_STD

    raw = curves["raw"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(raw, curves["log_std"], color="C0")
    ax1.axhline(-HALF_LOG_2PIE, color="C3", linestyle=":",
                label=f"log σ = {-HALF_LOG_2PIE:.3f} (σ = {ZERO_ENTROPY_STD:.3f}): zero entropy")
    for bound in ("log_std_min", "log_std_max"):
        ax1.axhline(curves[bound], color="grey", linestyle="--", linewidth=0.8)
    ax1.set(xlabel="raw network output", ylabel="log σ",
            title=f"log σ squeezed into [{curves['log_std_min']:.2f}, {curves['log_std_max']:.2f}]")
    ax1.legend(loc="upper left", fontsize=8)
    ax2.plot(raw, curves["gaussian_entropy"], color="C0", label="pre-tanh Normal (what the guide logs)")
    ax2.plot(raw, curves["squashed_entropy"], color="C1", label=f"tanh(u), mean {curves['mean']:+.1f} (Monte Carlo)")
    ax2.axhline(0.0, color="black", linewidth=0.8)
    if curves["zero_entropy_raw"] is not None:
        ax2.axvline(curves["zero_entropy_raw"], color="C3", linestyle=":", label=f"σ = {ZERO_ENTROPY_STD:.3f}")
    ax2.set(xlabel="raw network output", ylabel=f"{_NATS} per action dimension",
            title=f"minimum: {curves['min_entropy_per_dim']:+.2f} per dim, "
                  f"{curves['min_entropy_total']:+.2f} for {curves['action_dim']} dims")
    ax2.legend(loc="best", fontsize=8)       # the squashed curve leaves through the lower right corner
    for ax in (ax1, ax2):
        _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_entropy_vs_mean(means, curves: dict, path=None):
    """Entropy per dimension against the pre-tanh mean; ``curves`` maps a sigma label to (gaussian, squashed)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    for i, (label, (gaussian, squashed)) in enumerate(curves.items()):
        ax.plot(means, gaussian, color=f"C{i}", linestyle="--", label=f"{label}: pre-tanh Normal")
        ax.plot(means, squashed, color=f"C{i}", label=f"{label}: tanh-squashed action")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axhline(np.log(2.0), color="grey", linestyle=":", label="ln 2: the most a squashed action can have")
    ax.set(xlabel="pre-tanh mean", ylabel=f"{_NATS} per action dimension",
           title="The action's entropy falls as the mean saturates the tanh")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_action_histograms(samples: dict, path=None):
    """Histograms of actions; ``samples[column_label][distribution_label] = array of actions in [-1, 1]``."""
    import matplotlib.pyplot as plt

    columns = list(samples)
    rows = list(samples[columns[0]])
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(3.6 * len(columns), 2.8 * len(rows)),
                             sharex=True, squeeze=False)
    bins = np.linspace(-1.0, 1.0, 41)
    for j, column in enumerate(columns):
        for i, row in enumerate(rows):
            actions = samples[column][row]
            at_edge = float(np.mean(np.abs(actions) > 0.99))
            ax = axes[i, j]
            ax.hist(actions, bins=bins, density=True, color=f"C{i}")
            ax.set_title(f"{row}\n{column}: {100 * at_edge:.0f}% at |a| > 0.99", fontsize=9)
            ax.set_xlabel("action")
            ax.set_ylabel("density")
            _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_moments_trace(trace: dict, path=None):
    """Top: the batch percentiles and their EMAs.  Bottom: the scale S and its floor."""
    import matplotlib.pyplot as plt

    u = trace["update"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    ax1.plot(u, trace["batch_high"], color="C0", alpha=0.25, linewidth=0.8, label="P95 of each batch")
    ax1.plot(u, trace["batch_low"], color="C1", alpha=0.25, linewidth=0.8, label="P5 of each batch")
    ax1.plot(u, trace["high_ema"], color="C0", label="EMA of P95")
    ax1.plot(u, trace["low_ema"], color="C1", label="EMA of P5")
    ax1.axvline(trace["goals_from"], color="grey", linestyle=":", label="first goals")
    ax1.set(ylabel="return", title=f"Moments: decay {trace['decay']:.3f}, goal probability "
                                   f"{trace['goal_probability']:.2f} per return")
    ax1.legend(fontsize=7, ncol=3, loc="upper left")
    ax2.plot(u, trace["scale_trace"], color="C2", label="S = max(floor, EMA P95 - EMA P5)")
    ax2.axhline(trace["floor"], color="black", linestyle="--", linewidth=0.8, label=f"floor {trace['floor']:.2f}")
    ax2.axvline(trace["goals_from"], color="grey", linestyle=":")
    ax2.set(xlabel="update", ylabel="scale S",
            title=f"final S = {trace['scale']:.2f}; at the floor {100 * trace['at_floor_fraction']:.0f}% of updates")
    ax2.legend(fontsize=8, loc="upper left")
    for ax in (ax1, ax2):
        _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_gradient_ratios(rows: list[dict], path=None):
    """Bar chart of |entropy gradient| / |advantage gradient| per reward scale, raw and normalised advantages."""
    import matplotlib.pyplot as plt

    scales = sorted({r["reward_scale"] for r in rows})
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.38
    for k, normalise in enumerate((False, True)):
        ratios = [next(r["ratio"] for r in rows if r["reward_scale"] == s and r["normalise"] == normalise)
                  for s in scales]
        ax.bar(np.arange(len(scales)) + (k - 0.5) * width, ratios, width,
               label="advantages / S" if normalise else "raw advantages")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(scales)), [f"rewards × {s:g}" for s in scales])
    ax.set(ylabel="|∇ entropy term| / |∇ advantage term|",
           title="Entropy bonus against the policy gradient, fixed η = 3e-4")
    ax.legend()
    _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_symlog_and_bins(twohot, path=None):
    """Left: symlog next to the identity.  Right: the value each two-hot bin stands for, symexp(centre)."""
    import matplotlib.pyplot as plt
    import torch

    from ..distributions import symexp, symlog

    x = torch.linspace(-30.0, 30.0, 601, dtype=torch.float64)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(x, symlog(x), label="symlog(x) = sign(x) ln(1 + |x|)")
    ax1.plot(x, x, color="grey", linestyle="--", linewidth=0.8, label="identity")
    ax1.set_ylim(-5, 5)
    ax1.set(xlabel="x (reward or return)", ylabel="symlog(x)", title="symlog squashes large values, keeps small ones")
    ax1.legend(fontsize=8)
    values = symexp(twohot.centers.double()).numpy()                            # what each bin stands for
    gaps = np.diff(values)                                                       # (bins - 1,)
    ax2.semilogy(np.arange(len(gaps)) + 0.5, gaps)
    for value in (-10.0, 0.0, 10.0):
        position = (float(symlog(torch.tensor(value))) - twohot.low) / twohot.spacing
        ax2.axvline(position, color="C3", linestyle=":", linewidth=0.8)
        ax2.text(position, 0.5 * gaps.max(), f"{value:+g}" if value else "0", ha="center", fontsize=8, color="C3",
                 bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax2.set(xlabel="bin index", ylabel="gap to the next bin (reward units)",
            title=f"{twohot.bins} bins, {twohot.spacing:.4f} apart in symlog space")
    for ax in (ax1, ax2):
        _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_twohot(numbers: dict, path=None, half_width: int = 5):
    """The two-hot weights of one target x on the bins around symlog(x)."""
    import matplotlib.pyplot as plt

    centers, weights = numbers["centers"], numbers["weights"]
    lo = max(0, numbers["below"] - half_width)
    hi = min(len(centers), numbers["above"] + half_width + 1)
    index = np.arange(lo, hi)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    ax.bar(index, weights[lo:hi], width=0.8, color="C0")
    position = (numbers["symlog_x"] - centers[0]) / numbers["spacing"]         # fractional bin index
    ax.axvline(position, color="C3", linestyle=":",
               label=f"symlog({numbers['x']:g}) = {numbers['symlog_x']:.3f}")
    ax.set_xticks(index, [f"{k}\n{centers[k]:.2f}" for k in index], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set(xlabel="bin index (and its centre in symlog space)", ylabel="target weight",
           title=f"x = {numbers['x']:g}: bins {numbers['below']} / {numbers['above']} get "
                 f"{numbers['weight_below']:.2f} / {numbers['weight_above']:.2f}; decodes to {numbers['decoded']:.4g}")
    ax.legend(fontsize=8)
    _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_sparse_regression(result: dict, path=None):
    """What the two-hot head and the MSE head learned about rewards {-10: 0.1, 0: 0.8, +10: 0.1}."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.bar(result["centers"], result["twohot_probs"], width=0.16, color="C0", label="two-hot head")
    ax1.set_xlim(-4, 4)
    ax1.set(xlabel="bin centre (symlog space; ±2.40 is ±10)", ylabel="predicted probability",
            title="Two-hot head: a distribution with three modes")
    ax1.legend(fontsize=8)
    true = {-10.0: 0.1, 0.0: 0.8, 10.0: 0.1}
    labels = ["-10", "0", "+10"]
    predicted = [result["mass_minus_goal"], result["mass_zero"], result["mass_plus_goal"]]
    x = np.arange(3)
    ax2.bar(x - 0.2, list(true.values()), 0.4, label="true probability", color="grey")
    ax2.bar(x + 0.2, predicted, 0.4, label="two-hot head", color="C0")
    # the reward axis is linear between the bars (-10 at 0, 0 at 1, +10 at 2): mark the MSE head's one number
    ax2.axvline(1 + result["mse_prediction"] / 10, color="C3", linestyle="--",
                label=f"MSE head: one number, {result['mse_prediction']:+.2f}")
    ax2.set_xticks(x, labels)
    ax2.set(xlabel="reward", ylabel="probability",
            title="The true rewards and what each head says")
    ax2.legend(loc="upper left", fontsize=8)      # the middle bars reach the top
    for ax in (ax1, ax2):
        _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_lambda_returns(result: dict, path=None):
    """Lambda-returns of one imagined rollout, ours (with gamma) and the guide's (without), plus its rewards."""
    import matplotlib.pyplot as plt

    horizon = len(result["rewards"])
    t = np.arange(horizon)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(t, result["rewards"], color="grey", alpha=0.4, label="reward r_t")
    ax.plot(np.arange(horizon + 1), result["values"], color="C2", marker=".", linestyle=":", label="critic V_t")
    ax.plot(t, result["returns"], color="C0", marker="o", label="λ-return (with γ)")
    ax.plot(t, result["guide_returns"], color="C1", marker="x", linestyle="--", label="guide's code (no γ)")
    ax.set(xlabel="imagined step t", ylabel="return",
           title=f"λ = {result['lambda_']:.2f}, γ = {result['discount']:.3f}: R_0 = {result['R0']:.3f} "
                 f"vs guide {result['R0_guide']:.3f}")
    ax.legend(fontsize=8)
    _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_slow_critic(trace: dict, path=None):
    """Left: how far the online and the slow critic have moved.  Right: their value of one fixed state."""
    import matplotlib.pyplot as plt

    u = trace["update"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(u, trace["online_progress"], label="online critic")
    ax1.plot(u, trace["slow_progress"], label=f"slow critic (EMA, decay {trace['decay']})")
    ax1.axvline(trace["ramp_updates"], color="grey", linestyle=":", label="online critic stops")
    ax1.set(xlabel="update", ylabel="distance moved (updates' worth)",
            title=f"lag at the end of the ramp: {trace['lag_at_ramp_end']:.1f} updates")
    ax1.legend(fontsize=8)
    ax2.plot(u, trace["online_value"], label="online V(s)")
    ax2.plot(u, trace["slow_value"], label="slow V(s)")
    ax2.set(xlabel="update", ylabel="value of one fixed state", title="The slow critic's value follows, later")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_lambda_bias_variance(study: dict, path=None):
    """Squared bias, variance and mean squared error of R_0 against lambda."""
    import matplotlib.pyplot as plt

    lam = study["lambdas"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(lam, study["bias"] ** 2, marker="o", label="bias²")
    ax.plot(lam, study["variance"], marker="o", label="variance")
    ax.plot(lam, study["mse"], marker="o", color="black", label="mean squared error")
    ax.set(xlabel="λ", ylabel="(return units)²",
           title=f"λ-return of a random walk, critic off by {study['value_error']:+g}, "
                 f"H = {study['horizon']}, γ = {study['discount']}")
    ax.legend(fontsize=8)
    _grid(ax)
    fig.tight_layout()
    return finish(fig, path)


def plot_ablation(comparison, statistic: str, opponent: str, path=None):
    """Each variant's difference to the baseline (``sweep.compare_to_baseline``) as a bar with its 95% Welch
    interval over seeds; the bars whose interval excludes 0 are dark."""
    import matplotlib.pyplot as plt

    rows = comparison.sort_values("difference")
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    y = np.arange(len(rows))
    colors = ["C0" if sure else "#9ecae1" for sure in rows.excludes_zero]
    ax.barh(y, 100 * rows.difference, color=colors)
    ax.errorbar(100 * rows.difference, y, xerr=[100 * (rows.difference - rows.low), 100 * (rows.high - rows.difference)],
                fmt="none", ecolor="black", capsize=3, linewidth=1)
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_yticks(y, [f"{v} ({n} seeds)" for v, n in zip(rows.variant, rows.seeds)])
    ax.set(xlabel=f"{statistic} win rate minus the baseline's (points)",
           title=f"vs {opponent}: difference to the baseline, 95% Welch interval over seeds")
    _grid(ax)
    fig.tight_layout()
    return finish(fig, path)
