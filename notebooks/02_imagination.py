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
# # 02 · Imagination: how far ahead can the model see?
#
# *Guide chapter 5 (imagination) and the horizon H = 15 of chapter 13.*
#
# DreamerV3's actor and critic never learn from real games directly. Every real state of a training batch is the
# start of an imagined rollout: the actor picks an action, the RSSM's **prior** (no observation) predicts the next
# state, and so on for H = 15 steps. Rewards and "is the game still on?" come from the model's heads.
#
# That is only useful if the imagined states are close to what would really happen. Here we measure it:
#
# 1. train a world model on recorded games (the recipe of notebook 01), and read the code of one imagined step;
# 2. imagine held-out games with the actions that were really played, and compare with what happened;
# 3. measure the prediction error of the puck's position against the number of steps ahead, next to two
#    model-free baselines, and see what it says about H = 15;
# 4. draw several imagined futures of the puck from one start, over the rink;
# 5. look at imagination as training runs it, with actions from the actor.
#
# At the end you write one imagination step yourself and compare it with the package's.

# %%
import time

import numpy as np
import pandas as pd
import torch

from dreamer_edu import experiments
from dreamer_edu.actor_critic import Actor
from dreamer_edu.config import Config
from dreamer_edu.envs.hockey import DT
from dreamer_edu.imagination import imagine
from dreamer_edu.distributions import sample_one_hot
from dreamer_edu.open_loop import episode_windows, error_by_horizon, first_crossing, open_loop, sample_paths
from dreamer_edu.rssm import RSSM, RSSMState
from dreamer_edu.viz import exercises, plots
from dreamer_edu.viz import world_model_plots as wmp
from dreamer_edu.viz.exercises import check_function, show_source
from dreamer_edu.viz.setup import notebook_setup

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"device: {DEVICE}; quick mode: {QUICK}")

NAME = "02_imagination"
H = Config().horizon                  # the guide's imagination horizon: 15 steps
print(f"H = {H} steps = {H * DT:.2f} s of game time")

# %% [markdown]
# ## 1. A world model to imagine with
#
# The same data and training as in notebook 01: BasicOpponent games (player one weak or strong, against the weak
# opponent), a few games with other seeds held out, the world model trained alone.

# %%
GAMES = 30 if QUICK else 120
UPDATES = 400 if QUICK else 1000
train_config = Config.quick() if QUICK else Config(batch_size=16)
episodes = (experiments.collect_episodes(GAMES // 2, "weak", "weak", seed=0)
            + experiments.collect_episodes(GAMES // 2, "strong", "weak", seed=10_000))
held_out = (experiments.collect_episodes(4, "weak", "weak", seed=50_000)
            + experiments.collect_episodes(4, "strong", "weak", seed=60_000))
buffer = experiments.fill_buffer(episodes, train_config)
start = time.time()
wm, history = experiments.train_world_model(train_config, buffer, UPDATES, seed=0, device=DEVICE)
print(f"{len(episodes)} games, {UPDATES} updates in {time.time() - start:.0f} s; "
      f"{sum(len(ep['obs']) for ep in held_out)} held-out steps")

# %% [markdown]
# ### One step of imagination
#
# Imagining is the RSSM's step without the observation. From the state (h_{t−1}, z_{t−1}) and the action a_{t−1}:
#
# * **h_t = GRU(h_{t−1}, MLP([z_{t−1}, a_{t−1}]))**: the memory is updated, deterministically (`recurrent_step`);
# * **z_t ~ p(z_t | h_t)**: the prior's probabilities (`prior_probs`, with the 1% mix of notebook 01) and one
#   one-hot sample of each categorical (`sample_one_hot`).
#
# Observing differs only in the second line: there the posterior also reads the encoded observation. Here are the
# three methods of the package's `RSSM`:

# %%
show_source(RSSM.recurrent_step, RSSM.prior_probs, RSSM.imagine_step);

# %% [markdown]
# ## 2. Imagined rollouts against reality
#
# From a held-out game: the model observes `CONTEXT` steps (posterior), then imagines the next ones with the prior,
# driven by the actions that were really played. The prior samples z, so each run imagines a different future;
# we draw 8 of them. Black is what really happened.

# %%
CONTEXT, AHEAD = 15, 2 * H
game = experiments.episode_batch(held_out[1], DEVICE)
window = {k: v[:, 30:30 + CONTEXT + AHEAD] for k, v in game.items()}
torch.manual_seed(1)
futures = sample_paths(wm, window["obs"][0], window["action"][0], CONTEXT, samples=8)   # (8, T, 18)
fig = wmp.plot_open_loop(window["obs"][0], futures, CONTEXT, path=plots.figure_path(NAME, "rollouts", QUICK),
                         title=f"8 imagined futures after {CONTEXT} observed steps (real actions)")

# %%
spread = futures[:, :, 12:14].std(0).mean(-1)                       # spread of the puck position over samples (T,)
print(f"spread of the puck over the samples: {spread[CONTEXT - 1]:.2f} m at the last observed step, "
      f"{spread[CONTEXT - 1 + H]:.2f} m {H} steps later")

# %% [markdown]
# ## 3. Error against the number of steps ahead
#
# One rollout is an anecdote. `open_loop.error_by_horizon` cuts every held-out game into windows (a new start every
# few steps), lets the model observe `CONTEXT` steps of each and imagine 40 more with the real actions, and
# averages the distance between the imagined and the real puck position for each number of steps ahead.
#
# Two baselines that need no model:
#
# * **stays**: the puck stays where it was last seen;
# * **constant velocity**: it keeps the last seen velocity, x + k·dt·v (dt = 0.02 s), ignoring walls, rackets and
#   friction.

# %%
AHEAD_MAX = 40
THRESHOLD = 1.0                                                     # metres; the goal mouth is 2.5 m wide
torch.manual_seed(2)
result = error_by_horizon(wm, held_out, CONTEXT, AHEAD_MAX, stride=5, device=DEVICE)
crossing = first_crossing(result["steps"], result["model"], THRESHOLD)
fig = wmp.plot_error_by_horizon(result, THRESHOLD, mark=H, path=plots.figure_path(NAME, "error_by_horizon", QUICK))
rows = [1, 2, 5, 10, H, 20, 30, AHEAD_MAX]
pd.DataFrame({k: result[k][[r - 1 for r in rows]] for k in ("model", "stays", "constant velocity")},
             index=pd.Index(rows, name="steps ahead")).round(2)

# %%
print(f"{result['starts']} starts; error while observing {result['posterior']:.2f} m; model error passes "
      f"{THRESHOLD} m at step {crossing}; at H = {H}: model {result['model'][H - 1]:.2f} m, "
      f"stays {result['stays'][H - 1]:.2f} m, constant velocity {result['constant velocity'][H - 1]:.2f} m")

# %% [markdown]
# What the measurement shows (the numbers are printed above; the project's tests check each statement on the
# quick run's model):
#
# * For one or two steps, constant velocity beats the model easily: the physics over 20 ms is almost trivial, and
#   our small model's decoder is not that precise even while it observes (the dotted line).
# * Constant velocity then falls apart (walls, rackets, friction), while the model's error grows slowly. By
#   H = 15 the model is better than both baselines: it has learned something real about where the puck goes.
# * Its error still passes 1 m before step 15. After 0.3 s of imagination this model only knows roughly where the
#   puck is; by 40 steps it is no better than guessing that the puck did not move (the small quick-mode model
#   is even a little worse there).
#
# So for *this* model (trained for minutes on a few thousand steps) H = 15 is already at the edge of what it
# predicts well. Two things make that less bad than it sounds. DreamerV3 keeps training its world model
# throughout, on far more data than here, so we would expect this curve to keep dropping. And imagination does
# not need the exact puck position at step 15: what the actor learns from are the predicted rewards and
# continues along the path and the critic's value at its end, which summarises everything after H. A longer horizon would feed the actor more
# steps of an increasingly blurry future; a shorter one leans harder on the critic.

# %%
model_err, stays, const = result["model"], result["stays"], result["constant velocity"]
print(f"1 step ahead: model {model_err[0]:.2f} m, constant velocity {const[0]:.2f} m; "
      f"{AHEAD_MAX} steps ahead: model {model_err[-1]:.2f} m, stays {stays[-1]:.2f} m")
assert const[0] < model_err[0]                                      # one step: simple physics wins ...
assert model_err[H - 1] < min(stays[H - 1], const[H - 1])           # ... at H = 15 the model beats both baselines
assert crossing is not None and crossing <= H                       # yet its error passes 1 m before step 15

# %% [markdown]
# ## 4. Imagined puck paths over the rink
#
# The same idea in space: from one start in a held-out game (a moment when the puck really travels about 2 m in
# the next H steps), we imagine the next H steps 12 times with the real actions and draw the puck's path.
# The paths zigzag because every step decodes a fresh sample of z; the spread of their end points is the
# model's own uncertainty about where the puck will be.

# %%
windows = episode_windows(held_out, CONTEXT + H, stride=5, device=DEVICE)
travel = (windows["obs"][:, -1, 12:14] - windows["obs"][:, CONTEXT - 1, 12:14]).norm(dim=-1)   # (N,) metres
pick = int((travel - 2.0).abs().argmin())
torch.manual_seed(3)
paths = sample_paths(wm, windows["obs"][pick], windows["action"][pick], CONTEXT, samples=12)   # (12, T, 18)
fig = wmp.plot_imagined_paths(windows["obs"][pick], paths, CONTEXT,
                              path=plots.figure_path(NAME, "imagined_paths", QUICK))
ends = paths[:, -1, 12:14]
miss = (ends - windows["obs"][pick, -1, 12:14]).norm(dim=-1)
print(f"the puck really moved {travel[pick]:.2f} m; imagined end points are {miss.mean():.2f} m from the real one "
      f"on average and {ends.std(0).mean():.2f} m apart (std; {paths[:, CONTEXT - 1, 12:14].std(0).mean():.2f} m "
      f"at the last observed step)")

# %% [markdown]
# ## 5. Imagination with the actor
#
# Above, the actions were the real ones, so that the imagined future could be checked against reality. In training
# there is no reality to compare with: `imagination.imagine` starts from every posterior state of the batch and
# lets the **actor** choose each action. Here with an untrained actor, from all posterior states of a held-out
# game. The model's heads then give a reward and a continue probability for every imagined state; these (and the
# critic) are all that the actor and critic learn from.
#
# The loop is short: the actor reads the features of the last state and samples an action, and `imagine_step`
# (section 1) takes the prior one step further. No gradient reaches the world model.

# %%
show_source(imagine);

# %%
batch = experiments.episode_batch(held_out[0], DEVICE)
with torch.no_grad():
    states, _, _ = wm.rssm.observe(wm.embed(batch["obs"]), batch["action"], batch["is_first"])
starts = states.flatten_batch().detach()                            # (N, ...): every real state starts a rollout
actor = Actor(train_config).to(DEVICE)
torch.manual_seed(4)
with torch.no_grad():                                               # looking only: no gradients needed
    traj = imagine(wm.rssm, actor, starts, H)
    rewards = wm.reward(traj.features[:, 1:])                       # (N, H)
    continues = wm.continue_prob(traj.features[:, 1:])              # (N, H)
n = starts.deter.shape[0]
print(f"{n} starts; features {tuple(traj.features.shape)}, actions {tuple(traj.actions.shape)}, "
      f"rewards {tuple(rewards.shape)}, continues {tuple(continues.shape)}")
print(f"mean continue probability {continues.mean():.3f} (goals are rare: the game goes on), "
      f"mean |reward| {rewards.abs().mean():.3f}, largest |action| {traj.actions.abs().max():.3f}")

# %% [markdown]
# ## Exercises
#
# **1.** At the guide's sizes (batch of 32 sequences of 32 steps, H = 15), how many imagined states does one
# update of the actor and critic produce (not counting the starts)?

# %%
answer_1 = None   # an integer
exercises.check_answer_imagined_states(answer_1)

# %% [markdown]
# **2.** The puck was last seen at x = 1.0 m, moving with vx = 5 m/s. Where does the constant-velocity baseline put
# it 10 steps later?

# %%
answer_2 = None   # x in metres
exercises.check_answer_constant_velocity(answer_2)

# %% [markdown]
# **3.** How many seconds of game time does the guide's horizon H = 15 cover?

# %%
answer_3 = None   # seconds
exercises.check_answer_horizon_seconds(answer_3)

# %% [markdown]
# **4. Write one imagination step yourself.** Fill in `my_imagine_step` with the two lines of the step from
# section 1: the new memory h_t from h_{t−1}, z_{t−1} and the action, then z_t drawn from the prior. Use the trained
# model's pieces: `rssm.img_in` (the MLP before the GRU), `rssm.gru` (a `GRUCell`: input first, old h second),
# `rssm.prior_probs` and `sample_one_hot`. Try it without scrolling back to the source.
#
# z_t is random, so the check reseeds torch with the same seed just before your step and before the package's
# `rssm.imagine_step`: a correct step then draws exactly the same z_t. (Drawing with another sampler, say
# `torch.multinomial`, would be correct too but would use the random numbers differently; use `sample_one_hot`.)

# %%
rssm = wm.rssm


def my_imagine_step(prev: RSSMState, action: torch.Tensor) -> RSSMState:
    # prev.deter is h_{t-1} (B, D), prev.stoch is z_{t-1} (B, L, K) one-hot, action is a_{t-1} (B, 4)
    # 1. h_t: flatten z_{t-1}, put it next to the action, pass that through rssm.img_in, then the GRU cell
    # 2. z_t: the prior's probabilities from h_t, then one one-hot sample of each categorical
    # return RSSMState(h_t, z_t)
    raise NotImplementedError


# %%
def make_step_inputs(generator):
    batch = 6
    deter = torch.randn(batch, rssm.deter_size, generator=generator)                 # a random h_{t-1}
    classes = torch.randint(rssm.latent_classes, (batch, rssm.latent_length), generator=generator)
    stoch = torch.nn.functional.one_hot(classes, rssm.latent_classes).float()          # a random one-hot z_{t-1}
    action = torch.rand(batch, 4, generator=generator) * 2 - 1                        # an action in [-1, 1]
    seed = int(torch.randint(2 ** 31 - 1, (1,), generator=generator))                 # the seed of the draw
    return RSSMState(deter.to(DEVICE), stoch.to(DEVICE)), action.to(DEVICE), seed


def seeded(step):
    """Run ``step(prev, action)`` right after seeding torch: the same seed gives the same random draw."""
    def run(prev, action, seed):
        torch.manual_seed(seed)
        with torch.no_grad():
            return step(prev, action)
    return run


check_function(seeded(my_imagine_step), seeded(rssm.imagine_step), make_step_inputs)
