# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.17.3
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · The actor's entropy and its log-std bounds
#
# *Guide chapters 6 (the actor) and 8 (entropy and exploration).*
#
# The actor turns a model state into a distribution over the four hockey actions. The guide's actor is a
# **tanh-squashed Normal**: the network gives a mean and a raw "spread" per action dimension, the spread is
# squeezed into a fixed interval of log-standard-deviations, a sample `u` is drawn from the Normal and the
# action is `tanh(u)`, which always lies in (-1, 1).
#
# The actor's loss rewards entropy with a fixed weight η = 3e-4. The guide argues that the lower bound on
# log σ must keep that entropy positive, and gives a table of entropies to prove it. In this notebook we
#
# 1. look at how a raw network output becomes log σ,
# 2. recompute the guide's entropy table (its conclusion holds, most of its numbers do not),
# 3. compare the entropy the guide logs (of the Normal, before tanh) with the entropy of the action itself,
# 4. play with the bounds in an explorer,
# 5. compare the action histograms of the guide's actor and the official DreamerV3 actor.
#
# The package's code for each formula is shown next to it, and at the end you write the squeeze and the entropy
# yourself.

# %%
import math
import warnings

import numpy as np
import pandas as pd
import torch

from dreamer_edu.config import Config, ConfigWarning
from dreamer_edu.distributions import (HALF_LOG_2PIE, ZERO_ENTROPY_STD, TanhNormal, bounded_log_std,
                                       gaussian_entropy_per_dim)
from dreamer_edu.viz import exercises, plots, widgets
from dreamer_edu.viz.exercises import check_function, show_source
from dreamer_edu.viz.setup import notebook_setup

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"device: {DEVICE} (everything here is tiny and runs on the CPU); quick mode: {QUICK}")

NAME = "03_actor_entropy_bounds"
N_SAMPLES = 2_000 if QUICK else 20_000      # Monte-Carlo samples per entropy estimate / histogram
config = Config()
print(f"guide's bounds: log sigma in [{config.log_std_min}, {config.log_std_max}]")

# %% [markdown]
# ## 1. From a raw network output to log σ
#
# The network's spread output `x` can be any real number. `bounded_log_std` maps it into
# `[log_std_min, log_std_max]` with a sigmoid: `log σ = low + (high - low) · sigmoid(x)`.
# With the guide's bounds [-0.5, 2] the standard deviation of `u` therefore always lies between
# e^-0.5 = 0.606 and e^2 = 7.39. An untrained network outputs `x ≈ 0`, the middle of the range.

# %%
show_source(bounded_log_std);

# %%
raw = torch.tensor([-20.0, -4.0, -2.0, 0.0, 2.0, 4.0, 20.0], dtype=torch.float64)
log_std = bounded_log_std(raw, config.log_std_min, config.log_std_max)
pd.DataFrame({"raw output": raw.numpy(), "log sigma": log_std.numpy(), "sigma": log_std.exp().numpy()}).round(3)

# %% [markdown]
# ## 2. The guide's entropy table, recomputed
#
# A Normal with standard deviation σ has differential entropy `½ ln(2πe) + ln σ = 1.419 + log σ` nats per
# dimension, whatever its mean. It is zero at σ = 1/√(2πe) = 0.242 and negative for any narrower Normal.
# With four independent action dimensions the entropies add up.
#
# In the package the formula is one line, and the actor's `TanhNormal.entropy` sums it over the action dimensions:

# %%
show_source(gaussian_entropy_per_dim, TanhNormal.entropy);

# %% [markdown]
# The guide's table lists the smallest entropy each `log_std_min` allows. Below, its numbers sit next to the
# formula's (`gaussian_entropy_per_dim`).

# %%
guide_table = {-5.0: (-3.0, -12.0), -2.0: (-0.84, -3.4), -0.5: (0.5, 2.0), 0.0: (1.42, 5.7)}
rows = []
for low, (guide_dim, guide_total) in guide_table.items():
    per_dim = gaussian_entropy_per_dim(low)
    rows.append({"log_std_min": low, "sigma_min": math.exp(low), "guide: per dim": guide_dim,
                 "correct: per dim": per_dim, "guide: total (4 dims)": guide_total, "correct: total": 4 * per_dim})
pd.DataFrame(rows).round(3)

# %%
for low in (-5.0, -2.0, -0.5):
    assert abs(guide_table[low][0] - gaussian_entropy_per_dim(low)) > 0.2, low     # the guide's rows are off ...
print(f"... except the last: {guide_table[0.0][0]} against {gaussian_entropy_per_dim(0.0):.3f}; the zero-entropy "
      f"width sigma = {ZERO_ENTROPY_STD:.3f} (the guide has it right)")
# the guide's conclusion survives: -2 allows negative entropy, -0.5 does not
assert gaussian_entropy_per_dim(-2.0) < 0 < gaussian_entropy_per_dim(-0.5)

# %% [markdown]
# So the table's verdicts are right (a floor of -2 lets the entropy go negative, -0.5 keeps it positive),
# but three of its four rows are wrong. `Config.validate()` warns about exactly this pitfall:

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    Config(log_std_min=-2.0).validate()
messages = [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]
print(messages[0])

# %% [markdown]
# The figure shows both steps at once for the guide's bounds: the squeeze of the raw output into log σ (left),
# and the entropy per dimension that results (right, blue). The orange curve is the subject of the next section.

# %%
curves = widgets.entropy_curves(config.log_std_min, config.log_std_max, mean=0.0, n_samples=N_SAMPLES)
fig = plots.plot_entropy_curves(curves, path=plots.figure_path(NAME, "entropy_vs_raw_output", QUICK))

# %% [markdown]
# ## 3. The entropy the guide logs is not the action's entropy
#
# The guide computes `dist.entropy()` of the Normal *before* the tanh. The environment receives `tanh(u)`.
# Squashing changes the entropy by the expected log-slope of the squash:
#
# `H[tanh(u)] = H[u] + E[ln(1 - tanh²(u))]`.
#
# The slope of tanh is at most 1, so the correction is never positive, and it gets large when `u` sits where
# tanh is flat: when the mean is far from 0 (a "saturated" action) *or* when σ is large (most samples land in
# the flat tails). The action lives in (-1, 1), so its entropy can never exceed that of the uniform distribution
# on (-1, 1), ln 2 = 0.693 per dimension. `TanhNormal.squashed_entropy` estimates it by Monte Carlo (the
# log-slope comes from `log_one_minus_tanh_sq`, a form of ln(1 − tanh²(u)) that stays finite for large |u|):

# %%
show_source(TanhNormal.squashed_entropy);

# %%
means = np.linspace(-3.0, 3.0, 61)
by_sigma = widgets.entropy_vs_mean([config.log_std_min, 0.0, config.log_std_max], means, n_samples=N_SAMPLES)
fig = plots.plot_entropy_vs_mean(means, by_sigma, path=plots.figure_path(NAME, "entropy_vs_mean", QUICK))

# %%
for label, (gaussian, squashed) in by_sigma.items():
    assert (squashed < gaussian).all(), label                  # squashing always lowers the entropy
    print(f"{label}: largest action entropy {squashed.max():.3f} nats per dimension (ln 2 = {math.log(2):.3f})")

gauss_min, squashed_min = by_sigma["σ = 0.607"]
crossing = means[(squashed_min < 0) & (means >= 0)][0]
print(f"sigma = 0.606: {gauss_min[0]:.2f} nats before tanh, but the action's entropy is negative from "
      f"|mean| = {crossing:.1f} on")

# widening the Normal beyond about 1 *lowers* the action's entropy: mass piles up at +-1
middle = len(means) // 2
print(f"mean 0: action entropy {by_sigma['σ = 1'][1][middle]:.2f} nats at sigma = 1, "
      f"{by_sigma['σ = 7.39'][1][middle]:.2f} at sigma = 7.39")
peak_sigma = math.exp(curves["log_std"][np.argmax(curves["squashed_entropy"])])   # mean 0, section 2's curve
print(f"mean 0: the action's entropy is largest at sigma = {peak_sigma:.2f}")
# everything the guide logs for 4 dims (>= 3.68) is above what a 4-dim squashed action can have (4 ln 2 = 2.77)
assert 4 * math.log(2) < 4 * gaussian_entropy_per_dim(config.log_std_min)

# %% [markdown]
# Two consequences. First, the guide's "expected entropy" ranges (+3 to +8 early in training) are readings of
# the pre-tanh Normal; the actions themselves never have more than 2.77 nats over four dimensions. Second, the
# entropy bonus pushes log σ up, and past σ ≈ 1 a wider `u` makes the actions *less* random, not more: they
# collect at ±1. The bound on log σ keeps the logged number positive; it does not keep the action's entropy
# positive.
#
# ## 4. Explorer
#
# Move the bounds and the pre-tanh mean. The left panel shows the squeeze, the right one both entropies. The
# dotted red lines mark σ = 0.242 (log σ = -1.419), where the Normal's entropy is zero: across the left panel,
# and on the right at the raw output that reaches it, if the bounds allow it.

# %%
explorer = widgets.entropy_explorer(n_samples=N_SAMPLES)
explorer

# %% [markdown]
# The explorer returns the numbers it draws, so we can drive it from code too:

# %%
result = widgets.set_controls(explorer, log_std_min=-2.0, log_std_max=2.0, mean=0.0)
print({k: round(v, 3) for k, v in result.items() if k.startswith(("min_", "sigma_min"))})
result = widgets.set_controls(explorer, log_std_min=-0.5, mean=2.0)
print(f"log_std_min -0.5, mean 2: smallest logged entropy {result['min_entropy_per_dim']:.2f} nats per dimension, "
      f"largest action entropy {result['max_squashed_entropy_per_dim']:.2f}")

# %% [markdown]
# ## 5. Where the actions go: the guide's actor against the official one
#
# The official DreamerV3 actor (`actor_dist="bounded_normal"`) does not squash: it uses a Normal with mean
# `tanh(x)` and σ between 0.1 and 1, and the environment clips the sample to [-1, 1]. Below, both turn the same
# network outputs (mean output 0, spread output -6, 0 or +6) into actions.

# %%
settings = {"narrowest (spread -6)": -6.0, "untrained (spread 0)": 0.0, "widest (spread +6)": 6.0}
samples, rows = {}, []
for label, spread in settings.items():
    drawn = widgets.actor_action_samples(0.0, spread, N_SAMPLES, config)
    samples[label] = {"guide: tanh(Normal)": drawn["tanh_normal"], "official: clipped Normal": drawn["bounded_normal"]}
    for name, key in (("guide", "tanh_normal"), ("official", "bounded_normal")):
        a = drawn[key]
        rows.append({"setting": label, "actor": name, "sigma of the Normal": drawn[f"{key}_std"],
                     "std of the action": a.std(), "share with |a| > 0.99": np.mean(np.abs(a) > 0.99)})
fig = plots.plot_action_histograms(samples, path=plots.figure_path(NAME, "action_histograms", QUICK))
table = pd.DataFrame(rows)
table.round(3)

# %%
by_actor = table.set_index(["setting", "actor"])
edge, spread_of_action = by_actor["share with |a| > 0.99"], by_actor["std of the action"]
narrowest, untrained, widest = settings
assert edge[widest, "guide"] > 0.6 and edge[widest, "official"] < 0.4             # guide: bang-bang at its widest
# untrained: the guide's density *rises* towards the edges, the official one peaks at the mean
for actor, a in samples[untrained].items():
    centre = np.mean(np.abs(a) < 0.1) / 0.1                        # density near 0
    outer = np.mean((np.abs(a) >= 0.8) & (np.abs(a) < 0.9)) / 0.1  # density at |a| in [0.8, 0.9)
    print(f"{actor:26s} density near 0: {centre:.2f}, at |a| = 0.8-0.9: {outer:.2f}")
# at its narrowest the guide's actor still spreads its actions over half the range; the official one is precise
print(f"narrowest: std of the action {spread_of_action[narrowest, 'guide']:.3f} (guide) against "
      f"{spread_of_action[narrowest, 'official']:.3f} (official, sigma "
      f"{by_actor.loc[(narrowest, 'official'), 'sigma of the Normal']:.3f})")

# %% [markdown]
# Read the table with care: the official actor also puts mass exactly at ±1 (the clipped tails, about a quarter
# of the samples when untrained), so "piling at ±1" is not unique to the guide. What differs is the shape in
# between and the range: the guide's actor is U-shaped from the start and becomes almost bang-bang as σ grows,
# while its lower bound σ ≥ 0.606 means it can never act precisely away from the edges. The official actor keeps
# a bell around its mean and can narrow down to σ = 0.1. Both are available as `Config.actor_dist`.
#
# ## Exercises
#
# **1.** Which `log_std_min` makes the smallest possible *total* entropy of the four-dimensional Normal exactly 0?

# %%
answer_1 = None   # a number
exercises.check_answer_zero_entropy_log_std(answer_1)

# %% [markdown]
# **2.** With the guide's bounds, what is σ when the network's raw spread output is exactly 0?

# %%
answer_2 = None   # a number
exercises.check_answer_guide_sigma_at_zero_output(answer_2)

# %% [markdown]
# **3.** At the guide's widest setting (σ = e² and mean 0), what fraction of actions has |a| > 0.99? Work it out
# with the Normal's cumulative distribution, then compare with the table above.

# %%
answer_3 = None   # a fraction between 0 and 1
exercises.check_answer_saturated_fraction(answer_3)

# %% [markdown]
# **4. Write the squeeze yourself.** Fill in `my_bounded_log_std`: any real raw output in, a log σ between `low`
# and `high` out, as in section 1. The check compares it with the package's `bounded_log_std` on random raw
# outputs and random bounds.

# %%
def my_bounded_log_std(raw, low, high):
    # the sigmoid of raw lies in (0, 1): stretch that interval to the width of [low, high] and shift it to start at low
    raise NotImplementedError


# %%
def make_squeeze_inputs(generator):
    raw = 4 * torch.randn(5, 4, generator=generator)                       # 5 states, 4 action dimensions
    low = float(-3 * torch.rand((), generator=generator))
    high = low + 0.5 + float(3 * torch.rand((), generator=generator))
    return raw, low, high


check_function(my_bounded_log_std, bounded_log_std, make_squeeze_inputs)

# %% [markdown]
# **5. Write the actor's entropy yourself.** `my_entropy` gets a `TanhNormal` (its `log_std` has shape
# (batch, 4)) and returns what the guide logs: the entropy of the Normal before the tanh, one number per row.
# The mean plays no part. The check compares it with the package's `TanhNormal.entropy`.

# %%
def my_entropy(dist: TanhNormal) -> torch.Tensor:
    # each action dimension is an independent Normal: its entropy is a constant plus its log sigma (section 2);
    # the entropies of independent dimensions add up
    raise NotImplementedError


# %%
def make_actor_inputs(generator):
    mean = 3 * torch.randn(8, 4, generator=generator)
    raw = 3 * torch.randn(8, 4, generator=generator)
    return (TanhNormal(mean, bounded_log_std(raw, config.log_std_min, config.log_std_max)),)


check_function(my_entropy, TanhNormal.entropy, make_actor_inputs)
