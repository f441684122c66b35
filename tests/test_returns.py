"""Tests of dreamer_edu.returns: lambda-returns by hand and in their limits, and the Moments normaliser."""
import numpy as np
import pytest
import torch

from dreamer_edu.returns import Moments, guide_lambda_returns, lambda_returns, normalized_advantages


def _random_rollout(batch=6, horizon=15, seed=0):
    gen = torch.Generator().manual_seed(seed)
    rewards = torch.randn(batch, horizon, generator=gen, dtype=torch.float64)
    values = torch.randn(batch, horizon + 1, generator=gen, dtype=torch.float64) * 3
    continues = torch.rand(batch, horizon, generator=gen, dtype=torch.float64)
    return rewards, values, continues


# ---------------------------------------------------------------------------------------------- lambda-returns
def test_hand_worked_three_steps():
    # gamma = 0.9, lambda = 0.5, r = [1, 0, 2], V_0..V_3 = [0.5, 1, 2, 3], c = 1:
    # R_3 = V_3 = 3
    # R_2 = 2 + 0.9 * (0.5 * 3 + 0.5 * 3)     = 4.7
    # R_1 = 0 + 0.9 * (0.5 * 2 + 0.5 * 4.7)   = 3.015
    # R_0 = 1 + 0.9 * (0.5 * 1 + 0.5 * 3.015) = 2.80675
    rewards = torch.tensor([[1.0, 0.0, 2.0]])
    values = torch.tensor([[0.5, 1.0, 2.0, 3.0]])
    continues = torch.ones(1, 3)
    out = lambda_returns(rewards, values, continues, 0.9, 0.5)
    torch.testing.assert_close(out, torch.tensor([[2.80675, 3.015, 4.7]]))
    # the same rollout with the episode ending at the second step (c_1 = 0):
    # R_2 = 4.7 (unchanged), R_1 = 0 + 0 = 0, R_0 = 1 + 0.9 * (0.5 * 1 + 0.5 * 0) = 1.45
    out = lambda_returns(rewards, values, torch.tensor([[1.0, 0.0, 1.0]]), 0.9, 0.5)
    torch.testing.assert_close(out, torch.tensor([[1.45, 0.0, 4.7]]))


def test_lambda_zero_is_one_step_td():
    rewards, values, continues = _random_rollout()
    out = lambda_returns(rewards, values, continues, 0.97, 0.0)
    expected = rewards + 0.97 * continues * values[:, 1:]
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_lambda_one_is_discounted_monte_carlo_with_bootstrap():
    rewards, values, continues = _random_rollout()
    gamma = 0.95
    out = lambda_returns(rewards, values, continues, gamma, 1.0)
    batch, horizon = rewards.shape
    expected = torch.zeros_like(rewards)
    for b in range(batch):
        for t in range(horizon):
            total, weight = 0.0, 1.0
            for k in range(t, horizon):
                total += weight * rewards[b, k].item()
                weight *= gamma * continues[b, k].item()
            expected[b, t] = total + weight * values[b, horizon].item()
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_general_lambda_matches_n_step_mixture():
    # TD(lambda) = (1 - lambda) * sum_n lambda^(n-1) G^(n) + lambda^(H-t-1) * G^(H-t)   (the forward view)
    rewards, values, continues = _random_rollout(batch=3, horizon=6, seed=1)
    gamma, lam = 0.9, 0.7
    out = lambda_returns(rewards, values, continues, gamma, lam)

    def n_step(b, t, n):
        total, weight = 0.0, 1.0
        for k in range(t, t + n):
            total += weight * rewards[b, k].item()
            weight *= gamma * continues[b, k].item()
        return total + weight * values[b, t + n].item()

    horizon = rewards.shape[1]
    for b in range(3):
        for t in range(horizon):
            steps = horizon - t
            mix = sum((1 - lam) * lam ** (n - 1) * n_step(b, t, n) for n in range(1, steps))
            mix += lam ** (steps - 1) * n_step(b, t, steps)
            assert out[b, t].item() == pytest.approx(mix, rel=1e-10, abs=1e-10)


def test_zero_continue_cuts_the_bootstrap():
    rewards, values, continues = _random_rollout(seed=2)
    continues[:, 5] = 0.0
    out = lambda_returns(rewards, values, continues, 0.99, 0.95)
    torch.testing.assert_close(out[:, 5], rewards[:, 5])
    changed = values.clone()
    changed[:, 6:] += 100.0
    changed_rewards = rewards.clone()
    changed_rewards[:, 6:] -= 50.0
    out2 = lambda_returns(changed_rewards, changed, continues, 0.99, 0.95)
    torch.testing.assert_close(out2[:, :6], out[:, :6])                      # nothing after the end leaks in
    assert not torch.allclose(out2[:, 6:], out[:, 6:])


def test_guide_version_drops_the_discount():
    rewards, values, continues = _random_rollout(seed=3)
    ours = lambda_returns(rewards, values, continues, 0.9, 0.95)
    guide = guide_lambda_returns(rewards, values, continues, 0.9, 0.95)
    assert (ours - guide).abs().max().item() > 0.1
    torch.testing.assert_close(guide, lambda_returns(rewards, values, continues, 1.0, 0.95))
    torch.testing.assert_close(guide_lambda_returns(rewards, values, continues, 1.0, 0.95),
                               lambda_returns(rewards, values, continues, 1.0, 0.95))


def test_lambda_returns_gradients_and_shape_errors():
    rewards, values, continues = _random_rollout(batch=2, horizon=4)
    values.requires_grad_(True)
    lambda_returns(rewards, values, continues, 0.99, 0.95).sum().backward()
    assert values.grad is not None
    with pytest.raises(ValueError, match="H\\+1"):
        lambda_returns(rewards, values[:, :-1], continues, 0.99, 0.95)
    with pytest.raises(ValueError, match="rewards"):
        lambda_returns(rewards[0], values, continues, 0.99, 0.95)
    with pytest.raises(ValueError, match="continues"):
        lambda_returns(rewards, values, continues[:, :-1], 0.99, 0.95)
    with pytest.raises(ValueError, match="discount"):
        lambda_returns(rewards, values, continues, 1.5, 0.95)
    with pytest.raises(ValueError, match="lambda_"):
        lambda_returns(rewards, values, continues, 0.99, -0.1)


# ---------------------------------------------------------------------------------------------- Moments
def test_moments_percentiles_and_ema_by_hand():
    m = Moments(decay=0.5)
    # 0, 1, ..., 100: the 5th and 95th percentiles are exactly 5 and 95
    offset, scale = m(torch.arange(101, dtype=torch.float32).reshape(1, 101))
    # EMAs start at 0: low = 0.5 * 0 + 0.5 * 5 = 2.5, high = 0.5 * 95 = 47.5
    assert offset.item() == pytest.approx(2.5) and scale.item() == pytest.approx(45.0)
    # 0, 1, ..., 200: percentiles 10 and 190; low = 0.5 * 2.5 + 0.5 * 10 = 6.25, high = 118.75
    offset, scale = m(torch.arange(201, dtype=torch.float32))
    assert offset.item() == pytest.approx(6.25) and scale.item() == pytest.approx(112.5)
    assert offset.dtype == torch.float32 and offset.shape == () and scale.shape == ()


def test_moments_match_numpy_percentiles():
    gen = torch.Generator().manual_seed(4)
    returns = torch.randn(64, 15, generator=gen, dtype=torch.float64) * 7 + 3
    m = Moments(decay=0.99)
    offset, scale = m(returns)
    lo, hi = np.percentile(returns.numpy(), [5, 95])
    assert m.low_ema.item() == pytest.approx(0.01 * lo, rel=1e-5)
    assert m.high_ema.item() == pytest.approx(0.01 * hi, rel=1e-5)
    assert offset.item() == pytest.approx(0.01 * lo, rel=1e-5)
    assert scale.item() == pytest.approx(max(1.0, 0.01 * (hi - lo)), rel=1e-5)


def test_moments_floor_and_no_gradient():
    m = Moments(decay=0.9, floor=1.0)
    returns = (torch.randn(32, 15) * 1e-3).requires_grad_(True)
    for _ in range(50):
        offset, scale = m(returns)
    assert scale.item() == 1.0
    assert not scale.requires_grad and not offset.requires_grad
    m2 = Moments(floor=0.25)
    _, scale = m2(torch.zeros(10))
    assert scale.item() == 0.25


def test_moments_returns_are_not_aliased_to_the_buffers():
    m = Moments(decay=0.5)
    offset, _ = m(torch.arange(101.0))
    first = offset.clone()
    m(torch.arange(1000.0))
    torch.testing.assert_close(offset, first)


def test_offset_cancels_in_advantages():
    gen = torch.Generator().manual_seed(5)
    returns = torch.randn(8, 15, generator=gen) * 4
    values = torch.randn(8, 15, generator=gen) * 4
    offset, scale = Moments(decay=0.5)(returns)
    both_normalised = (returns - offset) / scale - (values - offset) / scale
    torch.testing.assert_close(normalized_advantages(returns, values, scale), both_normalised)
    with pytest.raises(ValueError, match="same"):
        normalized_advantages(returns, torch.zeros(8, 16), scale)


def test_moments_state_dict_round_trip_and_validation():
    m1 = Moments(decay=0.9)
    m1(torch.randn(100) * 5)
    state = m1.state_dict()
    assert set(state) == {"low_ema", "high_ema"}
    m2 = Moments(decay=0.9)
    m2.load_state_dict(state)
    x = torch.randn(100) * 5
    for a, b in zip(m1(x), m2(x)):
        torch.testing.assert_close(a, b)
    for kwargs in ({"decay": 1.0}, {"decay": 0.0}, {"low": 0.9, "high": 0.1}, {"high": 1.5}, {"floor": 0.0}):
        with pytest.raises(ValueError):
            Moments(**kwargs)
    with pytest.raises(ValueError):
        m1(torch.zeros(0))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_returns_on_cuda():
    rewards, values, continues = (t.float().cuda() for t in _random_rollout())
    out = lambda_returns(rewards, values, continues, 0.99, 0.95)
    m = Moments().cuda()
    offset, scale = m(out)
    assert out.device.type == offset.device.type == scale.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), lambda_returns(rewards.cpu(), values.cpu(), continues.cpu(), 0.99, 0.95))


# --- lambda-returns along replayed real games (the official critic's replay loss) ----------------------------
def _replay_reference(rewards, boot, last, term, gamma, lam):
    """Float64, one number at a time, written from the definition: walk forward from t and expand."""
    batch, steps = rewards.shape
    out = torch.zeros(batch, steps - 1, dtype=torch.float64)
    for b in range(batch):
        for t in range(steps - 1):
            # R_t = sum over k of (gamma lam)^(k) ... : expand recursively, one step at a time
            def ret(i):
                if i == steps - 1:
                    return float(boot[b, i])
                live = gamma * (0.0 if term[b, i + 1] else 1.0)
                keep = lam * (0.0 if last[b, i + 1] else 1.0)
                return float(rewards[b, i + 1]) + live * ((1 - keep) * float(boot[b, i + 1]) + keep * ret(i + 1))
            out[b, t] = ret(t)
    return out


def test_replay_lambda_returns_match_a_float64_reference():
    from dreamer_edu.returns import replay_lambda_returns
    gen = torch.Generator().manual_seed(0)
    rewards = torch.randn(3, 9, generator=gen, dtype=torch.float64)
    boot = torch.randn(3, 9, generator=gen, dtype=torch.float64)
    last = torch.zeros(3, 9, dtype=torch.bool)
    term = torch.zeros(3, 9, dtype=torch.bool)
    last[0, 4] = term[0, 4] = True          # a goal ends game one at record 4 (a new game starts at 5)
    last[1, 6] = True                       # a time-out ends a game at record 6
    out = replay_lambda_returns(rewards, boot, last, term, 0.97, 0.9)
    torch.testing.assert_close(out, _replay_reference(rewards, boot, last, term, 0.97, 0.9), rtol=1e-12, atol=1e-12)


def test_replay_lambda_returns_by_hand():
    from dreamer_edu.returns import replay_lambda_returns
    rewards = torch.tensor([[0.0, 1.0, 10.0, 0.0]])
    boot = torch.tensor([[5.0, 6.0, 7.0, 8.0]])
    no = torch.zeros(1, 4, dtype=torch.bool)
    goal = torch.tensor([[False, False, True, False]])
    # a goal at record 2 ends the game: R_1 = 10 exactly, R_0 = 1 + 0.5 * (0.5 * 6 + 0.5 * 10) = 5
    out = replay_lambda_returns(rewards, boot, goal, goal, 0.5, 0.5)
    torch.testing.assert_close(out[0, :2], torch.tensor([5.0, 10.0]))
    # the same record as a time-out bootstraps once: R_1 = 10 + 0.5 * 7 = 13.5
    out = replay_lambda_returns(rewards, boot, goal, no, 0.5, 0.5)
    assert float(out[0, 1]) == 13.5
    # lambda = 0 is one-step TD on the real rewards: R_t = r_{t+1} + gamma * boot_{t+1}
    out = replay_lambda_returns(rewards, boot, no, no, 0.5, 0.0)
    torch.testing.assert_close(out, rewards[:, 1:] + 0.5 * boot[:, 1:])


def test_replay_lambda_returns_refuse_bad_shapes():
    from dreamer_edu.returns import replay_lambda_returns
    x = torch.zeros(2, 5)
    flags = torch.zeros(2, 5, dtype=torch.bool)
    with pytest.raises(ValueError, match="bootstrap must have the shape"):
        replay_lambda_returns(x, x[:, :-1], flags, flags, 0.9, 0.9)
    with pytest.raises(ValueError, match="T >= 2"):
        replay_lambda_returns(x[:, :1], x[:, :1], flags[:, :1], flags[:, :1], 0.9, 0.9)
    with pytest.raises(ValueError, match="lambda_ must be in"):
        replay_lambda_returns(x, x, flags, flags, 0.9, 1.5)
