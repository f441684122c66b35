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
# # 05 · Two-hot targets over symlog bins
#
# *Guide chapter 10 (two-hot symlog encoding); used by the reward head (ch. 4) and the critic (ch. 7).*
#
# DreamerV3 never regresses a reward or a value directly. It predicts a categorical distribution over 255 fixed
# numbers ("bins") and trains it with cross-entropy. Two tricks make that work:
#
# * **symlog**: the bins are evenly spaced in `symlog(x) = sign(x)·ln(1 + |x|)`, which is close to x near 0 and
#   logarithmic for large |x|, so one head can cover rewards of 0.01 and of 1000;
# * **two-hot**: a target number is written as probability mass on the two bins that bracket its symlog, split so
#   that their weighted average is exactly the target. Reading the head back is the reverse: take the
#   probability-weighted average of the bin centres and undo the symlog.
#
# We check the arithmetic (the guide gets the bin numbers wrong), then train two small heads on sparse rewards to
# see what the categorical form buys.

# %%
import math

import numpy as np
import pandas as pd
import torch

from dreamer_edu.distributions import TwoHot, symexp, symlog
from dreamer_edu.viz import exercises, plots, widgets
from dreamer_edu.viz.exercises import check_function, show_source
from dreamer_edu.viz.setup import notebook_setup

QUICK, DEVICE = notebook_setup()     # quick mode (DREAMER_EDU_QUICK=1), seeds, one torch thread, the device
print(f"device: {DEVICE}; quick mode: {QUICK}")

NAME = "05_two_hot_symlog"
twohot = TwoHot()                       # 255 bins on [-20, 20] in symlog space, the defaults of Config
print(twohot)

# %% [markdown]
# ## 1. symlog and symexp
#
# symlog keeps small numbers as they are (its slope at 0 is 1) and compresses big ones; symexp undoes it. The right
# panel shows what that means for the bins: near 0 neighbouring bins are about 0.17 apart in reward units, around
# +10 about 1.8 apart, and the outermost bins stand for numbers near ±4.9·10⁸.
#
# In code both are one line each. `log1p(|x|)` is `ln(1 + |x|)` computed accurately even for tiny |x|, and
# `expm1` is its inverse `exp(|x|) − 1`:

# %%
show_source(symlog, symexp);

# %%
fig = plots.plot_symlog_and_bins(twohot, path=plots.figure_path(NAME, "symlog_and_bins", QUICK))

# %%
x = torch.tensor([-1000.0, -10.0, -1.0, -0.01, 0.0, 0.01, 1.0, 10.0, 1000.0], dtype=torch.float64)
pd.DataFrame({"x": x.numpy(), "symlog(x)": symlog(x).numpy(), "symexp(symlog(x))": symexp(symlog(x)).numpy()}).round(4)

# %%
bin_values = symexp(twohot.centers.double())                                      # what each bin stands for
print(f"reward distance between bins 127 and 128 (near 0): {float(bin_values[128] - bin_values[127]):.3f}; "
      f"between bins 142 and 143 (near 10): {float(bin_values[143] - bin_values[142]):.2f}; "
      f"outermost bins: {float(bin_values[0]):.3g} and {float(bin_values[-1]):.3g}")

# %% [markdown]
# ## 2. The bin arithmetic, done right
#
# With 255 bins from −20 to +20 the centres are `−20 + i·(40/254)`, i = 0 … 254: the spacing is 0.1575 and
# bin 127 sits at 0. symlog(10) = ln 11 = 2.398 is (2.398 + 20) / 0.1575 = 142.2 spacings from the left end: it lies between
# bins 142 (2.362) and 143 (2.520), 23% of the way from one to the other, so the two-hot weights are 0.77 and 0.23.
#
# The guide's walk-through says symlog(10) lands near bin 140, with 0.1 on bin 139 and 0.9 on bin 140. Bin 140's
# centre is 2.047, which stands for a reward of 6.7, not 10. Its later remark that bin 115 means about −10 is off
# in the same way: bin 115 stands for −5.6, and −10 lies between bins 111 and 112.
#
# The package's encoder does exactly this arithmetic, for a whole tensor of targets at once: `searchsorted` finds
# the bin at or below each target, and `scatter_` writes the two weights into a row of zeros. Decoding is the
# probability-weighted mean of the centres, mapped back with `symexp`. (The `space="raw"` branches belong to a
# later DreamerV3 layout that we come back to in section 4.)

# %%
show_source(TwoHot.encode, TwoHot.mean_center, TwoHot.decode);

# %%
ten = widgets.twohot_numbers(10.0, twohot)
minus_ten = widgets.twohot_numbers(-10.0, twohot)
centres = twohot.centers.double()
pd.DataFrame([{"x": n["x"], "symlog": n["symlog_x"], "bins": (n["below"], n["above"]),
               "centres": (round(n["center_below"], 3), round(n["center_above"], 3)),
               "weights": (round(n["weight_below"], 3), round(n["weight_above"], 3)), "decoded": n["decoded"]}
              for n in (ten, minus_ten)])

# %%
print(f"spacing {twohot.spacing:.4f}; symlog(10) is {(math.log(11) + 20) / twohot.spacing:.2f} spacings from the "
      f"left end; the weights of bins 139 and 140 are {ten['weights'][139]} and {ten['weights'][140]}")
assert (ten["below"], ten["above"]) == (142, 143)                                  # not the guide's 139 / 140
assert abs(ten["weight_below"] - 0.77) < 0.005 and abs(ten["weight_above"] - 0.23) < 0.005   # not 0.1 / 0.9
# the guide's bin 140 is 2.05 in symlog space: a reward of 6.7, not 10
assert abs(float(centres[140]) - 2.047) < 1e-3 and abs(float(symexp(centres[140])) - 6.75) < 0.01
# and -10 lands between bins 111 and 112, not at bin 115 (which stands for -5.6)
assert (minus_ten["below"], minus_ten["above"]) == (111, 112)
assert abs(float(symexp(centres[115])) - (-5.62)) < 0.01

# %% [markdown]
# Encoding and decoding are exact inverses for any target inside the range (here from −1000 to 1000):

# %%
targets = torch.linspace(-1000.0, 1000.0, 2001, dtype=torch.float64)
weights = twohot.encode(targets)                                        # (2001, 255)
print(f"every row sums to 1: {bool(torch.allclose(weights.sum(-1), torch.ones(len(targets), dtype=torch.float64)))}; "
      f"most hot bins in a row: {int((weights > 0).sum(-1).max())}")
assert torch.allclose(twohot.decode(torch.log(weights)), targets, rtol=1e-9, atol=1e-9)   # decode(encode(x)) = x
fig = plots.plot_twohot(ten, path=plots.figure_path(NAME, "twohot_of_10", QUICK))

# %% [markdown]
# ## 3. Explorer
#
# Slide the target and watch which two bins take the weight. Try 0 (all weight on bin 127), ±10, 0.1 and 100.

# %%
explorer = widgets.twohot_explorer()
explorer

# %%
zero = widgets.set_controls(explorer, x=0.0)
fifty = widgets.set_controls(explorer, x=50.0)
print(f"x = 0: weight of bin 127 = {zero['weights'][127]:.6f}; x = 50: bins {fifty['below']}/{fifty['above']}, "
      f"weights {fifty['weight_below']:.3f}/{fifty['weight_above']:.3f}, decoded {fifty['decoded']:.6f}")

# %% [markdown]
# ## 4. Sparse rewards: a regression head against a two-hot head
#
# The guide's argument for the categorical head is that sparse rewards are multi-modal. Let us test it. Rewards are
# −10 with probability 0.1, 0 with probability 0.8 and +10 with probability 0.1, and the inputs carry no
# information about them, so the best any head can do is to learn the reward's distribution. Two `networks.MLP`s
# are trained with Adam on the same batches: one with mean-squared error (a Normal head with fixed variance), one
# with the two-hot cross-entropy.

# %%
STEPS = 300 if QUICK else 2000
fit = widgets.fit_sparse_reward_heads(steps=STEPS, device=DEVICE)
print(f"MSE head predicts {fit['mse_prediction']:+.3f} (true mean 0); "
      f"two-hot head: P(-10) = {fit['mass_minus_goal']:.3f}, P(0) = {fit['mass_zero']:.3f}, "
      f"P(+10) = {fit['mass_plus_goal']:.3f} (true 0.1 / 0.8 / 0.1)")
fig = plots.plot_sparse_regression(fit, path=plots.figure_path(NAME, "sparse_regression", QUICK))

# %%
assert abs(fit["mse_prediction"]) < 1.0                         # the MSE head can only say "about 0" ...
assert fit["mass_minus_goal"] > 0.05 and fit["mass_plus_goal"] > 0.05  # ... the two-hot head keeps both goal modes

# %% [markdown]
# A caveat the guide leaves out. When a single number is read from a two-hot head, it is `symexp` of the mean *in
# symlog space*, which is not the mean reward unless the distribution is symmetric (as it is above). For rewards
# of 0 with probability 0.99 and +10 with probability 0.01, a perfectly trained head decodes to
# symexp(0.01 · 2.398) = 0.024, not the true mean 0.1. What the categorical head buys is a loss that is not
# dominated by rare large targets and a prediction that keeps the modes; not an unbiased mean.
#
# The 2024 version of DreamerV3 removes this bias, and the package has it as `TwoHot(space="raw")`: the bins are
# the same 255 numbers, `symexp` of the grid (so still dense near 0 and sparse far out), but the target is x itself,
# placed between the two raw centres around it, and the prediction is the plain mean of the centres. The same ideal
# head then decodes to the true mean.

# %%
zero_w, ten_w = (twohot.encode(torch.tensor(v, dtype=torch.float64)) for v in (0.0, 10.0))
decoded = float(twohot.decode(torch.log(0.99 * zero_w + 0.01 * ten_w)))
raw = TwoHot(space="raw")
zero_raw, ten_raw = (raw.encode(torch.tensor(v, dtype=torch.float64)) for v in (0.0, 10.0))
decoded_raw = float(raw.decode(torch.log(0.99 * zero_raw + 0.01 * ten_raw)))
print(f"decoded value of the ideal head: {decoded:.4f} (symlog bins), {decoded_raw:.4f} (raw bins); mean reward 0.1")
assert abs(decoded - math.expm1(0.01 * math.log(11.0))) < 1e-9 and decoded < 0.3 * 0.1

# %% [markdown]
# ## Exercises
#
# **1.** Which two bins receive the two-hot weight of x = 100? Give them as a pair `(below, above)`.

# %%
answer_1 = None   # a pair of bin indices
exercises.check_answer_bins_for_100(answer_1)

# %% [markdown]
# **2.** What weight does the upper of those two bins get?

# %%
answer_2 = None   # a number between 0 and 1
exercises.check_answer_upper_weight_for_100(answer_2)

# %% [markdown]
# **3.** Rewards are 0 with probability 0.99 and +10 with probability 0.01, and the inputs are uninformative. What
# does a head trained with mean-squared error predict once it has converged?

# %%
answer_3 = None   # a number
exercises.check_answer_mse_prediction(answer_3)

# %% [markdown]
# **4. Write it yourself: symlog.** Write `symlog` from its formula, `sign(x) · ln(1 + |x|)`.

# %%
def my_symlog(x):
    """x: a tensor of any shape -> symlog(x), the same shape."""
    # Hint: torch has sign, abs and log1p; the result must be odd (symlog(-x) = -symlog(x)).
    raise NotImplementedError


# %%
def symlog_inputs(generator):
    """64 numbers of every size, from about 0.001 to 10,000, of both signs."""
    sizes = 10.0 ** torch.randint(-3, 5, (64,), generator=generator, dtype=torch.float64)
    return (sizes * torch.randn(64, generator=generator, dtype=torch.float64),)


check_function(my_symlog, symlog, symlog_inputs)

# %% [markdown]
# **5. Write it yourself: the two-hot encoder.** Write the default (symlog-space) `TwoHot().encode`: for each target
# x, a row of 255 weights, all zero except on the two bins around symlog(x), which share the weight so that the
# weighted mean of their centres is symlog(x).

# %%
def my_twohot_encode(x, bins=255, low=-20.0, high=20.0):
    """x: a tensor of shape (...) -> weights of shape (..., bins); every row sums to 1."""
    # Hint: clip y = symlog(x) to [low, high] first: targets beyond the range put all their weight on the edge bin.
    # (y - low) / spacing is y's position on the grid: its integer part is the lower bin, its fractional part the
    # upper bin's weight. Keep the lower bin at most bins - 2 so that the upper one exists. torch.zeros plus
    # scatter_ (or torch.nn.functional.one_hot) writes the two weights into each row.
    raise NotImplementedError


# %%
def twohot_inputs(generator):
    """32 targets from about -1e9 to 1e9: evenly spread in symlog space, a few of them beyond the range."""
    return (symexp(torch.empty(32, dtype=torch.float64).uniform_(-21.0, 21.0, generator=generator)),)


check_function(my_twohot_encode, TwoHot().encode, twohot_inputs)
