"""Behaviour learning in imagination: actor, critic, slow critic (guide ch. 6-9).

From every posterior state of the training batch (B*T starts), the actor drives the RSSM's prior for H = 15
steps (``imagination.py``, ch. 5).  Nothing real happens: rewards and continue flags come from the world model's
heads.  Then

1. **returns**: lambda_returns (ch. 7) of the imagined rewards, bootstrapped from a critic's values;
2. **critic** (two-hot over symlog values, ch. 10) is trained towards those returns;
3. **actor** (REINFORCE, ch. 6 and 8): log pi(a_t | s_t) times the advantage (R_t - V(s_t)) / S, where S is the
   Moments return scale (ch. 9), plus ``entropy_scale`` times the policy's entropy.

The world model imagines without gradients: REINFORCE needs only log-probabilities of the chosen actions,
so neither loss can reach the world model, and the critic loss cannot reach the actor.  The actor's outputs
along the way keep their gradient, so log pi(a_t | s_t) comes from the very forward pass that chose a_t
(no second pass of the actor over the H*N imagined states).

Two choices where the guide and the official DreamerV3 differ are ``Config`` values (DESIGN items 7, 8):
``actor_dist`` ("tanh_normal": the guide's squashed Normal with bounded log-std; "bounded_normal": official)
and ``critic_bootstrap`` ("slow": the guide bootstraps from the slow EMA critic; "online": official, the
online critic bootstraps and the slow critic regularises the critic's loss).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import Config
from .distributions import BoundedNormal, TanhNormal, TwoHot, bounded_log_std
from .imagination import Imagined
from .networks import MLP
from .returns import Moments, lambda_returns, normalized_advantages, replay_lambda_returns


class Actor(nn.Module):
    """pi(a | s): an MLP giving a mean and a spread per action dimension."""

    def __init__(self, config: Config, action_dim: int = 4):
        super().__init__()
        self.config = config
        self.net = MLP(config.feature_size, config.hidden_size, config.mlp_layers, out_dim=2 * action_dim)

    def forward(self, features: torch.Tensor):  # (..., F) -> distribution over (..., A)
        return self.distribution(self.net(features))

    def distribution(self, net_out: torch.Tensor):  # (..., 2A) -> distribution over (..., A)
        """The policy given the network's raw output: the first half is the mean, the second the spread."""
        mean, spread = net_out.float().chunk(2, dim=-1)
        c = self.config
        if c.actor_dist == "tanh_normal":
            return TanhNormal(mean, bounded_log_std(spread, c.log_std_min, c.log_std_max))
        return BoundedNormal(mean, spread, c.min_std, c.max_std)


class Critic(nn.Module):
    """V(s): two-hot logits over 255 symlog bins; ``value`` decodes them to a number."""

    def __init__(self, config: Config):
        super().__init__()
        self.net = MLP(config.feature_size, config.hidden_size, config.mlp_layers, out_dim=config.twohot_bins,
                       zero_init_output=True)
        self.twohot = TwoHot(config.twohot_bins, config.twohot_low, config.twohot_high, config.twohot_space)

    def logits(self, features: torch.Tensor) -> torch.Tensor:  # (..., F) -> (..., bins)
        return self.net(features).float()

    def value(self, features: torch.Tensor) -> torch.Tensor:  # (..., F) -> (...)
        return self.twohot.decode(self.logits(features))


@torch.no_grad()
def update_slow_critic(slow: Critic, online: Critic, decay: float) -> None:
    """slow <- decay * slow + (1 - decay) * online, for every parameter (an EMA, ch. 7)."""
    slow_params = list(slow.parameters())
    online_params = list(online.parameters())
    torch._foreach_lerp_(slow_params, online_params, 1.0 - decay)


def behaviour_losses(world_model, actor: Actor, critic: Critic, slow_critic: Critic, moments: Moments,
                     traj: Imagined, start_continue: torch.Tensor, config: Config,
                     real: dict[str, torch.Tensor] | None = None):
    """The losses of an imagined rollout ``traj`` (N starts, from ``imagination.imagine``): returns
    (actor_loss, critic_loss, metrics).

    ``start_continue`` (N,) is 1 - is_terminal of each start: imagining on from a state where the game is
    already over gets zero weight.  With ``config.replay_critic_scale`` > 0, ``real`` holds the replayed
    sequences the N = B*T starts came from (``features`` (B, T, F) and the batch's ``reward``, ``is_last``,
    ``is_terminal``), and the critic also learns their lambda-returns (``replay_critic_loss``).
    """
    c = config
    feats = traj.features                                              # (N, H+1, F)
    with torch.no_grad():
        rewards = world_model.reward(feats[:, 1:])                     # (N, H): r_t at the state a_t led to
        continues = world_model.continue_prob(feats[:, 1:])            # (N, H)
        bootstrap = slow_critic if c.critic_bootstrap == "slow" else critic
        values = bootstrap.value(feats)                                # (N, H+1)
        returns = lambda_returns(rewards, values, continues, c.discount, c.lambda_)  # (N, H)
        # weight of s_t = probability that the game is still running there
        alive = torch.cat([start_continue[:, None], continues[:, :-1]], dim=1)       # (N, H)
        weights = torch.cumprod(alive, dim=1)
        offset, scale = moments(returns)
        advantages = normalized_advantages(returns, values[:, :-1], scale)   # (N, H), offset cancels

    dist = actor.distribution(traj.policy_out)                         # over (N, H, A), the actor's gradient
    log_prob = dist.log_prob(traj.raw_actions)                         # (N, H)
    entropy = dist.entropy()                                           # (N, H)
    actor_loss = -(weights * (advantages * log_prob + c.entropy_scale * entropy)).mean()

    critic_logits = critic.logits(feats[:, :-1])                       # (N, H, bins)
    critic_loss = (weights * critic.twohot.loss(critic_logits, returns)).mean()
    if c.critic_bootstrap == "online":
        with torch.no_grad():
            slow_values = slow_critic.value(feats[:, :-1])
        critic_loss = critic_loss + c.slow_critic_reg * (weights * critic.twohot.loss(critic_logits, slow_values)).mean()
    replay_metrics = {}
    if c.replay_critic_scale > 0:
        if real is None:
            raise ValueError("replay_critic_scale > 0 needs the replayed sequences (real=...)")
        replay_loss, replay_metrics = replay_critic_loss(critic, slow_critic, real, returns[:, 0], c)
        critic_loss = critic_loss + c.replay_critic_scale * replay_loss

    entropy = entropy.detach()
    metrics = {
        "behavior/actor_loss": actor_loss.detach(),
        "behavior/critic_loss": critic_loss.detach(),
        "behavior/entropy_mean": entropy.mean(),
        "behavior/entropy_min": entropy.min(),
        "behavior/entropy_max": entropy.max(),
        "behavior/return_mean": returns.mean(),
        "behavior/value_mean": values.mean(),
        "behavior/advantage_std": advantages.std(),
        "behavior/imagined_reward_mean": rewards.mean(),
        "actor/min_std": dist.std.detach().min(),
        "actor/mean_std": dist.std.detach().mean(),
        "actor/saturation": (traj.actions.abs() > 0.99).float().mean(),
        "diagnostics/return_range_S": scale,
        "diagnostics/return_range_at_floor": (scale <= c.return_norm_floor).float(),
        "diagnostics/return_offset": offset,
        **replay_metrics,
    }
    return actor_loss, critic_loss, metrics


def replay_critic_loss(critic: Critic, slow_critic: Critic, real: dict[str, torch.Tensor],
                       start_returns: torch.Tensor, config: Config):
    """The critic's loss on replayed real sequences (DESIGN item 11): two-hot cross-entropy towards
    ``replay_lambda_returns`` of the real rewards, bootstrapped with the imagined return of each posterior state
    (``start_returns`` (B*T,)).  Returns (loss, metrics).

    Real goals then reach the critic even where the reward head has not learned them yet.  A record that ends a
    game gets no weight (its return would be read from the next game); with ``critic_bootstrap="online"`` the
    slow-critic regulariser applies here too."""
    c = config
    feats = real["features"]                                           # (B, T, F)
    batch, steps = feats.shape[:2]
    with torch.no_grad():
        returns = replay_lambda_returns(real["reward"], start_returns.reshape(batch, steps), real["is_last"],
                                        real["is_terminal"], c.discount, c.lambda_)   # (B, T-1)
        weights = 1.0 - real["is_last"][:, :-1].float()               # (B, T-1)
    logits = critic.logits(feats[:, :-1])                              # (B, T-1, bins)
    loss = (weights * critic.twohot.loss(logits, returns)).mean()
    if c.critic_bootstrap == "online":
        with torch.no_grad():
            slow_values = slow_critic.value(feats[:, :-1])
        loss = loss + c.slow_critic_reg * (weights * critic.twohot.loss(logits, slow_values)).mean()
    return loss, {"critic/replay_loss": loss.detach(), "critic/replay_return_mean": returns.mean()}
