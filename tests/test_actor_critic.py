import copy

import pytest
import torch

from dreamer_edu.actor_critic import Actor, Critic, behaviour_losses, update_slow_critic
from dreamer_edu.config import Config
from dreamer_edu.imagination import imagine
from dreamer_edu.returns import Moments
from dreamer_edu.world_model import WorldModel


def test_slow_critic_ema_matches_the_formula():
    c = Config.quick()
    online, slow = Critic(c), Critic(c)
    for p in online.parameters():
        torch.nn.init.normal_(p)
    before = [p.clone() for p in slow.parameters()]
    update_slow_critic(slow, online, decay=0.98)
    for s0, s1, o in zip(before, slow.parameters(), online.parameters()):
        assert torch.allclose(s1, 0.98 * s0 + 0.02 * o, atol=1e-6)


@pytest.mark.parametrize("actor_dist", ["tanh_normal", "bounded_normal"])
@pytest.mark.parametrize("bootstrap", ["slow", "online"])
def test_each_loss_reaches_only_its_own_network(actor_dist, bootstrap):
    c = Config.quick(actor_dist=actor_dist, critic_bootstrap=bootstrap)
    wm, actor, critic = WorldModel(c), Actor(c), Critic(c)
    slow = copy.deepcopy(critic).requires_grad_(False)
    start = wm.initial_state(8)
    start = type(start)(torch.randn_like(start.deter), start.stoch)
    traj = imagine(wm.rssm, actor, start, c.horizon)
    actor_loss, critic_loss, metrics = behaviour_losses(wm, actor, critic, slow, Moments(), traj, torch.ones(8), c)

    actor_loss.backward(retain_graph=True)
    assert all(p.grad is None for p in wm.parameters()), "actor loss reached the world model"
    assert all(p.grad is None for p in critic.parameters()), "actor loss reached the critic"
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in actor.parameters())
    actor.zero_grad(set_to_none=True)
    critic_loss.backward()
    assert all(p.grad is None for p in actor.parameters()), "critic loss reached the actor"
    assert all(p.grad is None for p in wm.parameters()), "critic loss reached the world model"
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())
    assert metrics["diagnostics/return_range_S"] >= c.return_norm_floor
    if actor_dist == "tanh_normal":  # sigma >= exp(-0.5)
        assert metrics["actor/min_std"] >= torch.exp(torch.tensor(c.log_std_min)) - 1e-6
        assert metrics["behavior/entropy_min"] > 0


def test_terminal_start_states_get_no_weight():
    c = Config.quick()
    wm, actor, critic = WorldModel(c), Actor(c), Critic(c)
    slow = copy.deepcopy(critic)
    start = wm.initial_state(4)
    traj = imagine(wm.rssm, actor, start, c.horizon)
    actor_loss, critic_loss, _ = behaviour_losses(wm, actor, critic, slow, Moments(), traj, torch.zeros(4), c)
    assert actor_loss == 0 and critic_loss == 0


@pytest.mark.parametrize("actor_dist", ["tanh_normal", "bounded_normal"])
def test_imagined_policy_matches_a_second_pass_of_the_actor(actor_dist):
    """The log-probs kept from imagination equal those of running the actor again on the imagined states, and
    so do their gradients; the world model gets none."""
    c = Config.quick(actor_dist=actor_dist)
    torch.manual_seed(0)
    wm, actor = WorldModel(c), Actor(c)
    start = wm.initial_state(6)
    start = type(start)(torch.randn_like(start.deter), start.stoch)
    traj = imagine(wm.rssm, actor, start, c.horizon)
    assert traj.policy_out.shape == (6, c.horizon, 8)
    assert not traj.features.requires_grad and not traj.raw_actions.requires_grad

    kept = actor.distribution(traj.policy_out).log_prob(traj.raw_actions)      # (N, H)
    again = actor(traj.features[:, :-1]).log_prob(traj.raw_actions)           # (N, H): the reference
    torch.testing.assert_close(kept, again, rtol=1e-5, atol=1e-5)
    grads_kept = torch.autograd.grad(kept.sum(), list(actor.parameters()))
    grads_again = torch.autograd.grad(again.sum(), list(actor.parameters()))
    for g1, g2 in zip(grads_kept, grads_again):
        torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-5)
    to_world_model = torch.autograd.grad(kept.sum(), list(wm.parameters()), allow_unused=True)
    assert all(g is None for g in to_world_model), "the log-probs reach the world model"


def test_imagination_and_behaviour_losses_run_the_actor_once_per_imagined_step():
    """H forward passes of the actor network, one per imagination step: no second pass for the log-probs."""
    c = Config.quick()
    wm, actor, critic = WorldModel(c), Actor(c), Critic(c)
    slow = copy.deepcopy(critic).requires_grad_(False)
    rows = []
    actor.net.register_forward_hook(lambda module, args, out: rows.append(out.shape[:-1].numel()))
    traj = imagine(wm.rssm, actor, wm.initial_state(5), c.horizon)
    behaviour_losses(wm, actor, critic, slow, Moments(), traj, torch.ones(5), c)
    assert rows == [5] * c.horizon


def _real_sequences(c, wm, batch=2, steps=6):
    feats = torch.randn(batch, steps, c.feature_size)
    is_last = torch.zeros(batch, steps, dtype=torch.bool)
    is_last[0, 2] = True                                              # game one ends at record 2
    return {"features": feats, "reward": torch.randn(batch, steps), "is_last": is_last,
            "is_terminal": is_last.clone()}


@pytest.mark.parametrize("bootstrap", ["slow", "online"])
def test_replay_critic_loss_trains_the_critic_towards_real_lambda_returns(bootstrap):
    from dreamer_edu.actor_critic import replay_critic_loss
    from dreamer_edu.returns import replay_lambda_returns
    c = Config.quick(replay_critic_scale=0.3, critic_bootstrap=bootstrap)
    wm, critic = WorldModel(c), Critic(c)
    slow = copy.deepcopy(critic).requires_grad_(False)
    real = _real_sequences(c, wm)
    start_returns = torch.randn(2 * 6)
    loss, metrics = replay_critic_loss(critic, slow, real, start_returns, c)
    # the same number, computed from its parts
    targets = replay_lambda_returns(real["reward"], start_returns.reshape(2, 6), real["is_last"], real["is_terminal"],
                                    c.discount, c.lambda_)
    logits = critic.logits(real["features"][:, :-1])
    per_step = critic.twohot.loss(logits, targets)
    weights = torch.ones(2, 5)
    weights[0, 2] = 0.0                                               # the record that ends a game
    expected = (weights * per_step).mean()
    if bootstrap == "online":
        expected = expected + (weights * critic.twohot.loss(logits, slow.value(real["features"][:, :-1]))).mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())
    assert set(metrics) == {"critic/replay_loss", "critic/replay_return_mean"}


def test_behaviour_losses_add_the_replay_loss_only_when_asked():
    c = Config.quick(replay_critic_scale=0.3)
    wm, actor, critic = WorldModel(c), Actor(c), Critic(c)
    slow = copy.deepcopy(critic).requires_grad_(False)
    start = wm.initial_state(12)
    start = type(start)(torch.randn_like(start.deter), start.stoch)
    traj = imagine(wm.rssm, actor, start, c.horizon)
    with pytest.raises(ValueError, match="needs the replayed sequences"):
        behaviour_losses(wm, actor, critic, slow, Moments(), traj, torch.ones(12), c)
    real = _real_sequences(c, wm)
    _, with_replay, metrics = behaviour_losses(wm, actor, critic, slow, Moments(), traj, torch.ones(12), c, real)
    _, without, _ = behaviour_losses(wm, actor, critic, slow, Moments(), traj, torch.ones(12),
                                     c.replace(replay_critic_scale=0.0), real)
    torch.testing.assert_close(with_replay - without, 0.3 * metrics["critic/replay_loss"])
