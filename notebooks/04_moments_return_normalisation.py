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
# # 04 · Return normalisation: the `Moments` scale S
#
# *Guide chapter 9 (value normalisation), with the entropy argument of chapter 8.*
#
# The actor's loss adds two terms: the advantage `(R_t − V_t)` times the log-probability of the action taken,
# and η times the policy's entropy. η is fixed at 3·10⁻⁴ for every task. That can only work if the advantage
# term has roughly the same size in every task, whatever the rewards are measured in. DreamerV3 achieves it by
# dividing advantages by a scale S computed from the returns themselves:
#
# `S = max(floor, EMA(P95) − EMA(P5))`,
#
# where P5 and P95 are the 5th and 95th percentiles of the λ-returns in each training batch and EMA is an
# exponential moving average over updates (decay 0.99). This notebook takes the formula apart: why
# percentiles, what the EMA does early on, why the floor, and why the fixed η then works.

# %%

import numpy as np
import pandas as pd
import torch

from dreamer_edu.config import Config
from dreamer_edu.returns import Moments, normalized_advantages
from dreamer_edu.viz import exercises, plots, widgets
from dreamer_edu.viz.exercises import check_function, moments_inputs, moments_step, show_source
from dreamer_edu.viz.setup import notebook_setup

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"device: {DEVICE} (everything here is tiny and runs on the CPU); quick mode: {QUICK}")

NAME = "04_moments_return_normalisation"
config = Config()
print(f"Moments: decay {config.return_norm_decay}, percentiles {config.return_norm_low}/{config.return_norm_high}, "
      f"floor {config.return_norm_floor}; entropy scale {config.entropy_scale}")

# %% [markdown]
# ## 0. The formula in code
#
# Here is the package's `Moments` module, the code the agent runs during training, shown straight from its source
# file. Read it next to the formula above:
#
# * `torch.quantile(x, levels)` gives this batch's P5 and P95 in one call;
# * `ema.lerp_(new, 1 − decay)` is the EMA step `ema ← decay · ema + (1 − decay) · new`, done in place on the
#   module's two buffers (so they are saved in a checkpoint and move to the GPU together with the module);
# * `torch.clamp(high − low, min=floor)` is the `max(floor, …)`.
#
# `normalized_advantages` then divides `R_t − V_t` by S. DreamerV3 shifts returns and values by the same offset
# (the EMA of P5) before dividing, but in the difference the offset cancels, so only S is left.

# %%
show_source(Moments, normalized_advantages);

# %% [markdown]
# ## 1. Why percentiles?
#
# A batch of imagined returns in hockey is mostly small numbers with, now and then, a goal worth ±10. We want a
# measure of their spread that does not jump when a single rollout happens to be extreme. Compare three
# candidates on a batch of 1024 returns, before and after one return is replaced by an outlier of 1000.

# %%
generator = torch.Generator().manual_seed(0)
batch = 2.0 * torch.randn(1024, generator=generator)
spoiled = batch.clone()
spoiled[0] = 1000.0


def spreads(x):
    p5, p95 = torch.quantile(x, torch.tensor([0.05, 0.95]))
    return {"P95 - P5": float(p95 - p5), "max - min": float(x.max() - x.min()), "4 x std": float(4 * x.std())}


table = pd.DataFrame({"clean batch": spreads(batch), "one outlier of 1000": spreads(spoiled)})
table["change (%)"] = 100 * (table["one outlier of 1000"] / table["clean batch"] - 1)
table.round(2)

# %% [markdown]
# One extreme rollout moves the full range by more than 5000% and the standard deviation by more than 200%; the
# percentile range moves by less than 1%:

# %%
assert abs(table.loc["P95 - P5", "change (%)"]) < 1.0          # the percentile range barely notices

# %% [markdown]
# ## 2. The moving average starts at zero
#
# `Moments` keeps EMAs of P5 and P95, both starting at 0 and without bias correction (as in DreamerV3). If every
# batch had exactly P5 = −10 and P95 = +10, the EMAs after n updates would be ∓10·(1 − 0.99ⁿ), so
# S_n = max(1, 20·(1 − 0.99ⁿ)): it takes about 100 updates to get two thirds of the way. During that time S
# underestimates the spread, and the floor keeps it from being tiny.

# %%
batch = torch.linspace(-100 / 9, 100 / 9, 1001)               # a batch whose P5 is exactly -10, P95 exactly +10
print(f"P5, P95 of the batch: {torch.quantile(batch, torch.tensor([0.05, 0.95])).numpy().round(4)}")
moments = Moments(decay=0.99, floor=1.0)
scales = np.array([float(moments(batch)[1]) for _ in range(300)])
n = np.arange(1, 301)
expected = np.maximum(1.0, 20.0 * (1.0 - 0.99 ** n))
assert np.allclose(scales, expected, rtol=1e-4)                # S_n = max(1, 20 (1 - 0.99^n)), update by update
print(f"S after 1, 10, 100, 300 updates: {scales[[0, 9, 99, 299]].round(2)} (the batch's own range is 20)")

# %% [markdown]
# ## 3. Why the floor?
#
# Early in hockey training no goal has been imagined yet: every return is close to 0, and so is every value.
# Their differences are noise. Without a floor, S would shrink to the size of that noise and the advantages
# would come out as large as if the noise were real information. With the floor S = 1 the noise stays noise.

# %%
stream = widgets.synthetic_return_batches(updates=500, goal_probability=0.0, noise=0.01, seed=1)  # no goals yet
no_floor, with_floor = Moments(floor=1e-6), Moments(floor=1.0)
for returns_batch in stream:
    _, s_no_floor = no_floor(returns_batch)
    _, s_floor = with_floor(returns_batch)
returns = stream[-1]
values = returns + 0.01 * torch.randn(returns.shape, generator=generator)   # a critic that is as noisy as the returns
adv_no_floor = normalized_advantages(returns, values, s_no_floor)
adv_floor = normalized_advantages(returns, values, s_floor)
print(f"S without floor {float(s_no_floor):.4f} -> advantage std {float(adv_no_floor.std()):.3f}")
print(f"S with floor    {float(s_floor):.4f} -> advantage std {float(adv_floor.std()):.4f}")
assert adv_no_floor.std() > 0.2 and adv_floor.std() < 0.02    # without the floor, noise becomes "signal"

# %% [markdown]
# ## 4. Advantages under two reward scales, and why a fixed η works
#
# `widgets.entropy_advantage_gradients` builds one batch of returns and (slightly wrong) values, multiplies both by
# a reward scale, and takes the gradient of each of the two actor-loss terms with respect to the policy's outputs
# (a `TanhNormal` with the guide's bounds). The ratio |∇ entropy term| / |∇ advantage term| says how much the
# entropy bonus matters next to the policy gradient.
#
# * Without normalisation the advantage gradient grows with the reward scale and the entropy gradient does not:
#   multiply rewards by 100 and the bonus is worth 100 times less.
# * With normalisation returns, values and S all scale together, so the ratio does not change.
# * When returns are tiny (×0.01 here) S sits at its floor; the advantages are then *not* scaled up and the
#   entropy bonus dominates, so the policy keeps exploring until returns with a real spread appear.

# %%
rows = [widgets.entropy_advantage_gradients(scale, normalise) for scale in (0.01, 1.0, 100.0)
        for normalise in (False, True)]
ratios = pd.DataFrame(rows).set_index(["reward_scale", "normalise"])
fig = plots.plot_gradient_ratios(rows, path=plots.figure_path(NAME, "gradient_ratios", QUICK))
ratios.round(6)

# %%
ratio = ratios["ratio"]
print(f"raw: ratio at reward scale 1 / at 100 = {ratio[1.0, False] / ratio[100.0, False]:.2f}; "
      f"normalised: {ratio[1.0, True] / ratio[100.0, True]:.4f}")
print(f"S at reward scale 0.01, 1, 100: {[round(float(ratios.loc[(s, True), 'S']), 3) for s in (0.01, 1.0, 100.0)]}; "
      f"normalised ratio at 0.01 is {ratio[0.01, True] / ratio[1.0, True]:.1f} times the one at 1")
assert abs(ratio[1.0, False] / ratio[100.0, False] - 100.0) < 0.1          # raw: 100x less weight on entropy
assert abs(ratio[1.0, True] / ratio[100.0, True] - 1.0) < 1e-3             # normalised: the same balance

# %% [markdown]
# ## 5. Explorer: S over a training run
#
# The explorer feeds a stream of return batches through `Moments`. For the first third of the updates the returns
# are noise of size 0.1; then each return contains a goal (+10 or −10) with the chosen probability. Things to try:
#
# * goal probability 0.05 or less: each sign shows up in at most 2.5% of the returns, so P5 and P95 never see a
#   goal and S stays at the floor, even though goals are happening; between about 0.06 and 0.1 the batch
#   percentiles flicker between noise and ±10 and S settles somewhere in between;
# * decay 0.9 against 0.999: how fast S follows (after 1 / (1 − decay) updates it has gone about 63% of the way,
#   like any EMA);
# * a larger floor: how long S is pinned (the guide's "stuck at the floor" diagnostic).

# %%
explorer = widgets.moments_explorer()
explorer

# %%
quiet = widgets.set_controls(explorer, decay=0.99, goal_probability=0.0, floor=1.0)
print(f"no goals: final S = {quiet['scale']:.2f}, at the floor {quiet['at_floor_fraction']:.0%}")
rare = widgets.set_controls(explorer, goal_probability=0.05)
assert rare["at_floor_fraction"] == 1.0                                     # goals in 5% of returns: invisible
frequent = widgets.set_controls(explorer, goal_probability=0.3)
print(f"goal probability 0.3: final S = {frequent['scale']:.2f}, at the floor {frequent['at_floor_fraction']:.0%} "
      "(P95 - P5 of these batches is 20)")
for decay in (0.9, 0.99):                                                   # 63% of the way after 1/(1-decay)
    trace = widgets.set_controls(explorer, decay=decay)
    after = trace["scale_trace"][trace["goals_from"] + round(1 / (1 - decay)) - 1]
    print(f"decay {decay}: S after 1/(1 - decay) = {round(1 / (1 - decay))} updates with goals: {after:.2f} "
          f"({after / 20:.0%} of 20; 1 - 1/e = {1 - np.exp(-1):.0%})")
widgets.set_controls(explorer, decay=0.99)
fig = plots.plot_moments_trace(frequent, path=plots.figure_path(NAME, "moments_trace", QUICK))

# %% [markdown]
# ## Exercises
#
# **1.** Every batch has P95 − P5 = 10 (P5 = −5, P95 = +5), decay 0.99, floor 1, EMAs starting at 0. After how many
# updates is S above the floor for the first time?

# %%
answer_1 = None   # a whole number of updates
exercises.check_answer_updates_to_leave_floor(answer_1)

# %% [markdown]
# **2.** All rewards of a task are multiplied by 50. S is well above its floor before and after. By what factor do
# the normalised advantages change?

# %%
answer_2 = None   # a number
exercises.check_answer_advantage_factor(answer_2)

# %% [markdown]
# **3.** Every return of every batch lies between −0.2 and +0.2. What is S (floor 1)? What does that mean for the
# balance between the advantage term and the entropy bonus?

# %%
answer_3 = None   # a number
exercises.check_answer_scale_small_returns(answer_3)

# %% [markdown]
# **4. Write it yourself.** One update of `Moments`, as a plain function. Given a batch of returns and the two EMAs
# before the update, return `(offset, scale)` after it: the updated EMA of P5, and S. Try it without scrolling
# back to the source.

# %%
def my_moments_step(returns, low_ema, high_ema, decay, floor):
    """returns: a tensor of any shape; low_ema, high_ema: 0-dim tensors; decay, floor: numbers.
    -> (offset, scale), two 0-dim tensors."""
    # Hint: torch.quantile can compute two levels at once (flatten the returns first). Move each EMA a fraction
    # (1 - decay) of the way towards this batch's percentile, and measure S on the *updated* EMAs.
    raise NotImplementedError


# %%
# the check: random returns and EMAs (exercises.moments_inputs), against one call of a fresh Moments
check_function(my_moments_step, moments_step, moments_inputs)
