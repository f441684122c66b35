"""DreamSmooth: smoothing sparse rewards before the reward head learns them (guide ch. 11, DESIGN item 6).

A hockey game pays +-10 on one step and 0 on the other ~250.  A reward head trained on that learns to say 0
everywhere, and imagination then never sees a goal.  DreamSmooth (Lee et al., 2024) trains the reward head
on a *smoothed* copy of each episode's rewards instead: the spike is spread over nearby steps, which is
easier to predict, and the sum of rewards over the episode is (nearly) unchanged.

The functions here smooth whole episodes when they enter the replay buffer (numpy, once per episode).
They never mix two episodes: ``is_last[t]`` marks the last step of an episode, for any reason (a goal or a
time-out), exactly the replay buffer's ``is_last``.  Smoothing stops at every episode end, not only at terminal
ones (a goal): a time-out ends the game too.  The end of the array is always an episode end as well.

Kernels (r is the raw reward, r~ the smoothed one):

* ``ema_smooth`` - the GUIDE's backward sum, r~_t = r_t + alpha * r~_{t+1}.  It spreads a reward only
  *backwards*, which is what a last-step goal needs, but its kernel 1, alpha, alpha^2, ... is not
  normalised: a reward is counted up to 1 / (1 - alpha) times in total (2x for alpha = 0.5).
* ``causal_ema_smooth`` - the paper's EMA, r~_t = alpha * r~_{t-1} + (1 - alpha) * r_t, restarted from 0
  at each episode's first step.  Its kernel (1 - alpha) alpha^k sums to 1 but spreads a reward only
  *forwards*; whatever would spill past the episode's end is lost, so a last-step goal keeps just
  (1 - alpha) of its value and moves no credit earlier.  (The paper's code starts the filter at r_0
  instead of 0; that changes only the weight of the first step's reward.)
* ``gaussian_smooth`` / ``uniform_smooth`` - the paper's centred kernels (Gaussian sigma = 3, box of
  width 9), spreading a reward both ways.  At an episode boundary the kernel is cut off, and the part
  inside the episode is rescaled to sum to 1 again, *per reward*: every reward keeps its full value, only
  moved around inside its own episode, so each episode's reward total is preserved exactly.  A last-step
  goal is therefore spread over the steps before it only.  (The paper's code pads each episode with its
  edge values instead, which counts a last-step reward more than once.)

For hockey the reward arrives on the last step, so only ``ema``, ``gaussian`` and ``uniform`` move credit
earlier; ``causal_ema`` just shrinks it.
"""
from __future__ import annotations

import math

import numpy as np
import torch

METHODS = ("none", "ema", "causal_ema", "gaussian", "uniform")
_TAIL = 1e-16  # EMA kernels are cut where alpha^k drops below this: below float64 resolution


# ------------------------------------------------------------------------------------------------------
# Input handling: torch or numpy, (T,) or (B, T) in; the same type, shape and dtype out
# ------------------------------------------------------------------------------------------------------
def _as_rows(rewards, is_last):
    """-> (rewards (B, T) float64, last (B, T) bool, restore(result) -> same kind as the input)."""
    is_torch = isinstance(rewards, torch.Tensor)
    r = rewards.detach().cpu().numpy() if is_torch else np.asarray(rewards)
    if r.ndim not in (1, 2):
        raise ValueError(f"rewards must have shape (T,) or (B, T), got {r.shape}")
    if is_last is None:
        last = np.zeros(r.shape, dtype=bool)
    else:
        t = is_last.detach().cpu().numpy() if isinstance(is_last, torch.Tensor) else np.asarray(is_last)
        if t.shape != r.shape:
            raise ValueError(f"is_last must have the shape of rewards {r.shape}, got {t.shape}")
        last = t.astype(bool)
    rows = r.reshape(-1, r.shape[-1]).astype(np.float64)                          # (B, T)
    last = last.reshape(rows.shape).copy()
    if rows.shape[1] > 0:
        last[:, -1] = True                                                        # the array ends an episode

    def restore(out: np.ndarray):
        out = out.reshape(r.shape)
        if is_torch:
            dtype = rewards.dtype if rewards.is_floating_point() else torch.get_default_dtype()
            return torch.as_tensor(out).to(device=rewards.device, dtype=dtype)
        return out.astype(r.dtype if np.issubdtype(r.dtype, np.floating) else np.float64)

    return rows, last, restore


def _episodes(last_row: np.ndarray):
    """(start, stop) of every episode in one row, from its last-step flags."""
    stops = np.flatnonzero(last_row) + 1
    starts = np.concatenate(([0], stops[:-1]))
    return zip(starts.tolist(), stops.tolist())


def _per_episode(rewards, is_last, smooth_one):
    """Apply ``smooth_one(r) -> r~`` (1-D float64 arrays) to every episode separately."""
    rows, last, restore = _as_rows(rewards, is_last)
    out = np.empty_like(rows)                                                     # (B, T)
    for b in range(rows.shape[0]):
        for start, stop in _episodes(last[b]):
            out[b, start:stop] = smooth_one(rows[b, start:stop])
    return restore(out)


# ------------------------------------------------------------------------------------------------------
# Kernels for one episode (1-D float64 arrays)
# ------------------------------------------------------------------------------------------------------
def _check_alpha(alpha: float) -> None:
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0, 1), got {alpha}")


def _geometric(alpha: float, n: int) -> np.ndarray:
    """1, alpha, alpha^2, ... cut at length n or where the terms become negligible."""
    length = 1 if alpha == 0.0 else min(n, int(math.log(_TAIL) / math.log(alpha)) + 1)
    return alpha ** np.arange(max(length, 1), dtype=np.float64)


def _backward_ema_one(r: np.ndarray, alpha: float) -> np.ndarray:
    # r~_t = sum_k alpha^k r_{t+k}: a convolution of the time-reversed episode
    kernel = _geometric(alpha, len(r))
    return np.convolve(r[::-1], kernel)[: len(r)][::-1]


def _causal_ema_one(r: np.ndarray, alpha: float) -> np.ndarray:
    # r~_t = (1 - alpha) sum_k alpha^k r_{t-k}, starting from r~_{-1} = 0
    kernel = (1.0 - alpha) * _geometric(alpha, len(r))
    return np.convolve(r, kernel)[: len(r)]


def _centred_one(r: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Spread each reward with a symmetric odd-length kernel, re-normalised inside the episode."""
    n, half = len(r), len(kernel) // 2
    # mass[i]: how much of reward i's kernel lands inside the episode
    mass = np.convolve(np.ones(n), kernel)[half: half + n]                        # (n,)
    return np.convolve(r / mass, kernel)[half: half + n]


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(4.0 * sigma + 0.5))                                       # +-4 sigma, like scipy
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return k / k.sum()


# ------------------------------------------------------------------------------------------------------
# Public smoothing functions
# ------------------------------------------------------------------------------------------------------
def ema_smooth(rewards, alpha: float, is_last):
    """The guide's backward EMA r~_t = r_t + alpha * r~_{t+1}; at an episode's last step r~ = r.

    Not normalised: a reward at position i of its episode is counted (1 - alpha^(i+1)) / (1 - alpha) times.
    """
    _check_alpha(alpha)
    return _per_episode(rewards, is_last, lambda r: _backward_ema_one(r, alpha))


def causal_ema_smooth(rewards, alpha: float, is_last):
    """The paper's EMA r~_t = alpha * r~_{t-1} + (1 - alpha) * r_t, restarting from 0 at every episode."""
    _check_alpha(alpha)
    return _per_episode(rewards, is_last, lambda r: _causal_ema_one(r, alpha))


def gaussian_smooth(rewards, sigma: float, is_last):
    """Centred Gaussian kernel (std ``sigma`` steps, cut at 4 sigma), re-normalised inside each episode."""
    if not sigma > 0.0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    kernel = _gaussian_kernel(float(sigma))
    return _per_episode(rewards, is_last, lambda r: _centred_one(r, kernel))


def uniform_smooth(rewards, width: int, is_last):
    """Centred box of ``width`` steps (odd: the step itself and (width-1)/2 each side), re-normalised."""
    if int(width) != width or width < 1 or width % 2 == 0:
        raise ValueError(f"width must be a positive odd integer (a centred box), got {width!r}")
    kernel = np.full(int(width), 1.0 / int(width))
    return _per_episode(rewards, is_last, lambda r: _centred_one(r, kernel))


def smooth_rewards(rewards, is_last, method: str = "ema", alpha: float = 0.5, sigma: float = 3.0,
                   width: int = 9, causal_alpha: float = 0.33):
    """Smooth rewards with one of ``METHODS``; each method reads only its own parameter.

    "none" returns an unchanged copy; "ema" uses ``alpha``, "causal_ema" ``causal_alpha``,
    "gaussian" ``sigma`` and "uniform" ``width``.
    """
    if method == "none":
        rows, _, restore = _as_rows(rewards, is_last)
        return restore(rows)
    if method == "ema":
        return ema_smooth(rewards, alpha, is_last)
    if method == "causal_ema":
        return causal_ema_smooth(rewards, causal_alpha, is_last)
    if method == "gaussian":
        return gaussian_smooth(rewards, sigma, is_last)
    if method == "uniform":
        return uniform_smooth(rewards, width, is_last)
    raise ValueError(f"unknown DreamSmooth method {method!r}; valid methods: {', '.join(METHODS)}")
