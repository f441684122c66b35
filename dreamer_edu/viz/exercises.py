"""The notebooks' exercises: reading the package's code, writing it yourself, and checking (guide ch. 3-12).

* ``show_source(fn, ...)`` shows the package's own source of a function or class in the notebook, so the code a
  student reads there is the code that runs (one copy of every line).
* ``check_function(yours, reference, make_inputs)`` is the check cell of a write-it-yourself exercise: it calls
  both functions on the same random inputs and says whether they agree, or where they first differ.  A function
  that still ``raise NotImplementedError`` (or returns None) is "not answered yet", never an error.
* Each ``check_answer_*`` takes a number the student worked out, prints whether it is right (or "not answered
  yet" for ``None``) and returns True, False or None.  The expected values are computed from the package's own
  code, not typed in, so a check cannot drift from the code it is about.
"""
from __future__ import annotations

import inspect
import math
import textwrap
from typing import Callable

import torch

from ..config import Config
from ..distributions import HALF_LOG_2PIE, TwoHot, bounded_log_std

NOT_ANSWERED = "not answered yet: replace None with your answer and run this cell again"
NOT_WRITTEN = "not answered yet: write the function's body (in place of `raise NotImplementedError`) and run again"


# ------------------------------------------------------------------------------------------ reading the code
def source_of(*objects) -> str:
    """The package's source of each function or class, as it is on disk, with the file it lives in."""
    parts = []
    for obj in objects:
        target = inspect.unwrap(obj)
        module = inspect.getmodule(target)
        where = module.__name__ if module is not None else "?"
        parts.append(f"# {where}.{target.__qualname__}\n" + textwrap.dedent(inspect.getsource(target)))
    return "\n\n".join(parts)


def show_source(*objects) -> None:
    """Show ``source_of(*objects)`` in the notebook (highlighted in JupyterLab, plain text elsewhere)."""
    code = source_of(*objects)
    try:
        from IPython import get_ipython
        from IPython.display import Code, display
    except ImportError:
        print(code)
        return
    if get_ipython() is None:
        print(code)
    else:
        display(Code(code, language="python"))


# ------------------------------------------------------------------------------------ writing it yourself
def _as_tensors(value):
    if isinstance(value, torch.Tensor):
        return (value,)
    if isinstance(value, (tuple, list)):
        return tuple(t for v in value for t in _as_tensors(v))
    if hasattr(value, "_fields"):                     # a NamedTuple of tensors
        return tuple(t for v in value for t in _as_tensors(v))
    return (torch.as_tensor(value),)


def check_function(yours: Callable, reference: Callable, make_inputs: Callable[[torch.Generator], tuple],
                   trials: int = 5, atol: float = 1e-5, rtol: float = 1e-4, seed: int = 0) -> bool | None:
    """Call ``yours(*inputs)`` and ``reference(*inputs)`` on ``trials`` random inputs from
    ``make_inputs(generator)`` and compare every output tensor.  Prints the verdict; returns True (they agree),
    False (they differ: the first difference is printed) or None (not answered yet)."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        inputs = make_inputs(generator)
        try:
            got = yours(*inputs)
        except NotImplementedError:
            print(NOT_WRITTEN)
            return None
        except Exception as err:                      # the student's code failed: say how, do not stop the notebook
            print(f"not quite: your function raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print(NOT_WRITTEN)
            return None
        want = reference(*inputs)
        got_t, want_t = _as_tensors(got), _as_tensors(want)
        if len(got_t) != len(want_t):
            print(f"not quite: expected {len(want_t)} output tensor(s), got {len(got_t)}")
            return False
        for k, (g, w) in enumerate(zip(got_t, want_t)):
            if tuple(g.shape) != tuple(w.shape):
                print(f"not quite: output {k} has shape {tuple(g.shape)}, expected {tuple(w.shape)} "
                      f"(trial {trial + 1})")
                return False
            g, w = g.detach().double(), w.detach().double()
            close = torch.isclose(g, w, atol=atol, rtol=rtol) | (torch.isnan(g) & torch.isnan(w))
            if not bool(close.all()):
                bad = int((~close).flatten().nonzero()[0])
                index = tuple(int(i) for i in torch.unravel_index(torch.tensor(bad), w.shape)) if w.ndim else ()
                print(f"not quite: output {k} differs at index {index} on trial {trial + 1}: yours "
                      f"{g.flatten()[bad].item():.6g}, the package's {w.flatten()[bad].item():.6g} "
                      f"({int((~close).sum())} of {close.numel()} numbers differ)")
                return False
    print(f"correct: yours and the package's agree on {trials} random inputs")
    return True


def _check(answer, expected, tol: float, hint: str, *, relative: bool = False) -> bool | None:
    """Compare a number (or a tuple of numbers) with the expected one; print the verdict."""
    if answer is None:
        print(NOT_ANSWERED)
        return None
    try:
        got = tuple(float(a) for a in answer) if isinstance(answer, (tuple, list)) else (float(answer),)
    except (TypeError, ValueError):
        print(f"not quite: expected a number (or numbers), got {answer!r}")
        return False
    want = tuple(expected) if isinstance(expected, (tuple, list)) else (expected,)
    if len(got) != len(want):
        print(f"not quite: expected {len(want)} number(s), got {len(got)}")
        return False
    ok = all(abs(g - w) <= tol * (abs(w) if relative else 1.0) for g, w in zip(got, want))
    print("correct!" if ok else f"not quite. Hint: {hint}")
    return ok


# ---------------------------------------------------------------------- random inputs of the exercise checks
# (one copy, used by the notebooks' check cells and by the tests that show each exercise can be solved)
def moments_step(returns, low_ema, high_ema, decay, floor):
    """Notebook 04's reference: a fresh ``Moments`` whose two EMAs are set to the given values, called once."""
    from ..returns import Moments

    module = Moments(decay=decay, floor=floor)
    module.low_ema.fill_(low_ema)
    module.high_ema.fill_(high_ema)
    return module(returns)


def moments_inputs(generator):
    """A random batch of returns, EMAs, decay and floor; the returns' spread runs from tiny (S at the floor) to big."""
    spread = math.exp(6 * torch.rand((), generator=generator).item() - 3)          # 0.05 .. 20
    returns = spread * torch.randn(16, 15, generator=generator) + torch.randn((), generator=generator)
    low_ema = spread * torch.randn((), generator=generator)
    high_ema = low_ema + 4 * spread * torch.rand((), generator=generator)
    decay = 0.5 + 0.499 * torch.rand((), generator=generator).item()
    floor = 0.5 + 2 * torch.rand((), generator=generator).item()
    return returns, low_ema, high_ema, decay, floor


def reward_row_inputs(generator):
    """60 steps of small shaping rewards with a few goals of +-10, about six episode ends, a random alpha."""
    rewards = 0.1 * torch.randn(60, generator=generator, dtype=torch.float64)
    goals = torch.rand(60, generator=generator) < 0.1
    rewards[goals] = torch.where(torch.rand(int(goals.sum()), generator=generator) < 0.5, -10.0, 10.0).double()
    is_last = torch.rand(60, generator=generator) < 0.1
    alpha = 0.95 * torch.rand((), generator=generator).item()
    return rewards, alpha, is_last


def rollout_inputs(generator):
    """Four random rollouts of 15 steps, some of which end early; a random discount and lambda."""
    rewards = torch.randn(4, 15, generator=generator, dtype=torch.float64)
    values = 3 * torch.randn(4, 16, generator=generator, dtype=torch.float64)
    continues = (torch.rand(4, 15, generator=generator, dtype=torch.float64) > 0.1).double()
    discount = 0.9 + 0.1 * torch.rand((), generator=generator).item()
    lambda_ = torch.rand((), generator=generator).item()
    return rewards, values, continues, discount, lambda_


# ------------------------------------------------------------------------------------ 03: actor entropy bounds
def check_answer_zero_entropy_log_std(answer) -> bool | None:
    """The log_std_min at which the smallest possible entropy of the 4-dim action Normal is exactly 0."""
    return _check(answer, -HALF_LOG_2PIE, 0.01, "entropy per dimension is 0.5*ln(2*pi*e) + log sigma; "
                  "when is it zero?")


def check_answer_guide_sigma_at_zero_output(answer) -> bool | None:
    """sigma of the guide's actor when the raw log-std output of the network is 0."""
    c = Config()
    expected = math.exp(float(bounded_log_std(torch.tensor(0.0), c.log_std_min, c.log_std_max)))
    return _check(answer, expected, 0.01, "sigmoid(0) = 0.5, so log sigma is halfway between the bounds",
                  relative=True)


def check_answer_saturated_fraction(answer) -> bool | None:
    """Fraction of actions with |a| > 0.99 for tanh(u), u ~ Normal(0, exp(2))."""
    z = math.atanh(0.99) / math.exp(2.0)
    expected = 1.0 - math.erf(z / math.sqrt(2.0))          # P(|u| > atanh 0.99) for a standard Normal
    return _check(answer, expected, 0.02, "|tanh(u)| > 0.99 exactly when |u| > atanh(0.99) = 2.65")


# ------------------------------------------------------------------------------ 04: Moments return normalisation
def check_answer_updates_to_leave_floor(answer) -> bool | None:
    """First update after which S > 1 when every batch has P95 - P5 = 10 and the EMAs (decay 0.99) start at 0."""
    n = 1
    while 10.0 * (1.0 - 0.99 ** n) <= 1.0:
        n += 1
    return _check(answer, n, 0.0, "after n updates the EMA of a constant c is c * (1 - decay^n)")


def check_answer_advantage_factor(answer) -> bool | None:
    """Factor by which normalised advantages change when all rewards are multiplied by 50 (S above the floor)."""
    return _check(answer, 1.0, 1e-6, "returns, values and S are all multiplied by the same factor")


def check_answer_scale_small_returns(answer) -> bool | None:
    """S when every return lies in [-0.2, 0.2] (floor 1)."""
    return _check(answer, 1.0, 1e-6, "P95 - P5 can be at most 0.4 here")


# ---------------------------------------------------------------------------------------- 05: two-hot symlog
def check_answer_bins_for_100(answer) -> bool | None:
    """The two bins (below, above) that receive the two-hot weight of x = 100."""
    weights = TwoHot().encode(torch.tensor(100.0, dtype=torch.float64))
    expected = tuple(float(i) for i in torch.nonzero(weights > 0).flatten())
    return _check(answer, expected, 0.0, "index = (symlog(100) + 20) / spacing; take the floor and the next one")


def check_answer_upper_weight_for_100(answer) -> bool | None:
    """The weight of the upper of those two bins."""
    weights = TwoHot().encode(torch.tensor(100.0, dtype=torch.float64))
    expected = float(weights[weights > 0][-1])
    return _check(answer, expected, 0.01, "the fractional part of (symlog(100) + 20) / spacing")


def check_answer_mse_prediction(answer) -> bool | None:
    """What an MSE head converges to for rewards {0 w.p. 0.99, +10 w.p. 0.01} with uninformative inputs."""
    return _check(answer, 0.99 * 0.0 + 0.01 * 10.0, 0.005, "mean squared error is minimised by the mean")


# ------------------------------------------------------------------------------ 07: critic and lambda-returns
def check_answer_goal_return(answer) -> bool | None:
    """R_0 for a single +10 reward at step t = 14, all values 0, continues 1, gamma 0.997, lambda 0.95."""
    return _check(answer, 10.0 * (0.997 * 0.95) ** 14, 0.01, "with V = 0 only the lambda*R_{t+1} path survives: "
                  "each step back multiplies by gamma*lambda")


def check_answer_half_gap_updates(answer) -> bool | None:
    """Updates until the slow critic (decay 0.98) has closed half the gap to an online critic that jumped."""
    expected = math.ceil(math.log(0.5) / math.log(0.98))
    if answer is not None and isinstance(answer, (int, float)) and abs(answer - math.log(0.5) / math.log(0.98)) < 0.5:
        answer = expected                                   # 34.3 (the exact solution) is right too
    return _check(answer, expected, 0.0, "the remaining gap after n updates is 0.98^n of the jump")


def check_answer_td_lambda(answer) -> bool | None:
    """The lambda that turns the lambda-return into the one-step TD target r_t + gamma c_t V_{t+1}."""
    return _check(answer, 0.0, 1e-9, "which lambda removes the R_{t+1} term?")


# ------------------------------------------------------------------------------------------ 00: the hockey game
def check_answer_puck_entries(answer) -> bool | None:
    """How many of the 18 observation entries describe the puck (read off the env's mirror map)."""
    from .hockey import puck_entries

    return _check(answer, len(puck_entries()), 0.0, "position and velocity, two numbers each")


def check_answer_largest_return(answer) -> bool | None:
    """The largest return one NORMAL game can give player one: a goal, and never a closeness penalty."""
    from .hockey import goal_reward

    return _check(answer, goal_reward() + 0.0, 1e-6, "the closeness penalty is never positive, and a game ends "
                  "with the first goal")


def check_answer_steps_without_goal(answer) -> bool | None:
    """Steps of a NORMAL game that nobody wins."""
    from .hockey import max_game_steps

    return _check(answer, max_game_steps("NORMAL"), 0.0, "the clock is checked after the step counter has "
                  "reached the limit of 250")


# ------------------------------------------------------------------------------------------------------ 01: RSSM
def check_answer_feature_size(answer) -> bool | None:
    """Size of the features [h, z] with a 512-unit GRU and 32 categoricals of 32 classes."""
    expected = Config(deter_size=512, latent_length=32, latent_classes=32).feature_size
    return _check(answer, expected, 0.0, "features() concatenates h with the flattened one-hot z (L*K numbers)")


def check_answer_unimix_floor(answer) -> bool | None:
    """The smallest probability any class can have with a 1% uniform mix and K = 32 classes."""
    from ..distributions import unimix_probs

    logits = torch.zeros(32)
    logits[0] = 1e4                                        # a softmax that puts (numerically) all mass on class 0
    expected = float(unimix_probs(logits, 0.01).min())
    return _check(answer, expected, 1e-7, "the mix adds unimix / K to every class")


def check_answer_clipped_kl_loss(answer) -> bool | None:
    """The KL loss term of a step whose KL(post || prior) is 0.4 nats, with the guide's scales and free nats."""
    c = Config()
    expected = (c.kl_dynamics_scale + c.kl_representation_scale) * max(0.4, c.free_nats)
    return _check(answer, expected, 1e-6, "both terms have the same value and both are clipped at the free nats")


# ---------------------------------------------------------------------------------------------- 02: imagination
def check_answer_imagined_states(answer) -> bool | None:
    """Imagined states per update at the guide's sizes: every posterior state of a batch starts a rollout."""
    c = Config()
    return _check(answer, c.batch_size * c.batch_length * c.horizon, 0.0,
                  "batch_size x batch_length starts, each imagined for horizon steps")


def check_answer_constant_velocity(answer) -> bool | None:
    """Constant-velocity guess of the puck's x after 10 steps, from x = 1.0 m moving at vx = 5 m/s."""
    from ..open_loop import baseline_predictions

    last = torch.zeros(1, 18)
    last[0, 12], last[0, 14] = 1.0, 5.0
    expected = float(baseline_predictions(last, 10)["constant velocity"][0, -1, 0])
    return _check(answer, expected, 1e-3, "one env step lasts 1/50 s")


def check_answer_horizon_seconds(answer) -> bool | None:
    """How many seconds of game time the guide's imagination horizon covers."""
    from ..envs.hockey import DT

    return _check(answer, Config().horizon * DT, 1e-6, "H steps of dt = 1/FPS each")


# ------------------------------------------------------------------------------------------- 08: full training
def check_answer_env_steps_per_update(answer) -> bool | None:
    """Guide's config: replay ratio 32, batch 32 x 32.  Environment steps between two gradient updates?"""
    return _check(answer, 1.0 / Config().updates_per_env_step, 0.01,
                  "one update replays batch_size * batch_length steps; the replay ratio is replayed steps per env step")


def check_answer_updates_in_quick_run(answer) -> bool | None:
    """Config.quick(), TRAIN_SHOOTING, 9,000 env steps, every warmup game the full length: how many updates?"""
    from ..envs.hockey import MAX_TIMESTEPS

    c = Config.quick()
    expected = (9000 - c.warmup_episodes * MAX_TIMESTEPS["TRAIN_SHOOTING"]) * c.updates_per_env_step
    return _check(answer, expected, 1.0, "warmup games (random actions) do not train; after them every env step "
                  "earns replay_ratio / (batch_size * batch_length) updates")


def check_answer_wilson_upper(answer) -> bool | None:
    """Upper end of the 95% Wilson interval for 23 wins in 50 games (as a fraction)."""
    from ..evaluate import wilson_interval

    return _check(answer, wilson_interval(23, 50)[1], 0.005, "evaluate.wilson_interval(successes, trials)")


# ------------------------------------------------------------------------------------------------ 06: DreamSmooth
def check_answer_backward_ema_total(answer) -> bool | None:
    """Total of a lone +10, far from its episode's start, after the guide's backward EMA with alpha = 0.8."""
    from ..dreamsmooth import ema_smooth

    rewards = torch.zeros(500, dtype=torch.float64)
    rewards[-1] = 10.0
    expected = float(ema_smooth(rewards, 0.8, None).sum())
    return _check(answer, expected, 0.05, "the kernel is 1, a, a^2, ...: a geometric series, times 10")


def check_answer_causal_goal_step(answer) -> bool | None:
    """The reward the goal step is trained on when a last-step +10 goes through the paper's causal EMA (0.33)."""
    from ..dreamsmooth import causal_ema_smooth

    rewards = torch.zeros(100, dtype=torch.float64)
    rewards[-1] = 10.0
    expected = float(causal_ema_smooth(rewards, 0.33, None)[-1])
    return _check(answer, expected, 0.01, "r~_t = a r~_(t-1) + (1 - a) r_t, and r~_(t-1) is 0 before the goal")


def check_answer_box_goal_step(answer) -> bool | None:
    """The reward on the goal step itself after a centred box of width 9 smooths a last-step +10."""
    from ..dreamsmooth import uniform_smooth

    rewards = torch.zeros(100, dtype=torch.float64)
    rewards[-1] = 10.0
    expected = float(uniform_smooth(rewards, 9, None)[-1])
    return _check(answer, expected, 0.01, "only the box's half that lies inside the game is kept, "
                                          "and it is rescaled to carry the whole +10")


# ------------------------------------------------------------------------------------------ 09: ablations
def seed_results_inputs(generator):
    """One variant's results over 2 to 8 seeds: win rates in [0, 1] (a list of floats, as ``t_interval`` takes)."""
    seeds = int(torch.randint(2, 9, (), generator=generator))
    return (torch.rand(seeds, generator=generator, dtype=torch.float64).tolist(),)


def check_answer_t_half_width(answer) -> bool | None:
    """The half width of the 95% t interval of three seeds that won 30%, 36% and 24% (as a fraction)."""
    sd = math.sqrt(((0.30 - 0.30) ** 2 + (0.36 - 0.30) ** 2 + (0.24 - 0.30) ** 2) / 2)
    return _check(answer, 4.303 * sd / math.sqrt(3), 0.002,
                  "sample standard deviation (divide by n - 1), times t for 2 degrees of freedom (4.303), "
                  "divided by the square root of 3")


def check_answer_seeds_for_5_points(answer) -> bool | None:
    """Seeds per side for a 95% interval of about +-5 points on a difference, when seeds spread by sd 0.10."""
    return _check(answer, math.ceil(2 * (1.959964 * 0.10 / 0.05) ** 2), 1.0,
                  "the half width is 1.96 * sd * sqrt(2 / n); solve 1.96 * 0.10 * sqrt(2 / n) = 0.05 for n")
