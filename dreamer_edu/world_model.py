"""The world model: encoder, RSSM, and the heads that read its state (guide ch. 4 and 15).

Training data is a batch of real sequences (B, T).  The encoder embeds each observation, the RSSM turns the
sequence into posterior states s_t = [h_t, z_t], and each head is trained to predict something from s_t:

=================  ============================================  ==================================
head               target                                        loss
=================  ============================================  ==================================
decoder            symlog(obs_t) (18 numbers)                     squared error, summed over dims
reward             reward_t, DreamSmooth-ed (ch. 11)              two-hot cross-entropy (ch. 10)
continue           1 - is_terminal_t                              Bernoulli (binary cross-entropy)
aux: goal soon     the agent scores within the next N=15 steps   Bernoulli, masked where unknown
aux: puck distance ||puck - centre of the opponent's goal||     squared error
aux: shot quality  speed factor x aim factor of the puck, in     squared error
                   [0, 1] (see ``shot_quality``)
=================  ============================================  ==================================

plus the KL loss of the RSSM (``rssm.kl_loss``).  The three auxiliary heads are the guide's chapter-15
additions; they only shape the latent state (nothing in imagination reads them).  Time-outs are not terminal:
``is_terminal`` is False on the 251st step of an un-scored game, so the continue head learns that only goals
end the game and imagination keeps bootstrapping through the clock (the env reports time-outs as truncation).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import Config
from .distributions import TwoHot, symlog
from .networks import MLP
from .rssm import RSSM, RSSMState, kl_loss

#: Centre of the opponent's goal in the agent's own observation frame (world (9.25, 4) minus centre (5, 4)).
OPPONENT_GOAL = (4.25, 0.0)
#: Puck speed at which the shot-quality speed factor saturates (the env's puck damping switch).
SHOT_SPEED_SCALE = 25.0
#: A terminal reward above this is the agent's goal (+10 plus a non-positive shaping term).
GOAL_REWARD_THRESHOLD = 5.0


def puck_distance(obs: torch.Tensor) -> torch.Tensor:
    """Distance of the puck from the centre of the opponent's goal, in metres. (..., 18) -> (...)"""
    dx = obs[..., 12] - OPPONENT_GOAL[0]
    dy = obs[..., 13] - OPPONENT_GOAL[1]
    return torch.sqrt(dx * dx + dy * dy)


def shot_quality(obs: torch.Tensor) -> torch.Tensor:
    """How good a shot the puck currently is, in [0, 1]. (..., 18) -> (...)

    ``min(speed / 25, 1) * max(cos(angle), 0)`` where angle is between the puck's velocity and the direction
    from the puck to the opponent's goal centre: 1 for a fast puck flying straight at the goal, 0 for a still
    puck or one moving away from it.
    """
    to_goal_x = OPPONENT_GOAL[0] - obs[..., 12]
    to_goal_y = OPPONENT_GOAL[1] - obs[..., 13]
    vx, vy = obs[..., 14], obs[..., 15]
    speed = torch.sqrt(vx * vx + vy * vy)
    dist = torch.sqrt(to_goal_x * to_goal_x + to_goal_y * to_goal_y)
    cos = (vx * to_goal_x + vy * to_goal_y) / (speed * dist + 1e-6)
    return torch.clamp(speed / SHOT_SPEED_SCALE, max=1.0) * torch.clamp(cos, min=0.0)


def goal_soon_targets(reward_raw: torch.Tensor, is_first: torch.Tensor, is_last: torch.Tensor,
                      is_terminal: torch.Tensor, horizon: int):
    """Does the agent score within the next ``horizon`` steps of the same episode?  (B, T) -> (target, valid).

    A target is only known where the look-ahead window fits in the sequence or the episode ends inside it;
    ``valid`` masks the rest out of the loss.
    """
    steps = reward_raw.shape[1]
    goal = is_terminal & (reward_raw > GOAL_REWARD_THRESHOLD)  # (B, T): the agent's goals

    def ahead(x: torch.Tensor, k: int) -> torch.Tensor:  # x[:, t + k], False past the end
        if k >= steps:
            return torch.zeros_like(x)
        return F.pad(x[:, k:], (0, k), value=False)

    ended = is_last.clone()          # the episode is over after step t
    target = torch.zeros_like(goal)
    for k in range(1, horizon + 1):
        ended = ended | ahead(is_first, k)
        target = target | (ahead(goal, k) & ~ended)
        ended = ended | ahead(is_last, k)
    fits = torch.arange(steps, device=reward_raw.device) + horizon <= steps - 1  # (T,)
    valid = ended | fits[None, :]
    return target.float(), valid.float()


class WorldModel(nn.Module):
    def __init__(self, config: Config, obs_dim: int = 18, action_dim: int = 4):
        super().__init__()
        c = config
        self.config = c
        self.obs_dim = obs_dim
        self.action_dim = action_dim
        features = c.feature_size
        self.encoder = MLP(obs_dim, c.hidden_size, c.mlp_layers)
        self.rssm = RSSM(self.encoder.out_dim, action_dim, c.deter_size, c.latent_length, c.latent_classes,
                         c.hidden_size, c.unimix)
        self.decoder = MLP(features, c.hidden_size, c.mlp_layers, out_dim=obs_dim)
        self.reward_head = MLP(features, c.hidden_size, c.mlp_layers, out_dim=c.twohot_bins, zero_init_output=True)
        self.continue_head = MLP(features, c.hidden_size, c.mlp_layers, out_dim=1)
        self.aux_head = MLP(features, c.hidden_size, c.mlp_layers, out_dim=3) if c.use_aux_heads else None
        self.twohot = TwoHot(c.twohot_bins, c.twohot_low, c.twohot_high, c.twohot_space)

    # --- reading a state ------------------------------------------------------------------------
    def embed(self, obs: torch.Tensor) -> torch.Tensor:  # (..., 18) -> (..., E)
        return self.encoder(symlog(obs))

    def reward(self, features: torch.Tensor) -> torch.Tensor:  # (..., F) -> (...)
        return self.twohot.decode(self.reward_head(features).float())

    def continue_prob(self, features: torch.Tensor) -> torch.Tensor:  # (..., F) -> (...)
        return torch.sigmoid(self.continue_head(features).float().squeeze(-1))

    # --- the loss -------------------------------------------------------------------------------
    def loss(self, batch: dict[str, torch.Tensor]):
        """World-model loss on a batch of sequences.  Returns (loss, posterior states (B, T), metrics)."""
        c = self.config
        obs, action = batch["obs"], batch["action"]                       # (B, T, 18), (B, T, 4)
        is_first, is_last, is_terminal = batch["is_first"], batch["is_last"], batch["is_terminal"]
        embed = self.embed(obs)                                            # (B, T, E)
        states, prior, post = self.rssm.observe(embed, action, is_first)
        feats = states.features()                                          # (B, T, F)

        recon = ((self.decoder(feats).float() - symlog(obs)) ** 2).sum(-1).mean()
        reward = self.twohot.loss(self.reward_head(feats).float(), batch["reward"]).mean()
        cont_target = 1.0 - is_terminal.float()
        cont = F.binary_cross_entropy_with_logits(self.continue_head(feats).float().squeeze(-1), cont_target)
        kl, dyn, rep, _ = kl_loss(post, prior, c.free_nats, c.kl_dynamics_scale, c.kl_representation_scale)
        loss = recon + reward + cont + kl

        metrics = {
            "world/recon_loss": recon.detach(),
            "world/reward_loss": reward.detach(),
            "world/continue_loss": cont.detach(),
            "world/kl_loss": kl.detach(),
            "world/kl_dynamics": dyn,
            "world/kl_representation": rep,
        }
        if self.aux_head is not None:
            aux = self.aux_head(feats).float()                            # (B, T, 3)
            goal_t, valid = goal_soon_targets(batch["reward_raw"], is_first, is_last, is_terminal,
                                              c.aux_goal_horizon)
            goal_bce = F.binary_cross_entropy_with_logits(aux[..., 0], goal_t, reduction="none")
            goal_loss = (goal_bce * valid).sum() / valid.sum().clamp(min=1.0)
            dist_loss = ((aux[..., 1] - puck_distance(obs)) ** 2).mean()
            shot_loss = ((aux[..., 2] - shot_quality(obs)) ** 2).mean()
            loss = loss + c.aux_scale * (goal_loss + dist_loss + shot_loss)
            metrics.update({"world/aux_goal_loss": goal_loss.detach(),
                            "world/aux_distance_loss": dist_loss.detach(),
                            "world/aux_shot_loss": shot_loss.detach()})
        metrics["world/loss"] = loss.detach()
        return loss, states, metrics

    def initial_state(self, batch_size: int, device=None) -> RSSMState:
        return self.rssm.initial_state(batch_size, device)
