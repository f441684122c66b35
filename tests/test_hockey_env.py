"""Tests of the two-player ``HockeyEnv``: API, mirroring, physics facts, keep mode, goals, reward, resets, bad input.

The numbers come from the official game's published (and measured) facts; a wrong constant, a wrong sign in
player two's frame or a wrong step order makes one of these fail.
"""
import math
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from dreamer_edu.envs import HockeyEnv, Mode, mirror_observation
from dreamer_edu.envs.hockey import CENTER_X, CENTER_Y, MAX_DIST, PUCK_RADIUS

MODES = ["NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE"]
IDLE = np.zeros(8, np.float32)


def joint(p1=(0, 0, 0, 0), p2=(0, 0, 0, 0)) -> np.ndarray:
    return np.array([*p1, *p2], np.float32)


def started(mode="NORMAL", seed=0, **options) -> HockeyEnv:
    env = HockeyEnv(mode=mode)
    env.reset(seed=seed, options=options or None)
    return env


def set_obs(env, **entries):
    """Change some numbers of the current state, by observation index name (p1x=0, puck_vx=14, ...)."""
    names = {"p1x": 0, "p1y": 1, "p1angle": 2, "p1vx": 3, "p1vy": 4, "p2x": 6, "p2y": 7, "p2angle": 8,
             "puck_x": 12, "puck_y": 13, "puck_vx": 14, "puck_vy": 15}
    state = env._observation()
    for name, value in entries.items():
        state[names[name]] = value
    env.set_state(state)


def run_checker(env, **kwargs):
    """gymnasium's env checker; its notes about the unbounded observation Box are expected, any other warning fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*infinity.*")
        warnings.filterwarnings("ignore", message=".*alternative render modes.*")
        check_env(env, **kwargs)


# --- the gymnasium contract -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_check_env_passes_for_every_mode(mode):
    run_checker(HockeyEnv(mode=mode), skip_render_check=True)
    run_checker(HockeyEnv(mode=mode, keep_mode=False), skip_render_check=True)


def test_spaces_and_start_observation():
    env = HockeyEnv()
    assert env.observation_space.shape == (18,) and env.action_space.shape == (8,)
    assert env.discrete_action_space.n == 8
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (18,)
    assert np.allclose(obs[0:6], [-3, 0, 0, 0, 0, 0]) and np.allclose(obs[6:12], [3, 0, 0, 0, 0, 0])
    assert np.all(obs[14:18] == 0)
    assert info == {"winner": 0, "reward_closeness_to_puck": 0.0, "reward_touch_puck": 0.0,
                    "reward_puck_direction": 0.0}


def test_without_keep_mode_the_spaces_shrink_to_what_is_returned():
    env = HockeyEnv(keep_mode=False)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == obs.shape == (16,) and env.action_space.shape == (6,)
    assert env.obs_agent_two().shape == (16,)
    obs, *_ = env.step(np.zeros(6))
    assert obs.shape == (16,) and obs.dtype == np.float32


def test_mode_accepts_enum_name_and_value():
    assert HockeyEnv(mode=Mode.TRAIN_DEFENSE).mode == Mode.TRAIN_DEFENSE
    assert HockeyEnv(mode="train_shooting").mode == Mode.TRAIN_SHOOTING
    assert HockeyEnv(mode=2).mode == Mode.TRAIN_DEFENSE
    env = HockeyEnv()
    env.mode = 1
    assert env.mode == Mode.TRAIN_SHOOTING and env.max_timesteps == 80
    env.reset(seed=0, options={"mode": "NORMAL"})
    assert env.mode == Mode.NORMAL and env.max_timesteps == 250


# --- who serves, where things start ---------------------------------------------------------------------
def test_serve_alternates_and_the_first_reset_serves_player_two():
    env = HockeyEnv()
    puck_x = [env.reset()[0][12] for _ in range(4)]
    assert puck_x[0] > 0 and puck_x[1] < 0 and puck_x[2] > 0 and puck_x[3] < 0


def test_seeded_reset_serves_by_the_seeds_parity_and_one_starting_overrides():
    env = HockeyEnv()
    assert all(env.reset(seed=s)[0][12] > 0 for s in (0, 2, 0, 10))     # even: player two serves
    assert all(env.reset(seed=s)[0][12] < 0 for s in (1, 3, 1))         # odd: player one serves
    assert env.reset(seed=4, options={"one_starting": True})[0][12] < 0
    assert env.reset(seed=5, options={"one_starting": False})[0][12] > 0


def test_reset_placements_stay_in_their_published_ranges():
    normal, shooting, defense = HockeyEnv(), HockeyEnv(mode="TRAIN_SHOOTING"), HockeyEnv(mode="TRAIN_DEFENSE")
    for seed in range(60):
        o = normal.reset(seed=seed)[0]
        assert 1 <= abs(o[12]) <= 2 and abs(o[13]) <= 1 and np.allclose(o[6:8], [3, 0])
        o = shooting.reset(seed=seed)[0]
        assert -2 <= o[12] <= -1 and abs(o[13]) <= 1                     # the puck always in player one's half
        assert -1 / 3 <= o[6] <= 3 + 5 / 3 and abs(o[7]) <= 2              # player two: x = 8 + U(-W/3, W/6)
        o = defense.reset(seed=seed)[0]
        assert 0 <= o[12] <= 10 / 3 and abs(o[13]) <= 3.2 and np.all(o[14:16] == 0)
        assert np.allclose(o[0:2], [-3, 0])


def test_defence_shot_flies_at_59_94_towards_the_left_goal():
    for seed in range(5):
        env = started("TRAIN_DEFENSE", seed=seed)
        start = env._observation()
        obs, *_ = env.step(IDLE)
        assert math.hypot(obs[14], obs[15]) == pytest.approx(60 * (1 - 0.02 * 0.05), abs=0.01)
        # aimed at x = 0 (world), y within +-0.75 m of the centre line
        t = (-CENTER_X - start[12]) / obs[14]
        assert abs(start[13] + t * obs[15]) <= 0.75 + 1e-3


def test_unseeded_reset_continues_the_envs_random_stream():
    a, b = HockeyEnv(), HockeyEnv()
    a.reset(seed=7)
    b.reset(seed=7)
    assert all(np.array_equal(a.reset()[0], b.reset()[0]) for _ in range(5))


def test_keep_timers_are_zeroed_at_reset():
    env = started()
    env.player1_has_puck = env.player2_has_puck = 9
    obs, _ = env.reset()
    assert obs[16] == obs[17] == 0


# --- the two players' frames --------------------------------------------------------------------------
def test_obs_agent_two_is_the_point_reflection_of_obs():
    env = started(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(400):
        obs, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, 8))
        two = env.obs_agent_two()
        assert two.dtype == np.float32
        assert np.array_equal(two[0:2], -obs[6:8]) and np.array_equal(two[3:5], -obs[9:11])
        assert two[2] == obs[8] and two[5] == obs[11]                # angles are not negated
        assert np.array_equal(two[6:8], -obs[0:2]) and np.array_equal(two[9:11], -obs[3:5])
        assert two[8] == obs[2] and two[11] == obs[5]
        assert np.array_equal(two[12:16], -obs[12:16])
        assert two[16] == obs[17] and two[17] == obs[16]
        assert np.array_equal(mirror_observation(two), obs)           # mirroring twice changes nothing
        if terminated or truncated:
            env.reset()


def test_player_two_pushing_plus_x_moves_left_in_the_world():
    env = started()
    obs, *_ = env.step(joint(p2=(1, 0, 0, 0)))
    assert obs[9] < -1.8 and env.obs_agent_two()[3] > 1.8
    obs, *_ = env.step(joint(p2=(0, 1, 0, 0)))
    assert obs[10] < -1.5                                             # +y for player two is down


def test_the_game_is_point_symmetric():
    """Both players doing the same thing in their own frames keep the table point-symmetric."""
    env = started()
    set_obs(env, puck_x=0.0, puck_y=0.0)
    rng = np.random.default_rng(1)
    for _ in range(30):
        a = rng.uniform(-1, 1, 4)
        a[3] = 0.0
        obs, *_ = env.step(np.concatenate([a, a]))
        assert np.allclose(env.obs_agent_two(), obs, atol=1e-4)


# --- physics facts ---------------------------------------------------------------------------------------
def test_masses_inertia_and_shape():
    env = started()
    assert env.player1.mass == pytest.approx(58.0, rel=1e-4) and env.player2.mass == pytest.approx(58.0, rel=1e-4)
    assert env.puck.mass == pytest.approx(1.0324, rel=1e-4)
    assert env.player1.inertia == pytest.approx(4.578, rel=1e-3)    # about the body origin
    assert env.player1.localCenter[0] == pytest.approx(-0.1224, abs=1e-3)
    assert env.player2.localCenter[0] == pytest.approx(0.1224, abs=1e-3)


def test_racket_reaches_1_86_m_per_s_after_one_step_from_rest():
    env = started()
    obs, *_ = env.step(joint(p1=(1, 0, 0, 0), p2=(0, -1, 0, 0)))
    assert obs[3] == pytest.approx(6000 * 0.02 / 58.0 * 0.9, rel=1e-4)     # 1.862
    assert obs[10] == pytest.approx(6000 * 0.02 / 58.0 * 0.9, rel=1e-4)    # player two's -y is world +y


def test_speed_is_capped_softly_near_10():
    env = started()
    speeds = []
    for _ in range(20):    # push diagonally (down and back), away from the centre line
        obs, *_ = env.step(joint(p1=(-0.3, -1, 0, 0)))
        speeds.append(math.hypot(obs[3], obs[4]))
    assert 9.5 < max(speeds) < 10.7                     # reaches ~10 after ~7 steps, never much more
    env = started()
    speeds = []
    for _ in range(18):
        obs, *_ = env.step(joint(p1=(0, 1, 0, 0)))
        speeds.append(math.hypot(obs[3], obs[4]))
    assert 9.5 < max(speeds) < 10.7 and min(speeds[8:]) > 5.5   # oscillates between ~6 and ~10.6


def test_centre_line_zone_keeps_player_one_in_its_half():
    env = started()
    xs = []
    for _ in range(80):
        obs, *_ = env.step(joint(p1=(1, 0, 0, 0)))
        xs.append(obs[0])
    assert -0.55 < max(xs) < -0.3 and abs(xs[-1] + 0.5) < 0.1    # pushed back to about the zone's edge


def test_soft_walls_stop_a_racket_at_its_area():
    """Past x = 1.5 (pushing left) or y = 6.8 (pushing up) the racket's velocity component is zeroed."""
    env = started()
    for _ in range(20):
        obs, *_ = env.step(joint(p1=(-1, 0, 0, 0)))
    assert obs[0] + CENTER_X == pytest.approx(1.35, abs=0.01) and obs[3] == 0.0    # overshoots a little
    env = started()
    for _ in range(30):
        obs, *_ = env.step(joint(p1=(0, 1, 0, 0)))
    assert obs[1] + CENTER_Y == pytest.approx(6.9, abs=0.02) and obs[4] == 0.0


def test_angle_is_soft_limited_to_about_60_degrees():
    env = started()
    angles = []
    for _ in range(60):
        obs, *_ = env.step(joint(p1=(0, 0, 1, 0), p2=(0, 0, -1, 0)))
        angles.append((obs[2], obs[8]))
    angles = np.array(angles)
    assert 0.9 < angles[20:, 0].min() and angles[:, 0].max() < 1.2      # held at about pi/3 = 1.047
    assert -1.2 < angles[:, 1].min() and angles[20:, 1].max() < -0.9


def test_puck_damping_switch_above_25_m_per_s():
    env = started()
    set_obs(env, puck_x=-1.0, puck_y=2.0, puck_vx=0.0, puck_vy=0.0)
    env.puck.linearVelocity = (40.0, 0.0)
    speeds = [math.hypot(*env.step(IDLE)[0][14:16]) for _ in range(5)]
    assert speeds == pytest.approx([32.0, 25.6, 20.48, 20.48 * 0.999, 20.48 * 0.999**2], rel=1e-3)   # x0.8, then x0.999


# --- keep mode ---------------------------------------------------------------------------------------
def catch_in_front_of_player_one(env):
    """Roll the puck into player one's racket; return the index of the catching step."""
    set_obs(env, p1x=-3.0, p1y=0.0, puck_x=-2.55, puck_y=0.0, puck_vx=-2.0, puck_vy=0.0)
    for t in range(10):
        obs, _, _, _, info = env.step(IDLE)
        if obs[16] == 15:
            assert info["reward_touch_puck"] == 1.0
            return t
    raise AssertionError("the puck was not caught")


def test_keep_mode_catch_hold_and_automatic_shot():
    env = started()
    catch_in_front_of_player_one(env)
    timers, speeds, touches = [], [], []
    for _ in range(14):
        obs, _, _, _, info = env.step(IDLE)
        timers.append(int(obs[16]))
        speeds.append(math.hypot(obs[14], obs[15]))
        touches.append(info["reward_touch_puck"])
    assert timers == [14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 0]     # C+1 .. C+14
    assert max(speeds[:13]) < 1.0 and 59.0 < speeds[13] < 62.0            # the shot at C+14
    assert touches == [0.0] * 14                                           # only the catching step counts
    assert env._observation()[14] > 59.0                                   # heading 0: straight right


def test_early_shot_with_the_fourth_action_number():
    env = started()
    catch_in_front_of_player_one(env)
    obs, *_ = env.step(IDLE)
    assert obs[16] == 14
    obs, *_ = env.step(joint(p1=(0, 0, 0, 0.4)))      # 0.4 is not a shot
    assert obs[16] == 13
    obs, *_ = env.step(joint(p1=(0, 0, 0, 0.6)))
    assert obs[16] == 0 and 59.0 < obs[14] < 62.0


def test_player_two_catches_and_shoots_along_its_mirrored_heading():
    env = started()
    set_obs(env, p2x=3.0, p2y=0.0, p2angle=0.5, puck_x=2.55, puck_y=0.0, puck_vx=2.0)
    for _ in range(10):
        obs, *_ = env.step(IDLE)
        if obs[17] == 15:
            break
    assert obs[17] == 15 and env.get_info_agent_two()["reward_touch_puck"] == 1.0
    obs, *_ = env.step(joint(p2=(0, 0, 0, 1)))
    angle = obs[8]
    direction = np.array([-math.cos(angle), -math.sin(angle)])
    assert np.dot(obs[14:16], direction) > 55                      # shot towards player one's side
    assert obs[17] == 0


@pytest.mark.parametrize("puck_vx, caught", [(2.0, False), (0.0, True), (-1.0, True)])
def test_only_a_puck_that_is_not_moving_away_is_caught(puck_vx, caught):
    env = started()
    set_obs(env, p1x=-3.0, p1y=0.0, puck_x=-2.69, puck_y=0.0, puck_vx=puck_vx, puck_vy=0.0)  # on the face
    timers = [env.step(IDLE)[0][16] for _ in range(3)]
    assert (15 in timers) == caught


def test_table_geometry():
    """Walls, goal posts and goal boxes where the published geometry puts them (world metres)."""
    env = started()

    def bounds(body):
        points = np.array([body.transform * v for v in body.fixtures[0].shape.vertices])
        return np.round([*points.min(axis=0), *points.max(axis=0)], 3).tolist()   # x_min, y_min, x_max, y_max

    walls = sorted(bounds(w) for w in env.walls)
    assert walls == sorted([[0.833, 0.333, 9.167, 0.667], [0.833, 7.333, 9.167, 7.667],
                            [0.75, 0.417, 1.083, 2.75], [0.75, 5.25, 1.083, 7.583],
                            [8.917, 0.417, 9.25, 2.75], [8.917, 5.25, 9.25, 7.583]])
    assert bounds(env.goal_player_1) == [0.583, 2.75, 0.917, 5.25]
    assert bounds(env.goal_player_2) == [9.083, 2.75, 9.417, 5.25]


@pytest.mark.parametrize("y, scores", [(-1.7, False), (-0.9, True), (1.7, False)])
def test_goal_posts_bounce_the_puck_and_the_mouth_lets_it_in(y, scores):
    env = started()
    set_obs(env, p1y=0.0, puck_x=-2.0, puck_y=y, puck_vx=-15.0, puck_vy=0.0)
    for _ in range(20):
        obs, _, terminated, _, info = env.step(IDLE)
        if terminated:
            break
    assert terminated == scores
    if not scores:
        assert obs[14] > 10                      # bounced back off the post (restitution 0.95)


# --- goals and the end of a game ----------------------------------------------------------------------
@pytest.mark.parametrize("side, winner", [(1, 1), (-1, -1)])
def test_goal_in_each_goal_one_step_after_the_puck_overlaps_it(side, winner):
    env = started()
    set_obs(env, puck_x=side * 3.0, puck_y=0.9, puck_vx=side * 20.0)
    goal_line = CENTER_X + side * (255 - 10) / 60                 # the goal box's field-side edge
    overlapped_at = None
    for t in range(10):
        obs, reward, terminated, truncated, info = env.step(IDLE)
        puck_x = obs[12] + CENTER_X
        if overlapped_at is None and side * (puck_x - goal_line) > -PUCK_RADIUS:
            overlapped_at = t
        if terminated:
            break
    assert terminated and not truncated and info["winner"] == winner
    assert t == overlapped_at + 1                                   # Box2D reports contacts at the next step
    assert reward == pytest.approx(10.0 * winner + info["reward_closeness_to_puck"])
    assert env.get_info_agent_two()["winner"] == -winner
    assert env.get_reward_agent_two(env.get_info_agent_two()) == pytest.approx(
        -10.0 * winner + env.get_info_agent_two()["reward_closeness_to_puck"])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(IDLE)


@pytest.mark.parametrize("mode, length", [("NORMAL", 251), ("TRAIN_SHOOTING", 81), ("TRAIN_DEFENSE", 81)])
def test_time_out_is_a_truncation_after_251_or_81_steps(mode, length):
    env = started(mode)
    steps = 0
    while True:
        set_obs(env, puck_x=3.0, puck_y=3.0, puck_vx=0.0, puck_vy=0.0)   # park the puck out of everyone's way
        _, reward, terminated, truncated, info = env.step(IDLE)
        steps += 1
        if terminated or truncated:
            break
    assert steps == length and truncated and not terminated
    assert info["winner"] == 0 and reward == 0.0


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        HockeyEnv().step(IDLE)


# --- reward and info ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode, factor", [("NORMAL", -0.0576), ("TRAIN_SHOOTING", -0.18)])
def test_closeness_reward_only_while_the_puck_waits_in_the_own_half(mode, factor):
    env = started(mode)
    exact = -30.0 / (MAX_DIST * env.max_timesteps / 2)
    assert exact == pytest.approx(factor, abs=1e-4)
    set_obs(env, puck_x=-1.0, puck_y=1.0, puck_vx=0.0, puck_vy=0.0)      # own half, still
    _, reward, _, _, info = env.step(IDLE)
    distance = math.dist(env.player1.position, env.puck.position)
    assert info["reward_closeness_to_puck"] == pytest.approx(exact * distance, rel=1e-5)
    assert reward == pytest.approx(info["reward_closeness_to_puck"])
    set_obs(env, puck_x=-1.0, puck_y=1.0, puck_vx=-3.0)                   # coming: still shaped
    assert env.step(IDLE)[1] < 0
    set_obs(env, puck_x=-1.0, puck_y=1.0, puck_vx=3.0)                    # leaving: no shaping
    _, reward, _, _, info = env.step(IDLE)
    assert info["reward_closeness_to_puck"] == 0.0 and reward == 0.0
    assert info["reward_puck_direction"] == pytest.approx(env.puck.linearVelocity[0] / (env.max_timesteps * 25))
    set_obs(env, puck_x=1.0, puck_y=1.0, puck_vx=0.0)                     # opponent's half: no shaping
    assert env.step(IDLE)[1] == 0.0


def test_player_two_closeness_mirrors_player_one():
    env = started()
    set_obs(env, puck_x=1.0, puck_y=-1.0, puck_vx=0.0, puck_vy=0.0)
    _, reward, _, _, info = env.step(IDLE)
    two = env.get_info_agent_two()
    distance = math.dist(env.player2.position, env.puck.position)
    assert reward == 0.0 and info["reward_closeness_to_puck"] == 0.0
    assert two["reward_closeness_to_puck"] == pytest.approx(-0.0576 * distance, rel=1e-3)
    assert env.get_reward_agent_two(two) == pytest.approx(two["reward_closeness_to_puck"])
    assert two["reward_puck_direction"] == -info["reward_puck_direction"]


# --- determinism --------------------------------------------------------------------------------------------
def test_same_seed_same_game():
    def trajectory(seed):
        env = HockeyEnv()
        rng = np.random.default_rng(0)
        out = [env.reset(seed=seed)[0]]
        for _ in range(150):
            obs, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, 8))
            out.append(obs)
            if terminated or truncated:
                out.append(env.reset()[0])
        return np.array(out)

    assert np.array_equal(trajectory(7), trajectory(7))
    assert not np.array_equal(trajectory(7), trajectory(8))


# --- bad input ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_actions_raise(bad):
    env = started()
    action = IDLE.copy()
    action[5] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(action)


@pytest.mark.parametrize("shape", [(4,), (9,), (2, 4), ()])
def test_wrong_action_shapes_raise_and_name_the_expected_shape(shape):
    env = started()
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        env.step(np.zeros(shape))


def test_out_of_range_actions_are_clipped():
    a, b = started(), started()
    obs_a, *_ = a.step([5, -7, 3, 0, -2, 1e6, 0, 0])
    obs_b, *_ = b.step([1, -1, 1, 0, -1, 1, 0, 0])
    assert np.array_equal(obs_a, obs_b)


def test_unknown_modes_and_options_list_the_valid_ones():
    with pytest.raises(ValueError, match="NORMAL.*TRAIN_SHOOTING.*TRAIN_DEFENSE"):
        HockeyEnv(mode="HARD")
    with pytest.raises(ValueError, match="NORMAL"):
        HockeyEnv(mode=3)
    with pytest.raises(ValueError, match="NORMAL"):
        started().reset(options={"mode": "EASY"})
    with pytest.raises(ValueError, match="one_starting"):
        HockeyEnv().reset(options={"one_start": True})
    with pytest.raises(ValueError, match="render_mode"):
        HockeyEnv(render_mode="video")


def test_discrete_actions_cover_all_eight_codes():
    env = HockeyEnv()
    expected = [[0, 0, 0, 0], [-1, 0, 0, 0], [1, 0, 0, 0], [0, -1, 0, 0], [0, 1, 0, 0], [0, 0, -1, 0],
                [0, 0, 1, 0], [0, 0, 0, 1]]
    for k, row in enumerate(expected):
        a = env.discrete_to_continuous_action(k)
        assert a.dtype == np.float32 and a.tolist() == row
    assert env.discrete_action_space.contains(7)
    for bad in (8, -1, 1.5):
        with pytest.raises(ValueError, match="0..7"):
            env.discrete_to_continuous_action(bad)


def test_set_state_round_trips_an_observation():
    env = started()
    rng = np.random.default_rng(2)
    for _ in range(20):
        env.step(rng.uniform(-1, 1, 8))
    state = env._observation()
    other = started(seed=5)
    other.set_state(state)
    assert np.allclose(other._observation(), state, atol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(18,\)"):
        other.set_state(np.zeros(17))


# --- pictures -------------------------------------------------------------------------------------------
def test_rgb_array_frames_are_480_by_600_uint8():
    env = HockeyEnv(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (480, 600, 3) and frame.dtype == np.uint8
    x, y = env.player1.position                                       # player one's racket is drawn red
    assert tuple(frame[round(480 - y * 60), round(x * 60)]) == (235, 98, 53)
    env.step(joint(p1=(1, 0, 0, 0)))
    assert not np.array_equal(env.render(), frame)
    env.close()


def test_human_mode_draws_in_a_window(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")                    # no screen needed for the test
    env = HockeyEnv(render_mode="human")
    env.reset(seed=0)
    env.step(IDLE)
    assert env.render() is None
    env.close()
