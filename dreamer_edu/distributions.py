"""The probability distributions DreamerV3 is built from (guide ch. 3, 6 and 10).

Three ideas live here, each a few small functions:

* **symlog and two-hot** (ch. 10).  Rewards and values are predicted as a categorical distribution over
  255 fixed "bins" laid out evenly in *symlog* space, ``symlog(x) = sign(x) * ln(1 + |x|)``.  A target
  number is written as a "two-hot" vector: all its probability mass sits on the two bin centres that
  bracket ``symlog(x)``, split so that the weighted mean of the two centres is exactly ``symlog(x)``.
  Training is plain cross-entropy, so a head can say "usually 0, sometimes +10" without averaging the two
  into a wrong 0.1, and one head copes with rewards of size 0.01 and 1000 alike.  With the default
  255 bins on [-20, 20] the spacing is 40 / 254 = 0.1575; symlog(10) = ln 11 = 2.398 falls between
  bin 142 (2.362) and bin 143 (2.520), about 77% / 23%.

* **categorical latents** (ch. 3).  The RSSM's stochastic state is L one-hot vectors of K classes.  A 1%
  "unimix" blends every categorical with the uniform one, so no class's probability is ever 0 (which keeps
  the KL finite and every class reachable).  Sampling a one-hot has no gradient, so the *straight-through*
  trick adds ``probs - probs.detach()``: the forward value is the one-hot, the backward pass sees the
  gradient of ``probs``.

* **actor distributions** (ch. 6).  ``TanhNormal`` is the guide's policy: a Normal sample ``u`` squashed by
  ``tanh``, with the log-std bounded by a sigmoid.  Its log-density needs the tanh's Jacobian,
  ``log(1 - tanh(u)^2)``, which we evaluate as ``2 * (log 2 - u - softplus(-2u))``: equal in exact
  arithmetic, but finite for any ``u`` (``1 - tanh(u)^2`` rounds to 0 once ``|u| > 9`` in float32).
  ``BoundedNormal`` is the official DreamerV3 actor (DESIGN item 7): mean ``tanh(x)``, std in [0.1, 1],
  no squashing; the environment clips the action.

A note on entropy (DESIGN item 2): a Normal's differential entropy per dimension is
``0.5 * ln(2 * pi * e) + ln(sigma) = 1.419 + log_std``.  It is zero at sigma = 1/sqrt(2 pi e) = 0.242 and
negative below.  The guide logs this *pre-tanh* entropy; the squashed action's entropy is lower by
``-E[log(1 - tanh(u)^2)]`` and can be negative even when sigma >= 0.606, if the mean saturates the tanh.
``TanhNormal.squashed_entropy`` estimates it so that the notebooks can show both.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import TWOHOT_SPACES

#: Entropy of a one-dimensional Normal with sigma = 1, minus ln(sigma): 0.5 * ln(2 pi e) = 1.4189.
HALF_LOG_2PIE = 0.5 * math.log(2.0 * math.pi * math.e)
#: The standard deviation at which a Normal's entropy per dimension is exactly 0: 1/sqrt(2 pi e) = 0.242.
ZERO_ENTROPY_STD = 1.0 / math.sqrt(2.0 * math.pi * math.e)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_2 = math.log(2.0)


# ------------------------------------------------------------------------------------------------------
# symlog (ch. 10)
# ------------------------------------------------------------------------------------------------------
def symlog(x: torch.Tensor) -> torch.Tensor:
    """sign(x) * ln(1 + |x|): the identity near 0, a logarithm for large |x|.  symlog(10) = ln 11."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def symexp(x: torch.Tensor) -> torch.Tensor:
    """The inverse of symlog: sign(x) * (exp(|x|) - 1)."""
    return torch.sign(x) * torch.expm1(torch.abs(x))


# ------------------------------------------------------------------------------------------------------
# Two-hot encoding over symlog bins (ch. 10)
# ------------------------------------------------------------------------------------------------------
class TwoHot(nn.Module):
    """A categorical distribution over ``bins`` fixed centres, read as a real number.

    ``encode(x)``     a target number  -> two-hot weights (..., bins)
    ``decode(logits)`` network logits  -> the number they predict
    ``loss(logits, x)`` cross-entropy of the two-hot target of x under the logits, per element

    Two layouts (DESIGN item 10; ``Config.twohot_space``):

    * ``space="symlog"`` (the guide, DreamerV3 2023): centres evenly spaced in symlog space, the target is
      symlog(x), and the prediction is symexp(E[centre]).  The expectation is taken in symlog space, so an
      uncertain head is pulled towards 0: P(+10) = P(0) = 0.5 predicts symexp(ln(11) / 2) = 2.32, not 5.
    * ``space="raw"`` (DreamerV3 2024): the same centres mapped back, symexp(linspace(low, high, bins)), so
      still dense near 0 and sparse far out; the target is x itself, and the prediction is E[centre], the
      plain mean of the distribution: the same two-way split predicts 5.
    """

    def __init__(self, bins: int = 255, low: float = -20.0, high: float = 20.0, space: str = "symlog"):
        super().__init__()
        if int(bins) != bins or bins < 2:
            raise ValueError(f"TwoHot needs an integer number of bins >= 2, got {bins!r}")
        if not low < high:
            raise ValueError(f"TwoHot needs low < high, got low={low}, high={high}")
        if space not in TWOHOT_SPACES:
            raise ValueError(f"TwoHot space must be one of {', '.join(TWOHOT_SPACES)}, got {space!r}")
        self.bins, self.low, self.high, self.space = int(bins), float(low), float(high), space
        # computed in float64 so that the float32 centres are as exact as float32 allows
        centers = torch.linspace(self.low, self.high, self.bins, dtype=torch.float64)
        if space == "raw":
            # the grid's middle point is 0 only up to rounding (2.8e-16 for the defaults); in raw space a reward
            # of exactly 0, the commonest target, should sit on one bin
            centers = symexp(torch.where(centers.abs() < 1e-9 * (self.high - self.low), 0.0, centers))
        self.register_buffer("centers", centers.float())  # (bins,), in symlog space or raw numbers

    @property
    def spacing(self) -> float:
        """Distance between neighbouring centres in symlog space: (high - low) / (bins - 1); 0.1575 for the
        defaults."""
        return (self.high - self.low) / (self.bins - 1)

    def _check_logits(self, logits: torch.Tensor) -> None:
        if logits.ndim == 0 or logits.shape[-1] != self.bins:
            raise ValueError(f"TwoHot expects logits of shape (..., {self.bins}), got {tuple(logits.shape)}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Two-hot weights of the target on the two nearest centres.  (...) -> (..., bins); rows sum to 1.

        The target is symlog(x) on symlog centres, x itself on raw ones.  Targets beyond the range are
        clipped: all their mass goes to the edge bin.
        """
        centers = self.centers.to(x.dtype) if x.is_floating_point() else self.centers
        y = x.to(centers.dtype)
        if self.space == "symlog":
            y = symlog(y)
        y = y.clamp(centers[0], centers[-1])                                     # (...)
        # index of the centre at or below y, kept one short of the end so that "above" exists
        below = torch.searchsorted(centers, y.contiguous(), right=True) - 1
        below = below.clamp(0, self.bins - 2)                                    # (...) int64
        above = below + 1
        lo, hi = centers[below], centers[above]                                  # (...)
        w_above = ((y - lo) / (hi - lo)).clamp(0.0, 1.0)                         # (...)
        weights = torch.zeros(*y.shape, self.bins, dtype=y.dtype, device=y.device)  # (..., bins)
        weights.scatter_(-1, below.unsqueeze(-1), (1.0 - w_above).unsqueeze(-1))
        weights.scatter_(-1, above.unsqueeze(-1), w_above.unsqueeze(-1))
        return weights

    def mean_center(self, logits: torch.Tensor) -> torch.Tensor:
        """sum(softmax(logits) * centres): the expected centre.  (..., bins) -> (...)."""
        self._check_logits(logits)
        probs = torch.softmax(logits, dim=-1)                                    # (..., bins)
        return (probs * self.centers.to(probs.dtype)).sum(-1)

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """The predicted number: symexp(E[centre]) on symlog centres, E[centre] on raw ones.  (..., bins) -> (...)."""
        mean = self.mean_center(logits)
        return symexp(mean) if self.space == "symlog" else mean

    def loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Cross-entropy between encode(x) (no gradient) and softmax(logits).  Per element: (...)."""
        self._check_logits(logits)
        if logits.shape[:-1] != x.shape:
            raise ValueError(f"TwoHot.loss: logits {tuple(logits.shape)} do not match targets "
                             f"{tuple(x.shape)} (expected logits of shape target.shape + ({self.bins},))")
        target = self.encode(x.detach().to(logits.dtype))                        # (..., bins)
        return -(target * torch.log_softmax(logits, dim=-1)).sum(-1)

    def extra_repr(self) -> str:
        return f"bins={self.bins}, low={self.low}, high={self.high}, space={self.space}"


# ------------------------------------------------------------------------------------------------------
# Categorical latents (ch. 3)
# ------------------------------------------------------------------------------------------------------
def unimix_probs(logits: torch.Tensor, unimix: float = 0.01) -> torch.Tensor:
    """(1 - u) * softmax(logits) + u / K over the last dim.  Every probability is at least u / K."""
    if not 0.0 <= unimix < 1.0:
        raise ValueError(f"unimix must be in [0, 1), got {unimix}")
    probs = torch.softmax(logits, dim=-1)                                        # (..., K)
    return (1.0 - unimix) * probs + unimix / probs.shape[-1]


def sample_one_hot(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw a one-hot sample from each categorical in ``probs`` (..., K), with a straight-through gradient.

    The forward value is exactly one-hot; the gradient is that of ``probs`` (``one_hot + (probs - sg(probs))``;
    bracketed so that rounding in ``one_hot + probs`` cannot turn a 1 into 0.99999994).
    Sampling inverts the cumulative distribution with one uniform number per categorical, so it needs no
    host synchronisation and works on any device.
    """
    if probs.ndim == 0:
        raise ValueError("sample_one_hot expects probabilities of shape (..., K)")
    num_classes = probs.shape[-1]
    with torch.no_grad():
        cdf = probs.cumsum(-1)                                                   # (..., K)
        u = torch.rand(probs.shape[:-1] + (1,), generator=generator, device=probs.device,
                       dtype=probs.dtype) * cdf[..., -1:]                        # (..., 1)
        index = (cdf <= u).sum(-1).clamp(max=num_classes - 1)                   # (...)
        one_hot = torch.zeros_like(probs).scatter_(-1, index.unsqueeze(-1), 1.0)  # (..., K)
    # (probs - sg(probs)) is exactly 0 in the forward pass, so the value stays exactly one-hot
    return one_hot + (probs - probs.detach())


def _check_latent_shapes(name: str, *tensors: torch.Tensor) -> None:
    for t in tensors:
        if t.ndim < 2:
            raise ValueError(f"{name} expects probabilities of shape (..., L, K), got {tuple(t.shape)}")
    if len(tensors) == 2 and tensors[0].shape != tensors[1].shape:
        raise ValueError(f"{name}: shapes differ, {tuple(tensors[0].shape)} vs {tuple(tensors[1].shape)}")


def categorical_kl(post_probs: torch.Tensor, prior_probs: torch.Tensor) -> torch.Tensor:
    """KL(post || prior) of L independent K-way categoricals, summed over both.  (..., L, K) -> (...).

    Terms with post = 0 contribute 0 (``xlogy``), as the definition says.
    """
    _check_latent_shapes("categorical_kl", post_probs, prior_probs)
    kl = torch.xlogy(post_probs, post_probs) - torch.xlogy(post_probs, prior_probs)  # (..., L, K)
    return kl.sum((-2, -1))


def categorical_entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy of L independent K-way categoricals, summed over both.  (..., L, K) -> (...)."""
    _check_latent_shapes("categorical_entropy", probs)
    return -torch.xlogy(probs, probs).sum((-2, -1))


# ------------------------------------------------------------------------------------------------------
# Actor distributions (ch. 6)
# ------------------------------------------------------------------------------------------------------
def gaussian_entropy_per_dim(log_std):
    """Differential entropy of a 1-D Normal: 0.5 * ln(2 pi e) + log_std (float or tensor)."""
    return HALF_LOG_2PIE + log_std


def bounded_log_std(raw: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Squeeze an unbounded network output into [low, high]: low + (high - low) * sigmoid(raw)."""
    if not low < high:
        raise ValueError(f"bounded_log_std needs low < high, got low={low}, high={high}")
    return low + (high - low) * torch.sigmoid(raw)


def _normal_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(x; mean, std)."""
    z = (x - mean) / std
    return -0.5 * z * z - torch.log(std) - _HALF_LOG_2PI


def log_one_minus_tanh_sq(u: torch.Tensor) -> torch.Tensor:
    """log(1 - tanh(u)^2), computed as 2 * (log 2 - u - softplus(-2u)): finite for every u."""
    return 2.0 * (_LOG_2 - u - F.softplus(-2.0 * u))


def _broadcast(name: str, a: torch.Tensor, b: torch.Tensor):
    try:
        shape = torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError as err:
        raise ValueError(f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from err
    if len(shape) == 0:
        raise ValueError(f"{name} expects parameters of shape (..., A), got scalars")
    return a.expand(shape), b.expand(shape)


class TanhNormal:
    """The guide's policy: u ~ Normal(mean, exp(log_std)) per action dimension, action = tanh(u).

    Shapes (..., A).  ``rsample``/``sample`` return ``(action, raw)`` where ``raw`` is u; keep u, because
    the log-density is computed from u (inverting tanh at an action of exactly +-1 is impossible).
    """

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor):
        self._mean, self.log_std = _broadcast("TanhNormal", mean, log_std)      # (..., A)

    @property
    def mean(self) -> torch.Tensor:
        """Mean of the pre-tanh Normal (..., A)."""
        return self._mean

    @property
    def std(self) -> torch.Tensor:
        """Standard deviation of the pre-tanh Normal (..., A)."""
        return self.log_std.exp()

    def rsample(self, generator: torch.Generator | None = None):
        """A reparameterised sample: gradients flow into mean and log_std.  Returns (action, raw)."""
        eps = torch.randn(self._mean.shape, generator=generator, device=self._mean.device,
                          dtype=self._mean.dtype)                                # (..., A)
        raw = self._mean + self.std * eps
        return torch.tanh(raw), raw

    def sample(self, generator: torch.Generator | None = None):
        """Like rsample, without gradients.  Returns (action, raw)."""
        with torch.no_grad():
            return self.rsample(generator)

    def log_prob(self, raw: torch.Tensor) -> torch.Tensor:
        """log density of the action tanh(raw): sum over A of [log N(raw) - log(1 - tanh(raw)^2)].  -> (...)."""
        gaussian = _normal_log_prob(raw, self._mean, self.std)                  # (..., A)
        return (gaussian - log_one_minus_tanh_sq(raw)).sum(-1)

    def entropy(self) -> torch.Tensor:
        """Entropy of the *pre-tanh* Normal (what the guide logs): sum over A of 1.419 + log_std.  -> (...)."""
        return gaussian_entropy_per_dim(self.log_std).sum(-1)

    def squashed_entropy(self, n_samples: int = 64, generator: torch.Generator | None = None) -> torch.Tensor:
        """Monte-Carlo estimate of the entropy of the action tanh(u) itself.  -> (...).

        H[tanh(u)] = H[u] + E[log(1 - tanh(u)^2)]; the second term is <= 0, so this is always lower than
        ``entropy()`` and becomes very negative when the mean pushes u deep into tanh's flat tails.
        """
        if int(n_samples) != n_samples or n_samples < 1:
            raise ValueError(f"squashed_entropy needs n_samples >= 1, got {n_samples!r}")
        eps = torch.randn((int(n_samples),) + tuple(self._mean.shape), generator=generator,
                          device=self._mean.device, dtype=self._mean.dtype)      # (N, ..., A)
        raw = self._mean + self.std * eps
        correction = log_one_minus_tanh_sq(raw).sum(-1).mean(0)                # (...)
        return self.entropy() + correction

    def mode(self) -> torch.Tensor:
        """The deterministic action: tanh(mean).  (..., A)."""
        return torch.tanh(self._mean)


class BoundedNormal:
    """The official DreamerV3 actor (DESIGN item 7): Normal(tanh(mean_raw), std), std in [min_std, max_std].

    ``std = (max_std - min_std) * sigmoid(std_raw + 2) + min_std``.  There is no squashing: ``raw`` is the
    Normal sample and the action sent to the environment is ``clamp(raw, -1, 1)``.  Shapes (..., A).
    """

    def __init__(self, mean_raw: torch.Tensor, std_raw: torch.Tensor, min_std: float = 0.1, max_std: float = 1.0):
        if not 0.0 < min_std < max_std:
            raise ValueError(f"BoundedNormal needs 0 < min_std < max_std, got {min_std}, {max_std}")
        mean_raw, std_raw = _broadcast("BoundedNormal", mean_raw, std_raw)
        self.min_std, self.max_std = float(min_std), float(max_std)
        self._mean = torch.tanh(mean_raw)                                        # (..., A) in (-1, 1)
        self._std = (self.max_std - self.min_std) * torch.sigmoid(std_raw + 2.0) + self.min_std

    @property
    def mean(self) -> torch.Tensor:
        return self._mean

    @property
    def std(self) -> torch.Tensor:
        return self._std

    @property
    def log_std(self) -> torch.Tensor:
        return self._std.log()

    def rsample(self, generator: torch.Generator | None = None):
        """A reparameterised sample.  Returns (action, raw): raw ~ Normal, action = clamp(raw, -1, 1)."""
        eps = torch.randn(self._mean.shape, generator=generator, device=self._mean.device,
                          dtype=self._mean.dtype)                                # (..., A)
        raw = self._mean + self._std * eps
        return raw.clamp(-1.0, 1.0), raw

    def sample(self, generator: torch.Generator | None = None):
        """Like rsample, without gradients.  Returns (action, raw)."""
        with torch.no_grad():
            return self.rsample(generator)

    def log_prob(self, raw: torch.Tensor) -> torch.Tensor:
        """Normal log-density of the unclipped sample, summed over A.  (..., A) -> (...)."""
        return _normal_log_prob(raw, self._mean, self._std).sum(-1)

    def entropy(self) -> torch.Tensor:
        """Normal entropy summed over A: sum of 1.419 + log std.  -> (...)."""
        return gaussian_entropy_per_dim(self.log_std).sum(-1)

    def mode(self) -> torch.Tensor:
        """The deterministic action: the mean, already inside (-1, 1).  (..., A)."""
        return self._mean
