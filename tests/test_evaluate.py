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


class RecordingEnv:
    """Wraps an env and records, per game, the seed it was reset with and the return and length it gave."""

    def __init__(self, env, games: dict):
        self.env, self.games, self.seed = env, games, None

    def reset(self, seed=None, options=None):
        self.seed = seed
        self.games[seed] = [0.0, 0]
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.games[self.seed][0] += float(reward)
        self.games[self.seed][1] += 1
        return obs, reward, terminated, truncated, info


@pytest.mark.parametrize("mode, opponent", [("NORMAL", "weak"), ("TRAIN_SHOOTING", "none")])
def test_games_side_by_side_give_the_same_outcome_as_one_after_the_other(mode, opponent):
    from dreamer_edu.envs import make_env

    one_by_one, side_by_side = LinearAgent(), LinearAgent()
    games_sequential, games_batched = {}, {}
    sequential = play_games(one_by_one, 9, seed=3, envs=[RecordingEnv(make_env(mode=mode, opponent=opponent),
                                                                      games_sequential)])
    batched = play_games(side_by_side, 9, seed=3, envs=[RecordingEnv(make_env(mode=mode, opponent=opponent),
                                                                     games_batched) for _ in range(4)])
    assert sorted(games_sequential) == sorted(games_batched) == list(range(3, 12))   # seeds 3 .. 11, once each
    assert games_batched == games_sequential               # each seed's game: the same return and length
    assert batched == sequential                           # so the same wins, draws, losses and means
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


def test_is_first_gives_a_restarted_game_a_fresh_memory():
    agent = Dreamer(Config.quick())
    obs = np.random.default_rng(0).normal(size=(3, 18)).astype(np.float32)
    _, state = agent.policy(obs, None, explore=False)
    _, state = agent.policy(obs, state, explore=False)              # some memory in all three games
    torch.manual_seed(1)
    fresh, _ = agent.policy(obs, None, explore=False)
    torch.manual_seed(1)
    restarted, _ = agent.policy(obs, state, explore=False, is_first=[True, True, True])
    torch.manual_seed(1)
    kept, _ = agent.policy(obs, state, explore=False, is_first=[False, False, False])
    assert np.allclose(restarted, fresh, atol=1e-6)
    assert not np.allclose(kept, fresh, atol=1e-3)


def test_the_random_policy_plays_on_the_given_envs():
    from dreamer_edu.envs import make_env

    reference = play_games(None, 3, opponent="none", mode="TRAIN_SHOOTING", seed=0)
    assert play_games(None, 3, seed=0, envs=[make_env(mode="TRAIN_SHOOTING", opponent="none")]) == reference
    assert play_games(None, 3, seed=0, env=make_env(mode="TRAIN_SHOOTING", opponent="none")) == reference


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


def test_policy_refuses_non_finite_or_misshaped_observations():
    agent = Dreamer(Config.quick())
    obs = np.zeros((2, 18), np.float32)
    obs[1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        agent.policy(obs)
    with pytest.raises(ValueError, match=r"obs must be \(18,\) or \(N, 18\)"):
        agent.policy(np.zeros((2, 17), np.float32))
    action, _ = agent.policy(np.zeros(18, np.float32))
    assert action.shape == (4,) and np.all(np.abs(action) <= 1)


def test_a_shipped_agent_is_found_by_its_short_name(tmp_path, monkeypatch):
    import shutil

    from dreamer_edu import checkpoint
    from dreamer_edu.config import Config
    from dreamer_edu.evaluate import load_agent
    from dreamer_edu.trainer import Trainer

    run = tmp_path / "run"
    Trainer(Config.quick(mode="TRAIN_SHOOTING", opponent="none", warmup_episodes=1, total_env_steps=100,
                         eval_games=1), run, progress=False).train()
    shipped = tmp_path / "checkpoints"
    (shipped / "tiny-agent").mkdir(parents=True)
    shutil.copy(run / "checkpoint.pt", shipped / "tiny-agent" / "checkpoint.pt")
    (shipped / "not-an-agent").mkdir()                          # no checkpoint inside: not listed
    monkeypatch.setattr(checkpoint, "SHIPPED_DIR", shipped)
    monkeypatch.chdir(tmp_path / "checkpoints" / "not-an-agent")   # the name is not a path from here
    assert checkpoint.shipped_agents() == ["tiny-agent"]
    assert checkpoint.find_checkpoint("tiny-agent") == shipped / "tiny-agent" / "checkpoint.pt"
    agent, config, counters = load_agent("tiny-agent")
    assert counters["env_steps"] >= 100 and config.mode == "TRAIN_SHOOTING"
    with pytest.raises(checkpoint.CheckpointError, match="the name of a shipped agent: tiny-agent"):
        checkpoint.find_checkpoint("no-such-agent")
