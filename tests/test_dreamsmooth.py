"""Tests of dreamer_edu.dreamsmooth: hand-worked kernels, episode boundaries, totals, types and shapes."""
import math
import time

import numpy as np
import pytest
import torch

from dreamer_edu.dreamsmooth import (
    METHODS,
    causal_ema_smooth,
    ema_smooth,
    gaussian_smooth,
    smooth_rewards,
    uniform_smooth,
)

SMOOTHERS = {
    "ema": lambda r, t: ema_smooth(r, 0.5, t),
    "causal_ema": lambda r, t: causal_ema_smooth(r, 0.33, t),
    "gaussian": lambda r, t: gaussian_smooth(r, 3.0, t),
    "uniform": lambda r, t: uniform_smooth(r, 9, t),
}


def _last_step_only(n):
    flags = np.zeros(n, dtype=bool)
    flags[-1] = True
    return flags


def _impulse(n, at, value=1.0):
    r = np.zeros(n)
    r[at] = value
    return r


# ---------------------------------------------------------------------------------------------- hand-worked
def test_guide_example_backward_ema():
    # guide ch. 11: alpha = 0.5, a 10 at step 8 of a 10-step episode.  Each step back halves it; the step
    # after the reward stays 0 (nothing later to pull from).
    rewards = np.array([0, 0, 0, 0, 0, 0, 0, 0, 10, 0], dtype=np.float64)
    out = ema_smooth(rewards, 0.5, _last_step_only(10))
    expected = [10 / 256, 10 / 128, 10 / 64, 10 / 32, 10 / 16, 10 / 8, 10 / 4, 10 / 2, 10, 0]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(out[:5], [0.039, 0.078, 0.156, 0.312, 0.625], atol=1e-3)   # the guide's digits


def test_causal_ema_by_hand():
    # alpha = 0.33: r~_0 = 0.67 * 1, r~_1 = 0.33 * 0.67 = 0.2211, r~_2 = 0.33 * 0.2211 = 0.072963;
    # the second episode restarts from 0: r~_3 = 0.67 * 3 = 2.01, r~_4 = 0.33 * 2.01 + 0.67 * 1 = 1.3333
    rewards = np.array([1.0, 0.0, 0.0, 3.0, 1.0])
    last = np.array([0, 0, 1, 0, 1], dtype=bool)
    out = causal_ema_smooth(rewards, 0.33, last)
    np.testing.assert_allclose(out, [0.67, 0.2211, 0.072963, 2.01, 1.3333], rtol=1e-12)


def test_uniform_by_hand_at_the_episode_end():
    # width 9 spreads a last-step reward over the last 5 steps (the step and 4 before), 10 / 5 each
    out = uniform_smooth(_impulse(12, 11, 10.0), 9, _last_step_only(12))
    np.testing.assert_allclose(out, [0] * 7 + [2.0] * 5, rtol=1e-12, atol=1e-15)
    # in the middle of a long episode the box is untouched: 9 steps of 1/9
    out = uniform_smooth(_impulse(30, 15), 9, _last_step_only(30))
    np.testing.assert_allclose(out[11:20], [1 / 9] * 9, rtol=1e-12)
    assert out[:11].sum() == 0 and out[20:].sum() == 0


def test_gaussian_interior_kernel_is_the_normal_density():
    sigma = 3.0
    out = gaussian_smooth(_impulse(61, 30), sigma, _last_step_only(61))
    weights = np.array([math.exp(-0.5 * (k / sigma) ** 2) for k in range(-12, 13)])
    np.testing.assert_allclose(out[18:43], weights / weights.sum(), rtol=1e-12)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)


def test_gaussian_moves_a_last_step_reward_earlier():
    out = gaussian_smooth(_impulse(40, 39, 10.0), 3.0, _last_step_only(40))
    assert out.sum() == pytest.approx(10.0, abs=1e-12)
    assert np.all(np.diff(out[27:]) > 0)                                     # rising towards the goal
    assert out[-1] < 10.0 and out[-5] > 0.5
    # causal_ema cannot move a last-step reward earlier: it only shrinks it to (1 - alpha)
    causal = causal_ema_smooth(_impulse(40, 39, 10.0), 0.33, _last_step_only(40))
    np.testing.assert_allclose(causal, _impulse(40, 39, 6.7), atol=1e-12)


# ---------------------------------------------------------------------------------------------- boundaries
@pytest.mark.parametrize("method", list(SMOOTHERS))
def test_no_leakage_across_episode_boundaries(method):
    smooth = SMOOTHERS[method]
    rng = np.random.default_rng(0)
    lengths = [7, 1, 20, 13]
    episodes = [rng.normal(size=n) * 5 for n in lengths]
    joined = np.concatenate(episodes)
    last = np.concatenate([_last_step_only(n) for n in lengths])
    expected = np.concatenate([smooth(ep, _last_step_only(len(ep))) for ep in episodes])
    np.testing.assert_allclose(smooth(joined, last), expected, rtol=1e-12, atol=1e-12)
    # and the end of the array is an episode end even without a flag
    np.testing.assert_allclose(smooth(episodes[2], np.zeros(20, dtype=bool)), expected[8:28], rtol=1e-12)


def test_ema_boundary_step_keeps_its_own_reward():
    rewards = np.array([0.0, 0.0, 1.0, 7.0, 0.0, 0.0])
    last = np.array([0, 0, 1, 0, 0, 1], dtype=bool)
    out = ema_smooth(rewards, 0.5, last)
    np.testing.assert_allclose(out, [0.25, 0.5, 1.0, 7.0, 0.0, 0.0])        # not 1 + 0.5 * 7


# ---------------------------------------------------------------------------------------------- totals
@pytest.mark.parametrize("method", ["gaussian", "uniform"])
def test_centred_kernels_preserve_each_episodes_total(method):
    rng = np.random.default_rng(1)
    rewards = rng.normal(size=(3, 50))
    last = np.zeros((3, 50), dtype=bool)
    last[:, [4, 5, 30, 49]] = True                                           # episodes of 5, 1, 25, 19 steps
    out = SMOOTHERS[method](rewards, last)
    for start, stop in ((0, 5), (5, 6), (6, 31), (31, 50)):
        np.testing.assert_allclose(out[:, start:stop].sum(1), rewards[:, start:stop].sum(1), rtol=1e-10)
    # every single reward keeps its value, wherever it is
    for at in range(25):
        assert SMOOTHERS[method](_impulse(25, at), None).sum() == pytest.approx(1.0, abs=1e-12)


def test_causal_ema_total_loses_only_the_tail_past_the_episode_end():
    alpha, n = 0.33, 30
    for at in range(n):
        total = causal_ema_smooth(_impulse(n, at), alpha, None).sum()
        assert total == pytest.approx(1 - alpha ** (n - at), abs=1e-12)     # -> 1 far from the end


def test_ema_inflates_totals_up_to_one_over_one_minus_alpha():
    alpha, n = 0.5, 60
    for at in range(n):
        total = ema_smooth(_impulse(n, at), alpha, None).sum()
        assert total == pytest.approx((1 - alpha ** (at + 1)) / (1 - alpha), rel=1e-12)
        assert total <= 1 / (1 - alpha) + 1e-12
    assert ema_smooth(_impulse(n, n - 1), alpha, None).sum() == pytest.approx(2.0, abs=1e-12)


# ---------------------------------------------------------------------------------------------- types and shapes
@pytest.mark.parametrize("method", METHODS)
def test_numpy_torch_and_batch_parity(method):
    rng = np.random.default_rng(2)
    rewards = rng.normal(size=(4, 33)).astype(np.float32)
    last = rng.random((4, 33)) < 0.1
    out = smooth_rewards(rewards, last, method=method)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (4, 33)
    for b in range(4):
        np.testing.assert_allclose(smooth_rewards(rewards[b], last[b], method=method), out[b], rtol=1e-6)
    out_torch = smooth_rewards(torch.from_numpy(rewards), torch.from_numpy(last), method=method)
    assert isinstance(out_torch, torch.Tensor) and out_torch.dtype == torch.float32
    np.testing.assert_allclose(out_torch.numpy(), out, rtol=1e-6)
    out64 = smooth_rewards(torch.from_numpy(rewards).double(), torch.from_numpy(last).float(), method=method)
    assert out64.dtype == torch.float64 and out64.shape == (4, 33)


def test_none_is_an_unchanged_copy_and_inputs_are_not_modified():
    rewards = np.arange(6, dtype=np.float64)
    backup = rewards.copy()
    out = smooth_rewards(rewards, None, method="none")
    np.testing.assert_array_equal(out, rewards)
    assert out is not rewards
    for method in METHODS:
        smooth_rewards(rewards, None, method=method)
    np.testing.assert_array_equal(rewards, backup)


def test_bad_arguments_give_clear_errors():
    r = np.zeros(10)
    with pytest.raises(ValueError, match="causal_ema"):                     # the message lists valid names
        smooth_rewards(r, None, method="savgol")
    with pytest.raises(ValueError, match="alpha"):
        ema_smooth(r, 1.0, None)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_smooth(r, 0.0, None)
    with pytest.raises(ValueError, match="odd"):
        uniform_smooth(r, 8, None)
    with pytest.raises(ValueError, match="shape"):
        ema_smooth(r, 0.5, np.zeros(9, dtype=bool))
    with pytest.raises(ValueError, match="shape"):
        ema_smooth(np.zeros((2, 3, 4)), 0.5, None)


def test_an_episode_smooths_in_well_under_a_millisecond():
    rewards = _impulse(251, 250, 10.0)
    last = _last_step_only(251)
    for method in METHODS:
        smooth_rewards(rewards, last, method=method)
        start = time.perf_counter()
        for _ in range(100):
            smooth_rewards(rewards, last, method=method)
        per_call = (time.perf_counter() - start) / 100
        assert per_call < 1e-3, f"{method}: {per_call * 1e3:.3f} ms per episode"
