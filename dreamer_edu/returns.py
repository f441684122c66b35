"""What the actor and critic learn from: lambda-returns and their normalisation (guide ch. 7 and 9).

**Lambda-returns** (ch. 7).  After imagining H steps we know, for each imagined step t = 0 .. H-1, the
reward r_t and continue probability c_t predicted at the state the t-th action led to, and the critic's
value V_0 .. V_H of every imagined state (V_0 belongs to the start state).  The lambda-return blends
"trust the critic after one step" with "trust the rest of the imagined rollout":

    R_t = r_t + gamma * c_t * ((1 - lambda) * V_{t+1} + lambda * R_{t+1}),      R_H := V_H.

lambda = 0 is one-step TD (r_t + gamma c_t V_{t+1}); lambda = 1 is the discounted sum of the imagined
rewards, bootstrapped with V_H at the horizon.  c_t = 0 (the game ended) stops everything after it.
The guide's code drops gamma (DESIGN item 1): with gamma missing, a goal 15 steps away is worth as much
as one right now.  ``guide_lambda_returns`` keeps that version so the notebook can compare.

**Return normalisation** (ch. 9).  The actor's advantage (R_t - V_t) is divided by a scale
S = max(floor, P95 - P5), where P5 and P95 are exponential moving averages of the 5th and 95th percentile
of the returns.  Percentiles ignore rare outliers; the floor keeps tiny, noise-only return ranges from
being blown up (early in hockey all returns are ~0, and dividing by their spread would turn noise into
large advantages).  With advantages on a fixed scale, one entropy coefficient works for every task.
"""
from __future__ import annotations

import torch
from torch import nn


def _check_returns_inputs(rewards: torch.Tensor, values: torch.Tensor, continues: torch.Tensor,
                          discount, lambda_) -> None:
    if rewards.ndim != 2:
        raise ValueError(f"rewards must have shape (B, H), got {tuple(rewards.shape)}")
    batch, horizon = rewards.shape
    if tuple(values.shape) != (batch, horizon + 1):
        raise ValueError(f"values must have shape (B, H+1) = {(batch, horizon + 1)} (V_0 .. V_H), "
                         f"got {tuple(values.shape)}")
    if tuple(continues.shape) != (batch, horizon):
        raise ValueError(f"continues must have shape (B, H) = {(batch, horizon)}, got {tuple(continues.shape)}")
    for name, x in (("discount", discount), ("lambda_", lambda_)):
        if isinstance(x, (int, float)) and not 0.0 <= x <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {x}")


def lambda_returns(rewards: torch.Tensor, values: torch.Tensor, continues: torch.Tensor,
                   discount: float, lambda_: float) -> torch.Tensor:
    """TD(lambda) returns of an imagined rollout.

    rewards (B, H), continues (B, H): predicted at the state reached by the t-th imagined action.
    values (B, H+1): V_0 (the start state) .. V_H.  Returns (B, H): R_0 .. R_{H-1}.
    """
    _check_returns_inputs(rewards, values, continues, discount, lambda_)
    horizon = rewards.shape[1]
    ret = values[:, -1]                                                         # (B,) R_H = V_H
    out = []
    for t in reversed(range(horizon)):                                          # H is small (15)
        blend = (1.0 - lambda_) * values[:, t + 1] + lambda_ * ret              # (B,)
        ret = rewards[:, t] + discount * continues[:, t] * blend
        out.append(ret)
    return torch.stack(out[::-1], dim=1)                                        # (B, H)


def replay_lambda_returns(rewards: torch.Tensor, bootstrap: torch.Tensor, is_last: torch.Tensor,
                          is_terminal: torch.Tensor, discount: float, lambda_: float) -> torch.Tensor:
    """Lambda-returns along a replayed *real* sequence (B, T) in the replay buffer's record convention.

    The official DreamerV3 also trains the critic on real games (DESIGN item 11): the rewards are the ones
    the game gave, and where the recursion needs a value it uses ``bootstrap`` (B, T), the imagined
    lambda-return from each posterior state.  Record t + 1 holds the reward of the step from t, so

        R_t = r_{t+1} + gamma * (1 - term_{t+1}) * ((1 - lambda * k_{t+1}) * boot_{t+1} + lambda * k_{t+1} * R_{t+1})

    with k_{t+1} = 1 - last_{t+1}: after the last record of a game the recursion stops (a goal ends it with the
    reward alone; a time-out bootstraps once) and never reads the next game.  R_{T-1} := boot_{T-1}.
    Returns (B, T-1): R_0 .. R_{T-2}.
    """
    if rewards.ndim != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must have shape (B, T) with T >= 2, got {tuple(rewards.shape)}")
    for name, x in (("bootstrap", bootstrap), ("is_last", is_last), ("is_terminal", is_terminal)):
        if x.shape != rewards.shape:
            raise ValueError(f"{name} must have the shape of rewards {tuple(rewards.shape)}, got {tuple(x.shape)}")
    for name, x in (("discount", discount), ("lambda_", lambda_)):
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {x}")
    live = discount * (1.0 - is_terminal.to(rewards.dtype))                             # (B, T)
    keep = lambda_ * (1.0 - is_last.to(rewards.dtype))                                   # (B, T)
    ret = bootstrap[:, -1]                                                       # (B,)
    out = []
    for t in reversed(range(rewards.shape[1] - 1)):
        blend = (1.0 - keep[:, t + 1]) * bootstrap[:, t + 1] + keep[:, t + 1] * ret
        ret = rewards[:, t + 1] + live[:, t + 1] * blend
        out.append(ret)
    return torch.stack(out[::-1], dim=1)                                         # (B, T-1)


def guide_lambda_returns(rewards: torch.Tensor, values: torch.Tensor, continues: torch.Tensor,
                         discount: float, lambda_: float) -> torch.Tensor:
    """The guide's version (ch. 7), kept only for comparison: it is WRONG.

    Its docstring writes gamma, but its code computes R_t = r_t + c_t * ((1 - lambda) V_{t+1} + lambda R_{t+1}):
    ``discount`` is accepted here so both functions take the same arguments, and then ignored, exactly as in
    the guide.  (The guide's listing also mixes time-first indexing, ``returns[t]``, with batch-first
    ``values[:, -1]``; this copy is written batch-first throughout.)  Equal to ``lambda_returns`` only when
    discount = 1.
    """
    _check_returns_inputs(rewards, values, continues, discount, lambda_)
    return lambda_returns(rewards, values, continues, 1.0, lambda_)


class Moments(nn.Module):
    """EMA of the 5th/95th percentiles of the returns; ``forward(returns) -> (offset, scale)``.

    As in DreamerV3, both EMAs start at 0 and are not bias-corrected: during the first few hundred updates
    they underestimate the spread, and the floor (default 1) covers that.  Everything stays on the device:
    ``offset`` and ``scale`` are 0-dim tensors, there is no ``.item()``.
    """

    def __init__(self, decay: float = 0.99, low: float = 0.05, high: float = 0.95, floor: float = 1.0):
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"Moments decay must be in (0, 1), got {decay}")
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"Moments needs 0 <= low < high <= 1, got low={low}, high={high}")
        if not floor > 0.0:
            raise ValueError(f"Moments floor must be > 0, got {floor}")
        self.decay, self.low, self.high, self.floor = float(decay), float(low), float(high), float(floor)
        self.register_buffer("low_ema", torch.zeros((), dtype=torch.float32))
        self.register_buffer("high_ema", torch.zeros((), dtype=torch.float32))
        # the two quantile levels, kept on the module's device so quantile() needs no host->device copy
        self.register_buffer("levels", torch.tensor([self.low, self.high], dtype=torch.float32),
                             persistent=False)

    @torch.no_grad()
    def forward(self, returns: torch.Tensor):
        """Update the EMAs with this batch's percentiles; return (offset, scale) as 0-dim float32 tensors."""
        if returns.numel() == 0:
            raise ValueError("Moments needs at least one return")
        x = returns.detach().float().reshape(-1)                                 # (N,)
        batch_low, batch_high = torch.quantile(x, self.levels.to(x.device))      # two 0-dim tensors
        self.low_ema.lerp_(batch_low, 1.0 - self.decay)                          # ema = d*ema + (1-d)*new
        self.high_ema.lerp_(batch_high, 1.0 - self.decay)
        offset = self.low_ema.clone()
        scale = torch.clamp(self.high_ema - self.low_ema, min=self.floor)
        return offset, scale

    def extra_repr(self) -> str:
        return f"decay={self.decay}, low={self.low}, high={self.high}, floor={self.floor}"


def normalized_advantages(returns: torch.Tensor, values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(returns - values) / scale, elementwise (shapes must match, e.g. both (B, H)).

    DreamerV3 normalises returns *and* values the same way, (x - offset) / scale; the offset appears in both
    and cancels in the difference, so only the scale matters for the advantage.
    """
    if returns.shape != values.shape:
        raise ValueError(f"returns {tuple(returns.shape)} and values {tuple(values.shape)} must have the same "
                         "shape (drop V_H: use values[:, :-1])")
    return (returns - values) / scale
