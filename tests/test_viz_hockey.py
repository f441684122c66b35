"""Tests of ``dreamer_edu.viz.hockey``: the tables, reward split and outcome summary of notebook 00."""
import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from dreamer_edu.envs import HockeyEnv, make_env, mirror_observation  # noqa: E402
from dreamer_edu.evaluate import wilson_interval  # noqa: E402
from dreamer_edu.experiments import collect_episodes  # noqa: E402
from dreamer_edu.viz import exercises  # noqa: E402
from dreamer_edu.viz import hockey as vh  # noqa: E402


@pytest.fixture(scope="module")
def games():
    return collect_episodes(12, player="weak", opponent="weak", seed=0)


def test_observation_table_matches_the_data(games):
    table = vh.observation_table(games)
    obs = np.concatenate([ep["obs"] for ep in games]).astype(np.float64)
    assert list(table.index) == list(range(18))
    assert np.allclose(table["min"], obs.min(0).round(2)) and np.allclose(table["max"], obs.max(0).round(2))
    assert (table["low"] >= table["min"]).all() and (table["high"] <= table["max"]).all()
    assert table.loc[12, "name"] == "puck_x" and table.loc[16, "units"] == "steps"


def test_action_table_skips_the_placeholder_and_rejects_bad_input(games):
    table = vh.action_table(games, low=0, high=100)
    actions = np.concatenate([ep["action"][1:] for ep in games])
    assert np.allclose(table["low"], actions.min(0).round(2)) and np.allclose(table["high"], actions.max(0).round(2))
    with pytest.raises(ValueError):
        vh.action_table([])
    with pytest.raises(ValueError):
        vh.observation_table([{"obs": np.zeros((3, 5))}])


def test_puck_entries_are_those_the_mirror_negates_in_place():
    obs = np.arange(1, 19, dtype=np.float32)            # all entries different
    mirrored = mirror_observation(obs)
    in_place_negated = [i for i in range(18) if mirrored[i] == -obs[i]]
    assert vh.puck_entries() == in_place_negated == [12, 13, 14, 15]


def test_goal_reward_is_what_a_real_goal_pays():
    env = HockeyEnv()
    env.reset(seed=1)
    state = np.zeros(18, np.float32)
    state[0:2], state[6:8] = (-3.0, 0.0), (3.0, 2.5)    # rackets out of the way
    state[12:16] = (3.6, 0.0, 20.0, 0.0)                # the puck flies into the right goal
    env.set_state(state)
    for _ in range(10):
        _, reward, terminated, _, info = env.step(np.zeros(8))
        if terminated:
            break
    assert terminated and info["winner"] == 1
    assert reward == pytest.approx(vh.goal_reward()) and vh.goal_reward() == 10.0


def test_closeness_factor_matches_the_reward_of_a_waiting_puck():
    env = HockeyEnv()
    obs, _ = env.reset(seed=1)                          # odd seed: the puck waits in player one's half
    assert obs[12] < 0
    obs, reward, _, _, _ = env.step(np.zeros(8))
    distance = math.dist(obs[0:2], obs[12:14])
    assert reward == pytest.approx(vh.closeness_factor("NORMAL") * distance, rel=1e-5)
    assert vh.closeness_factor("TRAIN_SHOOTING") == pytest.approx(vh.closeness_factor() * 250 / 80)


def test_a_game_without_goal_lasts_max_game_steps():
    env = make_env(opponent="none")
    env.reset(seed=0)                                   # puck on player two's side, nobody moves
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, info = env.step(np.zeros(4))
        steps, done = steps + 1, terminated or truncated
    assert info["winner"] == 0 and steps == vh.max_game_steps("NORMAL") == 251


def test_reward_parts_split_every_episode(games):
    for ep in games:
        goal, shaping = vh.reward_parts(ep)
        assert np.allclose(goal + shaping, ep["reward"][1:])
        assert (shaping <= 1e-9).all() and (goal[:-1] == 0).all()
        assert goal[-1] == 10.0 * ep["winner"]
    stats = vh.reward_statistics(games)
    decided = sum(ep["winner"] != 0 for ep in games)
    assert stats["steps"] == sum(len(ep["reward"]) - 1 for ep in games)
    assert stats["goal_step_fraction"] == pytest.approx(decided / stats["steps"])
    with pytest.raises(ValueError):
        vh.reward_parts({"reward": np.zeros(1), "is_terminal": np.zeros(1, bool), "winner": 0})


def test_outcome_table_counts_and_wilson_limits():
    fake = [{"winner": w, "reward": np.zeros(11)} for w in [1] * 6 + [0] * 3 + [-1]]
    row = vh.outcome_table({"m": fake}).loc["m"]
    assert (row["games"], row["win"], row["draw"], row["loss"]) == (10, 0.6, 0.3, 0.1)
    assert row["mean_length"] == 10
    zero = vh.outcome_table({"none": [{"winner": 0, "reward": np.zeros(3)}] * 30}).loc["none"]
    assert zero["win_low"] == 0.0 and zero["win_high"] == pytest.approx(0.1135, abs=1e-4)   # 0 of 30
    with pytest.raises(ValueError):
        vh.outcome_counts([{"winner": 2}])
    with pytest.raises(ValueError):
        vh.outcome_table({})


def test_frame_indices_and_gif(tmp_path):
    assert vh.frame_indices(45, 5) == [0, 11, 22, 33, 44]
    with pytest.raises(ValueError):
        vh.frame_indices(3, 5)
    frames, info, seed = vh.record_match(player="strong", opponent="weak", seed=0, winner=1)
    assert info["winner"] == 1 and seed >= 0 and frames[0].shape == (480, 600, 3)
    import imageio.v2 as imageio

    path = vh.save_game_gif(frames, tmp_path / "g.gif", every=2, shrink=2)
    read = imageio.mimread(path)
    assert len(read) == len(frames[::2]) and read[0].shape[:2] == (240, 300)


def test_plots_draw_what_they_are_given(games):
    env = make_env(opponent="weak")
    obs = vh.play_to(env, 20, player="weak", seed=3)
    fig = vh.plot_rink(env.game, obs)
    assert len(fig.axes[0].patches) >= 8                # walls, goals, rackets, puck, arrows
    with pytest.raises(ValueError):
        vh.plot_rink(env.game, obs[:4])
    start, _ = env.reset(seed=3)
    obs = vh.play_to(env, 20, player="weak", seed=3)
    fig = vh.plot_rink(env.game, obs, start=start)
    crosses = [line for line in fig.axes[0].lines if line.get_marker() == "x"]
    assert [tuple(c.get_xydata()[0]) for c in crosses] == [tuple(start[0:2]), tuple(start[6:8]), tuple(start[12:14])]
    with pytest.raises(ValueError):
        vh.plot_rink(env.game, obs, start=start[:3])
    with pytest.raises(ValueError):
        vh.play_to(env, -1)
    table = vh.outcome_table({"a": games, "b": games})
    fig = vh.plot_outcomes(table)
    assert len(fig.axes[0].containers) >= 3             # three bar groups
    fig = vh.plot_rewards(next(ep for ep in games if ep["winner"]), {"weak": vh.reward_statistics(games)})
    assert len(fig.axes) == 3


def test_exercise_checks_use_package_values(capsys):
    assert exercises.check_answer_puck_entries(4) is True
    assert exercises.check_answer_puck_entries(6) is False
    assert exercises.check_answer_largest_return(10) is True
    assert exercises.check_answer_largest_return(30) is False
    assert exercises.check_answer_steps_without_goal(251) is True
    assert exercises.check_answer_steps_without_goal(250) is False
    assert exercises.check_answer_steps_without_goal(None) is None


def test_outcome_summary_formats_rate_and_interval():
    fake = [{"winner": w, "reward": np.zeros(5)} for w in [1] * 6 + [0] * 3 + [-1]]
    summary = vh.outcome_summary(vh.outcome_table({"m": fake}))
    lo, hi = (round(100 * x) for x in wilson_interval(6, 10))
    assert summary.loc["m", "win"] == f"60% [{lo}%, {hi}%]"
    assert summary.loc["m", "games"] == 10
