import copy

import pytest
import torch

from dreamer_edu.actor_critic import Actor, Critic, behaviour_losses, update_slow_critic
from dreamer_edu.config import Config
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
    actor_loss, critic_loss, metrics = behaviour_losses(wm, actor, critic, slow, Moments(), start, torch.ones(8), c)

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
    actor_loss, critic_loss, _ = behaviour_losses(wm, actor, critic, slow, Moments(), start, torch.zeros(4), c)
    assert actor_loss == 0 and critic_loss == 0
