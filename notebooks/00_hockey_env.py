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
# # 00 · The hockey game
#
# *The setting of the whole guide: chapters 1-2 (what the agent sees and does), 12 (playing games against the
# BasicOpponent) and 15 (the hockey-specific choices).*
#
# Two rackets and a puck on a 10 m × 8 m table seen from above. Player one (red) plays on the left and tries to
# push the puck into the right goal; player two (blue) defends it and attacks the left one. A racket that touches
# a slow puck catches it, carries it for a moment and then shoots it (or shoots earlier when asked). A goal ends
# the game at once; otherwise the clock ends it after 250 steps of 20 ms. Besides these full matches (mode
# `NORMAL`) there are two short drills: `TRAIN_SHOOTING` (the puck lies in player one's half) and `TRAIN_DEFENSE`
# (the puck is shot at player one's goal).
#
# This notebook looks at the game before any learning: what the 18 observation numbers and the 4 action numbers
# mean, what a game looks like, how often the course's scripted players win, and why the reward makes learning
# hard.

# %%

import numpy as np
import pandas as pd
import torch

from dreamer_edu.checkpoint import shipped_agents
from dreamer_edu.config import Config
from dreamer_edu.envs import BasicOpponent, HockeyEnv, Mode, make_env
from dreamer_edu.envs import hockey as game_rules
from dreamer_edu.evaluate import load_agent, record_game
from dreamer_edu.experiments import collect_episodes
from dreamer_edu.viz import exercises, plots
from dreamer_edu.viz import hockey as viz
from dreamer_edu.viz.setup import notebook_setup

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"device: {DEVICE} (the game runs on the CPU); quick mode: {QUICK}")

NAME = "00_hockey_env"
GAMES = 30 if QUICK else 400        # games per matchup
SEED = 0

# %% [markdown]
# ## 1. Making the game
#
# `make_env` gives the one-player view the agent trains on: we send player one's 4 action numbers, an opponent
# (here the weak BasicOpponent) answers for player two, and we get player one's 18 observation numbers back. Under
# it sits `HockeyEnv`, the two-player game, whose `step` takes both players' actions (8 numbers).

# %%
env = make_env(mode="NORMAL", opponent="weak")
obs, info = env.reset(seed=SEED)
print("observation space:", env.observation_space)
print("action space:     ", env.action_space)
print("two-player game:  ", type(env.game).__name__, "with action space", env.game.action_space)
print(f"table {game_rules.W:g} m x {game_rules.H:g} m, one step {1000 * game_rules.DT:g} ms, "
      f"clock limits {game_rules.MAX_TIMESTEPS}")
pd.DataFrame({"mode": [m.name for m in Mode],
              "steps of a game without a goal": [viz.max_game_steps(m.name) for m in Mode]}).set_index("mode")

# %% [markdown]
# The time limit is 250, but a game that nobody wins lasts 251 steps: the clock is checked after the step
# counter has reached 250. The drills last at most 81. We check that on real games in the drills (player two
# stands still there):

# %%
drills = {mode: collect_episodes(10, player="weak", opponent="none", mode=mode, seed=SEED)
          for mode in ("TRAIN_SHOOTING", "TRAIN_DEFENSE")}
drill_lengths = {mode: [len(ep["reward"]) - 1 for ep in eps] for mode, eps in drills.items()}
print(drill_lengths)
assert all(max(lengths) <= 81 for lengths in drill_lengths.values())

# %% [markdown]
# ## 2. What the agent sees and does
#
# Observations are raw physical numbers, in metres, radians, metres per second and steps, measured from the
# centre of the table; nothing is scaled to [-1, 1]. The columns `low`/`high` are the 1st and 99th percentiles
# over the weak-vs-weak games we collect here; `min`/`max` the extremes.

# %%
weak_games = collect_episodes(GAMES, player="weak", opponent="weak", seed=SEED)
random_games = collect_episodes(GAMES, player="random", opponent="weak", seed=SEED)
obs_table = viz.observation_table(weak_games)
obs_table

# %% [markdown]
# What the table shows:
#
# * each racket stays in its own half: player one's x is always negative, player two's positive (a braking force
#   near the centre line keeps them out of the other half);
# * rackets move at up to about 10 m/s, the puck at up to about 60 m/s: that is a shot, which adds 60 m/s along
#   the racket's heading; a held puck's timer starts at 15 and counts down;
# * entries 12-15 are the puck; all others describe a racket (or its timer).

# %% [markdown]
# The actions: four numbers, each clipped to [-1, 1] by the game; the units column says what one unit does.
# The ranges are those the weak BasicOpponent used when it played as player one, and those of uniformly random
# actions.

# %%
action_table = viz.action_table(weak_games)
action_table["random low"] = viz.action_table(random_games)["low"]
action_table["random high"] = viz.action_table(random_games)["high"]
action_table

# %% [markdown]
# The weak bot uses the full range only for the x force and rarely turns hard; its "shoot" is either 0 or 1.

# %%
weak_actions = np.concatenate([ep["action"][1:] for ep in weak_games])        # (steps, 4)
print("values of 'shoot' the weak bot used:", np.unique(weak_actions[:, 3]))

# %% [markdown]
#
# Now we check the main facts of the tables against the game itself:
#
# 1. `obs[0:2]` is player one's racket position minus the table centre (5, 4); at a reset it is (-3, 0), and
#    player two stands at (3, 0);
# 2. `obs_agent_two()`, what player two sees, is player one's view turned by 180°: the two players' blocks swap,
#    positions and velocities change sign, angles do not, and the timers swap. So both players see themselves on
#    the left, and one policy can play both sides;
# 3. an action outside [-1, 1] acts exactly like its clipped version.

# %%
game = env.game
centre = np.array([game_rules.CENTER_X, game_rules.CENTER_Y])
start, _ = env.reset(seed=3)                                        # a reset state ...
print("at the reset: player one at", start[0:2], "player two at", start[6:8], "velocities", start[[3, 4, 9, 10]])
obs = viz.play_to(env, 20, player="weak", seed=3)                   # ... and the state 20 steps later
assert np.allclose(obs[0:2], np.array(game.player1.position) - centre, atol=1e-5)  # 1.

two = game.obs_agent_two()                                                        # 2.
assert np.allclose(two[0:2], -obs[6:8]) and np.allclose(two[3:5], -obs[9:11])    # positions, velocities negated
assert np.isclose(two[2], obs[8]) and np.isclose(two[5], obs[11])                # angles kept
assert np.allclose(two[12:16], -obs[12:16])                                       # the puck, negated
assert two[16] == obs[17] and two[17] == obs[16]                                  # the timers swap

clipped, unclipped = HockeyEnv(), HockeyEnv()                                     # 3.
clipped.reset(seed=SEED)
unclipped.reset(seed=SEED)
big = np.array([3.0, -7.0, 2.0, 0.2, -5.0, 0.5, -1.5, 9.0], np.float32)
for _ in range(5):
    a, _, _, _, _ = unclipped.step(big)
    b, _, _, _, _ = clipped.step(np.clip(big, -1, 1))
assert np.array_equal(a, b)

# %% [markdown]
# The picture below is that state, 20 steps into a game: the rackets, the puck, and their velocities as arrows,
# labelled with the observation entries that hold them (a racket's position is a point on its body, the origin of
# its shape). Crosses mark where the three stood at the reset, all at rest. Player one has just caught the puck,
# so its timer `obs[16]` reads 15.

# %%
print(f"timers: obs[16] = {obs[16]:g}, obs[17] = {obs[17]:g}")
fig = viz.plot_rink(game, obs, path=plots.figure_path(NAME, "rink", QUICK), start=start)

# %% [markdown]
# ## 3. A game on screen
#
# With `render_mode="rgb_array"` the game draws each state as a 480 × 600 image. We record a game of the strong
# BasicOpponent (left) against the weak one (right) that ends with a goal by player one, show a few frames, and
# save the whole game as a GIF.

# %%
frames, final_info, game_seed = viz.record_match(player="strong", opponent="weak", seed=SEED, winner=1)
strip = viz.frame_indices(len(frames), 5)
fig = viz.plot_frame_strip(frames, strip, path=plots.figure_path(NAME, "frames", QUICK))
gif = viz.save_game_gif(frames, plots.figure_path(NAME, "game", QUICK).with_suffix(".gif"))
print(f"game with seed {game_seed}: {len(frames) - 1} steps, winner {final_info['winner']}; "
      f"frames of {frames[0].shape} {frames[0].dtype}; GIF: {gif.name}")

# %% [markdown]
# ## 4. Who wins?
#
# The course's scripted player, the BasicOpponent, comes in a weak and a strong version (they differ only in how
# hard the racket is steered towards its target). We play three matchups, each time with player one named first
# and the weak bot as player two: random actions vs weak, weak vs weak, strong vs weak. The rates come with 95%
# Wilson intervals: with 30 games an interval is about ±15 percentage points wide, with 400 about ±5.

# %%
matchups = {"random vs weak": random_games, "weak vs weak": weak_games,
            "strong vs weak": collect_episodes(GAMES, player="strong", opponent="weak", seed=SEED)}
outcomes = viz.outcome_table(matchups)
fig = viz.plot_outcomes(outcomes, path=plots.figure_path(NAME, "outcomes", QUICK))
viz.outcome_summary(outcomes)

# %%
highs, lows = (outcomes[[f"{o}_{end}" for o in ("win", "draw", "loss")]].to_numpy() for end in ("high", "low"))
half_width = (highs - lows).max() / 2
print(f"widest interval: +-{100 * half_width:.1f} percentage points with {GAMES} games")

# %% [markdown]
# What holds in every run we tried:
#
# * random actions lose more often than they win (by at least 15 points), and get by far the lowest return (the
#   random racket is far from the puck, see section 5);
# * the strong bot wins at least 10 points more often than random actions do;
# * weak against weak, a draw is the most common result;
# * and no scripted player wins more than 70% of its games: beating the weak bot often is a real task.

# %%
print(f"steering gain kp: weak bot {BasicOpponent(weak=True).kp}, strong bot {BasicOpponent(weak=False).kp}")

# %% [markdown]
# ## 5. Why the reward is sparse
#
# Player one's reward in each step (read in `envs/hockey.py`, `get_reward`) is the sum of two parts:
#
# * the **goal reward**: +10 in the step in which player one scores, −10 when player two scores, 0 otherwise
#   (a game that runs out of time gives no goal reward at all);
# * a small **closeness penalty**: while the puck lies in player one's half and is not moving away, −0.0576 per
#   metre of distance between player one's racket and the puck, in every such step. It is never positive.
#
# `reward_parts` splits each recorded reward into these two parts; we count how often each one is nonzero.

# %%
stats = {label: viz.reward_statistics(eps) for label, eps in matchups.items()}
pd.DataFrame({label: {"steps": s["steps"], "mean game length": s["lengths"].mean(),
                      "steps with a goal reward (%)": 100 * s["goal_step_fraction"],
                      "steps with a closeness penalty (%)": 100 * s["shaping_step_fraction"],
                      "mean goal return": s["goal_returns"].mean(),
                      "mean closeness return": s["shaping_returns"].mean()}
              for label, s in stats.items()}).round(3)

# %%
print(f"goal reward {viz.goal_reward():g}; closeness penalty {viz.closeness_factor():.4f} per metre; "
      f"per-step closeness penalty between {min(s['min_shaping'] for s in stats.values()):.3f} and "
      f"{max(s['max_shaping'] for s in stats.values()):.3f}")
assert all(s["goal_step_fraction"] < 0.005 for s in stats.values())     # the guide's "1%": at least twice too high
assert all(s["shaping_step_fraction"] > 0.10 for s in stats.values())   # the guide's "99% zero": more than 10% are not
draws = [len(ep["reward"]) - 1 for eps in matchups.values() for ep in eps if ep["winner"] == 0]
assert set(draws) == {251}                                              # every game without a goal: 251 steps

# %% [markdown]
# Fewer than one step in 200 carries a goal reward: at most one per game, in its last step. The guide's
# picture ("1% of timesteps: reward = ±10", ch. 10) overstates that at least twice over, and its "99% of
# timesteps: reward = 0" misses the closeness penalty, which is nonzero in more than 10% of the steps in every
# matchup (see the table). The random player's return is dominated by that penalty: its racket wanders far from
# the puck.
#
# Left: one decided game's rewards; middle: how long games last (draws pile up at 251 steps); right: returns.

# %%
decided = next(ep for ep in weak_games if ep["winner"] != 0)
fig = viz.plot_rewards(decided, stats, path=plots.figure_path(NAME, "rewards", QUICK))

# %% [markdown]
# What this means for learning:
#
# * **The world model's reward head** (notebook 05) sees a ±10 in fewer than one step of every 200 and small
#   negative numbers elsewhere. A head trained by mean-squared error drifts to the average and misses the goals;
#   the two-hot head over symlog bins keeps the rare ±10 as a separate mode.
# * **Credit assignment** (notebook 06, DreamSmooth): the goal reward arrives in the last step, long after the
#   moment that decided it. When the strong bot scores, its last catch of the puck (the start of its carry, aim
#   and shot) lies typically more than 15 steps before the goal (the median is measured below), so longer than
#   the 15-step imagination horizon: the critic has to carry the goal's value backwards, and spreading the
#   reward over the steps before the goal gives the reward head and the critic an earlier signal.
# * The closeness penalty is dense but only says "be near the puck when it is in your half": it cannot teach
#   scoring.

# %%
gaps = viz.catch_to_goal_steps(matchups["strong vs weak"])
horizon = Config().horizon
low, mid, high = np.percentile(gaps, [10, 50, 90])
print(f"{len(gaps)} goals by the strong bot after a catch: median {mid:.0f} steps from the last catch to the "
      f"goal (10%-90%: {low:.0f}-{high:.0f}); imagination horizon {horizon}")
assert horizon == 15 and len(gaps) >= 5 and np.median(gaps) > horizon

# %% [markdown]
# ## Where the notebooks lead: a trained agent
#
# The chapters that follow build DreamerV3 piece by piece, and notebook 08 trains it. The repository also ships one
# agent that has already been trained, on a 2-core CPU against the weak bot (`checkpoints/quick-cpu-v1/`, with a
# model card beside it that says how long it trained and how often it wins over 1,000 games). Here it plays one
# full game as player one against the *strong* bot, greedily (no exploration):

# %%
SHIPPED = "quick-cpu-v1"
if SHIPPED in shipped_agents():
    from IPython.display import Image, display

    shipped, _, shipped_counters = load_agent(SHIPPED)
    gif_path = plots.figure_path(NAME, "trained_agent_vs_strong", QUICK).with_suffix(".gif")
    info = record_game(shipped, gif_path, opponent="strong", seed=0, fps=25)
    result = {1: "the trained agent scored", 0: "no goal before time ran out", -1: "the strong bot scored"}
    print(f"{SHIPPED} ({shipped_counters['env_steps']:,} env steps of training): {result[int(info['winner'])]}")
    display(Image(filename=str(gif_path)))
else:
    print(f"this copy of the repository has no shipped agent {SHIPPED!r}")

# %% [markdown]
# ## Exercises
#
# **1.** How many of the 18 observation entries describe the puck?

# %%
answer_1 = None   # a whole number
exercises.check_answer_puck_entries(answer_1)

# %% [markdown]
# **2.** What is the largest return (sum of rewards) that a single NORMAL game can give player one?

# %%
answer_2 = None   # a number
exercises.check_answer_largest_return(answer_2)

# %% [markdown]
# **3.** How many steps does a NORMAL game last when nobody scores?

# %%
answer_3 = None   # a whole number
exercises.check_answer_steps_without_goal(answer_3)
