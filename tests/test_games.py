"""``games.Game`` and ``play_game``: the one place where games are played and recorded as episodes."""
import numpy as np
import pytest

from dreamer_edu.envs import make_env
from dreamer_edu.games import ACTION_DIM, OBS_DIM, Game, play_game, random_actions
from dreamer_edu.replay import ReplayBuffer


def test_a_game_is_recorded_in_the_replay_convention():
    env = make_env(mode="TRAIN_SHOOTING", opponent="none")
    game = play_game(env, seed=3, act=random_actions(np.random.default_rng(0)))
    ep = game.episode()
    steps = game.steps
    assert steps == len(ep["obs"]) - 1 >= 1 and game.done
    assert ep["obs"].shape == (steps + 1, OBS_DIM) and ep["action"].shape == (steps + 1, ACTION_DIM)
    assert ep["is_first"].tolist() == [True] + [False] * steps
    assert ep["is_last"].tolist() == [False] * steps + [True]
    assert not ep["action"][0].any() and ep["reward"][0] == 0.0
    assert np.isclose(ep["reward"].sum(), game.total_reward, atol=1e-4)
    # a goal ends the game as terminal; the clock ends it as truncated (not terminal)
    assert ep["is_terminal"][-1] == (game.winner != 0) and not ep["is_terminal"][:-1].any()
    ReplayBuffer(1_000, OBS_DIM, ACTION_DIM).add_episode(ep)          # the buffer accepts it as it is


def test_the_same_seed_and_actions_give_the_same_game():
    env = make_env(mode="NORMAL", opponent="weak")
    a = play_game(env, seed=5, act=random_actions(np.random.default_rng(1))).episode()
    b = play_game(env, seed=5, act=random_actions(np.random.default_rng(1))).episode()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_after_step_sees_the_reset_and_every_step():
    env = make_env(mode="TRAIN_SHOOTING", opponent="none")
    seen = []
    game = play_game(env, seed=0, act=random_actions(np.random.default_rng(2)), after_step=lambda g: seen.append(g.steps))
    assert seen == list(range(game.steps + 1))


def test_a_cut_game_ends_like_a_time_limit_and_an_ended_game_refuses_steps():
    env = make_env(mode="NORMAL", opponent="weak")
    game = Game(env, seed=1)
    with pytest.raises(ValueError, match="before its first step"):
        game.cut()
    for _ in range(5):
        game.step(np.zeros(ACTION_DIM, np.float32))
    game.cut()
    ep = game.episode()
    assert game.done and ep["is_last"][-1] and not ep["is_terminal"].any() and len(ep["obs"]) == 6
    with pytest.raises(RuntimeError, match="over"):
        game.step(np.zeros(ACTION_DIM, np.float32))


def test_agent_actions_remember_the_state_within_a_game_and_start_fresh_in_the_next():
    from dreamer_edu.agent import Dreamer
    from dreamer_edu.config import Config
    from dreamer_edu.envs import make_env
    from dreamer_edu.games import agent_actions, play_game

    class Spy(Dreamer):
        def policy(self, obs, state=None, explore=True, is_first=None):
            self.seen.append((state is None, explore))
            return super().policy(obs, state, explore=explore, is_first=is_first)

    agent = Spy(Config.quick())
    agent.seen = []
    env = make_env(mode="TRAIN_SHOOTING", opponent="none")
    game = play_game(env, 0, agent_actions(agent))
    assert len(agent.seen) == game.steps
    assert agent.seen[0] == (True, False) and all(s == (False, False) for s in agent.seen[1:])
    agent.seen = []
    play_game(env, 1, agent_actions(agent, explore=True))
    assert agent.seen[0] == (True, True)          # a new controller: a new memory
