"""The claims of notebooks 04 (Moments), 05 (two-hot symlog), 06 (DreamSmooth) and 07 (lambda-returns), checked here.

The notebooks state these claims in their prose and print the numbers; most of the checks live here so that the
notebooks stay readable.  Nothing here executes a notebook: every claim is recomputed with the package, on the
notebook's inputs (same seeds, same sizes), and where possible by a second route written out in this file.

* The write-it-yourself exercises: a correct solution of each passes ``check_function``, the unanswered stub is
  "not answered yet" (None), and a typical mistake is caught (False), so each exercise is solvable and its check
  is honest.  The input makers and the package-side references are the notebooks' own (``viz.exercises``).
* The claims whose ``assert`` lines left the notebooks, one test per section.
"""
import math

import numpy as np
import pytest
import torch

from dreamer_edu import experiments
from dreamer_edu.actor_critic import Critic, update_slow_critic
from dreamer_edu.config import Config
from dreamer_edu.distributions import TwoHot, symexp, symlog
from dreamer_edu.dreamsmooth import causal_ema_smooth, ema_smooth, gaussian_smooth, smooth_rewards, uniform_smooth
from dreamer_edu.returns import Moments, guide_lambda_returns, lambda_returns, normalized_advantages
from dreamer_edu.viz import dreamsmooth_plots, widgets
from dreamer_edu.viz.exercises import check_function, moments_inputs, moments_step, reward_row_inputs, rollout_inputs

GAMMA, LAMBDA, H = Config().discount, Config().lambda_, Config().horizon


# ================================================================================ the write-it-yourself exercises
# ------------------------------------------------------------------------------------ 04: one Moments update
def _moments_step_by_hand(returns, low_ema, high_ema, decay, floor):
    p5, p95 = torch.quantile(returns.flatten(), torch.tensor([0.05, 0.95]))
    low = decay * low_ema + (1 - decay) * p5
    high = decay * high_ema + (1 - decay) * p95
    return low, torch.clamp(high - low, min=floor)


def test_exercise_04_moments_step_is_solvable_and_the_check_is_honest(capsys):
    def stub(returns, low_ema, high_ema, decay, floor):
        raise NotImplementedError

    def forgets_the_floor(returns, low_ema, high_ema, decay, floor):
        low, _ = _moments_step_by_hand(returns, low_ema, high_ema, decay, floor)
        high = decay * high_ema + (1 - decay) * torch.quantile(returns.flatten(), 0.95)
        return low, high - low

    def spread_of_this_batch_only(returns, low_ema, high_ema, decay, floor):
        low, _ = _moments_step_by_hand(returns, low_ema, high_ema, decay, floor)
        p5, p95 = torch.quantile(returns.flatten(), torch.tensor([0.05, 0.95]))
        return low, torch.clamp(p95 - p5, min=floor)

    assert check_function(stub, moments_step, moments_inputs) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check_function(_moments_step_by_hand, moments_step, moments_inputs) is True
    assert check_function(forgets_the_floor, moments_step, moments_inputs) is False
    assert check_function(spread_of_this_batch_only, moments_step, moments_inputs) is False


def test_exercise_04_inputs_reach_the_floor_and_leave_it():
    generator = torch.Generator().manual_seed(0)                       # check_function's default seed
    at_floor = [bool(moments_step(*inputs)[1] == inputs[4])
                for inputs in (moments_inputs(generator) for _ in range(5))]
    assert any(at_floor) and not all(at_floor)


# ------------------------------------------------------------------------------------ 05: symlog and two-hot
def _symlog_inputs(generator):
    sizes = 10.0 ** torch.randint(-3, 5, (64,), generator=generator, dtype=torch.float64)
    return (sizes * torch.randn(64, generator=generator, dtype=torch.float64),)


def _twohot_inputs(generator):
    return (symexp(torch.empty(32, dtype=torch.float64).uniform_(-21.0, 21.0, generator=generator)),)


def _twohot_by_hand(x, bins=255, low=-20.0, high=20.0):
    spacing = (high - low) / (bins - 1)
    y = (torch.sign(x) * torch.log1p(x.abs())).clamp(low, high)
    position = (y - low) / spacing
    below = position.floor().long().clamp(0, bins - 2)
    w_above = position - below
    weights = torch.zeros(*x.shape, bins, dtype=x.dtype)
    weights.scatter_(-1, below.unsqueeze(-1), (1 - w_above).unsqueeze(-1))
    weights.scatter_(-1, (below + 1).unsqueeze(-1), w_above.unsqueeze(-1))
    return weights


def test_exercise_05_symlog_is_solvable_and_the_check_is_honest(capsys):
    def stub(x):
        raise NotImplementedError

    assert check_function(stub, symlog, _symlog_inputs) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check_function(lambda x: torch.sign(x) * torch.log(1 + x.abs()), symlog, _symlog_inputs) is True
    assert check_function(lambda x: torch.log1p(x.abs()), symlog, _symlog_inputs) is False    # forgot the sign
    assert check_function(lambda x: torch.sign(x) * torch.log(x.abs()), symlog, _symlog_inputs) is False


def test_exercise_05_twohot_encode_is_solvable_and_the_check_is_honest(capsys):
    def stub(x, bins=255, low=-20.0, high=20.0):
        raise NotImplementedError

    def no_clipping(x, bins=255, low=-20.0, high=20.0):
        spacing = (high - low) / (bins - 1)
        position = (torch.sign(x) * torch.log1p(x.abs()) - low) / spacing
        below = position.floor().long().clamp(0, bins - 2)
        weights = torch.zeros(*x.shape, bins, dtype=x.dtype)
        weights.scatter_(-1, below.unsqueeze(-1), (1 - (position - below)).unsqueeze(-1))
        weights.scatter_(-1, (below + 1).unsqueeze(-1), (position - below).unsqueeze(-1))
        return weights

    def raw_instead_of_symlog(x, bins=255, low=-20.0, high=20.0):
        return _twohot_by_hand(symexp(x), bins, low, high)          # i.e. forgets to take symlog of the target

    reference = TwoHot().encode
    assert check_function(stub, reference, _twohot_inputs) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check_function(_twohot_by_hand, reference, _twohot_inputs) is True
    assert check_function(no_clipping, reference, _twohot_inputs) is False          # the inputs go past +-20
    assert check_function(raw_instead_of_symlog, reference, _twohot_inputs) is False


# ------------------------------------------------------------------------------------ 06: the backward EMA
def _ema_by_hand(rewards, alpha, is_last, stop_at_ends=True):
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        if stop_at_ends and bool(is_last[t]):
            running = 0.0
        running = rewards[t] + alpha * running
        out[t] = running
    return out


def test_exercise_06_ema_smooth_is_solvable_and_the_check_is_honest(capsys):
    def stub(rewards, alpha, is_last):
        raise NotImplementedError

    def across_episodes(rewards, alpha, is_last):
        return _ema_by_hand(rewards, alpha, is_last, stop_at_ends=False)

    def normalised(rewards, alpha, is_last):                     # the guide's kernel is not scaled by (1 - alpha)
        return (1 - alpha) * _ema_by_hand(rewards, alpha, is_last)

    assert check_function(stub, ema_smooth, reward_row_inputs) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check_function(_ema_by_hand, ema_smooth, reward_row_inputs) is True
    assert check_function(across_episodes, ema_smooth, reward_row_inputs) is False
    assert check_function(normalised, ema_smooth, reward_row_inputs) is False


# ------------------------------------------------------------------------------------ 07: lambda-returns
def _lambda_returns_by_hand(rewards, values, continues, discount, lambda_, use_discount=True):
    gamma = discount if use_discount else 1.0
    ret = values[:, -1]
    out = []
    for t in reversed(range(rewards.shape[1])):
        ret = rewards[:, t] + gamma * continues[:, t] * ((1 - lambda_) * values[:, t + 1] + lambda_ * ret)
        out.append(ret)
    return torch.stack(out[::-1], dim=1)


def test_exercise_07_lambda_returns_is_solvable_and_the_check_is_honest(capsys):
    def stub(rewards, values, continues, discount, lambda_):
        raise NotImplementedError

    def the_guides_code(rewards, values, continues, discount, lambda_):
        return _lambda_returns_by_hand(rewards, values, continues, discount, lambda_, use_discount=False)

    def bootstraps_from_v0(rewards, values, continues, discount, lambda_):    # values shifted by one step
        return _lambda_returns_by_hand(rewards, torch.cat([values[:, :1], values[:, :-1]], 1), continues,
                                       discount, lambda_)

    assert check_function(stub, lambda_returns, rollout_inputs) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check_function(_lambda_returns_by_hand, lambda_returns, rollout_inputs) is True
    assert check_function(the_guides_code, lambda_returns, rollout_inputs) is False
    assert check_function(bootstraps_from_v0, lambda_returns, rollout_inputs) is False


# ==================================================================================== 04: return normalisation
def test_04_one_outlier_ruins_the_range_and_the_std_but_not_the_percentiles():
    generator = torch.Generator().manual_seed(0)
    batch = (2.0 * torch.randn(1024, generator=generator)).double().numpy()
    spoiled = batch.copy()
    spoiled[0] = 1000.0

    def change(measure):
        return 100 * (measure(spoiled) / measure(batch) - 1)

    assert abs(change(lambda x: np.subtract(*np.percentile(x, [95, 5])))) < 1.0
    assert change(lambda x: x.max() - x.min()) > 5000
    assert change(lambda x: 4 * x.std(ddof=1)) > 200


def test_04_ema_from_zero_takes_about_a_hundred_updates():
    batch = torch.linspace(-100 / 9, 100 / 9, 1001)
    np.testing.assert_allclose(np.percentile(batch.double().numpy(), [5, 95]), [-10, 10], atol=1e-4)
    moments = Moments(decay=0.99, floor=1.0)
    scales = np.array([float(moments(batch)[1]) for _ in range(300)])
    n = np.arange(1, 301)
    np.testing.assert_allclose(scales, np.maximum(1.0, 20.0 * (1.0 - 0.99 ** n)), rtol=1e-4)
    assert abs(scales[99] - 20 * (1 - 0.99 ** 100)) < 1e-3 and 12.5 < scales[99] < 13.0     # two thirds of 20


def test_04_the_floor_keeps_noise_from_becoming_signal():
    stream = widgets.synthetic_return_batches(updates=500, goal_probability=0.0, noise=0.01, seed=1)
    no_floor, with_floor = Moments(floor=1e-6), Moments(floor=1.0)
    for returns_batch in stream:
        _, s_no_floor = no_floor(returns_batch)
        _, s_floor = with_floor(returns_batch)
    assert float(s_floor) == 1.0 and float(s_no_floor) < 0.05
    returns = stream[-1]
    values = returns + 0.01 * torch.randn(returns.shape, generator=torch.Generator().manual_seed(7))
    assert normalized_advantages(returns, values, s_no_floor).std() > 0.2
    assert normalized_advantages(returns, values, s_floor).std() < 0.02


def test_04_normalised_scale_is_above_the_floor_for_real_rewards_and_at_it_for_tiny_ones():
    rows = {scale: widgets.entropy_advantage_gradients(scale, True) for scale in (0.01, 1.0, 100.0)}
    assert rows[1.0]["S"] > 1.0 and rows[100.0]["S"] > 1.0
    assert rows[0.01]["S"] == 1.0 and rows[0.01]["ratio"] > 5 * rows[1.0]["ratio"]


def test_04_moments_explorer_claims():
    explorer = widgets.moments_explorer()
    quiet = widgets.set_controls(explorer, decay=0.99, goal_probability=0.0, floor=1.0)
    assert quiet["at_floor_fraction"] == 1.0 and quiet["scale"] == 1.0
    assert widgets.set_controls(explorer, goal_probability=0.05)["at_floor_fraction"] == 1.0
    frequent = widgets.set_controls(explorer, goal_probability=0.3)
    assert 17.0 < frequent["scale"] < 21.0
    for decay in (0.9, 0.99):                                 # like any EMA: 63% of the way after 1/(1-decay)
        trace = widgets.set_controls(explorer, decay=decay)
        after = trace["scale_trace"][trace["goals_from"] + round(1 / (1 - decay)) - 1]
        assert abs(after / (20 * (1 - math.exp(-1))) - 1) < 0.1, decay


# ==================================================================================== 05: two-hot symlog
def test_05_symlog_values_identity_near_zero_and_odd():
    x = torch.tensor([-1000.0, -10.0, -1.0, -0.01, 0.0, 0.01, 1.0, 10.0, 1000.0], dtype=torch.float64)
    assert abs(float(symlog(torch.tensor(10.0))) - 2.398) < 5e-4
    assert abs(float(symlog(torch.tensor(1000.0))) - 6.909) < 5e-4
    torch.testing.assert_close(symexp(symlog(x)), x, rtol=1e-12, atol=1e-12)
    assert abs(float(symlog(torch.tensor(0.01, dtype=torch.float64))) - 0.01) < 1e-4
    assert torch.equal(symlog(-x), -symlog(x))


def test_05_bin_widths_in_reward_units():
    # bin i stands for symexp(-20 + i * 40 / 254), written out with math
    def value(i):
        c = -20 + i * 40 / 254
        return math.copysign(math.expm1(abs(c)), c)

    bin_values = symexp(TwoHot().centers.double())
    for i in (0, 127, 128, 142, 143, 254):
        assert float(bin_values[i]) == pytest.approx(value(i), rel=1e-6, abs=1e-6)
    assert abs(value(128) - value(127) - 0.17) < 0.005                    # fine near 0 ...
    assert abs(value(143) - value(142) - 1.8) < 0.05                      # ... coarser near 10 ...
    assert abs(value(254) - 4.85e8) < 0.01e8                              # ... and huge at the edge
    assert float(bin_values[0]) == -float(bin_values[-1])


def test_05_bin_arithmetic_of_plus_and_minus_ten():
    twohot = TwoHot()
    centres = twohot.centers.double()
    ten = widgets.twohot_numbers(10.0, twohot)
    minus_ten = widgets.twohot_numbers(-10.0, twohot)
    assert abs(twohot.spacing - 0.1575) < 5e-5 and abs(float(centres[127])) < 1e-9
    assert abs((math.log(11) + 20) / (40 / 254) - 142.2) < 0.05
    assert abs(ten["center_below"] - 2.362) < 5e-4 and abs(ten["center_above"] - 2.520) < 5e-4
    assert (ten["below"], ten["above"]) == (142, 143)
    assert abs(ten["weight_below"] - 0.77) < 0.005 and abs(ten["weight_above"] - 0.23) < 0.005
    assert abs(ten["decoded"] - 10.0) < 1e-9
    assert ten["weights"][139] == 0.0 and ten["weights"][140] == 0.0     # the guide's bins get nothing
    assert abs(float(centres[140]) - 2.047) < 1e-3 and abs(float(symexp(centres[140])) - 6.75) < 0.01
    assert (minus_ten["below"], minus_ten["above"]) == (111, 112)
    assert abs(float(symexp(centres[115])) - (-5.62)) < 0.01


def test_05_encoding_rows_and_round_trip_from_minus_to_plus_thousand():
    twohot = TwoHot()
    targets = torch.linspace(-1000.0, 1000.0, 2001, dtype=torch.float64)
    weights = twohot.encode(targets)
    torch.testing.assert_close(weights.sum(-1), torch.ones(len(targets), dtype=torch.float64))
    assert ((weights > 0).sum(-1) <= 2).all()
    torch.testing.assert_close(twohot.decode(torch.log(weights)), targets, rtol=1e-9, atol=1e-9)


def test_05_twohot_explorer_at_zero_and_fifty():
    explorer = widgets.twohot_explorer()
    zero = widgets.set_controls(explorer, x=0.0)
    assert abs(zero["weights"][127] - 1.0) < 1e-9
    fifty = widgets.set_controls(explorer, x=50.0)
    assert abs(fifty["decoded"] - 50.0) < 1e-6 and abs(fifty["weight_below"] + fifty["weight_above"] - 1) < 1e-9


@pytest.mark.parametrize("steps", [300, pytest.param(2000, marks=pytest.mark.slow)], ids=["quick", "full"])
def test_05_sparse_reward_heads(steps):
    fit = widgets.fit_sparse_reward_heads(steps=steps)
    assert abs(fit["mse_prediction"]) < 1.0
    assert fit["mass_minus_goal"] > 0.05 and fit["mass_plus_goal"] > 0.05 and fit["mass_zero"] > 0.6
    for got, true in ((fit["mass_minus_goal"], 0.1), (fit["mass_zero"], 0.8), (fit["mass_plus_goal"], 0.1)):
        assert abs(got - true) < 0.05


def test_05_ideal_head_symlog_bins_pull_towards_zero_raw_bins_give_the_mean():
    for space, expected in (("symlog", math.expm1(0.01 * math.log(11.0))), ("raw", 0.1)):
        twohot = TwoHot(space=space)
        zero_w, ten_w = (twohot.encode(torch.tensor(v, dtype=torch.float64)) for v in (0.0, 10.0))
        decoded = float(twohot.decode(torch.log(0.99 * zero_w + 0.01 * ten_w)))
        assert decoded == pytest.approx(expected, abs=1e-6), space
    assert math.expm1(0.01 * math.log(11.0)) < 0.3 * 0.1


# ==================================================================================== 06: DreamSmooth
@pytest.mark.parametrize("train_games, test_games", [(40, 30), (120, 60)], ids=["quick", "full"])
def test_06_goals_are_rare_and_come_on_the_last_step(train_games, test_games):
    games = experiments.collect_episodes(train_games, player="strong", opponent="weak", seed=0)
    big = [np.flatnonzero(np.abs(ep["reward"]) > 5) for ep in games]
    ends_in_goal = [abs(ep["reward"][-1]) > 5 for ep in games]
    for b, ep, goal in zip(big, games, ends_in_goal):
        assert list(b) == ([len(ep["reward"]) - 1] if goal else [])
    assert sum(ends_in_goal) >= train_games // 5
    assert sum(len(b) for b in big) / sum(len(ep["reward"]) for ep in games) < 0.01
    held_out = experiments.collect_episodes(test_games, player="strong", opponent="weak", seed=10_000)
    assert sum(abs(ep["reward"][-1]) > 5 and len(ep["reward"]) >= 21 for ep in held_out) >= 5   # section 5's goals


def _split(smoothed, at):
    return {"before": float(smoothed[:at].sum()), "on": float(smoothed[at]), "after": float(smoothed[at + 1:].sum()),
            "total": float(smoothed.sum())}


def _spike(at, n=100):
    r = np.zeros(n)
    r[at] = 10.0
    return r


SMOOTHERS = {"ema": lambda r: ema_smooth(r, 0.5, None), "causal_ema": lambda r: causal_ema_smooth(r, 0.33, None),
             "gaussian": lambda r: gaussian_smooth(r, 3.0, None), "uniform": lambda r: uniform_smooth(r, 9, None)}


def test_06_four_smoothers_on_one_reward():
    for at in (50, 99):
        s = {m: _split(f(_spike(at)), at) for m, f in SMOOTHERS.items()}
        for m in ("gaussian", "uniform"):
            assert abs(s[m]["total"] - 10.0) < 1e-9                            # the paper's centred kernels
        assert abs(s["ema"]["total"] - 20.0) < 1e-9                            # the guide: 10 / (1 - 0.5)
        assert s["causal_ema"]["before"] == 0.0                                # causal: only later
        for m in ("ema", "gaussian", "uniform"):
            assert s[m]["before"] > 4.0                                        # these move credit earlier
    middle = {m: _split(f(_spike(50)), 50) for m, f in SMOOTHERS.items()}
    assert abs(middle["causal_ema"]["total"] - 10.0) < 1e-9
    assert abs(middle["causal_ema"]["after"] - 3.3) < 1e-9
    for m in ("gaussian", "uniform"):
        assert abs(middle[m]["before"] - middle[m]["after"]) < 1e-9            # as much before as after
    assert abs(_split(SMOOTHERS["causal_ema"](_spike(99)), 99)["on"] - 6.7) < 1e-9
    assert abs(ema_smooth(_spike(2), 0.5, None).sum() - 17.5) < 1e-9           # cut off near the start
    for a in (0.3, 0.5, 0.9):
        assert abs(smooth_rewards(_spike(250, 500), None, "ema", alpha=a).sum() - 10 / (1 - a)) < 1e-6


def test_06_back_to_back_games_are_smoothed_apart():
    game_a, game_b = _spike(29, 30), -_spike(7, 8)
    both = np.concatenate([game_a, game_b])
    is_last = np.zeros(38, bool)
    is_last[[29, 37]] = True
    for m in ("ema", "causal_ema", "gaussian", "uniform"):
        joint = smooth_rewards(both, is_last, method=m)
        alone = np.concatenate([smooth_rewards(game_a, None, method=m), smooth_rewards(game_b, None, method=m)])
        assert np.array_equal(joint, alone), m
        assert (joint[:30] >= 0).all() and (joint[30:] <= 0).all(), m
        assert not np.allclose(smooth_rewards(both, None, method=m), joint, atol=1e-3), m


def test_06_real_games_totals_and_the_causal_goal_step():
    games = experiments.collect_episodes(40, player="strong", opponent="weak", seed=0)
    goals = [ep for ep in games if abs(ep["reward"][-1]) > 5][:6]
    assert len(goals) == 6
    for ep in goals:
        raw = ep["reward"].astype(np.float64)
        assert ema_smooth(raw, 0.5, None).sum() == pytest.approx(2 * raw.sum(), rel=0.02)
        for smoothed in (gaussian_smooth(raw, 3.0, None), uniform_smooth(raw, 9, None)):
            assert smoothed.sum() == pytest.approx(raw.sum(), abs=1e-6)
        assert causal_ema_smooth(raw, 0.33, None)[-1] == pytest.approx(0.67 * raw[-1], abs=0.1)


# ==================================================================================== 07: lambda-returns
def _single_goal():
    rewards = torch.zeros(1, H, dtype=torch.float64)
    rewards[0, -1] = 10.0
    return rewards, torch.zeros(1, H + 1, dtype=torch.float64), torch.ones(1, H, dtype=torch.float64)


def test_07_a_goal_seen_from_afar():
    ours = lambda_returns(*_single_goal(), GAMMA, LAMBDA)[0, 0].item()
    guide = guide_lambda_returns(*_single_goal(), GAMMA, LAMBDA)[0, 0].item()
    assert ours == pytest.approx(10 * (GAMMA * LAMBDA) ** (H - 1), abs=1e-9)
    assert guide == pytest.approx(10 * LAMBDA ** (H - 1), abs=1e-9)
    assert ours / guide == pytest.approx(GAMMA ** (H - 1), abs=1e-12)
    assert abs(guide / ours - 1.04) < 0.005


def test_07_correct_values_are_a_fixed_point_only_with_the_discount():
    true_value = 1.0 / (1.0 - GAMMA)
    rewards = torch.ones(1, H, dtype=torch.float64)
    values = torch.full((1, H + 1), true_value, dtype=torch.float64)
    continues = torch.ones(1, H, dtype=torch.float64)
    for lam in (0.0, 0.5, 0.95, 1.0):
        torch.testing.assert_close(lambda_returns(rewards, values, continues, GAMMA, lam), values[:, :-1],
                                   rtol=1e-12, atol=0)
        excess = sum(lam ** k for k in range(H))
        assert guide_lambda_returns(rewards, values, continues, GAMMA, lam)[0, 0].item() == pytest.approx(
            true_value + excess, abs=1e-9)
    assert abs(true_value - 333.3) < 0.05 and abs(sum(0.95 ** k for k in range(H)) - 10.7) < 0.05


def test_07_hockey_like_rollout_and_the_explorer_settings():
    comparison = widgets.lambda_returns_comparison(LAMBDA, GAMMA)
    assert comparison["R0"] < comparison["R0_guide"]
    assert comparison["returns"][11] == comparison["guide_returns"][11] == 10.0    # the goal step itself agrees
    assert widgets.lambda_returns_comparison(0.95, 1.0)["max_abs_difference"] == 0.0
    apart = widgets.lambda_returns_comparison(0.95, 0.9)
    assert apart["R0"] < apart["R0_guide"] - 1.0


def test_07_lambda_one_on_the_notebooks_rollout():
    generator = torch.Generator().manual_seed(1)
    batch = 4
    rewards = torch.randn(batch, H, generator=generator, dtype=torch.float64)
    values = 3 * torch.randn(batch, H + 1, generator=generator, dtype=torch.float64)
    continues = (torch.rand(batch, H, generator=generator, dtype=torch.float64) > 0.1).double()
    monte_carlo = lambda_returns(rewards, values, continues, GAMMA, 1.0)
    for b in range(batch):
        total, weight = 0.0, 1.0
        for k in range(3, H):
            total += weight * rewards[b, k].item()
            weight *= GAMMA * continues[b, k].item()
        assert monte_carlo[b, 3].item() == pytest.approx(total + weight * values[b, H].item(), rel=1e-12, abs=1e-12)


def test_07_slow_critic_closes_the_gap_by_a_factor_d_per_update():
    d = Config().slow_critic_decay
    tracking = widgets.slow_critic_tracking(decay=d, updates=500, ramp_updates=300)
    gap = tracking["online_progress"] - tracking["slow_progress"]
    assert abs(gap[300 + 50 - 1] / gap[300 - 1] - d ** 50) < 1e-3
    online, slow = Critic(Config.quick()), Critic(Config.quick())
    slow.load_state_dict(online.state_dict())
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
        for _ in range(50):
            update_slow_critic(slow, online, d)
        moved = [float((s - (o - 1.0)).mean()) for s, o in zip(slow.parameters(), online.parameters())]
    assert all(abs(m - (1 - d ** 50)) < 1e-4 for m in moved)                   # 63.6% of the jump after 50


@pytest.mark.parametrize("n_trajectories", [4_000, 40_000], ids=["quick", "full"])
def test_07_bias_and_variance_as_lambda_moves(n_trajectories):
    lambdas = [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0]
    poor = widgets.random_walk_lambda_study(lambdas, value_error=0.3, n_trajectories=n_trajectories)
    good = widgets.random_walk_lambda_study(lambdas, value_error=0.05, n_trajectories=n_trajectories)
    for study in (poor, good):
        assert (np.diff(study["variance"]) > 0).all()
        assert (np.diff(np.abs(study["bias"])) < 0).all()
    assert 0.0 < lambdas[int(np.argmin(poor["mse"]))] < 1.0
    assert lambdas[int(np.argmin(good["mse"]))] == 0.0
    assert poor["ended_fraction"] < 1.0
