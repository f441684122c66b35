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
# # 07 · The critic's targets: λ-returns and the slow critic
#
# *Guide chapter 7 (the critic).*
#
# After imagining H = 15 steps, the critic needs a target for the value of every imagined state. DreamerV3 uses the
# **λ-return**, which blends two estimates of "what comes next": the critic's own value one step ahead, and the
# λ-return one step ahead (which in turn looks further). With r_t and c_t the reward and continue probability
# predicted at the state the t-th imagined action leads to, and V_0 … V_H the critic's values:
#
# `R_t = r_t + γ · c_t · ((1 − λ) · V_{t+1} + λ · R_{t+1})`,  with `R_H = V_H`.
#
# The guide's formula has γ in it, but its code leaves γ out. This notebook shows what that changes, checks the two
# limits λ = 0 and λ = 1, watches the slow critic (an EMA of the critic's weights) lag behind the critic, and
# measures the bias–variance trade-off that λ controls on a problem whose true values we know.

# %%
import math

import numpy as np
import pandas as pd
import torch

from dreamer_edu.actor_critic import Critic, update_slow_critic
from dreamer_edu.config import Config
from dreamer_edu.returns import guide_lambda_returns, lambda_returns
from dreamer_edu.viz import exercises, plots, widgets
from dreamer_edu.viz.exercises import check_function, rollout_inputs, show_source
from dreamer_edu.viz.setup import notebook_setup

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"device: {DEVICE} (everything here is tiny and runs on the CPU); quick mode: {QUICK}")

NAME = "07_critic_lambda_returns"
config = Config()
GAMMA, LAMBDA = config.discount, config.lambda_
print(f"discount {GAMMA}, lambda {LAMBDA}, horizon {config.horizon}, slow critic decay {config.slow_critic_decay}, "
      f"bootstrap from the {config.critic_bootstrap} critic")

# %% [markdown]
# ## 0. The recursion in code
#
# `lambda_returns` is the formula above, run backwards in time: start from `R_H = V_H`, then for t = H − 1 down to 0
# blend the next value with the next return and add the reward. Every line works on the whole batch at once
# (shape (B,) per step), and H is only 15, so a plain Python loop is fast enough. `guide_lambda_returns` is the
# guide's version, kept for comparison.

# %%
show_source(lambda_returns, guide_lambda_returns);

# %% [markdown]
# ## 1. The missing discount
#
# First a goal seen from afar: one reward of +10 at the last imagined step (t = 14), all values 0. Only the
# `λ · R_{t+1}` path carries the reward back, so each step back multiplies it by γλ; without γ, by λ alone.

# %%
H = config.horizon
rewards = torch.zeros(1, H, dtype=torch.float64)
rewards[0, -1] = 10.0
values = torch.zeros(1, H + 1, dtype=torch.float64)
continues = torch.ones(1, H, dtype=torch.float64)
ours = lambda_returns(rewards, values, continues, GAMMA, LAMBDA)
guide = guide_lambda_returns(rewards, values, continues, GAMMA, LAMBDA)
print(f"R_0 with gamma: {float(ours[0, 0]):.4f} (10 (gamma lambda)^14 = {10 * (GAMMA * LAMBDA) ** (H - 1):.4f}), "
      f"guide's code: {float(guide[0, 0]):.4f} (10 lambda^14 = {10 * LAMBDA ** (H - 1):.4f})")
assert abs(float(ours[0, 0]) - 10 * (GAMMA * LAMBDA) ** (H - 1)) < 1e-9
assert abs(float(guide[0, 0] / ours[0, 0]) - 1.04) < 0.005                      # the guide is 4% high here

# %% [markdown]
# Four percent looks harmless. The deeper problem shows in a consistency check. Take a task that pays 1 on every
# step forever. Its true value is the same in every state, 1 / (1 − γ) = 333.3. If the critic already knows this,
# its targets should agree with it: a correct λ-return computed from correct values gives the correct values back,
# for every λ. The guide's version does not: it adds 1 + λ + … + λ^(H−1) too much (10.7 for λ = 0.95), so a
# critic trained on it never settles at the true values.

# %%
true_value = 1.0 / (1.0 - GAMMA)
rewards = torch.ones(1, H, dtype=torch.float64)
values = torch.full((1, H + 1), true_value, dtype=torch.float64)
rows = []
for lam in (0.0, 0.5, 0.95, 1.0):
    ours = lambda_returns(rewards, values, continues, GAMMA, lam)
    guide = guide_lambda_returns(rewards, values, continues, GAMMA, lam)
    rows.append({"lambda": lam, "true value": true_value, "R_0 (with gamma)": float(ours[0, 0]),
                 "R_0 (guide)": float(guide[0, 0])})
    assert torch.allclose(ours, values[:, :-1], rtol=1e-12)                        # a fixed point: targets = values
    excess = sum(lam ** k for k in range(H))                                        # 1 + lam + ... + lam^(H-1)
    assert abs(float(guide[0, 0]) - (true_value + excess)) < 1e-9                   # the guide over-counts
print(f"true value {true_value:.2f}; the guide's excess at lambda 0.95: {sum(0.95 ** k for k in range(H)):.2f}")
pd.DataFrame(rows).round(3)

# %% [markdown]
# The figure compares both on a hockey-like rollout: the critic's values rise as a goal nears, the goal pays +10 at
# t = 11 and the game ends there (c_11 = 0). The explorer in section 5 lets you change λ and γ.

# %%
comparison = widgets.lambda_returns_comparison(LAMBDA, GAMMA)
fig = plots.plot_lambda_returns(comparison, path=plots.figure_path(NAME, "lambda_returns_vs_guide", QUICK))
print(f"R_0 {comparison['R0']:.3f} with gamma, {comparison['R0_guide']:.3f} in the guide's code; on the goal step "
      f"(t = 11) both give {comparison['returns'][11]:.1f} and {comparison['guide_returns'][11]:.1f}")

# %% [markdown]
# ## 2. The two limits
#
# With λ = 0 only the critic's next value counts: the one-step TD target `r_t + γ c_t V_{t+1}`. With λ = 1 the
# critic is consulted only at the horizon: the discounted sum of the imagined rewards plus the discounted V_H.
# Both checked on a random rollout, against formulas written out independently:

# %%
generator = torch.Generator().manual_seed(1)
B = 4
rewards = torch.randn(B, H, generator=generator, dtype=torch.float64)
values = 3 * torch.randn(B, H + 1, generator=generator, dtype=torch.float64)
continues = (torch.rand(B, H, generator=generator, dtype=torch.float64) > 0.1).double()   # some games end

td = lambda_returns(rewards, values, continues, GAMMA, 0.0)
assert torch.allclose(td, rewards + GAMMA * continues * values[:, 1:], rtol=1e-12)   # lambda = 0: one-step TD

monte_carlo = lambda_returns(rewards, values, continues, GAMMA, 1.0)
t = 3                                                         # R_3 for every rollout, summed by hand
weight = torch.cumprod(torch.cat([torch.ones(B, 1, dtype=torch.float64), GAMMA * continues[:, t:]], 1), 1)
expected = (weight[:, :-1] * rewards[:, t:]).sum(1) + weight[:, -1] * values[:, -1]
print(f"lambda = 1, R_3 against the discounted sum written out by hand: largest difference "
      f"{float((monte_carlo[:, t] - expected).abs().max()):.1e}")

# %% [markdown]
# ## 3. The slow critic
#
# The guide computes the targets with a *slow critic*: a copy of the critic whose weights follow the critic's
# weights as an exponential moving average, `slow ← 0.98 · slow + 0.02 · critic` after every update
# (`update_slow_critic`). An EMA with decay d weighs the update k steps ago by (1 − d)·dᵏ, so its average age is
# d/(1 − d) = 49 updates: roughly the guide's "~50 updates".
#
# To see the lag, we move an online `Critic(Config.quick())` at a constant speed through weight space for 300
# updates (as an optimiser would, only perfectly steady), then stop it, and update the slow copy after every step.
#
# The update itself is one call: `torch._foreach_lerp_` moves every slow parameter a fraction (1 − d) of the way
# towards its online twin, for all parameter tensors in one go.

# %%
show_source(update_slow_critic);

# %%
tracking = widgets.slow_critic_tracking(decay=config.slow_critic_decay, updates=500, ramp_updates=300)
fig = plots.plot_slow_critic(tracking, path=plots.figure_path(NAME, "slow_critic", QUICK))
d = config.slow_critic_decay
lag = tracking["lag_at_ramp_end"]
print(f"lag at the end of the ramp: {lag:.2f} updates "
      f"(d/(1-d) = {d / (1 - d):.0f}; the guide's 1/(1-d) = {1 / (1 - d):.0f})")
assert abs(lag - d / (1 - d) * (1 - d ** 300)) < 0.05 and 48 < lag < 50
# after the online critic stops, the remaining gap shrinks by a factor d per update: 0.98^50 = 0.364
gap = tracking["online_progress"] - tracking["slow_progress"]
print(f"gap 50 updates after the stop / gap at the stop: {gap[300 + 50 - 1] / gap[300 - 1]:.4f} "
      f"(0.98^50 = {d ** 50:.4f})")

# %% [markdown]
# The same function on two fresh critics, one update at a time, to see the rule itself:

# %%
online, slow = Critic(Config.quick()), Critic(Config.quick())
slow.load_state_dict(online.state_dict())
with torch.no_grad():
    for p in online.parameters():
        p.add_(1.0)                                     # the online critic jumps by 1 in every weight
    for _ in range(50):
        update_slow_critic(slow, online, d)
    moved = [float((s - (o - 1.0)).mean()) for s, o in zip(slow.parameters(), online.parameters())]
print(f"after 50 updates the slow critic has covered {moved[0]:.3f} of the jump (1 - 0.98^50 = {1 - d ** 50:.3f})")

# %% [markdown]
# One more difference from the official DreamerV3, listed in the design notes: the guide bootstraps the λ-returns
# from the slow critic, while DreamerV3 bootstraps from the online critic and uses the slow critic only to
# regularise the critic's loss. Both are `Config.critic_bootstrap` values ("slow" and "online").
#
# ## 4. Bias and variance as λ moves
#
# The guide says λ trades bias (λ = 0 trusts a critic that may be wrong) against variance (λ = 1 trusts one sampled
# rollout). We can measure it. `widgets.random_walk_lambda_study` simulates a random walk on 9 states with an exit
# at each end (the right exit pays +1), computes the true values exactly, gives the critic a constant error, and
# computes R_0 from the middle state over thousands of 15-step rollouts for each λ. Bias is the mean error of R_0,
# variance its spread across rollouts.

# %%
LAMBDAS = [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0]
N_TRAJ = 4_000 if QUICK else 40_000
poor = widgets.random_walk_lambda_study(LAMBDAS, value_error=0.3, n_trajectories=N_TRAJ)
good = widgets.random_walk_lambda_study(LAMBDAS, value_error=0.05, n_trajectories=N_TRAJ)
fig = plots.plot_lambda_bias_variance(poor, path=plots.figure_path(NAME, "bias_variance", QUICK))
pd.DataFrame({"lambda": LAMBDAS, "bias (critic off by 0.3)": poor["bias"], "variance": poor["variance"],
              "MSE (off by 0.3)": poor["mse"], "MSE (off by 0.05)": good["mse"]}).round(4)

# %%
best_poor = LAMBDAS[int(np.argmin(poor["mse"]))]
best_good = LAMBDAS[int(np.argmin(good["mse"]))]
print(f"lowest error: lambda = {best_poor} when the critic is off by 0.3, lambda = {best_good} when off by 0.05; "
      f"{poor['ended_fraction']:.0%} of the rollouts reach an exit within 15 steps")
assert 0.0 < best_poor < 1.0 and best_good == 0.0                 # a poor critic: mix; a good critic: trust it

# %% [markdown]
# Which λ is best depends on how wrong the critic is. At λ = 1 the bias does not vanish completely here: rollouts
# that have not reached an exit after 15 steps still bootstrap from the (wrong) critic at the horizon.
#
# ## 5. Explorer
#
# The hockey-like rollout from section 1 under any λ and γ. At γ = 1 the two versions agree exactly; the lower γ,
# the further apart they are.

# %%
explorer = widgets.lambda_explorer()
explorer

# %%
same = widgets.set_controls(explorer, lambda_=0.95, discount=1.0)
apart = widgets.set_controls(explorer, discount=0.9)
print(f"gamma = 1: largest difference {same['max_abs_difference']}; gamma = 0.9: R_0 {apart['R0']:.2f} against the "
      f"guide's {apart['R0_guide']:.2f}")

# %% [markdown]
# ## Exercises
#
# **1.** A single reward of +10 at t = 14, all values 0, all continues 1, γ = 0.997, λ = 0.95. What is R_0?

# %%
answer_1 = None   # a number
exercises.check_answer_goal_return(answer_1)

# %% [markdown]
# **2.** The online critic jumps to new weights and then stays there. After how many slow-critic updates
# (decay 0.98) has the slow critic covered at least half the jump?

# %%
answer_2 = None   # a whole number of updates
exercises.check_answer_half_gap_updates(answer_2)

# %% [markdown]
# **3.** Which λ turns the λ-return into the one-step TD target `r_t + γ c_t V_{t+1}`?

# %%
answer_3 = None   # a number
exercises.check_answer_td_lambda(answer_3)

# %% [markdown]
# **4. Write it yourself.** Write `lambda_returns` from the recursion at the top of this notebook, for a batch of
# rollouts.

# %%
def my_lambda_returns(rewards, values, continues, discount, lambda_):
    """rewards, continues: (B, H); values: (B, H+1), V_0 .. V_H; discount, lambda_: numbers.
    -> R_0 .. R_{H-1}, shape (B, H)."""
    # Hint: the recursion needs R_{t+1} to compute R_t, so loop over t from H - 1 down to 0, starting from V_H.
    # Collect the returns in a list and put them back in time order at the end (torch.stack along dim 1).
    raise NotImplementedError


# %%
# the check: four random 15-step rollouts, some ending early (exercises.rollout_inputs)
check_function(my_lambda_returns, lambda_returns, rollout_inputs)
