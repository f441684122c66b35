"""The DreamSmooth explorer and the measurements of notebook 06 (guide ch. 11)."""
import numpy as np
import pytest

from dreamer_edu.dreamsmooth import smooth_rewards
from dreamer_edu.viz import dreamsmooth_plots as dp
from dreamer_edu.viz import widgets


def _episode(rewards):
    """A hand-made episode dict in the buffer's convention."""
    r = np.asarray(rewards, np.float32)
    steps = len(r)
    return {"reward": r, "is_last": np.arange(steps) == steps - 1, "is_first": np.arange(steps) == 0}


@pytest.fixture
def games():
    rng = np.random.default_rng(0)
    out = []
    for length, goal in ((30, 10.0), (25, -10.0), (40, 10.0)):
        r = -0.05 * rng.random(length)                  # a small shaping penalty on every step ...
        r[-1] += goal                                   # ... and a goal on the last one
        out.append(_episode(r))
    return out


def test_explorer_returns_what_smooth_rewards_gives(games):
    w = widgets.dreamsmooth_explorer(games)
    joined = np.concatenate([g["reward"] for g in games]).astype(np.float64)
    last = np.concatenate([g["is_last"] for g in games])
    for method, kw in (("ema", {"alpha": 0.7}), ("causal_ema", {"alpha": 0.33}), ("gaussian", {"sigma": 2.0}),
                       ("uniform", {"width": 5})):
        out = widgets.set_controls(w, games=3, method=method, **kw)
        a = widgets.controls(w)["alpha"].value
        expected = smooth_rewards(joined, last, method=method, alpha=a, causal_alpha=a,
                                  sigma=widgets.controls(w)["sigma"].value, width=widgets.controls(w)["width"].value)
        np.testing.assert_allclose(out["smoothed"], expected, atol=1e-12)
        np.testing.assert_allclose(out["raw"], joined)
        assert list(out["starts"]) == [0, 30, 55]


def test_explorer_ema_by_hand_and_boundaries(games):
    w = widgets.dreamsmooth_explorer(games)
    out = widgets.set_controls(w, games=2, method="ema", alpha=0.5)
    # r~_t = r_t + 0.5 r~_{t+1}, restarted at each game's last step: computed here by a plain loop
    expected = []
    for g in games[:2]:
        acc, ep = 0.0, []
        for r in g["reward"][::-1].astype(np.float64):
            acc = r + 0.5 * acc
            ep.append(acc)
        expected.extend(ep[::-1])
    np.testing.assert_allclose(out["smoothed"], expected, atol=1e-9)
    assert len(out["smoothed"]) == 55 and len(out["raw_totals"]) == 2
    # the second game's -10 does not reach the first game's last step
    assert abs(out["smoothed"][29] - games[0]["reward"][-1]) < 1e-6


def test_paper_kernels_keep_each_games_total(games):
    w = widgets.dreamsmooth_explorer(games)
    for method in ("gaussian", "uniform", "none"):
        out = widgets.set_controls(w, games=3, method=method)
        np.testing.assert_allclose(out["smoothed_totals"], out["raw_totals"], atol=1e-9)
    out = widgets.set_controls(w, method="ema", alpha=0.5)
    assert np.all(np.abs(out["smoothed_totals"]) > 1.8 * np.abs(out["raw_totals"]))   # near 1/(1-a) = 2


def test_lone_spike_credit_split():
    r = dp.spike(100, at=99)                              # a +10 on the last step
    s = dp.smooth_all(r, alpha=0.5)
    ema = dp.credit_split(s["ema"], 99)
    assert abs(ema["total"] - 20.0) < 1e-9 and ema["after"] == 0.0
    causal = dp.credit_split(s["causal_ema"], 99)
    assert abs(causal["total"] - 10.0 * (1 - 0.33)) < 1e-9 and causal["before"] == 0.0
    for m in ("gaussian", "uniform"):
        split = dp.credit_split(s[m], 99)
        assert abs(split["total"] - 10.0) < 1e-9 and split["before"] > 5.0 and split["after"] == 0.0
    mid = dp.credit_split(dp.smooth_all(dp.spike(100, at=50))["causal_ema"], 50)
    assert mid["before"] == 0.0 and abs(mid["total"] - 10.0) < 1e-9 and abs(mid["after"] - 3.3) < 1e-9


def test_goal_episodes_and_join():
    eps = [_episode([0, 0, 10.0]), _episode([0, -0.1]), _episode([0, 0, 0, -10.0])]
    assert len(dp.goal_episodes(eps)) == 2
    joined = dp.join_episodes(eps)
    assert list(joined["starts"]) == [0, 3, 5] and joined["is_last"].sum() == 3


def test_bad_input(games):
    with pytest.raises(ValueError, match="at least one episode"):
        widgets.dreamsmooth_explorer([])
    with pytest.raises(ValueError, match="at least one episode"):
        dp.join_episodes([])
    with pytest.raises(ValueError, match="odd"):
        dp.smoothing_numbers(games, method="uniform", width=4)
    with pytest.raises(ValueError, match="unknown DreamSmooth method"):
        dp.smoothing_numbers(games, method="median")
    with pytest.raises(ValueError, match="alpha"):
        dp.smoothing_numbers(games, method="ema", alpha=1.0)
    with pytest.raises(ValueError, match="unknown control"):
        widgets.set_controls(widgets.dreamsmooth_explorer(games), beta=0.3)
    with pytest.raises(ValueError, match="spike"):
        dp.spike(10, at=10)


def test_predictions_before_goal_shape_and_sign():
    import torch

    from dreamer_edu.config import Config
    from dreamer_edu.world_model import WorldModel

    torch.manual_seed(0)
    cfg = Config.quick(deter_size=16, latent_length=4, latent_classes=4, hidden_size=16)
    model = WorldModel(cfg).eval()
    eps = []
    for goal in (10.0, -10.0):
        ep = _episode([0.0] * 29 + [goal])
        ep.update(obs=np.zeros((30, 18), np.float32), action=np.zeros((30, 4), np.float32),
                  is_terminal=ep["is_last"].copy())
        eps.append(ep)
    pred = dp.predicted_rewards_before_goal(model, eps, before=10)
    assert pred.shape == (2, 11)
    # zero-initialised reward head: predicts exactly 0 before training, whatever the sign
    assert np.allclose(pred, 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="at least 41 steps"):
        dp.predicted_rewards_before_goal(model, eps, before=40)


def test_compare_reward_models_targets_and_bad_input():
    import torch

    from dreamer_edu.config import Config

    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    eps = []
    for goal in (10.0, -10.0, 0.0):
        ep = _episode([0.0] * 24 + [goal])
        ep.update(obs=rng.normal(size=(25, 18)).astype(np.float32), action=np.zeros((25, 4), np.float32),
                  is_terminal=ep["is_last"] & (goal != 0))
        eps.append(ep)
    cfg = Config.quick(deter_size=16, latent_length=4, latent_classes=4, hidden_size=16, batch_size=2,
                       batch_length=8)
    out = dp.compare_reward_models(eps, eps, cfg, updates=2, before=5)
    assert out["goals"] == 2 and out["raw"].shape == out["smoothed"].shape == (2, 6)
    # targets signed towards the goal: raw 0,..,0,10; the guide's EMA (alpha 0.5) 10 * 0.5^k backwards
    np.testing.assert_allclose(out["raw_target"], [[0, 0, 0, 0, 0, 10]] * 2)
    np.testing.assert_allclose(out["smoothed_target"][0], 10 * 0.5 ** np.arange(5, -1, -1))
    with pytest.raises(ValueError, match="no goal"):
        dp.compare_reward_models(eps, eps[2:], cfg, updates=2, before=5)
