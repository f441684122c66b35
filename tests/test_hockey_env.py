"""Tests that could catch a wrong hockey game: API, mirroring, physics facts, reward, determinism, statistics."""
import math
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from dreamer_edu.envs import BasicOpponent, HockeyEnv, Mode, make_env
from dreamer_edu.envs.hockey import CENTER_X, CENTER_Y, MAX_DIST

MODES = ["NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE"]


def place(env, body, x, y, vx=0.0, vy=0.0, angle=0.0):
    """Put a body at an observation-frame position (relative to the table centre)."""
    body.position = (CENTER_X + x, CENTER_Y + y)
    body.linearVelocity = (vx, vy)
    body.angle = angle
    body.angularVelocity = 0.0


@pytest.mark.parametrize("mode", MODES)
def test_check_env_passes_for_every_mode(mode):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's note that an unbounded Box is "probably too low"
        check_env(HockeyEnv(mode=mode), skip_render_check=True)
        check_env(make_env(mode=mode, opponent="weak"), skip_render_check=True)


def test_observation_is_float32_and_matches_the_start_layout():
    env = HockeyEnv()
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (18,)
    assert np.allclose(obs[0:3], [-3, 0, 0]) and np.allclose(obs[6:9], [3, 0, 0])
    assert np.all(obs[16:18] == 0) and info["winner"] == 0


def test_first_seeded_reset_serves_player_two_then_alternates():
    env = HockeyEnv()
    xs = [env.reset(seed=1 if i == 0 else None)[0][12] for i in range(4)]
    assert xs[0] > 0 and xs[1] < 0 and xs[2] > 0 and xs[3] < 0
    assert 1 <= xs[0] <= 2 and -2 <= xs[1] <= -1
    obs, _ = env.reset(seed=5, options={"one_starting": True})
    assert obs[12] < 0


def test_obs_agent_two_is_the_point_reflection():
    env = make_env(opponent="weak")
    rng = np.random.default_rng(0)
    env.reset(seed=3)
    game = env.game
    checked = 0
    for _ in range(300):
        obs, _, term, trunc, _ = env.step(rng.uniform(-1, 1, 4))
        two = game.obs_agent_two()
        assert np.allclose(two[0:2], -obs[6:8]) and np.allclose(two[3:5], -obs[9:11])
        assert two[2] == obs[8] and two[5] == obs[11]            # angles are not negated
        assert np.allclose(two[6:8], -obs[0:2]) and np.allclose(two[9:11], -obs[3:5])
        assert np.allclose(two[12:16], -obs[12:16])
        assert two[16] == obs[17] and two[17] == obs[16]
        checked += 1
        if term or trunc:
            env.reset()
    assert checked == 300


def test_player_two_actions_are_mirrored():
    env = HockeyEnv()
    env.reset(seed=0)
    start = env.player2.position[0]
    env.step(np.array([0, 0, 0, 0, 1, 0, 0, 0], np.float32))  # player two pushes +x in its own frame
    assert env.player2.position[0] < start                      # ... and moves left in the world


def test_masses_and_first_step_speed():
    env = HockeyEnv()
    env.reset(seed=0)
    assert env.player1.mass == pytest.approx(58.0, rel=1e-3)
    assert env.puck.mass == pytest.approx(1.0324, rel=1e-3)
    obs, *_ = env.step(np.array([1, 0, 0, 0, 0, 0, 0, 0], np.float32))
    assert obs[3] == pytest.approx(6000 * 0.02 / 58.0 * 0.9, rel=1e-3)  # 1.86 m/s after one step


def test_speed_cap_and_centre_line_zone():
    env = HockeyEnv()
    env.reset(seed=0)
    speeds, xs = [], []
    for _ in range(60):
        obs, *_ = env.step(np.array([1, 0, 0, 0, 0, 0, 0, 0], np.float32))
        speeds.append(math.hypot(obs[3], obs[4]))
        xs.append(obs[0])
    assert max(speeds) < 11.5
    assert max(xs) < 0.3  # player one cannot cross the centre line (zone starts at -0.5)


@pytest.mark.parametrize("mode, length", [("NORMAL", 251), ("TRAIN_SHOOTING", 81), ("TRAIN_DEFENSE", 81)])
def test_time_out_is_a_truncation_at_the_right_step(mode, length):
    env = make_env(mode=mode, opponent="none")
    env.reset(seed=0)
    env.game.puck.position = (CENTER_X + 3.0, CENTER_Y + 3.0)   # park the puck far from every goal
    steps = 0
    while True:
        env.game.puck.position = (CENTER_X + 3.0, CENTER_Y + 3.0)
        env.game.puck.linearVelocity = (0.0, 0.0)
        _, _, term, trunc, info = env.step(np.zeros(4))
        steps += 1
        if term or trunc:
            break
    assert steps == length and trunc and not term and info["winner"] == 0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(4))


def test_keep_mode_catch_hold_and_auto_shot():
    env = HockeyEnv()
    env.reset(seed=0)
    place(env, env.player1, -3.0, 0.0)
    place(env, env.puck, -2.55, 0.0, vx=-2.0)
    timers, caught_at = [], None
    for t in range(40):
        obs, _, term, trunc, info = env.step(np.zeros(8))
        timers.append(int(obs[16]))
        if obs[16] == 15 and caught_at is None:
            caught_at = t
            assert info["reward_touch_puck"] == 1.0
        if caught_at is not None and t == caught_at + 14:
            break
    c = caught_at
    assert c is not None
    assert timers[c:c + 14] == [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2]
    assert timers[c + 14] == 0
    obs, *_ = env.step(np.zeros(8))
    assert math.hypot(obs[14], obs[15]) > 45  # shot at ~60 m/s, damped x0.8 per step above 25


def test_early_shot():
    env = HockeyEnv()
    env.reset(seed=0)
    place(env, env.player1, -3.0, 0.0)
    place(env, env.puck, -2.55, 0.0, vx=-2.0)
    for _ in range(10):
        obs, *_ = env.step(np.zeros(8))
        if obs[16] == 15:
            break
    assert obs[16] == 15
    obs, *_ = env.step(np.array([0, 0, 0, 1, 0, 0, 0, 0], np.float32))
    assert obs[16] == 0 and obs[14] > 45


@pytest.mark.parametrize("side, winner", [(1, 1), (-1, -1)])
def test_goals_in_both_goals(side, winner):
    env = HockeyEnv()
    env.reset(seed=0)
    place(env, env.puck, side * 3.6, 0.9, vx=side * 20.0)  # beside the racket, inside the goal mouth
    for _ in range(10):
        _, reward, term, trunc, info = env.step(np.zeros(8))
        if term:
            break
    assert term and not trunc and info["winner"] == winner
    assert reward == pytest.approx(10.0 * winner + info["reward_closeness_to_puck"])
    assert env.get_info_agent_two()["winner"] == -winner


def test_defence_shot_speed():
    env = HockeyEnv(mode="TRAIN_DEFENSE")
    obs, _ = env.reset(seed=4)
    assert obs[12] >= 0 and np.all(obs[14:16] == 0)
    obs, *_ = env.step(np.zeros(8))
    assert math.hypot(obs[14], obs[15]) == pytest.approx(59.94, abs=0.05)
    assert obs[14] < 0  # towards the left goal


@pytest.mark.parametrize("mode, steps", [("NORMAL", 250), ("TRAIN_SHOOTING", 80)])
def test_closeness_reward_formula_and_condition(mode, steps):
    env = HockeyEnv(mode=mode)
    env.reset(seed=0)
    factor = -30.0 / (MAX_DIST * steps / 2)
    place(env, env.puck, -1.0, 1.0)                       # own half, still: shaping applies
    _, reward, _, _, info = env.step(np.zeros(8))
    d = math.dist(env.player1.position, env.puck.position)
    assert info["reward_closeness_to_puck"] == pytest.approx(factor * d, rel=1e-4)
    assert reward == pytest.approx(info["reward_closeness_to_puck"])
    assert factor == pytest.approx(-0.0576 if mode == "NORMAL" else -0.18, abs=1e-4)
    place(env, env.puck, -1.0, 1.0, vx=5.0)              # moving right: no shaping
    _, reward, _, _, info = env.step(np.zeros(8))
    assert info["reward_closeness_to_puck"] == 0 and reward == 0
    place(env, env.puck, 1.0, 1.0)                       # opponent's half: no shaping
    _, reward, _, _, info = env.step(np.zeros(8))
    assert reward == 0


def test_same_seed_same_game_including_the_opponent():
    def trajectory(seed):
        env = make_env(opponent="strong")
        rng = np.random.default_rng(0)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(200):
            obs, *_rest = env.step(rng.uniform(-1, 1, 4))
            out.append(obs)
            if _rest[1] or _rest[2]:
                break
        return np.array(out)

    a, b, c = trajectory(7), trajectory(7), trajectory(8)
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def _outcomes(player, games=100):
    env = make_env(opponent="weak")
    bot = BasicOpponent(weak=player == "weak", rng=np.random.default_rng(1))
    rng = np.random.default_rng(0)
    result = {1: 0, 0: 0, -1: 0}
    for g in range(games):
        obs, _ = env.reset(seed=g, options={"one_starting": g % 2 == 0})
        done = False
        while not done:
            action = rng.uniform(-1, 1, 4) if player == "random" else bot.act(obs)
            obs, _, term, trunc, info = env.step(action)
            done = term or trunc
        result[info["winner"]] += 1
    return result


@pytest.mark.parametrize("player, win, draw, loss", [("weak", 20, 63, 17), ("random", 13, 39, 48)])
def test_outcome_statistics_close_to_the_official_game(player, win, draw, loss):
    """The official game's measured table (100 games) +- 15 points: a wrong game lands far outside."""
    r = _outcomes(player)
    assert abs(r[1] - win) <= 15 and abs(r[0] - draw) <= 15 and abs(r[-1] - loss) <= 15, r


def test_strong_beats_weak():
    r = _outcomes("strong")
    assert r[1] > 2 * r[-1] and r[1] >= 30, r


@pytest.mark.parametrize("action", [np.full(4, np.nan), np.array([0, 0, np.inf, 0])])
def test_non_finite_actions_are_refused(action):
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(action)


@pytest.mark.parametrize("shape", [(3,), (8,), (1, 4)])
def test_wrong_action_shapes_are_refused(shape):
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        env.step(np.zeros(shape))
    game = HockeyEnv()
    game.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        game.step(np.zeros(4))


def test_out_of_range_actions_are_clipped():
    a, b = HockeyEnv(), HockeyEnv()
    a.reset(seed=0)
    b.reset(seed=0)
    oa, *_ = a.step(np.array([5, -7, 3, 0, 0, 0, 0, 0], np.float32))
    ob, *_ = b.step(np.array([1, -1, 1, 0, 0, 0, 0, 0], np.float32))
    assert np.array_equal(oa, ob)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="NORMAL.*TRAIN_SHOOTING.*TRAIN_DEFENSE"):
        HockeyEnv(mode="HARD")
    with pytest.raises(ValueError, match="weak, strong, none"):
        make_env(opponent="medium")
    with pytest.raises(ValueError, match="builtin"):
        make_env(backend="gpu")
    assert HockeyEnv(mode=1).mode == Mode.TRAIN_SHOOTING
    env = HockeyEnv()
    env.reset(seed=0, options={"mode": "TRAIN_DEFENSE"})
    assert env.mode == Mode.TRAIN_DEFENSE and env.max_timesteps == 80


def test_callable_opponent_gets_its_own_view():
    seen = []

    def opponent(obs):
        seen.append(obs.copy())
        return np.zeros(4)

    env = make_env(opponent=opponent)
    obs, _ = env.reset(seed=0)
    env.step(np.zeros(4))
    assert np.allclose(seen[0][0:2], [-3, 0])  # player two sees itself on the left


def test_discrete_actions():
    env = HockeyEnv()
    assert env.discrete_action_space.n == 8
    assert np.array_equal(env.discrete_to_continuous_action(0), [0, 0, 0, 0])
    assert np.array_equal(env.discrete_to_continuous_action(1), [-1, 0, 0, 0])
    assert np.array_equal(env.discrete_to_continuous_action(4), [0, 1, 0, 0])
    assert np.array_equal(env.discrete_to_continuous_action(6), [0, 0, 1, 0])
    assert np.array_equal(env.discrete_to_continuous_action(7), [0, 0, 0, 1])
    with pytest.raises(ValueError):
        env.discrete_to_continuous_action(8)


def test_rgb_array_frames_headless(tmp_path):
    from dreamer_edu.envs import record_episode, save_gif

    env = make_env(mode="TRAIN_SHOOTING", render_mode="rgb_array")
    frames, info = record_episode(env, seed=0, max_steps=5)
    assert len(frames) == 6 and frames[0].shape == (480, 600, 3) and frames[0].dtype == np.uint8
    assert frames[0].std() > 0  # something is drawn
    path = save_gif(frames, tmp_path / "sub" / "game.gif")
    assert path.exists() and path.stat().st_size > 1000


def test_official_backend_without_the_package_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "hockey", None)  # make `import hockey` fail even if installed
    with pytest.raises(ImportError, match="pip install git\\+https://github.com/martius-lab/hockey-env.git"):
        make_env(backend="official")
    assert make_env(backend="auto").game.__class__.__name__ == "HockeyEnv"


def test_official_adapter_applies_the_fixes(monkeypatch):
    """With a stand-in for the official module: float32 obs, time-out -> truncated, mode set before reset."""
    import sys
    import types

    class FakeOfficial:
        def __init__(self, keep_mode=True):
            self.mode, self.t = None, 0

        def reset(self, one_starting=None, seed=None):
            self.t = 0
            return np.zeros(18, np.float64), {"winner": 0}

        def step(self, a):
            self.t += 1
            return np.ones(18, np.float64), 0.0, self.t >= 3, False, {"winner": 0}

        def obs_agent_two(self):
            return -np.ones(18)

        def get_info_agent_two(self):
            return {"winner": 0}

        def close(self):
            pass

    module = types.ModuleType("hockey.hockey_env")
    module.HockeyEnv = FakeOfficial
    module.Mode = Mode
    package = types.ModuleType("hockey")
    package.hockey_env = module
    monkeypatch.setitem(sys.modules, "hockey", package)
    monkeypatch.setitem(sys.modules, "hockey.hockey_env", module)
    env = make_env(mode="TRAIN_SHOOTING", opponent="none", backend="official")
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and env.game.env.mode == Mode.TRAIN_SHOOTING
    results = [env.step(np.zeros(4)) for _ in range(3)]
    assert results[-1][3] is True and results[-1][2] is False  # time-out is a truncation
    with pytest.raises(RuntimeError):
        env.step(np.zeros(4))
