"""Open-loop prediction with a trained world model: how far ahead can it imagine? (guide ch. 3-5, 13)

"Open loop" means: let the model *observe* the first ``context`` steps of a real sequence (posterior states,
as in training), then stop showing it observations and roll the *prior* forward with the actions that were
really taken.  Decoding the imagined states and comparing them with what really happened measures exactly the
error that imagination (ch. 5) works with, one step, five steps, fifteen steps ahead.

The decoder predicts ``symlog(obs)`` (ch. 10), so every decoded observation here goes through ``symexp``.

Tensors are batch-first: observations (B, T, 18), actions (B, T, 4), where ``action[:, t]`` is the action that
*led to* step t (the replay buffer's convention; ``action[:, 0]`` of an episode is zero).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .distributions import symexp
from .envs.hockey import DT
from .rssm import RSSMState

#: Indices of the positions in the 18-dim observation and of their velocities (hockey spec, section 3).
PUCK_POSITION = (12, 13)
VELOCITY_OF = {0: 3, 1: 4, 6: 9, 7: 10, 12: 14, 13: 15}


class OpenLoop(NamedTuple):
    """The result of ``open_loop``: states and decoded predictions, all (B, T, ...)."""

    states: RSSMState          # deter (B, T, D), stoch (B, T, L, K)
    obs: torch.Tensor          # (B, T, 18) decoded, in raw units (symexp applied)
    reward: torch.Tensor       # (B, T)
    cont: torch.Tensor         # (B, T) continue probability
    context: int               # steps 0 .. context-1 were observed, the rest imagined


def decode_obs(model, features: torch.Tensor) -> torch.Tensor:
    """Observation the decoder reads from model states: symexp(decoder(features)) (ch. 4, 10).  (..., F) -> (..., 18)"""
    return symexp(model.decoder(features).float())


def _check_sequence(model, obs: torch.Tensor, action: torch.Tensor, is_first: torch.Tensor | None) -> torch.Tensor:
    """Validate shapes; return is_first (B, T) (default: an episode starts at step 0 only)."""
    if obs.ndim != 3 or obs.shape[-1] != model.obs_dim:
        raise ValueError(f"obs must have shape (B, T, {model.obs_dim}), got {tuple(obs.shape)}")
    batch, steps = obs.shape[:2]
    if tuple(action.shape) != (batch, steps, model.action_dim):
        raise ValueError(f"action must have shape {(batch, steps, model.action_dim)} to match obs, "
                         f"got {tuple(action.shape)}")
    if is_first is None:
        is_first = torch.zeros(batch, steps, dtype=torch.bool, device=obs.device)
        is_first[:, 0] = True
    if tuple(is_first.shape) != (batch, steps):
        raise ValueError(f"is_first must have shape {(batch, steps)}, got {tuple(is_first.shape)}")
    return is_first.bool()


@torch.no_grad()
def open_loop(model, obs: torch.Tensor, action: torch.Tensor, context: int,
              is_first: torch.Tensor | None = None) -> OpenLoop:
    """Observe ``context`` steps with the posterior, then imagine the rest with the prior and the real actions.

    Guide ch. 3 (prior and posterior) and 5 (imagination).

    obs (B, T, 18), action (B, T, 4), is_first (B, T) or None.  ``context = T`` is plain observation (the
    posterior all the way), which is what the reconstruction loss sees.  Raises ``ValueError`` when the context
    is not in [1, T], when a shape is wrong, or when an episode starts inside the imagined part (the prior
    cannot know about a reset).
    """
    is_first = _check_sequence(model, obs, action, is_first)
    steps = obs.shape[1]
    if int(context) != context or not 1 <= context <= steps:
        raise ValueError(f"context must be an integer in [1, {steps}] (the sequence length), got {context!r}")
    context = int(context)
    if is_first[:, context:].any():
        raise ValueError("an episode starts inside the imagined part (is_first after the context): "
                         "cut the sequence at the episode boundary")
    rssm = model.rssm
    embed = model.embed(obs[:, :context])                                        # (B, C, E)
    observed, _, _ = rssm.observe(embed, action[:, :context], is_first[:, :context])
    deters, stochs = [observed.deter], [observed.stoch]                          # (B, C, D), (B, C, L, K)
    state = RSSMState(observed.deter[:, -1], observed.stoch[:, -1])              # (B, D), (B, L, K)
    for t in range(context, steps):
        state = rssm.imagine_step(state, action[:, t])                           # prior step with the real action
        deters.append(state.deter[:, None])
        stochs.append(state.stoch[:, None])
    states = RSSMState(torch.cat(deters, 1), torch.cat(stochs, 1))               # (B, T, ...)
    feats = states.features()                                                    # (B, T, F)
    return OpenLoop(states, decode_obs(model, feats), model.reward(feats), model.continue_prob(feats), context)


def episode_windows(episodes: list[dict], length: int, stride: int, device="cpu") -> dict[str, torch.Tensor]:
    """Every window of ``length`` consecutive steps inside one episode, starting every ``stride`` steps (ch. 12).

    Returns obs (N, length, 18), action (N, length, 4) and is_first (N, length) (True at each window's first
    step: the model starts there from its initial state, as on replayed training sequences).
    """
    if length < 2 or stride < 1:
        raise ValueError(f"need length >= 2 and stride >= 1, got length={length}, stride={stride}")
    obs, action = [], []
    for ep in episodes:
        for start in range(0, len(ep["obs"]) - length + 1, stride):
            obs.append(ep["obs"][start:start + length])
            action.append(ep["action"][start:start + length])
    if not obs:
        raise ValueError(f"no episode has {length} steps: use shorter windows")
    obs_t = torch.as_tensor(np.stack(obs), dtype=torch.float32, device=device)     # (N, length, 18)
    is_first = torch.zeros(obs_t.shape[:2], dtype=torch.bool, device=device)
    is_first[:, 0] = True
    return {"obs": obs_t, "action": torch.as_tensor(np.stack(action), dtype=torch.float32, device=device),
            "is_first": is_first}


def baseline_predictions(last_obs: torch.Tensor, horizon: int, dims=PUCK_POSITION) -> dict[str, torch.Tensor]:
    """Two model-free guesses of positions ``dims`` for the next ``horizon`` steps, from the last seen obs (N, 18)
    (the yardsticks for imagination, ch. 5).

    "stays": the position does not change; "constant velocity": x + k * dt * v (dt = 0.02 s per env step).
    Both (N, horizon, len(dims)).
    """
    dims = list(dims)
    pos = last_obs[:, dims]                                                      # (N, P)
    vel = last_obs[:, [VELOCITY_OF[d] for d in dims]]                            # (N, P)
    k = torch.arange(1, horizon + 1, dtype=last_obs.dtype, device=last_obs.device)[None, :, None]  # (1, H, 1)
    return {"stays": pos[:, None].expand(-1, horizon, -1),
            "constant velocity": pos[:, None] + k * DT * vel[:, None]}


def error_by_horizon(model, episodes: list[dict], context: int, horizon: int, stride: int = 10,
                     dims=PUCK_POSITION, device="cpu") -> dict:
    """Mean distance between predicted and true positions ``dims`` (metres), 1 .. ``horizon`` steps ahead (ch. 5, 13).

    Every window of ``context + horizon`` steps (every ``stride`` steps) of ``episodes`` is one start: the model
    observes ``context`` steps, then imagines ``horizon`` with the real actions.  Returns numpy arrays
    ``steps`` (H,), ``model``, ``stays``, ``constant velocity`` (H,) and the model's error where it still sees the
    observation (``posterior``, a float) and the number of starts (``starts``).
    """
    if context < 1 or horizon < 1:
        raise ValueError(f"context and horizon must be >= 1, got {context}, {horizon}")
    dims = list(dims)
    w = episode_windows(episodes, context + horizon, stride, device)
    pred = open_loop(model, w["obs"], w["action"], context, w["is_first"])
    truth = w["obs"][:, context:, dims]                                          # (N, H, P)

    def dist(guess: torch.Tensor) -> np.ndarray:                                 # (N, H, P) -> (H,)
        return torch.linalg.vector_norm(guess - truth, dim=-1).mean(0).cpu().numpy()

    out = {"steps": np.arange(1, horizon + 1), "model": dist(pred.obs[:, context:, dims])}
    for name, guess in baseline_predictions(w["obs"][:, context - 1], horizon, dims).items():
        out[name] = dist(guess)
    seen = pred.obs[:, context - 1, dims] - w["obs"][:, context - 1, dims]         # (N, P)
    out["posterior"] = float(torch.linalg.vector_norm(seen, dim=-1).mean())
    out["starts"] = int(w["obs"].shape[0])
    return out


def first_crossing(steps, errors, threshold: float) -> int | None:
    """The first step whose error exceeds ``threshold``, or None when it never does (ch. 13: choosing H)."""
    above = np.flatnonzero(np.asarray(errors) > threshold)
    return int(np.asarray(steps)[above[0]]) if len(above) else None


@torch.no_grad()
def sample_paths(model, obs: torch.Tensor, action: torch.Tensor, context: int, samples: int) -> torch.Tensor:
    """``samples`` open-loop predictions of one sequence (T, 18) with actions (T, 4): (S, T, 18) decoded (ch. 5).

    All samples share the observed context and the real actions; they differ only in the prior's random
    draws, so their spread shows the model's own uncertainty about the future.
    """
    if obs.ndim != 2 or action.ndim != 2:
        raise ValueError(f"sample_paths takes one sequence: obs (T, 18), action (T, 4); got {tuple(obs.shape)}, "
                         f"{tuple(action.shape)}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    many_obs = obs[None].expand(samples, -1, -1)                                  # (S, T, 18)
    many_action = action[None].expand(samples, -1, -1)                           # (S, T, 4)
    return open_loop(model, many_obs, many_action, context).obs


@torch.no_grad()
def reconstruction_errors(model, episodes: list[dict], reference: np.ndarray, device="cpu") -> dict[str, np.ndarray]:
    """Mean squared error per observation entry (18,) of the posterior decoding of whole ``episodes`` (ch. 4), and of
    the trivial prediction ``reference`` (18,) (for example the training data's mean) on the same steps."""
    model_se, base_se = [], []
    for ep in episodes:
        obs = torch.as_tensor(ep["obs"], dtype=torch.float32, device=device)[None]        # (1, T, 18)
        action = torch.as_tensor(ep["action"], dtype=torch.float32, device=device)[None]  # (1, T, 4)
        pred = open_loop(model, obs, action, obs.shape[1]).obs                             # (1, T, 18)
        model_se.append(((pred - obs) ** 2)[0].cpu().numpy())
        base_se.append((ep["obs"] - np.asarray(reference, np.float32)[None]) ** 2)
    return {"model": np.concatenate(model_se).mean(0), "baseline": np.concatenate(base_se).mean(0)}


def grad_norms_by_part(model) -> dict[str, float]:
    """Norm of the current gradients of each part of a ``WorldModel`` (0.0 where no gradient arrived; ch. 4).

    Used to show where a loss term sends its gradient (the two KL terms, ch. 4).
    """
    parts = {"encoder": model.encoder, "rssm: GRU input (img_in)": model.rssm.img_in,
             "rssm: GRU": model.rssm.gru, "rssm: prior net": model.rssm.prior_net,
             "rssm: posterior net": model.rssm.posterior_net, "decoder": model.decoder}
    out = {}
    for name, module in parts.items():
        grads = [p.grad.flatten() for p in module.parameters() if p.grad is not None]
        out[name] = float(torch.linalg.vector_norm(torch.cat(grads))) if grads else 0.0
    return out


def kl_term_gradients(model, batch: dict[str, torch.Tensor], steps: int) -> dict[str, dict[str, float]]:
    """Where does each KL term send its gradient?  (guide ch. 4; DESIGN item 4)

    Runs the posterior over the first ``steps`` steps of ``batch`` (obs (B, T, 18), action (B, T, 4),
    is_first (B, T)), back-propagates the dynamics term alone and then the representation term alone (scale 1,
    the other 0, free nats 0 so that no step is clipped) and returns ``{term: grad_norms_by_part(model)}``.
    The model's gradients are cleared afterwards.
    """
    from .rssm import kl_loss

    if not 1 <= steps <= batch["obs"].shape[1]:
        raise ValueError(f"steps must be in [1, {batch['obs'].shape[1]}], got {steps}")
    table = {}
    for term, scales in {"dynamics": (1.0, 0.0), "representation": (0.0, 1.0)}.items():
        model.zero_grad(set_to_none=True)
        with torch.enable_grad():
            embed = model.embed(batch["obs"][:, :steps])                         # (B, steps, E)
            _, prior, post = model.rssm.observe(embed, batch["action"][:, :steps], batch["is_first"][:, :steps])
            kl_loss(post, prior, 0.0, *scales)[0].backward()
        table[term] = grad_norms_by_part(model)
    model.zero_grad(set_to_none=True)
    return table
