"""DreamSmooth in numbers and figures: what each smoother does to a hockey game's rewards (guide ch. 11).

The smoothers themselves live in ``dreamer_edu.dreamsmooth``; this module only measures them and draws them:

* ``spike`` / ``smooth_all`` / ``credit_split``: one lone reward, smoothed by every method, and how much of
  it ends up before, on and after its own step;
* ``join_episodes`` / ``smoothing_numbers``: real games laid end to end (the explorer's data), raw and
  smoothed, with the episode boundaries and each episode's reward total;
* ``goal_episodes`` / ``predicted_rewards_before_goal`` / ``compare_reward_models``: two world models trained
  on the same games, with and without smoothing, and what their reward heads say in the steps before a goal;
* ``plot_*``: the figures of notebook 06.
"""
from __future__ import annotations

import numpy as np
import torch

from ..config import Config
from ..dreamsmooth import METHODS, smooth_rewards
from .. import experiments
from . import plots

#: the methods that change the rewards, in the order the figures show them
SMOOTHERS = ("ema", "causal_ema", "gaussian", "uniform")
LABELS = {"none": "raw", "ema": "guide: backward EMA", "causal_ema": "paper: causal EMA",
          "gaussian": "paper: Gaussian", "uniform": "paper: uniform box"}
#: a terminal reward bigger than this in size is a goal (+-10 plus a small shaping term)
GOAL_THRESHOLD = 5.0


# ------------------------------------------------------------------------------------------------------
# One lone reward
# ------------------------------------------------------------------------------------------------------
def spike(length: int = 60, at: int | None = None, value: float = 10.0) -> np.ndarray:
    """A (length,) reward array that is 0 except ``value`` at step ``at`` (default: the last step)."""
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    at = length - 1 if at is None else at
    if not 0 <= at < length:
        raise ValueError(f"the spike's step must be in [0, {length}), got {at}")
    r = np.zeros(length)
    r[at] = value
    return r


def smooth_all(rewards, is_last=None, alpha: float = 0.5, sigma: float = 3.0, width: int = 9,
               causal_alpha: float = 0.33) -> dict[str, np.ndarray]:
    """``{method: smoothed rewards}`` for every method of ``dreamsmooth.METHODS`` (``"none"``: a copy)."""
    r = np.asarray(rewards, dtype=np.float64)
    return {m: smooth_rewards(r, is_last, method=m, alpha=alpha, sigma=sigma, width=width,
                              causal_alpha=causal_alpha) for m in METHODS}


def credit_split(smoothed, at: int) -> dict[str, float]:
    """How much of a smoothed lone reward lies before step ``at``, on it, after it, and in total."""
    s = np.asarray(smoothed, dtype=np.float64)                                    # (T,)
    return {"before": float(s[:at].sum()), "on": float(s[at]), "after": float(s[at + 1:].sum()),
            "total": float(s.sum())}


# ------------------------------------------------------------------------------------------------------
# Real games laid end to end
# ------------------------------------------------------------------------------------------------------
def goal_episodes(episodes: list[dict]) -> list[dict]:
    """The episodes that end in a goal (either side): last reward bigger than ``GOAL_THRESHOLD`` in size."""
    return [ep for ep in episodes if abs(float(ep["reward"][-1])) > GOAL_THRESHOLD]


def join_episodes(episodes: list[dict]) -> dict[str, np.ndarray]:
    """Concatenate episodes' rewards: ``reward`` (T,), ``is_last`` (T,) and ``starts`` (first step of each)."""
    if len(episodes) == 0:
        raise ValueError("join_episodes needs at least one episode")
    rewards = np.concatenate([np.asarray(ep["reward"], np.float64) for ep in episodes])     # (T,)
    is_last = np.concatenate([np.asarray(ep["is_last"], bool) for ep in episodes])         # (T,)
    lengths = np.array([len(ep["reward"]) for ep in episodes])
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return {"reward": rewards, "is_last": is_last, "starts": starts}


def smoothing_numbers(episodes: list[dict], method: str = "ema", alpha: float = 0.5, sigma: float = 3.0,
                      width: int = 9, causal_alpha: float = 0.33) -> dict:
    """Raw and smoothed rewards of ``episodes`` shown end to end, with boundaries and per-episode totals.

    This is what ``widgets.dreamsmooth_explorer`` plots.  ``method`` is one of ``dreamsmooth.METHODS``.
    """
    joined = join_episodes(episodes)
    smoothed = smooth_rewards(joined["reward"], joined["is_last"], method=method, alpha=alpha, sigma=sigma,
                              width=width, causal_alpha=causal_alpha)                    # (T,)
    stops = np.append(joined["starts"][1:], len(joined["reward"]))
    raw_totals = np.array([joined["reward"][a:b].sum() for a, b in zip(joined["starts"], stops)])
    totals = np.array([smoothed[a:b].sum() for a, b in zip(joined["starts"], stops)])
    return {"method": method, "alpha": alpha, "sigma": sigma, "width": width, "causal_alpha": causal_alpha,
            "step": np.arange(len(smoothed)), "raw": joined["reward"], "smoothed": smoothed,
            "is_last": joined["is_last"], "starts": joined["starts"],
            "raw_totals": raw_totals, "smoothed_totals": totals}


# ------------------------------------------------------------------------------------------------------
# The reward head with and without smoothing
# ------------------------------------------------------------------------------------------------------
@torch.no_grad()
def predicted_rewards_before_goal(model, episodes: list[dict], before: int = 20,
                                  device: str | torch.device = "cpu") -> np.ndarray:
    """(N, before + 1): the reward head's prediction (posterior states) at steps -before .. 0 of each goal
    episode, step 0 being the goal, multiplied by the goal's sign (so a "right" prediction is positive)."""
    rows = []
    for ep in episodes:
        if len(ep["reward"]) < before + 1:
            continue
        batch = experiments.episode_batch(ep, device)                                  # (1, T+1, ...)
        _, states, _ = model.loss(batch)                                               # states (1, T+1)
        reward = model.reward(states.features())[0].cpu().double().numpy()             # (T+1,)
        rows.append(np.sign(ep["reward"][-1]) * reward[-(before + 1):])
    if not rows:
        raise ValueError(f"no episode has at least {before + 1} steps")
    return np.stack(rows)


def compare_reward_models(train: list[dict], test: list[dict], config: Config, updates: int, seed: int = 0,
                          before: int = 20, device: str | torch.device = "cpu") -> dict:
    """Train two world models on ``train`` (raw rewards / smoothed with the config's method), same seed and
    batches, and read their reward heads on the goal episodes of ``test`` (``predicted_rewards_before_goal``).

    Also returns the raw and smoothed *targets* of the test goals (signed like the predictions), for comparison,
    and ``raw_early`` / ``smoothed_early``: each head's mean prediction summed over the steps before the goal.
    """
    goals = [ep for ep in goal_episodes(test) if len(ep["reward"]) >= before + 1]
    if not goals:
        raise ValueError(f"the test episodes contain no goal after at least {before} steps")
    out = {"offset": np.arange(-before, 1), "goals": len(goals), "method": config.dreamsmooth_method,
           "alpha": config.dreamsmooth_alpha, "updates": updates, "seed": seed}
    for smooth in (False, True):
        buffer = experiments.fill_buffer(train, config, smooth=smooth, seed=seed)
        model, history = experiments.train_world_model(config, buffer, updates, seed=seed, device=device,
                                                        progress=False)
        key = "smoothed" if smooth else "raw"
        out[key] = predicted_rewards_before_goal(model, goals, before, device)             # (N, before+1)
        out[f"{key}_reward_loss"] = float(np.mean([h["world/reward_loss"] for h in history[-20:]]))
    joined = join_episodes(goals)
    target = smooth_rewards(joined["reward"], joined["is_last"], method=config.dreamsmooth_method,
                            alpha=config.dreamsmooth_alpha)
    stops = np.append(joined["starts"][1:], len(target))
    out["smoothed_target"] = np.stack([np.sign(joined["reward"][b - 1]) * target[b - before - 1: b]
                                       for b in stops])                       # (N, before+1)
    out["raw_target"] = np.stack([np.sign(joined["reward"][b - 1]) * joined["reward"][b - before - 1: b]
                                  for b in stops])                            # (N, before+1)
    out["raw_early"] = float(out["raw"][:, :-1].mean(0).sum())          # summed over the steps before the goal
    out["smoothed_early"] = float(out["smoothed"][:, :-1].mean(0).sum())
    return out


# ------------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------------
def plot_spike_smoothing(smoothed: dict[str, np.ndarray], at: int, path=None, window: int = 25):
    """The lone reward and each smoother's version of it, around step ``at``; legend gives each total."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    steps = np.arange(len(smoothed["none"]))
    lo, hi = max(0, at - window), min(len(steps), at + window + 1)
    ax.bar(steps[lo:hi], smoothed["none"][lo:hi], color="0.8", label=f"raw (total {smoothed['none'].sum():.1f})")
    for m in SMOOTHERS:
        ax.plot(steps[lo:hi], smoothed[m][lo:hi], marker=".", label=f"{LABELS[m]} (total {smoothed[m].sum():.1f})")
    ax.axvline(at, color="k", lw=0.8, ls=":")
    ax.set_xlabel("time step")
    ax.set_ylabel("reward")
    where = "its episode's last step" if at == len(steps) - 1 else f"step {at} of {len(steps)}"
    ax.set_title(f"One reward of +10 on {where}, smoothed by each method")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return plots.finish(fig, path)


def plot_smoothing(numbers: dict, path=None):
    """Raw and smoothed rewards of real games end to end; dashed lines mark where a new game starts."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.plot(numbers["step"], numbers["raw"], color="0.6", lw=1.0, label="raw reward")
    label = LABELS[numbers["method"]]
    ax.plot(numbers["step"], numbers["smoothed"], color="C3", lw=1.5, label=f"smoothed: {label}")
    for i, start in enumerate(numbers["starts"][1:]):
        ax.axvline(start - 0.5, color="k", ls="--", lw=0.8, label="new game" if i == 0 else None)
    ax.set_xlabel("time step (games end to end)")
    ax.set_ylabel("reward")
    totals = ", ".join(f"{r:+.1f}→{s:+.1f}" for r, s in zip(numbers["raw_totals"], numbers["smoothed_totals"]))
    ax.set_title(f"Hockey rewards, raw and smoothed; total per game {totals}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return plots.finish(fig, path)


def plot_reward_predictions(result: dict, path=None):
    """Left: mean predicted reward (signed towards the goal) in the steps before a goal, with and without
    smoothing.  Right: the smoothed target the second head is taught, on its own (much larger) scale."""
    import matplotlib.pyplot as plt

    fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    x = result["offset"]
    for key, color in (("raw", "C0"), ("smoothed", "C3")):
        mean = result[key].mean(0)
        sem = result[key].std(0) / np.sqrt(len(result[key]))
        name = "trained on raw rewards" if key == "raw" else f"trained on smoothed rewards ({LABELS[result['method']]})"
        ax.plot(x, mean, marker="o", color=color, label=name)
        ax.fill_between(x, mean - sem, mean + sem, color=color, alpha=0.2)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel("steps before the goal (0 = the goal's step)")
    ax.set_ylabel("predicted reward × sign of the goal")
    ax.set_title(f"Reward heads on {result['goals']} held-out goals\n"
                 f"({result['updates']} updates; mean ± standard error)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax_t.plot(x, result["smoothed_target"].mean(0), color="0.4", marker=".", label="smoothed target")
    ax_t.plot(x, result["raw_target"].mean(0), color="0.7", ls=":", label="raw target")
    ax_t.set_xlabel("steps before the goal")
    ax_t.set_ylabel("target reward × sign of the goal")
    ax_t.set_title("What the heads are taught", fontsize=10)
    ax_t.grid(alpha=0.3)
    ax_t.legend(fontsize=8)
    fig.tight_layout()
    return plots.finish(fig, path)
