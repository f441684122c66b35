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
# # 08 · The whole trainer, run for real
#
# *Guide chapters 12 (the training loop), 13 (hyperparameters) and 14 (pitfalls and debugging).*
#
# Every piece of the earlier notebooks now runs together: the world model learns from replayed games, the actor
# and critic learn in its imagination, and the actor plays new games that go back into the replay buffer. In this
# notebook we
#
# 1. read what `Trainer` does and how often it updates (the replay ratio),
# 2. take one update apart and run it by hand, step by step, and check it against `Dreamer.train_step`,
# 3. find the command line that does the same thing,
# 4. train a small agent on a CPU, with the chapter-14 diagnostics drawn live while it learns,
# 5. resume a run from its checkpoint,
# 6. evaluate the trained agent honestly, with error bars, and watch one of its games,
# 7. see what the guide's full configuration costs, and run it on a GPU if you have one.

# %%
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from IPython.display import Image, display

import dreamer_edu
from dreamer_edu.__main__ import build_parser
from dreamer_edu.actor_critic import behaviour_losses, update_slow_critic
from dreamer_edu.agent import Dreamer, clip_and_step
from dreamer_edu.checkpoint import shipped_agents
from dreamer_edu.config import Config
from dreamer_edu.distributions import gaussian_entropy_per_dim
from dreamer_edu.envs import make_env
from dreamer_edu.envs.hockey import MAX_TIMESTEPS
from dreamer_edu.evaluate import load_agent, play_games, record_game, wilson_interval
from dreamer_edu.experiments import collect_episodes, fill_buffer
from dreamer_edu.games import agent_actions, play_game
from dreamer_edu.imagination import imagine
from dreamer_edu.trainer import EVAL_SEED, Trainer, default_run_dir
from dreamer_edu.viz import exercises, plots
from dreamer_edu.viz.live import LiveDiagnostics, require_gpu
from dreamer_edu.viz.setup import notebook_setup

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"device available: {DEVICE} (the small run below stays on the CPU); quick mode: {QUICK}")

NAME = "08_full_training"
STEPS = 1_000 if QUICK else 9_000          # environment steps of the small training run
MORE_STEPS = 160 if QUICK else 6_000      # environment steps added after resuming the run
EVAL_EVERY = 400 if QUICK else 3_000       # evaluate the greedy policy this often (in env steps)
GAMES = 10 if QUICK else 50                # games per evaluation during training
MATCH_GAMES = 4 if QUICK else 50          # games per matchup in section 6
SPEED_UPDATES = 1 if QUICK else 5          # timed updates of the guide's config in section 7 (after one warm-up)
SPEED_ACT_GAMES = 1 if QUICK else 3       # timed games of acting in section 7 (up to 250 steps each)

# %% [markdown]
# ## 1. What the trainer does
#
# `Trainer.train()` (in `dreamer_edu/trainer.py`, worth reading top to bottom) runs this loop:
#
# * **warmup**: `warmup_episodes` games with uniformly random actions, so the replay buffer holds some goals and
#   some misses before the first gradient step;
# * **one environment step at a time**: the agent acts (one posterior step of the RSSM, then a sample from the
#   actor), the step is stored, and a finished game goes into the replay buffer;
# * **the replay ratio** decides how much learning each environment step pays for. We use the official
#   DreamerV3 meaning: *replayed time steps per environment step*. One update replays a whole batch,
#   `batch_size × batch_length` steps, so there are `replay_ratio / (batch_size × batch_length)` updates per
#   environment step. The guide's own loop reads "32" as 32 updates per step; the two readings differ by a
#   factor of 1024 at the guide's batch size, which is why the trainer prints both numbers when it starts;
# * **evaluation** every `eval_every_steps`: `eval_games` games with the actor's most likely action, written to
#   `eval.csv` and TensorBoard. The games run side by side (`eval_parallel` at once), so that one batched call
#   of the policy acts in all of them; that makes an evaluation several times faster than game after game;
# * **checkpoints** between games every `checkpoint_minutes`, and always at the end: weights, optimisers, the
#   replay buffer, the counters and every random generator, so a resumed run continues exactly.
#
# The table compares the guide's configuration (`Config()`) with the small one we train below (`Config.quick()`).

# %%
guide, small = Config(), Config.quick()
schedule = pd.DataFrame({
    name: {"replay ratio (replayed steps per env step)": c.replay_ratio,
           "batch (sequences x steps)": f"{c.batch_size} x {c.batch_length}",
           "updates per env step": c.updates_per_env_step, "env steps per update": 1 / c.updates_per_env_step,
           "warmup games": c.warmup_episodes, "parameters (M)": round(Dreamer(c).num_parameters() / 1e6, 2),
           "total env steps": c.total_env_steps}
    for name, c in (("guide: Config()", guide), ("small: Config.quick()", small))})
schedule

# %%
# the guide's own loop makes 32 updates per env step: 1024 times as many as the official reading
assert 32 / guide.updates_per_env_step == 1024
# a NORMAL game lasts at most 250 steps: with the guide's config, that is 250 / 32 = 7.8 updates per game at most
print(f"updates in a game of {MAX_TIMESTEPS['NORMAL']} steps: {MAX_TIMESTEPS['NORMAL'] * guide.updates_per_env_step:g} "
      f"(guide's Config()), {MAX_TIMESTEPS['NORMAL'] * small.updates_per_env_step:g} (Config.quick())")

# %% [markdown]
# ## 2. One update, by hand
#
# Everything the trainer learns, it learns in `Dreamer.train_step`: one call, one batch of replayed sequences,
# three optimiser steps. Before handing the loop to the trainer we run one update ourselves, with the very
# functions `Dreamer.update` calls (`dreamer_edu/agent.py` reads top to bottom in the same order), and then check
# that the package's own `train_step` on the same batch, from the same weights and the same random seed, ends
# with exactly the same weights: not close, equal to the last bit.
#
# Two agents start from the same seed, so their weights are equal; one batch comes from a replay buffer of a few
# random games against the weak bot.

# %%
buffer = fill_buffer(collect_episodes(4, player="random", opponent="weak", seed=0), small)
batch_np = buffer.sample(small.batch_size, small.batch_length)       # numpy arrays, (B, T, ...)
torch.manual_seed(1)
by_hand = Dreamer(small)
torch.manual_seed(1)
reference = Dreamer(small)
batch = by_hand.batch_to_torch(batch_np)                              # tensors on the agent's device
for key, value in batch.items():
    print(f"{key:12s} {str(tuple(value.shape)):14s} {value.dtype}")

# %% [markdown]
# **Step 1, the world model.** It observes the B sequences of T real steps (the posterior), predicts each
# observation, reward and continue flag back from its state, and pays the two KL terms. One backward pass and one
# clipped Adam step.

# %%
torch.manual_seed(7)                       # the update draws latent samples and actions: fix the seed
by_hand.train()
world_loss, states, world_metrics = by_hand.world_model.loss(batch)
by_hand.world_opt.zero_grad(set_to_none=True)
world_loss.backward()
clip_and_step(by_hand.world_opt, by_hand.world_model, small.grad_clip)
print(f"posterior states: h {tuple(states.deter.shape)}, z {tuple(states.stoch.shape)}")
pd.Series({k: float(v) for k, v in world_metrics.items()}).round(3)

# %% [markdown]
# **Steps 2 and 3, imagination and the behaviour losses.** Every one of the B × T posterior states starts an
# imagined rollout of H steps, with the actor choosing the actions and the prior predicting what follows. The
# returns of those rollouts (lambda returns, scaled by the Moments range S) train the critic and the actor.

# %%
start = states.detach().flatten_batch()                               # (B*T, ...): the rollouts' starts
start_continue = 1.0 - batch["is_terminal"].flatten().float()         # (B*T,): no rollout from a finished game
rollout = imagine(by_hand.world_model.rssm, by_hand.actor, start, small.horizon)
actor_loss, critic_loss, behaviour = behaviour_losses(by_hand.world_model, by_hand.actor, by_hand.critic,
                                                      by_hand.slow_critic, by_hand.moments, rollout,
                                                      start_continue, small)
print(f"imagined features {tuple(rollout.features.shape)}: {start.deter.shape[0]} starts x (H + 1) states")
pd.Series({k: float(v) for k, v in behaviour.items()}).round(3)

# %% [markdown]
# **Step 4, the optimiser steps and the slow critic.** The two losses touch disjoint parameters, so one backward
# pass serves both; then each network takes its clipped Adam step, and the slow critic moves 2% of the way towards
# the critic.

# %%
by_hand.actor_opt.zero_grad(set_to_none=True)
by_hand.critic_opt.zero_grad(set_to_none=True)
(actor_loss + critic_loss).backward()
clip_and_step(by_hand.actor_opt, by_hand.actor, small.grad_clip)
clip_and_step(by_hand.critic_opt, by_hand.critic, small.grad_clip)
update_slow_critic(by_hand.slow_critic, by_hand.critic, small.slow_critic_decay)

torch.manual_seed(7)                       # the same random draws for the package's own update
package_metrics = reference.train_step(batch_np)
differ = [name for (name, mine), theirs in zip(by_hand.state_dict().items(), reference.state_dict().values())
          if not torch.equal(mine, theirs)]
print(f"{len(by_hand.state_dict())} weight and buffer tensors compared; different: {differ or 'none'}")
assert not differ and float(package_metrics["world/loss"]) == float(world_loss.detach())

# %% [markdown]
# ## 3. The same thing from the command line
#
# Everything in this notebook is also a shell command. The full-mode run below (section 4, then its resume in
# section 5) is
#
# ```
# python -m dreamer_edu train --quick --mode TRAIN_SHOOTING --opponent none --seed 42 --steps 9000 --threads 1 \
#     --config-override eval_every_steps=3000 eval_games=50 --run-dir runs/shooting
# tensorboard --logdir runs/shooting/tb        # in a second terminal: every metric, live, in the browser
# python -m dreamer_edu train --run-dir runs/shooting --resume --steps 15000   # later: continue the same run
# ```
#
# and `--minutes 30` stops a run after half an hour with a checkpoint, to be continued with `--resume`. Ctrl-C
# (or SIGTERM, which a job scheduler sends) stops a run cleanly as well: the update in progress finishes, and
# everything played so far (weights, replay buffer, counters) is saved for `--resume`.
#
# The guide's full run has a shortcut. From the repository root, `make train` runs
#
# ```
# python -m dreamer_edu train --preset auto --opponent weak --seed 42 --use_dreamsmooth
# ```
#
# which, on a machine with a CUDA GPU, trains the guide's `Config()` in NORMAL games against the weak bot and
# writes to `runs/normal-weak-seed42/`; `make train ARGS=--resume` continues it. Without a GPU, `--preset auto`
# trains `Config.cpu()` instead, the configuration that learned fastest on a CPU, in
# `runs/normal-weak-seed42-cpu/`. Section 7 comes back to it.
# The options, straight from the program:

# %%
help_text = subprocess.run([sys.executable, "-m", "dreamer_edu", "train", "--help"], capture_output=True,
                           text=True, check=True).stdout
print(help_text)

# %% [markdown]
# ## 4. A run that learns on a CPU
#
# The full game against the weak bot is far too hard for a few minutes of CPU time. The `TRAIN_SHOOTING` drill is
# a fair first target: the puck starts in the agent's half, the opposing goalie does not move, and a game ends
# after 80 steps or a goal. The only way to win is to reach the puck and shoot it in.
#
# First the yardstick: a policy that presses random buttons, on the very games (same seeds) that the trainer's
# evaluations use.

# %%
random_shooting = play_games(None, 50, opponent="none", mode="TRAIN_SHOOTING", seed=EVAL_SEED)
print("random policy, TRAIN_SHOOTING:", random_shooting.summary())

# %% [markdown]
# Now the run. `LiveDiagnostics` is plugged into the trainer's two hooks: after every logging interval
# (`on_log`) it records the averaged metrics, after every evaluation (`on_eval`) the win rate. In JupyterLab it
# redraws one figure in place, at most every 10 seconds and after every evaluation; in a script or a test it only
# records, and we save the figure at the end. The six panels are the guide's chapter-14 checklist:
#
# * **policy entropy** (mean, and the range over imagined states): positive, and falling slowly as the actor
#   becomes sure of itself; negative entropy would mean the log-σ floor is too low (notebook 03);
# * **return range S**: the spread of imagined returns that scales the actor's advantages (notebook 04). It never
#   drops below its floor of 1; stuck *at* the floor means no reward reaches the critic;
# * **world-model losses**: reconstruction, reward and continue should fall. The KL loss cannot drop below
#   (0.5 + 0.1) × 1 free nat = 0.6, because both KL terms are clipped at the free nats; it starts there (prior
#   and posterior agree while neither knows anything) and rises once the posterior carries information about
#   the observations;
# * **actor and critic losses**;
# * **evaluation games**: the win, draw and loss rates of the greedy policy;
# * **updates against env steps**: a straight line whose slope is the replay ratio's updates per env step.
#
# Full mode trains for 9,000 env steps here and 6,000 more after a resume in section 5 (many minutes on a busy CPU;
# the cells print the time they took); quick mode for 1,000 and 160.

# %%
RUN_DIR = Path(tempfile.mkdtemp(prefix="dreamer_edu_08_")) if QUICK else Path("runs") / "08_shooting-seed42"
shutil.rmtree(RUN_DIR, ignore_errors=True)   # a fresh run (eval.csv would otherwise collect an older run's rows)
config = Config.quick(mode="TRAIN_SHOOTING", opponent="none", seed=42, total_env_steps=STEPS,
                      eval_every_steps=EVAL_EVERY, eval_games=GAMES, threads=1,
                      warmup_episodes=5 if QUICK else 10)
live = LiveDiagnostics()
trainer = Trainer(config, RUN_DIR, progress=True, on_log=live.on_log, on_eval=live.on_eval)
start = time.perf_counter()
first_eval = trainer.train()
train_seconds = time.perf_counter() - start
print(f"{trainer.env_steps} env steps, {trainer.agent.updates} updates in {train_seconds:.0f} s "
      f"({trainer.env_steps / train_seconds:.0f} env steps/s on this machine); TensorBoard: {RUN_DIR / 'tb'}")

# %% [markdown]
# What the run must show whatever the seed or the machine: every metric is finite, the recorded rows are the
# trainer's own `history`, the entropy stays inside the limits that the log-σ bounds allow (4 dimensions of
# 1.419 + log σ, with log σ in [-0.5, 2]: from 3.68 to 13.68 nats), S never drops below its floor, and the number
# of updates follows from the replay ratio: none during the warmup games, then one per 4 env steps. The KL loss
# starts at its clipped floor of 0.6 and never goes below.

# %%
history = pd.DataFrame(trainer.history)                     # the same rows as live.rows
low = 4 * gaussian_entropy_per_dim(config.log_std_min)      # 3.68 nats
high = 4 * gaussian_entropy_per_dim(config.log_std_max)     # 13.68 nats
kl_floor = (config.kl_dynamics_scale + config.kl_representation_scale) * config.free_nats      # 0.6
warmup_max = config.warmup_episodes * MAX_TIMESTEPS["TRAIN_SHOOTING"]   # warmup games last at most 80 steps
display(pd.DataFrame([
    ("all metrics finite", live.all_finite(), "True"),
    ("lowest entropy (nats)", history["behavior/entropy_min"].min(), f"at least {low:.2f}"),
    ("highest entropy (nats)", history["behavior/entropy_max"].max(), f"at most {high:.2f}"),
    ("smallest S", history["diagnostics/return_range_S"].min(), f"at least {config.return_norm_floor:g} (its floor)"),
    ("KL loss, first log interval", history["world/kl_loss"].iloc[0], f"about {kl_floor:.1f}"),
    ("KL loss, lowest", history["world/kl_loss"].min(), f"at least {kl_floor:.1f}"),
    ("updates", trainer.agent.updates,
     f"{(trainer.env_steps - warmup_max) * 0.25:.0f} to {trainer.env_steps * 0.25:.0f}"),
], columns=["", "this run", "must be"]).set_index(""))
assert (history["diagnostics/return_range_S"] >= config.return_norm_floor - 1e-6).all()    # S never below its floor
assert (history["world/kl_loss"] >= kl_floor - 1e-4).all()                               # nor the KL loss below 0.6
print("last evaluation:", first_eval)
history[["env_steps", "updates", "behavior/entropy_mean", "diagnostics/return_range_S",
         "diagnostics/return_range_at_floor", "world/recon_loss", "world/reward_loss", "world/kl_loss",
         "behavior/actor_loss", "behavior/critic_loss"]].iloc[:: max(1, len(history) // 8)].round(3)

# %% [markdown]
# ## 5. Resuming a run, and training on
#
# A checkpoint holds everything the loop needs. `Trainer(..., resume=True)` ignores the config it is given and
# reads the saved one; `total_env_steps=` raises the target (the CLI's `--resume --steps N`), and
# `train(max_minutes=...)` stops early with a checkpoint (the CLI's `--minutes`). First we check that nothing was
# lost, then we train on with the same live figure, which simply keeps growing.

# %%
resumed = Trainer(Config(), RUN_DIR, resume=True, progress=True, total_env_steps=trainer.env_steps + MORE_STEPS,
                  on_log=live.on_log, on_eval=live.on_eval)
print(f"resumed at env step {resumed.env_steps}, {resumed.agent.updates} updates, {resumed.episodes} games, "
      f"buffer {len(resumed.buffer)} steps; target now {resumed.config.total_env_steps}")
print(f"the saved config, not Config(): {resumed.config.mode}, batch {resumed.config.batch_size} x "
      f"{resumed.config.batch_length}, seed {resumed.config.seed}")
assert (resumed.env_steps, resumed.agent.updates, resumed.episodes) == \
       (trainer.env_steps, trainer.agent.updates, trainer.episodes)
assert all(torch.equal(p, q) for p, q in zip(resumed.agent.state_dict().values(), trainer.agent.state_dict().values()))

# %%
start = time.perf_counter()
final = resumed.train()
train_seconds += time.perf_counter() - start
diagnostics_png = live.save(plots.figure_path(NAME, "diagnostics", QUICK))
print(f"{resumed.env_steps} env steps, {resumed.agent.updates} updates, {train_seconds:.0f} s of training in all")
if not live.live:                 # no live figure (a script, or a non-inline backend): show the saved one
    display(Image(filename=str(diagnostics_png)))

# %% [markdown]
# The live record now holds both parts of the run, one after the other, and the resumed part went on at the
# same pace of updates (`tests/test_trainer.py` checks that a resumed run ends with exactly the weights of an
# uninterrupted one).

# %%
history = pd.DataFrame(live.rows)                 # trainer.history, then resumed.history
summary = live.summary()
print(f"log intervals: {len(trainer.history)} before the resume, {len(resumed.history)} after; the resumed part made "
      f"{resumed.agent.updates - trainer.agent.updates} updates in {resumed.env_steps - trainer.env_steps} env steps")
print({k: round(v, 3) if isinstance(v, float) else v for k, v in summary.items()})

# %% [markdown]
# In full mode the run has to do more than run. Its greedy policy must beat the random policy on the same 50
# games, by at least 15 percentage points, and its mean return must be clearly higher (the return also counts
# the small reward for staying close to the puck, so it moves long before the first goals). The checklist of
# chapter 14 must read well too: S sat at its floor for less than half of the run (rewards reach the critic) and
# grew past 5; the entropy fell (the actor became surer); the reconstruction loss fell to less than half and the
# reward loss fell; the KL loss rose above its floor. The table sets this run's numbers (first and last 10 log
# intervals) beside those marks. The full-mode run reaches all of them (`tests/test_notebook_claims_00_08.py`
# repeats it); quick mode's run is far too short for most.

# %%
print("trained (greedy policy):", final)
print("random:                 ", random_shooting.summary())
first, last = history.iloc[:10].mean(), history.iloc[-10:].mean()
pd.DataFrame([
    ("win rate: trained minus random", final["win_rate"] - random_shooting.win_rate, "at least 0.15"),
    ("mean return: trained minus random", final["mean_return"] - random_shooting.mean_return, "more than 5"),
    ("share of log intervals with S at its floor", summary["share_at_floor"], "less than 0.5"),
    ("largest S", history["diagnostics/return_range_S"].max(), "more than 5"),
    ("entropy: last minus first", last["behavior/entropy_mean"] - first["behavior/entropy_mean"], "less than -0.5"),
    ("reconstruction loss: last / first", last["world/recon_loss"] / first["world/recon_loss"], "less than 0.5"),
    ("reward loss: last / first", last["world/reward_loss"] / first["world/reward_loss"], "less than 1"),
    ("KL loss: last minus its floor", last["world/kl_loss"] - kl_floor, "more than 0.2"),
], columns=["", "this run", "full mode reaches"]).set_index("").round(3)

# %% [markdown]
# The learning curve comes from `eval.csv`, which the trainer appends to at every evaluation, before and after
# the resume (the dotted line is the random policy):

# %%
fig = plots.plot_training_curve({"TRAIN_SHOOTING, seed 42": RUN_DIR},
                                title="Greedy policy in the shooting drill, evaluation games")
fig.axes[0].axhline(100 * random_shooting.win_rate, color="grey", linestyle=":", label="random policy: win")
fig.axes[0].axvline(trainer.env_steps, color="black", linewidth=0.8, linestyle="-.", label="resumed here")
fig.axes[0].legend()
fig = plots.finish(fig, plots.figure_path(NAME, "learning_curve", QUICK))
eval_rows = plots.read_eval_csv(RUN_DIR)
print(f"eval.csv: evaluations at env steps {[int(r['env_steps']) for r in eval_rows]}; the last one's win rate "
      f"{eval_rows[-1]['win_rate']:.0%}")

# %% [markdown]
# ## 6. How good is the agent, honestly?
#
# We load the agent from its checkpoint, the way you would after a long run (`evaluate.load_agent`), and let it
# play three matchups, next to the random policy on the same seeds:
#
# * the drill it trained on (`TRAIN_SHOOTING`, no opponent);
# * full games (`NORMAL`, 250 steps) against the weak and the strong `BasicOpponent`.
#
# Each rate comes with a 95% Wilson interval: with 50 games a rate of 50% is only known to within about ±13
# points. Do not expect much in the full game: the agent has never seen an opponent move, never defended, and
# never had to win the puck back. A drill agent is a start, not a hockey player. In full mode it still beats the
# random policy in the drill on new seeds (more wins, a mean return at least 5 higher), and against each bot it
# loses more games than it wins and wins fewer than in the drill. Compare its loss rates with the random policy's
# in the table: a player that rushes at the puck leaves its own goal open. (In the drill there is no opponent: a
# "loss" there is an own goal.) Compare, too, the drill's win rate here with the last evaluation during training:
# two samples of 50 games from the same policy, each with its own interval.

# %%
lo, hi = wilson_interval(25, 50)
print(f"25 wins of 50: [{lo:.1%}, {hi:.1%}], +-{(hi - lo) / 2:.1%}")
agent, saved_config, counters = load_agent(RUN_DIR)
print(f"loaded the agent of env step {counters['env_steps']} ({saved_config.mode}, seed {saved_config.seed})")
matchups = {"drill, no opponent": ("none", "TRAIN_SHOOTING"), "NORMAL vs weak": ("weak", "NORMAL"),
            "NORMAL vs strong": ("strong", "NORMAL")}
outcomes, rows = {}, []
for label, (opponent, mode) in matchups.items():
    for player, policy in (("trained", agent), ("random", None)):
        outcome = play_games(policy, MATCH_GAMES, opponent=opponent, mode=mode, seed=EVAL_SEED + 500)
        outcomes[label, player] = outcome
        lo, hi = wilson_interval(outcome.wins, outcome.games)
        rows.append({"matchup": label, "player": player, "games": outcome.games, "win": outcome.win_rate,
                     "win 95% low": lo, "win 95% high": hi, "draw": outcome.draw_rate, "loss": outcome.loss_rate})
        print(f"{label:20s} {player:8s} {outcome.summary()}")
pd.DataFrame(rows).round(3)

# %% [markdown]
# ### Next to a longer run
#
# The repository ships one agent trained for much longer on a 2-core CPU, in full games against the weak bot
# (`checkpoints/quick-cpu-v1/`; the `MODEL_CARD.md` beside it gives its configuration, how long it trained, the
# command, and its results over 1,000 games against each bot). Here it plays the two full-game matchups on the very
# seeds your agent just played, so the two rows of each pair are directly comparable, each with its own interval.

# %%
SHIPPED = "quick-cpu-v1"
if SHIPPED in shipped_agents():
    shipped, shipped_config, shipped_counters = load_agent(SHIPPED)
    print(f"{SHIPPED}: trained {shipped_counters['env_steps']:,} env steps in {shipped_config.mode} games vs "
          f"{shipped_config.opponent} ({shipped_counters['wall_seconds'] / 3600:.1f} h on a CPU)")
    for label in ("NORMAL vs weak", "NORMAL vs strong"):
        opponent, mode = matchups[label]
        outcome = play_games(shipped, MATCH_GAMES, opponent=opponent, mode=mode, seed=EVAL_SEED + 500)
        print(f"{label:20s} {'shipped':8s} {outcome.summary()}")
        print(f"{label:20s} {'yours':8s} {outcomes[label, 'trained'].summary()}")
else:
    print(f"this copy of the repository has no shipped agent {SHIPPED!r}")

# %% [markdown]
# One recorded game of the drill (greedy policy, the first evaluation seed), saved as a GIF:

# %%
gif_path = plots.figure_path(NAME, "game", QUICK).with_suffix(".gif")
info = record_game(agent, gif_path, opponent="none", mode="TRAIN_SHOOTING", seed=EVAL_SEED, fps=20)
result = {1: "the agent scored", 0: "no goal before time ran out", -1: "own goal"}[int(info["winner"])]
print(f"{gif_path.name}: {result}")
display(Image(filename=str(gif_path)))

# %% [markdown]
# ## 7. The full hockey run, on a GPU
#
# The guide trains its full configuration (`Config()`: 2.2 M parameters, batch 32 × 32, 2 million env steps)
# against the weak bot. How long that takes depends entirely on the machine, so the next cell measures yours:
# a few updates (`Dreamer.train_step`) of `Config()` on batches replayed from random games, after one untimed
# warm-up update, and whole games of acting (the agent's policy plus the game). The replay ratio asks for
# one update per 32 env steps, so the whole loop runs at `1 / (1/acting + updates_per_env_step/updates)` env
# steps per second. In quick mode it times only one update and one game: a rough figure.
#
# You need not trust one short measurement: `python -m dreamer_edu train` (and `make train`) prints the same
# estimate from its own training after the first minute, and `python benchmarks/train_speed.py` and
# `python benchmarks/thread_policy.py` print fuller tables (bf16, thread counts, a busy neighbour).

# %%
speed_device = DEVICE            # the GPU when there is one: where the full run would train
speed_buffer = fill_buffer(collect_episodes(4, player="random", opponent="weak", seed=0), guide)
speed_agent = Dreamer(guide, device=speed_device)


def sync():
    if speed_device.type == "cuda":
        torch.cuda.synchronize()


speed_agent.train_step(speed_buffer.sample(guide.batch_size, guide.batch_length))     # warm-up, not timed
sync()
start = time.perf_counter()
for _ in range(SPEED_UPDATES):
    speed_agent.train_step(speed_buffer.sample(guide.batch_size, guide.batch_length))
sync()
updates_per_s = SPEED_UPDATES / (time.perf_counter() - start)

env = make_env(opponent="weak")
start = time.perf_counter()
games_played = [play_game(env, seed, agent_actions(speed_agent, explore=True)) for seed in range(SPEED_ACT_GAMES)]
acting_steps = sum(game.steps for game in games_played)
acting_steps_per_s = acting_steps / (time.perf_counter() - start)
env.close()

loop_steps_per_s = 1 / (1 / acting_steps_per_s + guide.updates_per_env_step / updates_per_s)
hours = guide.total_env_steps / loop_steps_per_s / 3600
print(f"guide's Config() on {speed_device} ({torch.get_num_threads()} torch thread(s)): {updates_per_s:.2f} updates/s, "
      f"{acting_steps_per_s:.0f} env steps/s of acting")
print(f"the whole loop: {loop_steps_per_s:.1f} env steps/s -> {guide.total_env_steps:,} env steps take about "
      f"{hours:.1f} hours here")
print(f"the small run above: {resumed.env_steps / train_seconds:.0f} env steps/s with Config.quick() (warmup included)")

# %% [markdown]
# Set the flag to `True` on a machine with a CUDA GPU to train the guide's configuration: `Config(device="cuda")`,
# NORMAL games against the weak bot, seed 42, DreamSmooth on. That is the very run `make train` starts on a GPU,
# and it uses the same folder, `runs/normal-weak-seed42/` at the repository root (`trainer.default_run_dir`), so
# the two continue each other. The cell trains towards the 2 million env steps, evaluating and saving
# checkpoints as it goes, and redraws the diagnostics live. The interrupt button (■, which sends Ctrl-C) stops it
# cleanly and saves everything played so far; re-run the cell, or run `make train ARGS=--resume` in a terminal,
# to continue. The other way round works too: stop `make train` with Ctrl-C and re-run this cell. Without a GPU
# the cell refuses.
#
# First, where the run lives: the Makefile's arguments, parsed by the program itself, give the folder.

# %%
REPO_ROOT = Path(dreamer_edu.__file__).resolve().parents[1]    # the folder of pyproject.toml and the Makefile
if not (REPO_ROOT / "pyproject.toml").is_file():                 # an installed copy of the package, no repository
    REPO_ROOT = Path.cwd()
make_train = build_parser().parse_args("train --preset auto --opponent weak --seed 42 --use_dreamsmooth".split())
FULL_RUN_DIR = REPO_ROOT / default_run_dir(make_train.mode, make_train.opponent, make_train.seed)
full_config = Config(device="cuda")
print(f"make train and the cell below both train in {FULL_RUN_DIR}")
print(f"both with the guide's Config(): {full_config.mode} against {full_config.opponent}, seed {full_config.seed}, "
      f"DreamSmooth {'on' if full_config.use_dreamsmooth else 'off'}; only the device is fixed here (cuda)")

# %%
FULL_HOCKEY = False

# %%
if require_gpu(FULL_HOCKEY):
    resume = (FULL_RUN_DIR / "checkpoint.pt").exists()
    full_live = LiveDiagnostics()
    gpu_trainer = Trainer(full_config, FULL_RUN_DIR, resume=resume, on_log=full_live.on_log,
                          on_eval=full_live.on_eval)
    print(f"{'continuing' if resume else 'starting'} {FULL_RUN_DIR} at env step {gpu_trainer.env_steps:,}")
    gpu_trainer.train()
    full_live.save(plots.figure_path(NAME, "full_hockey_diagnostics", QUICK))
else:
    print("FULL_HOCKEY is False: skipped (set it to True on a GPU machine)")

# %%
try:                                   # what the cell above says when the flag is on but no GPU is there
    require_gpu(True, cuda_available=False)
except RuntimeError as err:
    print(err)

# %% [markdown]
# ## Exercises
#
# **1.** With the guide's replay ratio of 32 and batches of 32 × 32, how many environment steps pass between two
# gradient updates?

# %%
answer_1 = None   # a number
exercises.check_answer_env_steps_per_update(answer_1)

# %% [markdown]
# **2.** `Config.quick()` in TRAIN_SHOOTING for 9,000 env steps: if all 10 warmup games run their full 80 steps,
# how many gradient updates does the run make?

# %%
answer_2 = None   # a number
exercises.check_answer_updates_in_quick_run(answer_2)

# %% [markdown]
# **3.** An agent wins 23 of 50 evaluation games. What is the upper end of the 95% Wilson interval of its win
# rate (as a fraction)? Could its true win rate be 60%?

# %%
answer_3 = None   # a fraction between 0 and 1
exercises.check_answer_wilson_upper(answer_3)
