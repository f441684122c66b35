import math

import pytest

from dreamer_edu.evaluate import Outcome, wilson_interval


def test_wilson_interval_matches_the_formula_by_hand():
    # 50 of 100: p = 0.5, z = 1.96: centre 0.5, half-width 1.96*sqrt(0.25/100 + 1.96^2/40000)/(1 + 1.96^2/100)
    z = 1.959964
    half = z * math.sqrt(0.0025 + z * z / 40000) / (1 + z * z / 100)
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(0.5 - half) and hi == pytest.approx(0.5 + half)
    assert lo == pytest.approx(0.4038, abs=1e-3)


def test_wilson_interval_edges_stay_in_unit_interval():
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and 0.1 < hi < 0.2
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and 0.8 < lo < 0.9
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def test_outcome_rates_and_summary():
    o = Outcome(wins=7, draws=2, losses=1, mean_return=1.0, mean_length=100)
    assert o.games == 10 and o.win_rate == 0.7 and o.draw_rate == 0.2 and o.loss_rate == 0.1
    assert "win  70.0%" in o.summary() and "Wilson" in o.summary()


# --- games side by side -----------------------------------------------------------------------------------
import numpy as np  # noqa: E402
import torch  # noqa: E402

from dreamer_edu.agent import Dreamer  # noqa: E402
from dreamer_edu.config import Config  # noqa: E402
from dreamer_edu.evaluate import play_games  # noqa: E402


class LinearAgent:
    """A policy that acts on each game's observation alone: action = tanh(W obs).  Counts its calls and game starts."""

    obs_dim = 18

    def __init__(self):
        self.weights = np.random.default_rng(0).normal(scale=0.3, size=(4, 18)).astype(np.float32)
        self.calls = self.starts = 0

    def initial_policy_state(self, num_envs):
        return np.zeros(num_envs)

    def policy(self, obs, state, explore=False, is_first=None):
        obs = np.asarray(obs, np.float32)
        assert obs.shape == (len(state), 18)
        self.calls += 1
        self.starts += int(np.sum(is_first))
        # row by row: a batched matmul would round differently, and the physics amplifies any difference
        return np.stack([np.tanh(self.weights @ row) for row in obs]), state


@pytest.mark.parametrize("mode, opponent", [("NORMAL", "weak"), ("TRAIN_SHOOTING", "none")])
def test_games_side_by_side_give_the_same_outcome_as_one_after_the_other(mode, opponent):
    one_by_one, side_by_side = LinearAgent(), LinearAgent()
    sequential = play_games(one_by_one, 9, opponent=opponent, mode=mode, seed=3, parallel=1)
    batched = play_games(side_by_side, 9, opponent=opponent, mode=mode, seed=3, parallel=4)
    assert batched == sequential                           # same wins, draws, losses, mean return and length
    assert one_by_one.starts == side_by_side.starts == 9   # every game starts with a fresh memory, once
    assert one_by_one.calls == round(sequential.mean_length * 9)     # one call per step ...
    assert side_by_side.calls < one_by_one.calls / 2                 # ... or per step of 4 games at once


def test_more_slots_than_games_and_given_envs():
    from dreamer_edu.envs import make_env

    reference = play_games(LinearAgent(), 3, opponent="none", mode="TRAIN_SHOOTING", seed=0)
    assert play_games(LinearAgent(), 3, opponent="none", mode="TRAIN_SHOOTING", seed=0, parallel=10) == reference
    envs = [make_env(mode="TRAIN_SHOOTING", opponent="none") for _ in range(2)]
    assert play_games(LinearAgent(), 3, seed=0, envs=envs) == reference
    assert play_games(LinearAgent(), 3, seed=0, env=envs[0]) == reference


def test_a_dreamer_plays_games_side_by_side_reproducibly():
    agent = Dreamer(Config.quick())
    outcomes = []
    for _ in range(2):
        torch.manual_seed(0)
        outcomes.append(play_games(agent, 5, opponent="none", mode="TRAIN_SHOOTING", seed=1, parallel=3))
    assert outcomes[0] == outcomes[1] and outcomes[0].games == 5


def test_bad_parallel_settings_are_refused():
    with pytest.raises(ValueError, match="parallel must be >= 1"):
        play_games(LinearAgent(), 2, parallel=0)
    with pytest.raises(ValueError, match="at least one environment"):
        play_games(LinearAgent(), 2, envs=[])
    with pytest.raises(ValueError, match="games must be >= 1"):
        play_games(LinearAgent(), 0, parallel=4)
    with pytest.raises(ValueError, match="pass envs"):
        play_games(LinearAgent(), 2, parallel=2, env=object())
