"""Tests of the single-agent side of hockey: ``make_env``, ``HockeyVsOpponent``, the official adapter, recording."""
import sys
import types
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from dreamer_edu.envs import BasicOpponent, HockeyEnv, HockeyVsOpponent, Mode, make_env, record_episode, save_gif

MODES = ["NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("opponent", ["weak", "none"])
def test_check_env_passes_for_every_mode(mode, opponent):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*infinity.*")       # the observation Box is unbounded
        warnings.filterwarnings("ignore", message=".*alternative render modes.*")
        check_env(make_env(mode=mode, opponent=opponent, render_mode="rgb_array"), skip_render_check=False)


def test_spaces_info_and_mode():
    env = make_env(mode="TRAIN_DEFENSE")
    assert env.observation_space.shape == (18,) and env.action_space.shape == (4,)
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and env.mode == Mode.TRAIN_DEFENSE
    obs, reward, terminated, truncated, info = env.step(np.zeros(4))
    assert set(info) >= {"winner", "reward_closeness_to_puck", "reward_touch_puck", "reward_puck_direction"}
    assert isinstance(reward, float)
    env.reset(options={"mode": "NORMAL"})
    assert env.mode == Mode.NORMAL


def test_same_seed_same_game_including_the_opponent():
    def trajectory(opponent, seed):
        env = make_env(opponent=opponent)
        rng = np.random.default_rng(0)
        out = [env.reset(seed=seed)[0]]
        for _ in range(300):
            obs, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, 4))
            out.append(obs)
            if terminated or truncated:
                out.append(env.reset()[0])
        return np.array(out)

    for opponent in ("weak", "strong"):
        assert np.array_equal(trajectory(opponent, 3), trajectory(opponent, 3))
        assert not np.array_equal(trajectory(opponent, 3), trajectory(opponent, 4))


def test_the_opponent_draws_from_the_envs_generator():
    env = make_env(opponent="weak")
    env.reset(seed=0)
    assert env.opponent.rng is env.game.np_random is env.np_random
    phase = env.opponent.phase
    env.reset(seed=0)
    assert env.opponent.phase == phase                       # a seeded reset fixes the opponent's phase too


def test_opponent_none_stands_still():
    env = make_env(opponent="none")
    env.reset(seed=0)
    for _ in range(20):
        obs, *_ = env.step(np.ones(4))
    assert np.allclose(obs[6:12], [3, 0, 0, 0, 0, 0], atol=1e-6)


def test_weak_opponent_moves_like_a_basic_opponent_on_player_twos_view():
    env = make_env(opponent="weak")
    env.reset(seed=1)
    twin = BasicOpponent(weak=True)
    twin.phase = env.opponent.phase
    env.opponent.rng, twin.rng = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(env.opponent_action(), twin.act(env.game.obs_agent_two()))


def test_callable_opponent_sees_itself_on_the_left_and_is_reset():
    class Mirror:
        resets = 0

        def reset(self):
            self.resets += 1

        def __call__(self, obs):
            self.seen = obs.copy()
            return np.array([1.0, 0, 0, 0])

    opponent = Mirror()
    env = make_env(opponent=opponent)
    env.reset(seed=0)
    obs, *_ = env.step(np.zeros(4))
    assert opponent.resets == 1 and np.allclose(opponent.seen[0:2], [-3, 0])
    assert obs[9] < 0                                         # its +x push moved it left in player one's view


def test_bad_opponents_and_actions_raise_clear_errors():
    with pytest.raises(ValueError, match="weak, strong, none"):
        make_env(opponent="medium")
    with pytest.raises(ValueError, match="callable"):
        make_env(opponent=42)
    with pytest.raises(ValueError, match="builtin, official, auto"):
        make_env(backend="gpu")
    with pytest.raises(ValueError, match="NORMAL"):
        make_env(mode="HARD")
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        env.step(np.zeros(8))
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step([0, np.nan, 0, 0])
    broken = make_env(opponent=lambda obs: np.zeros(3))
    broken.reset(seed=0)
    with pytest.raises(ValueError, match="opponent.*shape \\(4,\\)"):
        broken.step(np.zeros(4))
    with pytest.raises(ValueError, match="keep-mode"):
        HockeyVsOpponent(game=HockeyEnv(keep_mode=False))


def test_step_after_the_game_ended_raises():
    env = make_env(mode="TRAIN_SHOOTING", opponent="none")
    env.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(np.zeros(4))
        done = terminated or truncated
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(4))


# --- recording ---------------------------------------------------------------------------------------------
def test_record_episode_and_save_gif(tmp_path):
    env = make_env(mode="TRAIN_SHOOTING", opponent="none", render_mode="rgb_array")
    frames, info = record_episode(env, seed=0, max_steps=5)
    assert len(frames) == 6 and all(f.shape == (480, 600, 3) and f.dtype == np.uint8 for f in frames)
    assert "winner" in info
    again, _ = record_episode(env, seed=0, max_steps=5)
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))     # a seed fixes the random policy too
    path = save_gif(frames, tmp_path / "new" / "folder" / "game.gif", fps=25)
    assert path.exists() and path.read_bytes()[:3] == b"GIF"
    with pytest.raises(ValueError, match="rgb_array"):
        record_episode(make_env())
    with pytest.raises(ValueError, match="frame"):
        save_gif([], tmp_path / "empty.gif")


def test_record_episode_with_a_policy_plays_to_the_end():
    env = make_env(mode="TRAIN_DEFENSE", opponent="none", render_mode="rgb_array")
    frames, info = record_episode(env, policy=lambda obs: np.zeros(4), seed=1)
    assert 2 <= len(frames) <= 82


# --- the official package's adapter ----------------------------------------------------------------------
def test_official_backend_without_the_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "hockey", None)          # `import hockey` fails, even where installed
    with pytest.raises(ImportError, match=r"pip install git\+https://github.com/martius-lab/hockey-env.git"):
        make_env(backend="official")
    assert isinstance(make_env(backend="auto").game, HockeyEnv)


class FakeOfficialEnv:
    """A stand-in for the official ``HockeyEnv``: float64 observations, time-out as terminated=True."""

    def __init__(self, keep_mode=True):
        self.mode, self.calls = None, []

    def reset(self, one_starting=None, mode=None, seed=None, options=None):
        self.calls.append({"one_starting": one_starting, "mode_at_reset": self.mode, "seed": seed})
        self.t = 0
        return np.zeros(18, np.float64), {"winner": 0}

    def step(self, action):
        self.last_action = action
        self.t += 1
        return np.full(18, 0.1, np.float64), 0.0, self.t >= 3, False, {"winner": 0}

    def obs_agent_two(self):
        return np.full(18, -0.1, np.float64)

    def get_info_agent_two(self):
        return {"winner": 0}

    def render(self, mode="human"):
        return np.zeros((480, 600, 3), np.uint8) if mode == "rgb_array" else None

    def close(self):
        pass


@pytest.fixture
def fake_official(monkeypatch):
    module = types.ModuleType("hockey.hockey_env")
    module.HockeyEnv = FakeOfficialEnv
    module.Mode = Mode
    package = types.ModuleType("hockey")
    package.hockey_env = module
    monkeypatch.setitem(sys.modules, "hockey", package)
    monkeypatch.setitem(sys.modules, "hockey.hockey_env", module)
    return module


def test_official_adapter_applies_the_fixes(fake_official):
    env = make_env(mode="TRAIN_SHOOTING", opponent="weak", backend="official", render_mode="rgb_array")
    official = env.game.env
    obs, _ = env.reset(seed=4)
    assert obs.dtype == np.float32
    assert official.calls[-1] == {"one_starting": False, "mode_at_reset": Mode.TRAIN_SHOOTING, "seed": 4}
    env.reset(options={"mode": "TRAIN_DEFENSE"})
    call = official.calls[-1]
    assert call["mode_at_reset"] == Mode.TRAIN_DEFENSE and call["one_starting"] is None
    assert isinstance(call["seed"], int)                      # drawn from the adapter's generator, not OS entropy
    results = [env.step(np.ones(4) * 3) for _ in range(3)]
    assert results[0][0].dtype == np.float32 and official.last_action.max() <= 1.0
    assert results[-1][2:4] == (False, True)                  # the time-out is a truncation
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(4))
    assert env.render().shape == (480, 600, 3)
    assert env.game.obs_agent_two().dtype == np.float32


def test_official_adapter_unseeded_resets_follow_the_seed(fake_official):
    def seeds():
        env = make_env(backend="official", opponent="none")
        env.reset(seed=11)
        for _ in range(3):
            env.reset()
        return [c["seed"] for c in env.game.env.calls]

    assert seeds() == seeds()


def test_closeness_scale_reweights_only_the_closeness_penalty():
    """scale 0 leaves goals only; scale 1 is the course's reward; the info keeps the unweighted term."""
    rewards = {}
    for scale in (1.0, 0.0, 0.5):
        env = make_env(opponent="weak", closeness_scale=scale)
        env.reset(seed=3)
        rng = np.random.default_rng(0)
        rows = []
        done = False
        while not done:
            _, reward, term, trunc, info = env.step(rng.uniform(-1, 1, 4).astype(np.float32))
            rows.append((reward, info["reward_closeness_to_puck"], info["winner"], term))
            done = term or trunc
        rewards[scale] = rows
    assert any(c < 0 for _, c, _, _ in rewards[1.0])                   # the penalty did occur in this game
    for (r1, c1, w, term), (r0, c0, _, _), (rh, _, _, _) in zip(rewards[1.0], rewards[0.0], rewards[0.5]):
        assert c0 == c1
        sparse = 10.0 * w if term else 0.0
        assert r0 == pytest.approx(sparse) and r1 == pytest.approx(sparse + c1)
        assert rh == pytest.approx(sparse + 0.5 * c1)
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="closeness_scale must be a finite number >= 0"):
            make_env(closeness_scale=bad)
