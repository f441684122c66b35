"""Tests of dreamer_edu.viz.widgets (the notebooks' explorers and experiments) and dreamer_edu.viz.exercises.

Each explorer is driven the way a student drives it, by setting a slider's value; the numbers it returns are
checked against independent computations written out here (numpy, math), not against the package's own helpers.
"""
import math

import numpy as np
import pytest
import torch

from dreamer_edu.viz import exercises, widgets

HALF_LOG_2PIE = 0.5 * math.log(2 * math.pi * math.e)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny tensors: one thread is much faster on a loaded 2-core machine; restore afterwards
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _squashed_entropy_by_quadrature(mean: float, sigma: float) -> float:
    """H[tanh(u)] for u ~ N(mean, sigma^2): H[u] + E[log(1 - tanh(u)^2)], the expectation on a fine grid."""
    u = np.linspace(mean - 12 * sigma, mean + 12 * sigma, 200_001)
    pdf = np.exp(-0.5 * ((u - mean) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    log_slope = 2 * (math.log(2) - u - np.logaddexp(0, -2 * u))                 # log(1 - tanh^2), stable
    return HALF_LOG_2PIE + math.log(sigma) + np.trapezoid(pdf * log_slope, u)


# ------------------------------------------------------------------------------------------------ helpers
def test_set_controls_rejects_unknown_names():
    w = widgets.twohot_explorer()
    with pytest.raises(ValueError, match="unknown control"):
        widgets.set_controls(w, not_a_slider=1.0)
    assert set(widgets.controls(w)) == {"x"}


# ------------------------------------------------------------------------------------------------ entropy
def test_entropy_explorer_minimum_entropy_matches_formula():
    w = widgets.entropy_explorer(n_samples=500)
    result = widgets.set_controls(w, log_std_min=-2.0)
    assert result["min_entropy_per_dim"] == pytest.approx(-2.0 + HALF_LOG_2PIE)
    assert result["min_entropy_per_dim"] == pytest.approx(-0.58, abs=0.005)
    assert result["min_entropy_total"] == pytest.approx(4 * (-2.0 + HALF_LOG_2PIE))
    assert result["sigma_min"] == pytest.approx(math.exp(-2.0))
    for low, per_dim in ((-5.0, -3.58), (-0.5, 0.92)):
        assert widgets.set_controls(w, log_std_min=low)["min_entropy_per_dim"] == pytest.approx(per_dim, abs=0.005)


def test_entropy_explorer_curves_match_independent_computation():
    w = widgets.entropy_explorer(n_samples=4000)
    result = widgets.set_controls(w, log_std_min=-1.0, log_std_max=1.0, mean=0.5)
    raw = result["raw"]
    log_std = -1.0 + 2.0 / (1.0 + np.exp(-raw))                                 # the sigmoid squeeze, by hand
    np.testing.assert_allclose(result["log_std"], log_std, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result["gaussian_entropy"], HALF_LOG_2PIE + log_std, rtol=1e-12, atol=1e-12)
    for i in (0, 60, 120):                                                      # narrow, middle and wide
        expected = _squashed_entropy_by_quadrature(0.5, math.exp(log_std[i]))
        assert result["squashed_entropy"][i] == pytest.approx(expected, abs=0.05)
    assert (result["squashed_entropy"] < result["gaussian_entropy"]).all()
    assert result["zero_entropy_raw"] is None                                   # -1.419 is outside [-1, 1]
    # with room below -1.419 the marked raw output is where sigma = 0.242
    r = widgets.set_controls(w, log_std_min=-2.0)["zero_entropy_raw"]
    assert -2.0 + 3.0 / (1.0 + math.exp(-r)) == pytest.approx(-HALF_LOG_2PIE)


def test_entropy_explorer_saturated_mean_gives_negative_action_entropy():
    w = widgets.entropy_explorer(n_samples=1000)
    result = widgets.set_controls(w, log_std_min=-0.5, log_std_max=2.0, mean=2.0)
    assert result["min_entropy_per_dim"] > 0.9
    assert result["max_squashed_entropy_per_dim"] < 0
    assert result["zero_entropy_raw"] is None                                   # sigma = 0.242 is out of range


def test_entropy_explorer_reports_inverted_bounds():
    w = widgets.entropy_explorer(n_samples=100)
    result = widgets.set_controls(w, log_std_min=1.0, log_std_max=0.5)
    assert "error" in result


def test_entropy_explorer_saves_figure(tmp_path):
    path = tmp_path / "entropy.png"
    widgets.entropy_explorer(save_to=path, n_samples=100)
    assert path.stat().st_size > 1000


def test_entropy_vs_mean_bounded_by_ln2():
    curves = widgets.entropy_vs_mean([-0.5, 2.0], np.linspace(-2, 2, 9), n_samples=2000)
    for gaussian, squashed in curves.values():
        assert (squashed < math.log(2) + 0.02).all() and (squashed < gaussian).all()


# ------------------------------------------------------------------------------------------------ Moments
def _moments_by_hand(stream: np.ndarray, decay: float, floor: float) -> np.ndarray:
    low = high = 0.0
    scales = []
    for batch in stream:
        p5, p95 = np.quantile(batch, [0.05, 0.95])
        low = decay * low + (1 - decay) * p5
        high = decay * high + (1 - decay) * p95
        scales.append(max(floor, high - low))
    return np.array(scales)


def test_moments_explorer_matches_hand_written_ema():
    w = widgets.moments_explorer()
    for decay, p, floor in ((0.99, 0.3, 1.0), (0.95, 0.15, 2.0), (0.999, 0.3, 0.5)):
        result = widgets.set_controls(w, decay=decay, goal_probability=p, floor=floor)
        stream = widgets.synthetic_return_batches(len(result["update"]), p).double().numpy()
        by_hand = _moments_by_hand(stream, decay, floor)
        np.testing.assert_allclose(result["scale_trace"], by_hand, rtol=1e-4, atol=1e-5)
        assert result["scale"] == pytest.approx(by_hand[-1], rel=1e-4)
        assert result["at_floor_fraction"] == pytest.approx(np.mean(by_hand <= floor))


def test_moments_explorer_counts_a_float32_floor():
    """S is float32: a floor float32 cannot hold exactly (1.1, as the slider gives) is still "at the floor"."""
    w = widgets.moments_explorer()
    for floor in (1.1, 0.35, 2.05):
        assert widgets.set_controls(w, goal_probability=0.0, floor=floor)["at_floor_fraction"] == 1.0


def test_moments_explorer_floor_and_rare_goals():
    w = widgets.moments_explorer()
    quiet = widgets.set_controls(w, decay=0.99, goal_probability=0.0, floor=1.0)
    assert quiet["scale"] == 1.0 and quiet["at_floor_fraction"] == 1.0
    assert widgets.set_controls(w, goal_probability=0.04)["at_floor_fraction"] == 1.0   # under 5% per sign
    frequent = widgets.set_controls(w, goal_probability=0.3)
    assert frequent["scale"] == pytest.approx(20 * (1 - 0.99 ** 400), rel=0.05)        # P95 - P5 = 20 for 400 updates


def test_normalisation_makes_entropy_balance_scale_free():
    raw = [widgets.entropy_advantage_gradients(s, normalise=False) for s in (1.0, 100.0)]
    norm = [widgets.entropy_advantage_gradients(s, normalise=True) for s in (1.0, 100.0)]
    assert raw[0]["ratio"] / raw[1]["ratio"] == pytest.approx(100.0, rel=1e-3)
    assert norm[0]["ratio"] == pytest.approx(norm[1]["ratio"], rel=1e-3)
    floor = widgets.entropy_advantage_gradients(0.01, normalise=True)
    assert floor["S"] == 1.0 and floor["ratio"] > 5 * norm[0]["ratio"]


# ------------------------------------------------------------------------------------------------ lambda
def _lambda_returns_by_hand(r, v, c, gamma, lam):
    out = np.zeros_like(r)
    nxt = v[-1]
    for t in reversed(range(len(r))):
        nxt = r[t] + gamma * c[t] * ((1 - lam) * v[t + 1] + lam * nxt)
        out[t] = nxt
    return out


def test_lambda_explorer_matches_hand_written_recursion():
    w = widgets.lambda_explorer()
    result = widgets.set_controls(w, lambda_=0.5, discount=0.9)
    r, v, c = result["rewards"], result["values"], result["continues"]
    np.testing.assert_allclose(result["returns"], _lambda_returns_by_hand(r, v, c, 0.9, 0.5), rtol=1e-12)
    np.testing.assert_allclose(result["guide_returns"], _lambda_returns_by_hand(r, v, c, 1.0, 0.5), rtol=1e-12)
    assert result["R0"] < result["R0_guide"]
    assert widgets.set_controls(w, discount=1.0)["max_abs_difference"] == 0.0


def test_slow_critic_lag_matches_ema_theory():
    trace = widgets.slow_critic_tracking(decay=0.98, updates=260, ramp_updates=200)
    d = 0.98
    assert trace["lag_at_ramp_end"] == pytest.approx(d / (1 - d) * (1 - d ** 200), abs=0.05)
    gap = trace["online_progress"] - trace["slow_progress"]
    assert gap[200 + 30 - 1] / gap[200 - 1] == pytest.approx(d ** 30, abs=1e-3)


def test_random_walk_true_values_and_bias_variance():
    # gamma = 1: the probability of leaving on the right from state s of n is s / (n + 1)
    study = widgets.random_walk_lambda_study([0.0, 0.5, 1.0], n_states=5, discount=1.0, value_error=0.0,
                                             n_trajectories=2000)
    np.testing.assert_allclose(study["true_values"], [0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 0], atol=1e-12)
    assert abs(study["bias"]).max() < 0.03                                     # a correct critic: no bias
    study = widgets.random_walk_lambda_study([0.0, 0.5, 0.9, 1.0], value_error=0.3, n_trajectories=2000)
    assert (np.diff(study["variance"]) > 0).all() and (np.diff(np.abs(study["bias"])) < 0).all()
    assert study["bias"][0] == pytest.approx(study["discount"] * 0.3, abs=0.01)  # lambda = 0: gamma * error


# ------------------------------------------------------------------------------------------------ two-hot
def test_twohot_explorer_matches_hand_arithmetic():
    w = widgets.twohot_explorer()
    spacing = 40 / 254
    for x in (10.0, -10.0, 3.3, 77.0):
        result = widgets.set_controls(w, x=x)
        position = (math.copysign(math.log1p(abs(x)), x) + 20) / spacing       # fractional bin index
        assert result["below"] == math.floor(position) and result["above"] == math.floor(position) + 1
        assert result["weight_above"] == pytest.approx(position - math.floor(position), abs=1e-5)
        assert result["weight_below"] + result["weight_above"] == pytest.approx(1.0)
        assert result["decoded"] == pytest.approx(x, rel=1e-6)
    ten = widgets.set_controls(w, x=10.0)
    assert (ten["below"], ten["above"]) == (142, 143)
    assert ten["weight_below"] == pytest.approx(0.77, abs=0.005)


def test_sparse_reward_heads_learn_mean_and_modes():
    fit = widgets.fit_sparse_reward_heads(steps=200)
    assert abs(fit["mse_prediction"]) < 1.0
    assert fit["mass_minus_goal"] > 0.05 and fit["mass_plus_goal"] > 0.05 and fit["mass_zero"] > 0.6


# ------------------------------------------------------------------------------------------------ exercises
CHECKS = [
    (exercises.check_answer_zero_entropy_log_std, -0.5 * math.log(2 * math.pi * math.e), 0.0),
    (exercises.check_answer_guide_sigma_at_zero_output, math.exp(0.75), 1.0),
    (exercises.check_answer_saturated_fraction, math.erfc(math.atanh(0.99) / math.exp(2) / math.sqrt(2)), 0.2),
    (exercises.check_answer_updates_to_leave_floor, 11, 10),
    (exercises.check_answer_advantage_factor, 1.0, 50.0),
    (exercises.check_answer_scale_small_returns, 1.0, 0.4),
    (exercises.check_answer_bins_for_100, (156, 157), (155, 156)),
    (exercises.check_answer_upper_weight_for_100,
     (math.log(101) + 20) / (40 / 254) - math.floor((math.log(101) + 20) / (40 / 254)), 0.9),
    (exercises.check_answer_mse_prediction, 0.1, 0.0),
    (exercises.check_answer_goal_return, 10 * (0.997 * 0.95) ** 14, 10 * 0.95 ** 14),
    (exercises.check_answer_half_gap_updates, 35, 50),
    (exercises.check_answer_td_lambda, 0.0, 1.0),
]


@pytest.mark.parametrize("check, right, wrong", CHECKS, ids=[c[0].__name__ for c in CHECKS])
def test_exercise_checks(check, right, wrong, capsys):
    assert check(None) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check(right) is True
    assert "correct" in capsys.readouterr().out
    assert check(wrong) is False
    assert "not quite" in capsys.readouterr().out
    assert check("banana") is False                                          # never raises on odd input


def test_half_gap_accepts_the_exact_solution():
    assert exercises.check_answer_half_gap_updates(math.log(0.5) / math.log(0.98)) is True


def test_quick_figures_never_go_to_the_repository(monkeypatch):
    from pathlib import Path

    from dreamer_edu.viz import plots

    repo = Path(__file__).resolve().parents[1]
    quick = plots.figure_path("00_test", "figure", quick=True)
    assert repo not in quick.parents and quick.name == "00_test_figure.png"
    monkeypatch.delenv("DREAMER_EDU_FIGURES", raising=False)
    full = plots.figure_path("00_test", "figure", quick=False)
    assert full.parent == plots.figures_dir() == repo / "my_notebooks" / "figures"   # git-ignored, not figures/


# ------------------------------------------------------------------------- write-it-yourself checks, source
def test_check_function_verdicts(capsys):
    from dreamer_edu.distributions import symlog

    def inputs(g):
        return (torch.randn(7, generator=g) * 10,)

    def unanswered(x):
        raise NotImplementedError

    assert exercises.check_function(unanswered, symlog, inputs) is None
    assert "not answered yet" in capsys.readouterr().out
    assert exercises.check_function(lambda x: None, symlog, inputs) is None
    assert exercises.check_function(lambda x: torch.sign(x) * torch.log(1 + x.abs()), symlog, inputs) is True
    assert "agree on 5 random inputs" in capsys.readouterr().out
    assert exercises.check_function(lambda x: torch.log1p(x.abs()), symlog, inputs) is False   # forgot the sign
    out = capsys.readouterr().out
    assert "differs at index" in out and "of 7 numbers differ" in out
    assert exercises.check_function(lambda x: x[:3], symlog, inputs) is False
    assert "shape (3,), expected (7,)" in capsys.readouterr().out
    assert exercises.check_function(lambda x: 1 / 0, symlog, inputs) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    # several outputs (a tuple or a NamedTuple) are compared one by one
    assert exercises.check_function(lambda x: (x, 2 * x), lambda x: (x, 2 * x), inputs) is True
    assert exercises.check_function(lambda x: (x, 3 * x), lambda x: (x, 2 * x), inputs) is False
    assert "output 1 differs" in capsys.readouterr().out


def test_source_of_is_the_packages_own_code():
    import inspect

    from dreamer_edu.returns import lambda_returns

    text = exercises.source_of(lambda_returns)
    assert text.startswith("# dreamer_edu.returns.lambda_returns\n")
    assert inspect.getsource(lambda_returns) in text
