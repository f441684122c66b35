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
