"""Interactive explorers for the notebooks, and the small experiments whose numbers they show (guide ch. 6-10).

Each ``*_explorer()`` returns an ``ipywidgets.interactive``: sliders plus a matplotlib figure that is redrawn
when a slider moves.  The callback *returns the numbers the figure shows* as a dict, kept in the widget's
``.result``, so a test (or a notebook cell) can set a slider and check them::

    w = entropy_explorer()
    set_controls(w, log_std_min=-2.0)["min_entropy_per_dim"]     # -0.58

Everything also works without a browser (``MPLBACKEND=Agg``): figures are then closed after drawing and only
written to disk when ``save_to`` is given.  The experiments (``entropy_curves``, ``moments_trace``,
``fit_sparse_reward_heads``, ...) are plain functions returning numbers; the figures are drawn by
``dreamer_edu.viz.plots``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..actor_critic import Critic, update_slow_critic
from ..config import Config
from ..distributions import HALF_LOG_2PIE, BoundedNormal, TanhNormal, TwoHot, bounded_log_std, symlog
from ..networks import MLP
from ..returns import Moments, guide_lambda_returns, lambda_returns
from . import plots

#: log sigma at which a Normal's entropy per dimension is 0: -0.5 ln(2 pi e) = -1.419 (sigma = 0.242).
ZERO_ENTROPY_LOG_STD = -HALF_LOG_2PIE


# ------------------------------------------------------------------------------------------------------
# Helpers for driving explorers from code
# ------------------------------------------------------------------------------------------------------
def controls(widget) -> dict:
    """The explorer's sliders by name: ``{"log_std_min": FloatSlider, ...}``."""
    return dict(widget.controls_by_name)


def set_controls(widget, **values) -> dict:
    """Set sliders by name (each change redraws) and return the explorer's numbers (``widget.result``)."""
    sliders = controls(widget)
    unknown = set(values) - set(sliders)
    if unknown:
        raise ValueError(f"unknown control(s) {sorted(unknown)}; this explorer has {sorted(sliders)}")
    for name, value in values.items():
        sliders[name].value = value
    return widget.result


#: every control of an explorer gets the same label width and length, so that the sliders line up
_SLIDER_LOOK = {"style": {"description_width": "130px"}, "layout": {"width": "470px"}}


def _slider(value, low, high, step, description, fmt=".2f"):
    import ipywidgets as widgets

    return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                               readout_format=fmt, continuous_update=False,
                               **_SLIDER_LOOK)


def _interactive(callback, **sliders):
    """``ipywidgets.interactive`` (which runs the callback once now), remembering the sliders by argument name."""
    import ipywidgets as widgets

    explorer = widgets.interactive(callback, **sliders)
    explorer.controls_by_name = sliders
    return explorer


# ------------------------------------------------------------------------------------------------------
# Entropy of the actor (ch. 6 and 8)
# ------------------------------------------------------------------------------------------------------
def entropy_curves(log_std_min: float = -0.5, log_std_max: float = 2.0, mean: float = 0.0, action_dim: int = 4,
                   n_samples: int = 2000, seed: int = 0) -> dict:
    """Entropy per action dimension against the raw network output that ``bounded_log_std`` maps to log sigma.

    ``gaussian_entropy`` is the pre-tanh Normal's (what the guide logs), ``squashed_entropy`` the action's
    (Monte-Carlo, ``TanhNormal.squashed_entropy``) for a pre-tanh ``mean``.  The minimum of the Gaussian entropy
    is reached as the raw output goes to minus infinity: 1.419 + log_std_min.
    """
    if not log_std_min < log_std_max:
        raise ValueError(f"log_std_min ({log_std_min}) must be below log_std_max ({log_std_max})")
    raw = torch.linspace(-6.0, 6.0, 121, dtype=torch.float64)                    # (N,)
    log_std = bounded_log_std(raw, log_std_min, log_std_max)                     # (N,)
    dist = TanhNormal(torch.full((len(raw), 1), float(mean), dtype=torch.float64), log_std[:, None])
    gaussian = dist.entropy()                                                    # (N,) one dimension each
    # the same noise for every point of the curve (common random numbers), so the curve is smooth
    squashed = torch.stack([dist_i.squashed_entropy(n_samples, generator=torch.Generator().manual_seed(seed))
                            for dist_i in (TanhNormal(dist.mean[i], dist.log_std[i]) for i in range(len(raw)))])
    # raw output at which log sigma = -1.419, if the bounds include it
    p = (ZERO_ENTROPY_LOG_STD - log_std_min) / (log_std_max - log_std_min)
    zero_raw = math.log(p / (1 - p)) if 0.0 < p < 1.0 else None
    min_per_dim = HALF_LOG_2PIE + log_std_min
    return {
        "log_std_min": log_std_min, "log_std_max": log_std_max, "mean": mean, "action_dim": action_dim,
        "sigma_min": math.exp(log_std_min), "sigma_max": math.exp(log_std_max),
        "min_entropy_per_dim": min_per_dim, "min_entropy_total": action_dim * min_per_dim,
        "max_entropy_per_dim": HALF_LOG_2PIE + log_std_max,
        "min_squashed_entropy_per_dim": float(squashed.min()),
        "max_squashed_entropy_per_dim": float(squashed.max()),
        "zero_entropy_raw": zero_raw,
        "raw": raw.numpy(), "log_std": log_std.numpy(),
        "gaussian_entropy": gaussian.numpy(), "squashed_entropy": squashed.numpy(),
    }


def entropy_vs_mean(log_stds, means, n_samples: int = 2000, seed: int = 0) -> dict:
    """For each log sigma: (Gaussian, squashed) entropy per dimension at each pre-tanh mean, keyed "σ = ...".

    The squashed entropy is estimated with the same noise at every mean (common random numbers), so the curves
    are smooth even with few samples.
    """
    means = torch.as_tensor(means, dtype=torch.float64)
    out = {}
    for log_std in log_stds:
        gaussian, squashed = [], []
        for m in means:
            dist = TanhNormal(m.reshape(1), torch.tensor([float(log_std)], dtype=torch.float64))
            gaussian.append(float(dist.entropy()))
            squashed.append(float(dist.squashed_entropy(n_samples, generator=torch.Generator().manual_seed(seed))))
        out[f"σ = {math.exp(log_std):.3g}"] = (np.array(gaussian), np.array(squashed))
    return out


def entropy_explorer(save_to=None, n_samples: int = 2000):
    """Sliders for the log-std bounds and the pre-tanh mean; plots Gaussian and squashed entropy per dimension."""
    def show(log_std_min, log_std_max, mean):
        if not log_std_min < log_std_max:
            print(f"log_std_max ({log_std_max:.2f}) must be above log_std_min ({log_std_min:.2f})")
            return {"error": "log_std_min >= log_std_max"}
        curves = entropy_curves(log_std_min, log_std_max, mean, n_samples=n_samples)
        plots.finish(plots.plot_entropy_curves(curves), save_to)
        return curves

    return _interactive(show,
                        log_std_min=_slider(-0.5, -5.0, 1.0, 0.1, "log_std_min"),
                        log_std_max=_slider(2.0, 0.0, 3.0, 0.1, "log_std_max"),
                        mean=_slider(0.0, -3.0, 3.0, 0.1, "pre-tanh mean"))


def actor_action_samples(mean_raw: float, spread_raw: float, n: int, config: Config | None = None,
                         seed: int = 0) -> dict:
    """Actions of one dimension from both actor distributions for given network outputs (as ``Actor`` builds them).

    "tanh_normal": the guide's tanh(Normal) with log sigma bounded to [log_std_min, log_std_max];
    "bounded_normal": official DreamerV3, Normal(tanh(mean), sigma in [min_std, max_std]) clipped to [-1, 1].
    """
    c = config or Config()
    mean = torch.full((n, 1), float(mean_raw))
    spread = torch.full((n, 1), float(spread_raw))
    guide = TanhNormal(mean, bounded_log_std(spread, c.log_std_min, c.log_std_max))
    official = BoundedNormal(mean, spread, c.min_std, c.max_std)
    generator = torch.Generator().manual_seed(seed)
    return {
        "tanh_normal": guide.sample(generator)[0][:, 0].numpy(), "tanh_normal_std": float(guide.std[0, 0]),
        "bounded_normal": official.sample(generator)[0][:, 0].numpy(),
        "bounded_normal_std": float(official.std[0, 0]),
    }


# ------------------------------------------------------------------------------------------------------
# Return normalisation (ch. 9)
# ------------------------------------------------------------------------------------------------------
def synthetic_return_batches(updates: int = 600, goal_probability: float = 0.1, batch_size: int = 256,
                             noise: float = 0.1, goal: float = 10.0, seed: int = 0) -> torch.Tensor:
    """A stream of return batches (updates, batch_size) like early hockey training.

    Every return is small noise (std ``noise``).  For the first third of the updates no goal has been scored;
    after that each return independently contains a goal, +goal or -goal, with probability ``goal_probability``.
    """
    generator = torch.Generator().manual_seed(seed)
    shape = (updates, batch_size)
    returns = noise * torch.randn(shape, generator=generator)
    hit = torch.rand(shape, generator=generator) < goal_probability
    hit[: updates // 3] = False
    sign = torch.where(torch.rand(shape, generator=generator) < 0.5, -1.0, 1.0)
    return returns + goal * hit * sign


def moments_trace(decay: float = 0.99, goal_probability: float = 0.1, floor: float = 1.0, updates: int = 600,
                  seed: int = 0) -> dict:
    """Feed ``synthetic_return_batches`` through a ``Moments`` and record its EMAs and scale S per update."""
    moments = Moments(decay=decay, floor=floor)
    stream = synthetic_return_batches(updates, goal_probability, seed=seed)
    rows = []
    for batch in stream:
        _, scale = moments(batch)
        rows.append((float(moments.low_ema), float(moments.high_ema), float(scale)))
    low, high, scale = (np.array(col) for col in zip(*rows))
    batch_q = torch.quantile(stream, torch.tensor([0.05, 0.95]), dim=1).numpy()  # (2, updates)
    return {
        "decay": decay, "goal_probability": goal_probability, "floor": floor,
        "update": np.arange(1, updates + 1), "goals_from": updates // 3,
        "low_ema": low, "high_ema": high, "scale_trace": scale,
        "batch_low": batch_q[0], "batch_high": batch_q[1],
        "scale": float(scale[-1]),
        # S is float32: compare with the float32 floor (1.1 in float32 is 1.10000002 > 1.1)
        "at_floor_fraction": float((scale <= np.float32(floor)).mean()),
    }


def moments_explorer(save_to=None):
    """Sliders for the EMA decay, how often a goal shows up in the returns, and the floor of S."""
    def show(decay, goal_probability, floor):
        trace = moments_trace(decay, goal_probability, floor)
        plots.finish(plots.plot_moments_trace(trace), save_to)
        return trace

    return _interactive(show,
                        decay=_slider(0.99, 0.9, 0.999, 0.001, "decay", ".3f"),
                        goal_probability=_slider(0.2, 0.0, 0.5, 0.01, "goal probability"),
                        floor=_slider(1.0, 0.05, 5.0, 0.05, "floor"))


def entropy_advantage_gradients(reward_scale: float, normalise: bool, entropy_scale: float = 3e-4,
                                floor: float = 1.0, batch_size: int = 1024, action_dim: int = 4,
                                seed: int = 0) -> dict:
    """How hard the entropy bonus pulls on the actor compared with the advantage term (ch. 8-9).

    Builds one batch of returns and values (multiplied by ``reward_scale``), a ``TanhNormal`` policy with
    the guide's bounds, and takes the gradient of each term of the actor loss with respect to the policy's
    outputs.  With ``normalise`` the advantages are divided by S = max(floor, P95 - P5) of the returns (the
    value ``Moments`` settles at for a steady stream of such batches).  Returns the two gradient norms and
    their ratio (entropy / advantage).
    """
    generator = torch.Generator().manual_seed(seed)
    base_returns = 3.0 * torch.randn(batch_size, generator=generator)
    base_values = base_returns + torch.randn(batch_size, generator=generator)  # a critic that is a bit off
    returns, values = reward_scale * base_returns, reward_scale * base_values
    mean = torch.zeros(batch_size, action_dim, requires_grad=True)
    spread = torch.zeros(batch_size, action_dim, requires_grad=True)
    dist = TanhNormal(mean, bounded_log_std(spread, -0.5, 2.0))
    _, raw = dist.sample(generator)
    p5, p95 = torch.quantile(returns, torch.tensor([0.05, 0.95]))
    scale = torch.clamp(p95 - p5, min=floor) if normalise else torch.tensor(1.0)
    advantages = (returns - values) / scale
    advantage_term = (advantages[:, None] * dist.log_prob(raw)[:, None]).mean()
    entropy_term = entropy_scale * dist.entropy().mean()
    g_adv = torch.autograd.grad(advantage_term, [mean, spread], retain_graph=True)
    g_ent = torch.autograd.grad(entropy_term, [mean, spread], allow_unused=True)
    adv_norm, ent_norm = (math.sqrt(sum(float((g ** 2).sum()) for g in grads if g is not None))
                          for grads in (g_adv, g_ent))
    return {"reward_scale": reward_scale, "normalise": normalise, "S": float(scale) if normalise else float("nan"),
            "advantage_std": float(advantages.std()), "advantage_grad": adv_norm, "entropy_grad": ent_norm,
            "ratio": ent_norm / adv_norm}


# ------------------------------------------------------------------------------------------------------
# Lambda-returns and the slow critic (ch. 7)
# ------------------------------------------------------------------------------------------------------
def example_imagined_trajectory(horizon: int = 15, goal_step: int = 11, goal: float = 10.0):
    """One imagined rollout (batch of 1): a goal worth ``goal`` when action ``goal_step`` lands, then the game ends.

    The critic's values grow as the goal nears (10 * 0.8^steps-to-go) and are 0 after the game is over.
    Returns (rewards (1, H), values (1, H+1), continues (1, H)).
    """
    t = torch.arange(horizon + 1, dtype=torch.float64)
    values = torch.where(t <= goal_step, goal * 0.8 ** (goal_step + 1 - t),
                         torch.zeros((), dtype=torch.float64))
    rewards = torch.zeros(1, horizon, dtype=torch.float64)
    rewards[0, goal_step] = goal
    continues = torch.ones(1, horizon, dtype=torch.float64)
    continues[0, goal_step:] = 0.0
    return rewards, values[None], continues


def lambda_returns_comparison(lambda_: float = 0.95, discount: float = 0.997) -> dict:
    """Lambda-returns of ``example_imagined_trajectory``: ``lambda_returns`` (with gamma) and the guide's version."""
    rewards, values, continues = example_imagined_trajectory()
    ours = lambda_returns(rewards, values, continues, discount, lambda_)[0].numpy()
    guide = guide_lambda_returns(rewards, values, continues, discount, lambda_)[0].numpy()
    return {"lambda_": lambda_, "discount": discount, "rewards": rewards[0].numpy(), "values": values[0].numpy(),
            "continues": continues[0].numpy(), "returns": ours, "guide_returns": guide,
            "R0": float(ours[0]), "R0_guide": float(guide[0]), "max_abs_difference": float(np.abs(ours - guide).max())}


def lambda_explorer(save_to=None):
    """Sliders for lambda and gamma; plots ``lambda_returns_comparison``."""
    def show(lambda_, discount):
        result = lambda_returns_comparison(lambda_, discount)
        plots.finish(plots.plot_lambda_returns(result), save_to)
        return result

    return _interactive(show, lambda_=_slider(0.95, 0.0, 1.0, 0.01, "lambda"),
                        discount=_slider(0.997, 0.8, 1.0, 0.001, "discount gamma", ".3f"))


def slow_critic_tracking(decay: float = 0.98, updates: int = 500, ramp_updates: int = 300,
                         config: Config | None = None, seed: int = 0) -> dict:
    """Move an online ``Critic`` at constant speed along a random direction for ``ramp_updates`` updates, then
    hold it still; after each update apply ``update_slow_critic``.

    ``online_progress``/``slow_progress``: how far each network has moved along the direction (online: one unit
    per update).  ``online_value``/``slow_value``: both critics' value of one fixed model state.
    """
    config = config or Config.quick()
    with torch.random.fork_rng(devices=[]):                # seeded, without touching the caller's random state
        torch.manual_seed(seed)
        online, slow = Critic(config), Critic(config)
        direction = [0.002 * torch.randn_like(p) for p in online.parameters()]
        features = torch.randn(1, config.feature_size)
    slow.load_state_dict(online.state_dict())
    start = [p.detach().clone() for p in online.parameters()]
    dir_sq = sum(float((d * d).sum()) for d in direction)
    rows = []
    with torch.no_grad():
        for step in range(1, updates + 1):
            progress = min(step, ramp_updates)
            for p, p0, d in zip(online.parameters(), start, direction):
                p.copy_(p0 + progress * d)                  # where an optimiser would have moved it
            update_slow_critic(slow, online, decay)
            slow_progress = sum(float(((s - p0) * d).sum())
                                for s, p0, d in zip(slow.parameters(), start, direction)) / dir_sq
            rows.append((progress, slow_progress, float(online.value(features)), float(slow.value(features))))
    online_p, slow_p, online_v, slow_v = (np.array(col) for col in zip(*rows))
    return {"decay": decay, "update": np.arange(1, updates + 1), "ramp_updates": ramp_updates,
            "online_progress": online_p, "slow_progress": slow_p, "online_value": online_v, "slow_value": slow_v,
            "lag_at_ramp_end": float(online_p[ramp_updates - 1] - slow_p[ramp_updates - 1])}


def random_walk_lambda_study(lambdas, n_states: int = 9, horizon: int = 15, discount: float = 0.97,
                             value_error: float = 0.3, n_trajectories: int = 4000, seed: int = 0) -> dict:
    """Bias and variance of lambda-returns on a random walk whose true values are known (ch. 7).

    States 1..n_states, with terminal states 0 and n_states+1 at the ends; each step moves left or right with
    probability 1/2 and entering the right end pays +1.  The true values solve V = P (r + gamma V).  The critic
    used for bootstrapping is wrong by ``value_error`` in every non-terminal state.  From the middle state we
    imagine ``n_trajectories`` rollouts of ``horizon`` steps and compute R_0 for every lambda.
    """
    n = n_states
    # true values: V(s) = 0.5 * (r(s-1) + g V(s-1)) + 0.5 * (r(s+1) + g V(s+1)), V(ends) = 0
    a = np.eye(n)
    b = np.zeros(n)
    for i in range(n):
        for j in (i - 1, i + 1):
            if 0 <= j < n:
                a[i, j] -= 0.5 * discount
            elif j == n:
                b[i] += 0.5                                   # stepping into the right end pays +1
    true_values = np.concatenate([[0.0], np.linalg.solve(a, b), [0.0]])  # (n + 2,) including both ends
    critic = true_values + value_error
    critic[[0, -1]] = 0.0

    rng = np.random.default_rng(seed)
    start = (n + 1) // 2
    states = np.full((n_trajectories, horizon + 1), start)
    for t in range(horizon):
        s = states[:, t]
        alive = (s > 0) & (s < n + 1)
        states[:, t + 1] = np.where(alive, s + rng.choice([-1, 1], size=n_trajectories), s)
    entered = (states[:, 1:] != states[:, :-1])                         # a move happened at step t
    rewards = ((states[:, 1:] == n + 1) & entered).astype(np.float64)   # (N, H)
    continues = ((states[:, 1:] > 0) & (states[:, 1:] < n + 1)).astype(np.float64)
    values = critic[states]                                             # (N, H+1)
    r, v, c = (torch.as_tensor(x) for x in (rewards, values, continues))
    bias, variance = [], []
    for lam in lambdas:
        r0 = lambda_returns(r, v, c, discount, float(lam))[:, 0].numpy()
        bias.append(r0.mean() - true_values[start])
        variance.append(r0.var())
    bias, variance = np.array(bias), np.array(variance)
    return {"lambdas": np.asarray(lambdas, dtype=float), "bias": bias, "variance": variance,
            "mse": bias ** 2 + variance, "true_value": float(true_values[start]), "true_values": true_values,
            "discount": discount, "value_error": value_error, "horizon": horizon,
            "ended_fraction": float(1.0 - continues[:, -1].mean())}


# ------------------------------------------------------------------------------------------------------
# Two-hot over symlog bins (ch. 10)
# ------------------------------------------------------------------------------------------------------
def twohot_numbers(x: float, twohot: TwoHot | None = None) -> dict:
    """Where x lands on the bins: the two bins, their centres and weights, and the decoded value."""
    twohot = twohot or TwoHot()
    target = torch.tensor(float(x), dtype=torch.float64)
    weights = twohot.encode(target)                                             # (bins,)
    centers = twohot.centers.double()
    y = symlog(target).clamp(centers[0], centers[-1])
    below = int(torch.searchsorted(centers, y[None], right=True)[0].clamp(1, twohot.bins - 1)) - 1
    above = below + 1
    decoded = float(twohot.decode(torch.log(weights)))                          # log 0 = -inf: weight 0
    return {"x": float(x), "symlog_x": float(symlog(target)), "below": below, "above": above,
            "center_below": float(centers[below]), "center_above": float(centers[above]),
            "weight_below": float(weights[below]), "weight_above": float(weights[above]),
            "weights": weights.numpy(), "centers": centers.numpy(), "decoded": decoded,
            "spacing": twohot.spacing}


def twohot_explorer(save_to=None):
    """A slider for the target x; plots its two-hot weights on the symlog bins and the decoded value."""
    twohot = TwoHot()

    def show(x):
        numbers = twohot_numbers(x, twohot)
        plots.finish(plots.plot_twohot(numbers), save_to)
        return numbers

    return _interactive(show, x=_slider(10.0, -100.0, 100.0, 0.1, "target x"))


def sample_sparse_rewards(n: int, generator: torch.Generator, goal: float = 10.0,
                          goal_probability: float = 0.1) -> torch.Tensor:
    """-goal with probability p, +goal with probability p, else 0.  (n,)"""
    u = torch.rand(n, generator=generator)
    return goal * ((u > 1 - goal_probability).float() - (u < goal_probability).float())


def fit_sparse_reward_heads(steps: int = 300, batch_size: int = 256, hidden: int = 32, lr: float = 3e-3,
                            in_dim: int = 4, seed: int = 0, device: str | torch.device = "cpu") -> dict:
    """Fit a mean-squared-error head and a two-hot head to rewards {-10: 0.1, 0: 0.8, +10: 0.1} (ch. 10).

    The inputs are random and carry no information about the reward, so the best either head can do is to
    predict the reward's distribution: the MSE head can only give one number (the mean, 0), the two-hot head
    can give the whole distribution.  Both are ``networks.MLP``s, trained with Adam on the same batches.
    """
    generator = torch.Generator().manual_seed(seed)
    twohot = TwoHot().to(device)
    with torch.random.fork_rng(devices=[]):                # seeded, without touching the caller's random state
        torch.manual_seed(seed)
        mse_head = MLP(in_dim, hidden, 1, out_dim=1).to(device)
        twohot_head = MLP(in_dim, hidden, 1, out_dim=twohot.bins, zero_init_output=True).to(device)
    optimiser = torch.optim.Adam([*mse_head.parameters(), *twohot_head.parameters()], lr=lr)
    losses = []
    for _ in range(steps):
        x = torch.randn(batch_size, in_dim, generator=generator).to(device)
        y = sample_sparse_rewards(batch_size, generator).to(device)
        mse_loss = ((mse_head(x).squeeze(-1) - y) ** 2).mean()
        twohot_loss = twohot.loss(twohot_head(x), y).mean()
        optimiser.zero_grad()
        (mse_loss + twohot_loss).backward()
        optimiser.step()
        losses.append((mse_loss.item(), twohot_loss.item()))
    with torch.no_grad():
        x = torch.randn(2000, in_dim, generator=generator).to(device)
        mse_pred = mse_head(x).squeeze(-1).cpu()
        logits = twohot_head(x)
        probs = torch.softmax(logits, -1).mean(0).cpu().double()               # (bins,) averaged over inputs
        decoded = twohot.decode(logits).cpu()
    centers = twohot.centers.cpu().double()

    def near(value: float) -> float:  # probability on the bins within one spacing of symlog(value)
        return float(probs[(centers - symlog(torch.tensor(value))).abs() <= twohot.spacing].sum())

    return {"mse_prediction": float(mse_pred.mean()), "mse_prediction_std": float(mse_pred.std()),
            "twohot_probs": probs.numpy(), "centers": centers.numpy(),
            "twohot_decoded": float(decoded.mean()),
            "mass_minus_goal": near(-10.0), "mass_zero": near(0.0), "mass_plus_goal": near(10.0),
            "losses": np.array(losses), "steps": steps}


# ------------------------------------------------------------------------------------------------------
# DreamSmooth (ch. 11)
# ------------------------------------------------------------------------------------------------------
def dreamsmooth_explorer(episodes: list[dict], save_to=None):
    """Sliders for alpha (the guide's backward EMA and the paper's causal EMA), sigma (Gaussian) and width (box),
    a kernel dropdown and how many of ``episodes`` to show end to end.  Plots raw and smoothed rewards with the
    game boundaries; returns ``dreamsmooth_plots.smoothing_numbers`` (the plotted arrays and per-game totals).

    ``episodes``: real games, e.g. from ``experiments.collect_episodes`` (dicts with ``reward`` and ``is_last``).
    """
    import ipywidgets as ipw

    from . import dreamsmooth_plots

    if len(episodes) == 0:
        raise ValueError("dreamsmooth_explorer needs at least one episode to show")

    def show(method, alpha, sigma, width, games):
        numbers = dreamsmooth_plots.smoothing_numbers(episodes[:games], method=method, alpha=alpha, sigma=sigma,
                                                      width=width, causal_alpha=alpha)
        dreamsmooth_plots.plot_smoothing(numbers, save_to)
        return numbers

    methods = [(dreamsmooth_plots.LABELS[m], m) for m in ("ema", "causal_ema", "gaussian", "uniform", "none")]
    return _interactive(show,
                        method=ipw.Dropdown(options=methods, value="ema", description="kernel", **_SLIDER_LOOK),
                        alpha=_slider(0.5, 0.0, 0.95, 0.01, "alpha (EMAs)"),
                        sigma=_slider(3.0, 0.5, 10.0, 0.5, "sigma (Gaussian)"),
                        width=ipw.IntSlider(value=9, min=1, max=31, step=2, description="width (box)",
                                            continuous_update=False, **_SLIDER_LOOK),
                        games=ipw.IntSlider(value=1, min=1, max=len(episodes), step=1, description="games shown",
                                            continuous_update=False, **_SLIDER_LOOK))


# ------------------------------------------------------------------------------------------------------
# Ablations: a sweep's variants against its baseline (notebook 09)
# ------------------------------------------------------------------------------------------------------
def ablation_explorer(sweep, df, save_to=None):
    """Drop-downs for the statistic (final, best or mean win rate over a trial's evaluations) and the opponent;
    plots every variant's difference to the baseline with its interval (``sweep.compare_to_baseline``).
    Returns that comparison as a dict of lists."""
    import ipywidgets as widgets

    from ..sweep import STATISTICS, compare_to_baseline

    opponents = sorted(set(df.opponent), key=list(sweep.opponents).index)

    def show(statistic, opponent):
        comparison = compare_to_baseline(sweep, df, statistic=statistic, opponent=opponent)
        plots.finish(plots.plot_ablation(comparison, statistic, opponent), save_to)
        return comparison.to_dict(orient="list")

    return _interactive(show,
                        statistic=widgets.Dropdown(options=list(STATISTICS), value="mean", description="statistic",
                                                   **_SLIDER_LOOK),
                        opponent=widgets.Dropdown(options=opponents, value=opponents[0], description="opponent",
                                                  **_SLIDER_LOOK))
