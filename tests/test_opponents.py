"""Tests of ``BasicOpponent`` (hand-worked actions, its randomness, its shot timing) and of whole matchups.

The matchup test compares win/draw/loss rates with the official game's measured table (100 games each,
NORMAL, env seeds 0..99); a wrong physics constant or a wrong opponent shifts these far beyond the bounds.
"""
import math

import numpy as np
import pytest

from dreamer_edu.envs import BasicOpponent, HockeyEnv, make_env


class FixedSteps:
    """A stand-in random generator: every uniform draw returns the middle of its range."""

    def uniform(self, low, high):
        return (low + high) / 2


def observation(own=(-3.0, 0.0, 0.0), own_velocity=(0.0, 0.0, 0.0), puck=(-1.0, 0.2), puck_velocity=(0.0, 0.0),
                timer=0):
    obs = np.zeros(18, np.float32)
    obs[0:3], obs[3:6], obs[12:14], obs[14:16], obs[16] = own, own_velocity, puck, puck_velocity, timer
    return obs


def bot(weak=True, keep_mode=True):
    """A BasicOpponent whose phase will be exactly 0.1 at its first act (0 + the middle of U(0, 0.2))."""
    b = BasicOpponent(weak=weak, keep_mode=keep_mode, rng=FixedSteps())
    b.phase = 0.0
    return b


ANGLE_TARGET = math.pi / 3 * math.sin(0.1)        # 0.10455


@pytest.mark.parametrize("weak, expected", [
    (True, [1.0, 0.2 * 0.1, ANGLE_TARGET * 0.25, 0.0]),   # kp = 0.5: gains 0.5, 0.1, 0.25
    (False, [1.0, 0.2 * 2.0, ANGLE_TARGET * 5.0, 0.0]),   # kp = 10:  gains 10, 2, 5
])
def test_attack_when_behind_and_level_with_the_puck(weak, expected):
    # racket at (-3, 0) behind a still puck at (-1, 0.2): target (puck_x + 0.2, puck_y) = (-0.8, 0.2)
    action = bot(weak).act(observation())
    assert action.dtype == np.float32 and action.shape == (4,)
    assert action == pytest.approx(expected, abs=1e-6)


def test_attack_leads_a_moving_puck_by_its_y_velocity():
    action = bot().act(observation(puck=(-1.0, 0.2), puck_velocity=(0.0, 1.0)))
    distance = math.hypot(2.0, 0.2)
    assert action[1] == pytest.approx((0.2 + 1.0 * distance * 0.1) * 0.1, abs=1e-6)


@pytest.mark.parametrize("own, puck, puck_velocity, target", [
    ((-1.0, 0.0, 0.0), (-2.0, 1.0), (0.0, 0.0), (-3.5, 1.0)),    # in front of the puck: get behind it
    ((-3.0, 0.0, 0.0), (-1.0, 1.0), (0.0, 0.0), (-3.5, 1.0)),    # behind but not level (|dy| >= 0.5)
    ((-3.0, 1.0, 0.0), (-1.0, 1.0), (0.5, 0.0), (-3.5, 0.0)),    # puck leaving at >= 0.5 m/s: go home
])
def test_get_behind_the_puck_or_defend(own, puck, puck_velocity, target):
    b = bot()
    action = b.act(observation(own=own, puck=puck, puck_velocity=puck_velocity))
    assert b.target(observation(own=own, puck=puck, puck_velocity=puck_velocity))[:2] == pytest.approx(target)
    expected_xy = np.clip([(target[0] - own[0]) * 0.5, (target[1] - own[1]) * 0.1], -1, 1)
    assert action[:2] == pytest.approx(expected_xy, abs=1e-6)


def test_damping_only_where_the_target_is_near_in_time():
    # home (-3.5, 0); x error -0.05 at vx = -1: arrives within 0.1 s -> damped; y error 0 at vy = 0: not
    action = bot().act(observation(own=(-3.45, 0.0, 0.0), own_velocity=(-1.0, 0.0, 0.0), puck=(0.0, 0.0),
                                   puck_velocity=(1.0, 0.0)))
    assert action[0] == pytest.approx(-0.05 * 0.5 + 1.0 * 0.5, abs=1e-6)
    # the angle uses 1 s: error 0.10455 - 0.0 at omega = 0.5 -> damped by 0.5 * 0.5
    action = bot().act(observation(own_velocity=(0.0, 0.0, 0.5)))
    assert action[2] == pytest.approx(ANGLE_TARGET * 0.25 - 0.25, abs=1e-6)


@pytest.mark.parametrize("timer, shoot", [(0, 0.0), (1, 1.0), (6, 1.0), (7, 0.0), (15, 0.0)])
def test_shoots_when_its_timer_reads_1_to_6(timer, shoot):
    assert bot().act(observation(timer=timer))[3] == shoot


def test_without_keep_mode_three_numbers():
    action = bot(keep_mode=False).act(observation(timer=3))
    assert action.shape == (3,) and action.dtype == np.float32


def test_phase_comes_from_the_given_generator():
    a = BasicOpponent(rng=np.random.default_rng(3))
    b = BasicOpponent(rng=np.random.default_rng(3))
    assert 0 <= a.phase <= math.pi and a.phase == b.phase
    obs = observation()
    assert all(np.array_equal(a.act(obs), b.act(obs)) for _ in range(50))
    before = a.phase
    a.act(obs)
    assert 0 <= a.phase - before <= 0.2
    a.reset(rng=np.random.default_rng(3))
    assert a.phase == BasicOpponent(rng=np.random.default_rng(3)).phase
    BasicOpponent().act(obs)                                     # works without a generator too


def test_shoots_in_the_tenth_step_after_catching():
    env = HockeyEnv()
    env.reset(seed=0)
    state = env._observation()
    state[12:16] = [-2.55, 0.0, -2.0, 0.0]                        # roll the puck into player one's racket
    env.set_state(state)
    player = BasicOpponent(weak=True, rng=np.random.default_rng(0))
    obs, timers, speeds = env._observation(), [], []
    for _ in range(20):
        obs, *_ = env.step(np.concatenate([player.act(obs), np.zeros(4)]))
        timers.append(int(obs[16]))
        speeds.append(math.hypot(obs[14], obs[15]))
    caught = timers.index(15)
    assert timers[caught:caught + 11] == [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 0]
    assert speeds[caught + 10] > 55                             # shot: 60 m/s plus the racket's motion


# --- whole games ------------------------------------------------------------------------------------------
GAMES = 200


def outcomes(player: str, games: int = GAMES) -> tuple[dict, float]:
    """Player one (weak / strong BasicOpponent, random or idle) against the weak opponent, env seeds 0..games-1.
    Returns percentages {"win", "draw", "loss"} from player one's view and the mean game length."""
    env = make_env(opponent="weak")
    me = BasicOpponent(weak=player == "weak", rng=np.random.default_rng(1))
    rng = np.random.default_rng(0)
    counts, steps = {1: 0, 0: 0, -1: 0}, 0
    for game in range(games):
        obs, _ = env.reset(seed=game)
        done = False
        while not done:
            if player == "random":
                action = rng.uniform(-1, 1, 4)
            elif player == "idle":
                action = np.zeros(4)
            else:
                action = me.act(obs)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            steps += 1
        counts[info["winner"]] += 1
    percent = {name: 100 * counts[w] / games for name, w in (("win", 1), ("draw", 0), ("loss", -1))}
    return percent, steps / games


@pytest.mark.parametrize("player, win, draw, loss, length", [
    ("weak", 20, 63, 17, 198),
    ("random", 13, 39, 48, 161),
    ("idle", 2, 72, 26, 207),
])
def test_matchups_match_the_official_game(player, win, draw, loss, length):
    """The official game's measured rates +-15 points and its mean game length +-30 steps."""
    percent, mean_length = outcomes(player)
    assert abs(percent["win"] - win) <= 15, percent
    assert abs(percent["draw"] - draw) <= 15, percent
    assert abs(percent["loss"] - loss) <= 15, percent
    assert abs(mean_length - length) <= 30, mean_length


def test_strong_beats_weak_more_often_than_it_loses():
    percent, _ = outcomes("strong")
    assert percent["win"] > 2 * percent["loss"] and percent["win"] >= 25, percent
