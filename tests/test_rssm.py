import torch

from dreamer_edu.distributions import sample_one_hot
from dreamer_edu.rssm import RSSM, kl_loss


def small_rssm():
    return RSSM(embed_size=8, action_dim=2, deter_size=16, latent_length=4, latent_classes=5, hidden_size=16)


def test_observe_shapes_and_one_hot_samples():
    rssm = small_rssm()
    states, prior, post = rssm.observe(torch.randn(3, 6, 8), torch.randn(3, 6, 2), torch.zeros(3, 6, dtype=torch.bool))
    assert states.deter.shape == (3, 6, 16) and states.stoch.shape == (3, 6, 4, 5)
    assert prior.shape == post.shape == (3, 6, 4, 5)
    assert torch.allclose(states.stoch.sum(-1), torch.ones(3, 6, 4))
    assert torch.allclose(states.stoch, states.stoch.round(), atol=1e-6)  # one-hot up to rounding
    assert states.features().shape == (3, 6, 16 + 20)


def test_is_first_resets_the_memory():
    """A sequence that restarts at t=3 must give the same h_3 as a fresh sequence started there."""
    rssm = small_rssm()
    embed, action = torch.randn(1, 6, 8), torch.randn(1, 6, 2)
    first = torch.zeros(1, 6, dtype=torch.bool)
    first[0, 3] = True
    states, _, _ = rssm.observe(embed, action, first)
    fresh, _, _ = rssm.observe(embed[:, 3:], action[:, 3:], torch.ones(1, 3, dtype=torch.bool))
    assert torch.allclose(states.deter[:, 3], fresh.deter[:, 0], atol=1e-6)
    # and without the reset the memory of steps 0..2 changes h_3
    unreset, _, _ = rssm.observe(embed, action, torch.zeros(1, 6, dtype=torch.bool))
    assert not torch.allclose(unreset.deter[:, 3], fresh.deter[:, 0], atol=1e-4)


def test_kl_loss_free_nats_and_stop_gradients():
    torch.manual_seed(1)
    post_logits = torch.randn(2, 3, 4, 5, requires_grad=True)
    prior_logits = torch.randn(2, 3, 4, 5, requires_grad=True)
    post, prior = post_logits.softmax(-1), prior_logits.softmax(-1)
    loss, dyn, rep, per_step = kl_loss(post, prior, free_nats=0.0, dynamics_scale=0.5, representation_scale=0.1)
    manual = (post * (post.log() - prior.log())).sum((-2, -1))  # (B, T) float KL(post || prior)
    assert torch.allclose(per_step, manual.detach(), atol=1e-5)
    assert torch.allclose(loss, 0.6 * manual.mean(), atol=1e-5)
    # the dynamics term trains only the prior, the representation term only the posterior
    (g_prior,) = torch.autograd.grad(kl_loss(post, prior, 0.0, 1.0, 0.0)[0], prior_logits, retain_graph=True)
    assert g_prior.abs().sum() > 0
    (g_post,) = torch.autograd.grad(kl_loss(post, prior, 0.0, 1.0, 0.0)[0], post_logits, retain_graph=True)
    assert g_post.abs().max() == 0
    (g_prior,) = torch.autograd.grad(kl_loss(post, prior, 0.0, 0.0, 1.0)[0], prior_logits, retain_graph=True)
    assert g_prior.abs().max() == 0
    (g_post,) = torch.autograd.grad(kl_loss(post, prior, 0.0, 0.0, 1.0)[0], post_logits, retain_graph=True)
    assert g_post.abs().sum() > 0


def test_kl_below_free_nats_gives_constant_loss_and_no_gradient():
    logits = torch.randn(2, 3, 4, 5, requires_grad=True)
    probs = logits.softmax(-1)
    near = (logits + 0.01 * torch.randn_like(logits)).softmax(-1)
    loss, dyn, _, _ = kl_loss(probs, near, free_nats=1.0, dynamics_scale=0.5, representation_scale=0.1)
    assert dyn < 1.0
    assert torch.allclose(loss, torch.tensor(0.6))
    (grad,) = torch.autograd.grad(loss, logits)
    assert grad.abs().max() == 0


def test_imagine_step_uses_the_prior_only():
    rssm = small_rssm()
    state = rssm.initial_state(5)
    nxt = rssm.imagine_step(state, torch.zeros(5, 2))
    assert nxt.deter.shape == (5, 16) and nxt.stoch.shape == (5, 4, 5)


def test_observe_matches_a_step_by_step_reference():
    """observe() against the RSSM's pieces called one step at a time: the same h, z samples, prior and posterior,
    with the prior network run once for the whole sequence."""
    rssm = small_rssm()
    embed, action = torch.randn(3, 6, 8), torch.randn(3, 6, 2)
    first = torch.zeros(3, 6, dtype=torch.bool)
    first[1, 2] = True
    prior_calls = []
    rssm.prior_net.register_forward_hook(lambda module, args, out: prior_calls.append(out.shape[:-1]))
    torch.manual_seed(5)
    states, prior, post = rssm.observe(embed, action, first)
    assert prior_calls == [torch.Size([3, 6])]

    torch.manual_seed(5)                                      # the same random draws for the z samples
    state = rssm.initial_state(3)
    for t in range(6):
        mask = (~first[:, t]).float()[:, None]
        state = type(state)(state.deter * mask, state.stoch * mask[..., None])
        deter = rssm.recurrent_step(state, action[:, t] * mask)
        post_t = rssm.posterior_probs(deter, embed[:, t])
        state = type(state)(deter, sample_one_hot(post_t))
        torch.testing.assert_close(states.deter[:, t], deter)
        torch.testing.assert_close(states.stoch[:, t], state.stoch)
        torch.testing.assert_close(post[:, t], post_t)
        torch.testing.assert_close(prior[:, t], rssm.prior_probs(deter))
