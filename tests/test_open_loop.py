"""Open-loop prediction: observe a context, then roll the prior with the real actions (dreamer_edu.open_loop)."""
import numpy as np
import pytest
import torch

from dreamer_edu.config import Config
from dreamer_edu.distributions import symexp
from dreamer_edu.envs.hockey import DT
from dreamer_edu.open_loop import (baseline_predictions, decode_obs, episode_windows, error_by_horizon,
                                   first_crossing, grad_norms_by_part, kl_term_gradients, open_loop, reconstruction_errors,
                                   sample_paths)
from dreamer_edu.rssm import kl_loss
from dreamer_edu.world_model import WorldModel

torch.set_num_threads(1)


def _model(seed=0):
    torch.manual_seed(seed)
    return WorldModel(Config.quick()).eval()


def _sequence(batch=3, steps=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(batch, steps, 18, generator=g)
    action = torch.rand(batch, steps, 4, generator=g) * 2 - 1
    return obs, action


def _episodes(n=2, steps=40, seed=0):
    rng = np.random.default_rng(seed)
    return [{"obs": rng.normal(size=(steps, 18)).astype(np.float32),
             "action": rng.uniform(-1, 1, size=(steps, 4)).astype(np.float32)} for _ in range(n)]


def test_full_context_equals_observe():
    model = _model()
    obs, action = _sequence()
    is_first = torch.zeros(obs.shape[:2], dtype=torch.bool)
    is_first[:, 0] = True
    torch.manual_seed(1)
    pred = open_loop(model, obs, action, context=obs.shape[1])
    torch.manual_seed(1)
    with torch.no_grad():
        states, _, _ = model.rssm.observe(model.embed(obs), action, is_first)
        expected = symexp(model.decoder(states.features()))
    assert torch.equal(pred.states.stoch, states.stoch)
    torch.testing.assert_close(pred.obs, expected)
    assert pred.context == obs.shape[1]


def test_prior_equal_to_posterior_gives_observed_decoding():
    model = _model()
    rssm = model.rssm
    rssm.posterior_probs = lambda deter, embed: rssm.prior_probs(deter)   # the observation is ignored
    obs, action = _sequence(steps=10)
    torch.manual_seed(3)
    observed = open_loop(model, obs, action, context=10)
    torch.manual_seed(3)
    imagined = open_loop(model, obs, action, context=2)
    torch.testing.assert_close(imagined.obs, observed.obs)
    torch.testing.assert_close(imagined.reward, observed.reward)


def test_imagined_part_differs_from_observed_for_a_real_model():
    model = _model()
    obs, action = _sequence(steps=10)
    torch.manual_seed(3)
    observed = open_loop(model, obs, action, context=10)
    torch.manual_seed(3)
    imagined = open_loop(model, obs, action, context=4)
    torch.testing.assert_close(imagined.obs[:, :4], observed.obs[:, :4])   # same context, same draws
    assert not torch.allclose(imagined.obs[:, 4:], observed.obs[:, 4:])


def test_shapes_and_decoding():
    model = _model()
    obs, action = _sequence(batch=2, steps=7)
    pred = open_loop(model, obs, action, context=3)
    c = model.config
    assert pred.obs.shape == (2, 7, 18) and pred.reward.shape == (2, 7) and pred.cont.shape == (2, 7)
    assert pred.states.deter.shape == (2, 7, c.deter_size)
    assert pred.states.stoch.shape == (2, 7, c.latent_length, c.latent_classes)
    assert ((pred.cont > 0) & (pred.cont < 1)).all()
    feats = pred.states.features()
    torch.testing.assert_close(decode_obs(model, feats), torch.sign(model.decoder(feats)) *
                               (torch.exp(model.decoder(feats).abs()) - 1))


@pytest.mark.parametrize("context", [0, 13, 2.5])
def test_bad_context_raises(context):
    model = _model()
    obs, action = _sequence(steps=12)
    with pytest.raises(ValueError, match="context"):
        open_loop(model, obs, action, context=context)


def test_bad_shapes_raise():
    model = _model()
    obs, action = _sequence(steps=12)
    with pytest.raises(ValueError, match="action"):
        open_loop(model, obs, action[..., :3], context=4)
    with pytest.raises(ValueError, match="action"):
        open_loop(model, obs, action[:, :5], context=4)
    with pytest.raises(ValueError, match="obs"):
        open_loop(model, obs[0], action[0], context=4)
    with pytest.raises(ValueError, match="obs"):
        open_loop(model, obs[..., :16], action, context=4)
    is_first = torch.zeros(obs.shape[:2], dtype=torch.bool)
    is_first[:, 6] = True
    with pytest.raises(ValueError, match="episode starts"):
        open_loop(model, obs, action, context=4, is_first=is_first)
    open_loop(model, obs, action, context=8, is_first=is_first)          # a reset inside the context is fine
    with pytest.raises(ValueError, match="one sequence"):
        sample_paths(model, obs, action, context=4, samples=2)


def test_episode_windows():
    eps = _episodes(n=2, steps=25)
    w = episode_windows(eps, length=10, stride=5)
    assert w["obs"].shape == (2 * 4, 10, 18)                             # starts 0, 5, 10, 15 per episode
    np.testing.assert_array_equal(w["obs"][1].numpy(), eps[0]["obs"][5:15])
    np.testing.assert_array_equal(w["action"][4].numpy(), eps[1]["action"][0:10])
    assert w["is_first"][:, 0].all() and not w["is_first"][:, 1:].any()
    with pytest.raises(ValueError, match="no episode"):
        episode_windows(eps, length=30, stride=5)


def test_baselines_against_hand_computation():
    last = torch.zeros(1, 18)
    last[0, 12], last[0, 13], last[0, 14], last[0, 15] = 1.0, -0.5, 5.0, 2.0
    guess = baseline_predictions(last, horizon=10)
    assert torch.allclose(guess["stays"][0, -1], torch.tensor([1.0, -0.5]))
    # after 10 steps of 20 ms at (5, 2) m/s the puck has moved (1.0, 0.4) m
    assert DT == pytest.approx(0.02)
    assert torch.allclose(guess["constant velocity"][0, 9], torch.tensor([2.0, -0.1]), atol=1e-6)


def test_error_by_horizon_against_direct_computation():
    model = _model()
    eps = _episodes(n=2, steps=30)
    torch.manual_seed(5)
    result = error_by_horizon(model, eps, context=5, horizon=8, stride=7)
    w = episode_windows(eps, 13, 7)
    torch.manual_seed(5)
    pred = open_loop(model, w["obs"], w["action"], 5, w["is_first"]).obs
    k = 3                                                                 # 3 steps ahead = index 5 + 3 - 1
    direct = torch.linalg.vector_norm(pred[:, 7, 12:14] - w["obs"][:, 7, 12:14], dim=-1).mean()
    assert result["model"][k - 1] == pytest.approx(float(direct), rel=1e-5)
    stays = torch.linalg.vector_norm(w["obs"][:, 4, 12:14] - w["obs"][:, 7, 12:14], dim=-1).mean()
    assert result["stays"][k - 1] == pytest.approx(float(stays), rel=1e-5)
    assert result["starts"] == w["obs"].shape[0] == 2 * 3
    assert list(result["steps"]) == list(range(1, 9))


def test_first_crossing():
    assert first_crossing([1, 2, 3, 4], [0.1, 0.2, 0.6, 0.9], 0.5) == 3
    assert first_crossing([1, 2, 3], [0.1, 0.2, 0.3], 0.5) is None


def test_sample_paths_share_context_and_fan_out():
    model = _model()
    obs, action = _sequence(batch=1, steps=15)
    paths = sample_paths(model, obs[0], action[0], context=5, samples=6)
    assert paths.shape == (6, 15, 18)
    # the posterior has its own random draws too, but the imagined part must differ between samples
    assert paths[:, 5:].std(0).mean() > 0


def test_reconstruction_errors_of_a_perfect_reference_is_zero():
    model = _model()
    eps = _episodes(n=1, steps=6)
    eps[0]["obs"][:] = 0.25                                                # a constant episode
    errs = reconstruction_errors(model, eps, reference=np.full(18, 0.25))
    assert errs["baseline"].shape == (18,) and np.allclose(errs["baseline"], 0.0)
    assert (errs["model"] > 0).all()


def test_grad_norms_of_the_two_kl_terms():
    model = _model()
    obs, action = _sequence(batch=4, steps=1)                              # one step: z_0 is zero
    is_first = torch.ones(4, 1, dtype=torch.bool)
    _, prior, post = model.rssm.observe(model.embed(obs), action, is_first)
    kl_loss(post, prior, free_nats=0.0, dynamics_scale=1.0, representation_scale=0.0)[0].backward()
    dyn = grad_norms_by_part(model)
    assert dyn["rssm: prior net"] > 0 and dyn["rssm: posterior net"] == 0.0 and dyn["encoder"] == 0.0
    model.zero_grad(set_to_none=True)
    _, prior, post = model.rssm.observe(model.embed(obs), action, is_first)
    kl_loss(post, prior, free_nats=0.0, dynamics_scale=0.0, representation_scale=1.0)[0].backward()
    rep = grad_norms_by_part(model)
    assert rep["rssm: prior net"] == 0.0 and rep["rssm: posterior net"] > 0 and rep["encoder"] > 0
    assert rep["decoder"] == 0.0


def test_kl_term_gradients_over_several_steps_reach_the_posterior_through_memory():
    model = _model()
    obs, action = _sequence(batch=2, steps=6)
    is_first = torch.zeros(2, 6, dtype=torch.bool)
    is_first[:, 0] = True
    batch = {"obs": obs, "action": action, "is_first": is_first}
    one = kl_term_gradients(model, batch, steps=1)
    assert one["dynamics"]["rssm: posterior net"] == 0.0 and one["representation"]["rssm: prior net"] == 0.0
    many = kl_term_gradients(model, batch, steps=6)
    assert many["dynamics"]["rssm: posterior net"] > 0.0            # via h_t <- z_{t-1} (straight-through)
    assert many["representation"]["rssm: prior net"] == 0.0
    assert all(p.grad is None for p in model.parameters())          # gradients cleared afterwards
    with pytest.raises(ValueError, match="steps"):
        kl_term_gradients(model, batch, steps=7)
