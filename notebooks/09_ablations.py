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
# # 09 · Which of the tricks matter? Reading an ablation honestly
#
# *Guide chapters 6-11 (the tricks) and 13-15 (hyperparameters, pitfalls, hockey).*
#
# The earlier notebooks took DreamerV3 apart one idea at a time: DreamSmooth, the squashed actor, the slow critic,
# two-hot heads in symlog space, the auxiliary heads, the replay ratio. Each one has a story for why it helps. An
# **ablation** checks the story: train the same agent with one choice changed, several times with different
# seeds, and see whether the change moves the result by more than the runs differ among themselves.
#
# This notebook does not train anything. It loads an ablation that comes with the repository, run with the sweep
# command on the shooting drill (`sweeps/ablation.yaml`), and asks what it shows and what it cannot show:
#
# 1. what was run, and how to run it yourself,
# 2. the results table: three summaries of a learning curve, each with an interval over seeds,
# 3. the learning curves,
# 4. how noisy one evaluation is, and how much seeds differ,
# 5. each variant against the baseline, and how many seeds a clear answer would take,
# 6. exercises, one of them the t interval written by you.

# %%
import pandas as pd
from IPython.display import Image, display

from dreamer_edu.evaluate import wilson_interval
from dreamer_edu.sweep import (STATISTICS, compare_to_baseline, load_published, plot_against_baseline, seed_values,
                               summarize, t_interval, t_quantile_975)
from dreamer_edu.viz import exercises, plots
from dreamer_edu.viz.exercises import check_function, seed_results_inputs, show_source
from dreamer_edu.viz.setup import notebook_setup
from dreamer_edu.viz.widgets import ablation_explorer

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"quick mode: {QUICK} (this notebook only reads results, so both modes show the same numbers)")

NAME = "09_ablations"
sweep, df = load_published("ablation_drill")   # sweeps/results/ablation_drill/: sweep.yaml and curves.csv
OPPONENT = sweep.opponents[0]

# %% [markdown]
# ## 1. What was run
#
# A sweep is a grid of **variants** (each a few `Config` changes) times **seeds**. Every trial is an ordinary
# training run, so each one left a checkpoint, TensorBoard logs and an `eval.csv`; what ships here is only the
# evaluations of every trial (`curves.csv`) and the sweep file that made them. The baseline is `Config.quick()` in
# the shooting drill (`TRAIN_SHOOTING`: the agent shoots at an empty goal defended by a keeper that stands still),
# and each other variant changes one choice:

# %%
print(f"base: {'Config.quick()' if sweep.quick else 'Config()'} with {sweep.config}")
print(f"seeds {sweep.seeds}; budget {sweep.env_steps:,} env steps per trial; every {sweep.every:,} env steps, "
      f"{sweep.games} greedy games vs {', '.join(sweep.opponents)}\n")
print(pd.DataFrame({"variant": list(sweep.variants),
                    "changes": [str(changes or "(none)") for changes in sweep.variants.values()]}).to_string(index=False))
print(f"\n{df.groupby(['variant', 'seed']).ngroups} trials, {len(df)} evaluations, "
      f"{int(df.games.sum()):,} evaluation games in all")

# %% [markdown]
# To run it yourself (79 minutes on two cores, two runs at a time; `pip install -e .[sweep]` first, for Ray Tune):
#
# ```bash
# python -m dreamer_edu sweep sweeps/ablation.yaml --sweep-dir runs/sweeps/ablation
# python -m dreamer_edu sweep-results runs/sweeps/ablation
# ```
#
# The second command prints the same table as section 2. On a Ray cluster, add `--address` (see the README).
#
# ## 2. The table: three ways to summarise a learning curve
#
# Each trial evaluated itself every 1,000 env steps, so it has a whole curve of win rates. A table needs one
# number per trial, and there are several reasonable ones:
#
# * **final**: the last evaluation. What you would ship, but one evaluation of 50 games is noisy.
# * **best**: the best evaluation. Always flattering: the maximum of ten noisy numbers is above their mean even
#   when nothing is learned.
# * **mean**: the mean over all of the trial's evaluations, the area under its learning curve divided by its
#   length. It rewards learning early as well as learning well, and averages the evaluation noise out.
#
# Each is then averaged over the seeds, with a 95% **t interval over seeds**: the spread between runs, which is
# what decides whether a variant is better, not the spread of one run's games.

# %%
table = summarize(sweep, df)
shown = table.copy()
for name in STATISTICS:
    shown[name] = [f"{m:5.1%} [{lo:5.1%}, {hi:5.1%}]" for m, lo, hi in
                   zip(table[f"{name}_win"], table[f"{name}_win_low"], table[f"{name}_win_high"])]
shown[["variant", "seeds", "env_steps", *STATISTICS]]

# %% [markdown]
# ## 3. The learning curves
#
# One panel per variant: its mean over seeds (blue) with a 95% t band over seeds, drawn over the baseline's
# (grey). Where the two bands overlap at every point, these seeds cannot tell the two curves apart.

# %%
figure = plot_against_baseline(sweep, df, plots.figure_path(NAME, "learning_curves", QUICK))
display(Image(filename=str(figure)))

# %% [markdown]
# ## 4. Two kinds of noise
#
# One evaluation plays 50 games. Even if a policy's true win rate were fixed, 50 games would measure it only to
# within the **Wilson interval** below. Different seeds, on the other hand, are different training runs: they
# see different games, so they learn different policies. Both kinds of noise are in the table; only more seeds
# shrink the second.

# %%
baseline = df[(df.variant == "baseline") & (df.opponent == OPPONENT)]
typical = float(baseline.win_rate.median())
low, high = wilson_interval(round(typical * sweep.games), sweep.games)
print(f"one evaluation at the baseline's median win rate {typical:.0%} over {sweep.games} games: "
      f"95% Wilson interval [{low:.0%}, {high:.0%}], {100 * (high - low):.0f} points wide")

per_seed = seed_values(df, "baseline", OPPONENT, "mean")
mean, lo, hi = t_interval(per_seed)
print(f"the baseline's mean win rate per seed: {', '.join(f'{v:.1%}' for v in per_seed)}")
print(f"  mean over its {len(per_seed)} seeds {mean:.1%}, 95% t interval [{lo:.1%}, {hi:.1%}] "
      f"(t = {t_quantile_975(len(per_seed) - 1):.3f} for {len(per_seed) - 1} degrees of freedom)")

# %% [markdown]
# With three seeds, the t quantile is 4.30 rather than the 1.96 of a normal distribution: we do not know the
# seeds' spread well, and the interval pays for that. Here is the function that computes it:

# %%
show_source(t_interval);

# %% [markdown]
# ## 5. Each variant against the baseline
#
# The question an ablation asks is a **difference**: does this change move the win rate? `compare_to_baseline`
# takes each variant's per-seed numbers and the baseline's, and gives the difference of their means with a 95%
# **Welch** interval (a t interval for the difference of two groups whose spreads may differ). When the interval
# contains 0, these seeds cannot tell the variant from the baseline. That is not the same as "it makes no
# difference": it may mean only that three seeds are too few to see it. The last column estimates how many
# seeds per side would give an interval of ±5 points, at the spread these seeds show.

# %%
comparison = compare_to_baseline(sweep, df, statistic="mean", opponent=OPPONENT)
print(comparison.round(3).to_string(index=False))
clear = comparison[comparison.excludes_zero]
print(f"\nvariants whose interval excludes 0: {', '.join(clear.variant) or 'none'}")
print(f"seeds per side for a +-5-point interval: median {int(comparison.seeds_for_5_points.median())} "
      f"(from {comparison.seeds_for_5_points.min()} to {comparison.seeds_for_5_points.max()})")

# %% [markdown]
# Two more numbers put this in proportion. First, how far apart are the seeds of one variant, next to how far
# apart the variants are? Second, with eleven comparisons, each at 95%, how likely is it that at least one
# interval misses 0 by luck alone, even if no trick mattered at all?

# %%
per_variant = {variant: seed_values(df, variant, OPPONENT, "mean") for variant in sweep.variants}
within = pd.Series([values.std(ddof=1) for values in per_variant.values()]).median()
between = pd.Series([values.mean() for values in per_variant.values()]).std(ddof=1)
print(f"spread of the seeds of one variant (median standard deviation): {within:.1%}")
print(f"spread of the variants' means (standard deviation):            {between:.1%}")
chance = 1 - 0.95 ** len(comparison)
print(f"at least one of {len(comparison)} intervals excluding 0 by luck alone: {chance:.0%}")

# %% [markdown]
# Try the other summaries in the explorer: `final` is noisier than `mean`, so its intervals are wider, and
# `best` flatters every variant a little differently. Dark bars are the variants whose interval excludes 0.

# %%
explorer = ablation_explorer(sweep, df, save_to=plots.figure_path(NAME, "differences", QUICK))
explorer

# %% [markdown]
# ### What this ablation does and does not show
#
# * It shows the size of the noise. On this budget, a single seed is nearly worthless for comparing two
#   variants: the seeds of one variant differ by about as much as the variants do.
# * Of the eleven variants, one has a `mean` interval that excludes 0: a replay ratio of 128 (twice the
#   baseline's updates per env step). With eleven comparisons, one such interval by luck alone is not rare (the
#   43% above), so this is a lead to confirm with more seeds rather than a finding. It agrees with the earlier
#   replay-ratio sweep (`sweeps/replay_ratio.yaml`): at 128 the drill needs fewer env steps, but each one costs
#   twice the compute.
# * The official DreamerV3's choices (`bounded_normal`, `online_critic`, `twohot_raw`, `replay_critic`) cannot
#   be told from the guide's here, in either direction.
# * It shows roughly how many seeds a sharper answer would take: about ten per variant for ±5 points.
# * It does **not** show that a trick is useless for hockey. The drill is short (10,000 env steps), the agent is
#   the small `Config.quick()`, and the opponent stands still. Tricks made for long runs (the slow critic, the
#   replay loss of the critic) or for sparse rewards over long games (DreamSmooth) have little room to matter
#   here. The same sweep on full games (`sweeps/ablation_weak.yaml`) costs many CPU hours per seed.
# * It does not average over everything that could interact: each variant changes one choice of the baseline,
#   so two tricks that only help together would not show.
#
# ## Exercises
#
# **1.** Three seeds of a variant won 30%, 36% and 24% (as fractions: 0.30, 0.36, 0.24). What is the half width
# of their 95% t interval, as a fraction?

# %%
answer_1 = None   # a number
exercises.check_answer_t_half_width(answer_1)

# %% [markdown]
# **2.** Seeds of two variants spread with a standard deviation of 0.10. About how many seeds per side give a 95%
# interval of ±5 points (0.05) on the difference of their means? Use 1.96 for the quantile.

# %%
answer_2 = None   # a whole number of seeds
exercises.check_answer_seeds_for_5_points(answer_2)

# %% [markdown]
# **3. Write it yourself.** Write `t_interval`: the mean of the values and its 95% t interval. You may use
# `t_quantile_975(dof)` for the quantile.

# %%
def my_t_interval(values):
    """values: a list of numbers, one per seed (at least two). -> (mean, low, high)."""
    # Hint: the sample standard deviation divides by n - 1; the half width is t * sd / sqrt(n), with n - 1
    # degrees of freedom for t.
    raise NotImplementedError


# %%
# the check: random win rates of 2 to 8 seeds (exercises.seed_results_inputs)
check_function(my_t_interval, t_interval, seed_results_inputs)
