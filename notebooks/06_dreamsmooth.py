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
# # 06 · DreamSmooth: spreading a rare reward before the reward head learns it
#
# *Guide chapter 11 (DreamSmooth).*
#
# In hockey almost every reward is a small shaping term; the ±10 of a goal comes once, on the very last step of a
# game. The world model's reward head has to predict that spike from the state, and a head trained on such data
# mostly learns to say "0". DreamSmooth changes the *targets*: before training, each game's rewards are smoothed
# over time, so the head is asked for a bump a few steps wide instead of a single spike.
#
# The guide and the DreamSmooth paper smooth differently. We compare four smoothers from `dreamer_edu.dreamsmooth`:
# the guide's backward sum r̃_t = r_t + α·r̃_{t+1}, and the paper's causal EMA, Gaussian (σ = 3) and box (width 9)
# kernels. Then we look at real games with an explorer and train two small world models, with and without
# smoothing, to see what the reward head learns.

# %%

import numpy as np
import pandas as pd
import torch

from dreamer_edu import experiments
from dreamer_edu.config import Config
from dreamer_edu import dreamsmooth
from dreamer_edu.dreamsmooth import ema_smooth, smooth_rewards
from dreamer_edu.viz import dreamsmooth_plots, exercises, plots, widgets
from dreamer_edu.viz.exercises import check_function, reward_row_inputs, show_source
from dreamer_edu.viz.setup import notebook_setup

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"device: {DEVICE}; quick mode: {QUICK}")

NAME = "06_dreamsmooth"

# %% [markdown]
# ## 1. The problem: one big reward per game, on its last step
#
# We let the course's strong scripted player play the weak one and keep the games. Each episode starts with the
# reset step (reward 0), so a game of T actions has T + 1 entries.

# %%
TRAIN_GAMES, TEST_GAMES = (40, 30) if QUICK else (120, 60)
train_games = experiments.collect_episodes(TRAIN_GAMES, player="strong", opponent="weak", seed=0)
test_games = experiments.collect_episodes(TEST_GAMES, player="strong", opponent="weak", seed=10_000)
goals = dreamsmooth_plots.goal_episodes(train_games)
steps = sum(len(ep["reward"]) for ep in train_games)
big = [np.flatnonzero(np.abs(ep["reward"]) > dreamsmooth_plots.GOAL_THRESHOLD) for ep in train_games]
print(f"{len(train_games)} games, {steps} steps, {len(goals)} end in a goal; "
      f"steps with |reward| > 5: {sum(len(b) for b in big)} ({100 * sum(len(b) for b in big) / steps:.2f}%)")

# %%
# every big reward is a goal on the last step of its game (and under 1% of the steps carry one, printed above)
assert all(list(b) == ([len(ep["reward"]) - 1] if abs(ep["reward"][-1]) > 5 else []) for b, ep in zip(big, train_games))

# %% [markdown]
# ## 2. Four smoothers on one reward
#
# Take an episode of 100 steps with a single +10. A smoother is a kernel: it spreads the 10 over neighbouring
# steps. Two questions matter: *where* does the reward go (before its step, after it), and *how much* of it is
# left in total?
#
# * **guide, backward EMA** (α = 0.5): r̃_t = r_t + α·r̃_{t+1}. The reward reaches the steps before it with weights
#   1, α, α², … . These weights sum to 1/(1 − α), not 1: the total grows to 20.
# * **paper, causal EMA** (α = 0.33): r̃_t = α·r̃_{t−1} + (1 − α)·r_t. Its weights sum to 1, but they point
#   *forward* in time: the reward moves to later steps only.
# * **paper, Gaussian** (σ = 3) and **box** (width 9): centred kernels that sum to 1, spreading both ways.
#
# Here are the two EMAs as the package writes them. Each public function checks its argument and hands one episode
# at a time to a kernel; the kernel is a convolution with the weights 1, α, α², … (`_geometric`), run over the
# reversed episode for the backward sum and forwards, scaled by (1 − α), for the causal EMA. The recursion in the
# formulas and the convolution give the same numbers; the convolution is just faster in numpy.

# %%
show_source(dreamsmooth.ema_smooth, dreamsmooth._backward_ema_one, dreamsmooth.causal_ema_smooth,
            dreamsmooth._causal_ema_one, dreamsmooth._geometric);

# %% [markdown]
# The centred kernels share one helper. It first measures, for every step, how much of a kernel centred there lands
# inside the episode (`mass`: 1 in the middle, less near the ends), divides each reward by that, and only then
# spreads it: so a reward near an episode's edge still keeps its whole value.

# %%
show_source(dreamsmooth.uniform_smooth, dreamsmooth.gaussian_smooth, dreamsmooth._centred_one);

# %%
MIDDLE, LAST = 50, 99
middle = dreamsmooth_plots.smooth_all(dreamsmooth_plots.spike(100, at=MIDDLE))
last = dreamsmooth_plots.smooth_all(dreamsmooth_plots.spike(100, at=LAST))
table = pd.DataFrame({(where, m): dreamsmooth_plots.credit_split(s[m], at)
                      for where, s, at in (("middle", middle, MIDDLE), ("last step", last, LAST))
                      for m in ("none", *dreamsmooth_plots.SMOOTHERS)}).T.round(3)
table

# %%
fig = dreamsmooth_plots.plot_spike_smoothing(middle, MIDDLE, path=plots.figure_path(NAME, "spike_middle", QUICK))
fig = dreamsmooth_plots.plot_spike_smoothing(last, LAST, path=plots.figure_path(NAME, "spike_last_step", QUICK))

# %% [markdown]
# What the table says (the cell below checks the two numbers that matter most for hockey):
#
# * the paper's three kernels keep the total at exactly 10, wherever the reward is;
# * the guide's backward sum turns 10 into 20 at α = 0.5, the 1/(1 − α) factor (only a reward within a few steps
#   of the episode's start gets less, because the sum is cut off there);
# * the causal EMA never puts anything *before* the reward. In the middle of an episode it moves 3.3 to later steps;
#   on the last step there are no later steps, so it just keeps 6.7 of the 10 on the goal step and moves nothing;
# * the backward EMA, Gaussian and box move credit to the steps *before* a last-step goal, which is what a hockey
#   reward head needs: those are states from which the goal can still be foreseen.

# %%
assert abs(last["ema"].sum() - 20.0) < 1e-9                                         # the guide: 10 / (1 - 0.5)
assert abs(dreamsmooth_plots.credit_split(last["causal_ema"], LAST)["on"] - 6.7) < 1e-9   # causal: (1 - 0.33) * 10
# near the start the backward sum is cut off: a reward at step 2 counts 1 + 0.5 + 0.25 = 1.75 times
near_start = dreamsmooth_plots.smooth_all(dreamsmooth_plots.spike(100, at=2))["ema"].sum()
# and for any alpha the inflation is 1 / (1 - alpha) far from the start
far = {a: float(smooth_rewards(dreamsmooth_plots.spike(500), None, "ema", alpha=a).sum()) for a in (0.3, 0.5, 0.9)}
print(f"backward EMA (alpha 0.5) of a +10 at step 2: total {near_start:.2f}; far from the start, alpha 0.3 / 0.5 / "
      f"0.9: {far[0.3]:.2f} / {far[0.5]:.2f} / {far[0.9]:.2f} (10 / (1 - alpha))")

# %% [markdown]
# ## 3. Smoothing stops at the end of a game
#
# In the replay buffer games lie one after the other. A smoother that ran across the boundary would leak the
# next game's goal into the last steps of this one (or this goal into the next game's first steps), and the head
# would learn that a goal follows the end of a game. `dreamsmooth` smooths each episode on its own, using the
# `is_last` flags. Two games back to back: the first ends in +10, the second in −10.
#
# The splitting is done once for all smoothers: `_episodes` turns the `is_last` flags of a row into (start, stop)
# pairs and `_per_episode` runs the kernel on each slice separately.

# %%
show_source(dreamsmooth._per_episode, dreamsmooth._episodes);

# %%
game_a, game_b = dreamsmooth_plots.spike(30), -dreamsmooth_plots.spike(8)
both = np.concatenate([game_a, game_b])
is_last = np.zeros(38, bool)
is_last[[29, 37]] = True
for m in dreamsmooth_plots.SMOOTHERS:
    joint = smooth_rewards(both, is_last, method=m)
    assert (joint[:30] >= 0).all() and (joint[30:] <= 0).all()          # no -10 in game A, no +10 in game B
    without_flag = smooth_rewards(both, None, method=m)                 # what happens if the boundary is lost
    print(f"{m:>10}: steps 27-31 (A ends at 29) {np.round(joint[27:32], 2)}; "
          f"boundary ignored: {np.round(without_flag[27:32], 2)}")

# %% [markdown]
# ## 4. Explorer: real games, raw and smoothed
#
# The explorer shows games that end in a goal, end to end, with a dashed line where a new game starts. Choose a
# kernel, move α (both EMAs), σ (Gaussian) or the width (box), and show more games. The title lists each game's
# raw and smoothed reward total: the Gaussian and the box keep it, the backward EMA roughly doubles it at α = 0.5
# (the small shaping rewards are inflated too), the causal EMA loses a third of every last-step goal.

# %%
explorer = widgets.dreamsmooth_explorer(goals[:6])
explorer

# %%
shown = widgets.set_controls(explorer, method="ema", alpha=0.5, games=3)
print(f"backward EMA: raw totals {np.round(shown['raw_totals'], 2)}, smoothed {np.round(shown['smoothed_totals'], 2)}")
assert np.allclose(shown["smoothed_totals"], 2 * shown["raw_totals"], rtol=0.02)   # about 1 / (1 - 0.5)
fig = dreamsmooth_plots.plot_smoothing(shown, path=plots.figure_path(NAME, "real_games_ema", QUICK))
for m in ("gaussian", "uniform"):
    shown = widgets.set_controls(explorer, method=m)
    print(f"{m:>8}: raw totals {np.round(shown['raw_totals'], 2)}, smoothed {np.round(shown['smoothed_totals'], 2)}")
fig = dreamsmooth_plots.plot_smoothing(shown, path=plots.figure_path(NAME, "real_games_uniform", QUICK))
shown = widgets.set_controls(explorer, method="causal_ema", alpha=0.33)
goal_steps = shown["is_last"]
print(f"causal EMA on the goal steps: raw {np.round(shown['raw'][goal_steps], 2)}, "
      f"smoothed {np.round(shown['smoothed'][goal_steps], 2)}")

# %% [markdown]
# ## 5. What the reward head learns, with and without smoothing
#
# Two small world models are trained on the same games, with the same seed and the same sampled batches; one
# sees the raw rewards, the other the guide's backward EMA (α = 0.5, the package's default). Then both read
# held-out games that end in a goal, and we look at the predicted reward in the 20 steps before the goal,
# multiplied by the goal's sign (so predicting the right goal is positive). The right panel shows what each head
# is taught on the same steps: the raw spike, and the smoothed 10, 5, 2.5, … .

# %%
UPDATES = 250 if QUICK else 1500
wm_config = Config.quick(deter_size=32, hidden_size=32, batch_size=16, batch_length=32)
result = dreamsmooth_plots.compare_reward_models(train_games, test_games, wm_config, UPDATES, seed=0, before=20,
                                                 device=DEVICE)
fig = dreamsmooth_plots.plot_reward_predictions(result, path=plots.figure_path(NAME, "reward_predictions", QUICK))
print(f"{result['goals']} held-out goals; summed predicted reward over the 20 steps before the goal: "
      f"raw {result['raw_early']:+.2f}, smoothed {result['smoothed_early']:+.2f}")

# %%
# the smoothed head says "goal coming" earlier: by at least 0.1 and at least twice as much over those 20 steps
assert result["smoothed_early"] > max(result["raw_early"] + 0.1, 2 * result["raw_early"])
for key, target in (("smoothed", "smoothed_target"), ("raw", "raw_target")):      # both heads are far from
    assert result[key].mean(0)[-1] < 0.5 * result[target].mean(0)[-1]              # their goal-step target
assert np.abs(result["raw"].mean(0)).max() < 0.5                # the raw head stays close to 0
if not QUICK:                                                   # with more updates the smoothed head's bump
    late, early = result["smoothed"].mean(0)[-6:-1].mean(), result["smoothed"].mean(0)[:5].mean()
    assert late > 2 * early and late > 0.1                      # rises towards the goal, like its target

# %% [markdown]
# With this little training both heads are far from their targets: goals are under 1% of the replayed steps. What
# holds across seeds is the direction: the head trained on smoothed rewards predicts more reward towards the goal
# in the steps before it, while the raw head stays close to 0 (under 0.5 at every step). That earlier signal is what
# imagination needs: a rollout that only *approaches* a goal already sees some reward. With the full-size run
# (1500 updates) the smoothed head's prediction also grows over the last few steps before the goal, more than
# twice its level 20 steps out, the shape of its target, if still far below it.

# %% [markdown]
# ## Exercises
#
# **1.** A +10 sits far from its episode's start. What is the total after the guide's backward EMA with α = 0.8?

# %%
answer_1 = None   # a number
exercises.check_answer_backward_ema_total(answer_1)

# %% [markdown]
# **2.** A goal of +10 on the last step goes through the paper's causal EMA with α = 0.33. Which reward is the goal
# step itself trained on?

# %%
answer_2 = None   # a number
exercises.check_answer_causal_goal_step(answer_2)

# %% [markdown]
# **3.** The same last-step +10 is smoothed with the centred box of width 9. How much reward stays on the goal
# step? (Try it in the explorer first, then reason why.)

# %%
answer_3 = None   # a number
exercises.check_answer_box_goal_step(answer_3)

# %% [markdown]
# **4. Write it yourself.** Write the guide's backward EMA, `r̃_t = r_t + α · r̃_{t+1}`, for one row of rewards that
# may hold several episodes. It must never carry reward across an episode boundary: on a step with `is_last` True,
# r̃ is just that step's own reward.

# %%
def my_ema_smooth(rewards, alpha, is_last):
    """rewards: float tensor (T,); alpha: a number in [0, 1); is_last: bool tensor (T,). -> smoothed rewards (T,)."""
    # Hint: walk through time backwards with a running value. Where is_last is True the running value restarts,
    # so nothing from the next episode flows in. The very last step of the row always ends an episode.
    raise NotImplementedError


# %%
# the check: 60 random rewards with goals and episode ends (exercises.reward_row_inputs)
check_function(my_ema_smooth, ema_smooth, reward_row_inputs)
