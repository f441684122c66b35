"""The Recurrent State-Space Model: DreamerV3's world-model core (guide ch. 3 and 4).

The model state has two parts:

* ``deter`` h_t (B, D): a GRU state that carries memory from step to step, deterministic given its inputs;
* ``stoch`` z_t (B, L, K): L categorical variables with K classes each, sampled as one-hot vectors.

Two distributions over z_t are learned:

* the **prior** p(z_t | h_t) guesses z_t from memory alone: this is what imagination uses;
* the **posterior** q(z_t | h_t, x_t) also sees the encoded observation x_t: this is what training uses.

One step: h_t = GRU(h_{t-1}, [z_{t-1}, a_{t-1}]), then z_t ~ posterior (observing) or prior (imagining).

The KL loss, read correctly (DESIGN item 4).  The guide describes the two KL terms as a "forward" and a
"reversed" KL.  Nothing is reversed: both terms are KL(posterior || prior) at each step, and they differ only in
where the gradient is stopped:

* dynamics loss       KL(sg(posterior) || prior)   trains the prior to predict the posterior   (scale 0.5)
* representation loss KL(posterior || sg(prior))   trains the posterior to stay predictable    (scale 0.1)

Each per-step KL is clipped from below at ``free_nats`` (1.0) before averaging, so once the two agree to within
one nat the model stops spending capacity on squeezing them closer.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .distributions import categorical_kl, sample_one_hot, unimix_probs
from .networks import MLP


class RSSMState(NamedTuple):
    """The model state: ``deter`` (..., D) and ``stoch`` (..., L, K) one-hot samples."""

    deter: torch.Tensor
    stoch: torch.Tensor

    def features(self) -> torch.Tensor:
        """[h, flatten(z)]: the input of every head. (..., D + L*K)"""
        return torch.cat([self.deter, self.stoch.flatten(-2)], dim=-1)

    def detach(self) -> "RSSMState":
        return RSSMState(self.deter.detach(), self.stoch.detach())

    def flatten_batch(self) -> "RSSMState":
        """(B, T, ...) -> (B*T, ...): every posterior state becomes an imagination start."""
        return RSSMState(self.deter.flatten(0, 1), self.stoch.flatten(0, 1))


class RSSM(nn.Module):
    def __init__(self, embed_size: int, action_dim: int, deter_size: int = 256, latent_length: int = 16,
                 latent_classes: int = 16, hidden_size: int = 256, unimix: float = 0.01):
        super().__init__()
        self.deter_size = deter_size
        self.latent_length = latent_length
        self.latent_classes = latent_classes
        self.unimix = unimix
        stoch_size = latent_length * latent_classes
        # [z_{t-1}, a_{t-1}] -> GRU input
        self.img_in = MLP(stoch_size + action_dim, hidden_size, layers=1)
        self.gru = nn.GRUCell(hidden_size, deter_size)
        # h_t -> prior logits;  [h_t, x_t] -> posterior logits
        self.prior_net = MLP(deter_size, hidden_size, layers=1, out_dim=stoch_size)
        self.posterior_net = MLP(deter_size + embed_size, hidden_size, layers=1, out_dim=stoch_size)

    # --- pieces of one step ---------------------------------------------------------------------
    def initial_state(self, batch_size: int, device=None) -> RSSMState:
        """All-zero h and z: the state before the first observation of an episode."""
        device = device if device is not None else self.gru.weight_hh.device
        deter = torch.zeros(batch_size, self.deter_size, device=device)
        stoch = torch.zeros(batch_size, self.latent_length, self.latent_classes, device=device)
        return RSSMState(deter, stoch)

    def _probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Flat logits (..., L*K) -> unimix probabilities (..., L, K)."""
        logits = logits.unflatten(-1, (self.latent_length, self.latent_classes))
        return unimix_probs(logits.float(), self.unimix)

    def recurrent_step(self, prev: RSSMState, prev_action: torch.Tensor) -> torch.Tensor:
        """h_t = GRU(h_{t-1}, MLP([z_{t-1}, a_{t-1}])). Returns h_t (B, D)."""
        x = self.img_in(torch.cat([prev.stoch.flatten(-2), prev_action], dim=-1))
        return self.gru(x, prev.deter)

    def prior_probs(self, deter: torch.Tensor) -> torch.Tensor:  # (..., D) -> (..., L, K)
        return self._probs(self.prior_net(deter))

    def posterior_probs(self, deter: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:  # -> (B, L, K)
        return self._probs(self.posterior_net(torch.cat([deter, embed], dim=-1)))

    # --- observing a real sequence ----------------------------------------------------------------
    def observe(self, embed: torch.Tensor, action: torch.Tensor, is_first: torch.Tensor,
                state: RSSMState | None = None):
        """Run the posterior over a sequence.

        embed (B, T, E); action (B, T, A) is the action that *led to* step t; is_first (B, T) resets the
        state to zeros where a new episode starts.  Returns the posterior states (B, T, ...) and the prior and
        posterior probabilities (B, T, L, K) for the KL loss.
        """
        batch, steps = embed.shape[:2]
        if state is None:
            state = self.initial_state(batch, embed.device)
        keep = (~is_first.bool()).to(embed.dtype)  # (B, T): 0 where an episode starts
        deters, stochs, posts = [], [], []
        for t in range(steps):
            mask = keep[:, t, None]  # (B, 1)
            state = RSSMState(state.deter * mask, state.stoch * mask[..., None])
            deter = self.recurrent_step(state, action[:, t] * mask)
            post = self.posterior_probs(deter, embed[:, t])
            state = RSSMState(deter, sample_one_hot(post))
            deters.append(deter)
            stochs.append(state.stoch)
            posts.append(post)
        states = RSSMState(torch.stack(deters, 1), torch.stack(stochs, 1))  # (B, T, D), (B, T, L, K)
        # the prior p(z_t | h_t) needs h_t alone and nothing in the loop needs it, so all T steps go through
        # the prior network at once here (one large product instead of T small ones)
        priors = self.prior_probs(states.deter)                              # (B, T, L, K)
        return states, priors, torch.stack(posts, 1)

    def observe_step(self, prev: RSSMState, prev_action: torch.Tensor, embed: torch.Tensor,
                     is_first: torch.Tensor) -> RSSMState:
        """One posterior step while acting in the real environment (B = number of games)."""
        mask = (~is_first.bool()).to(embed.dtype)[:, None]  # (B, 1)
        prev = RSSMState(prev.deter * mask, prev.stoch * mask[..., None])
        deter = self.recurrent_step(prev, prev_action * mask)
        return RSSMState(deter, sample_one_hot(self.posterior_probs(deter, embed)))

    # --- imagining ------------------------------------------------------------------------------
    def imagine_step(self, prev: RSSMState, action: torch.Tensor) -> RSSMState:
        """One step of the learned dynamics with no observation: z_t sampled from the prior."""
        deter = self.recurrent_step(prev, action)
        return RSSMState(deter, sample_one_hot(self.prior_probs(deter)))


def kl_loss(post_probs: torch.Tensor, prior_probs: torch.Tensor, free_nats: float = 1.0,
            dynamics_scale: float = 0.5, representation_scale: float = 0.1):
    """DreamerV3's KL balancing with free nats.  Inputs (B, T, L, K); returns (loss, dyn_kl, rep_kl, kl).

    Both KLs have the same value; they differ only in which side receives gradients.  Each per-step value is
    clipped below at ``free_nats`` (a clipped step gives no gradient) before the mean over (B, T).
    """
    dyn = categorical_kl(post_probs.detach(), prior_probs)   # (B, T): trains the prior
    rep = categorical_kl(post_probs, prior_probs.detach())   # (B, T): trains the posterior
    dyn_clipped = torch.clamp(dyn, min=free_nats)
    rep_clipped = torch.clamp(rep, min=free_nats)
    loss = (dynamics_scale * dyn_clipped + representation_scale * rep_clipped).mean()
    return loss, dyn.detach().mean(), rep.detach().mean(), dyn.detach()
