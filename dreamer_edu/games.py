"""Playing hockey games and recording them as episodes (guide ch. 12).

Every game the package plays goes through ``Game``: training games (``trainer.py``), evaluation games
(``evaluate.py``), the recorded games of the world-model notebooks (``experiments.py``) and the GIFs. A ``Game``
resets its environment with a seed and records each step in the replay buffer's convention (``replay.py``):

| record | obs        | action        | reward        | is_first | is_last        | is_terminal          |
|--------|------------|---------------|---------------|----------|----------------|----------------------|
| 0      | reset obs  | zeros         | 0             | True     | False          | False                |
| t >= 1 | obs after  | action taken  | reward of it  | False    | game over at t | a goal ended it at t |

so a game of L steps is L + 1 records, and ``episode()`` hands them to ``ReplayBuffer.add_episode``. A game that
has to stop early (the run was asked to stop) is ``cut()``: its last record becomes ``is_last`` without
``is_terminal``, exactly as a time limit ends a game.

``play_game`` plays one game to its end with any controller ``act(obs) -> action``: a random policy, a scripted
bot, or a trained agent acting alone. Games side by side, with one batched call of the agent for all of them,
are loops over several ``Game`` objects (``Trainer.play_round`` and ``evaluate.play_games``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

OBS_DIM, ACTION_DIM = 18, 4      # the hockey game's observation and action sizes (player one's view)


class Game:
    """One game in ``env``, reset with ``seed`` and recorded step by step (see the table above)."""

    def __init__(self, env, seed: int, action_dim: int = ACTION_DIM):
        self.env, self.seed = env, seed
        self.obs, self.info = env.reset(seed=seed)                      # (obs_dim,): the latest observation
        self.records: dict[str, list] = {"obs": [self.obs], "action": [np.zeros(action_dim, np.float32)],
                                         "reward": [0.0], "is_first": [True], "is_last": [False],
                                         "is_terminal": [False]}
        self.total_reward = 0.0
        self.done = False

    def step(self, action: np.ndarray) -> bool:
        """Play ``action`` (action_dim,), record the step; returns whether the game is over."""
        if self.done:
            raise RuntimeError("this game is over; start a new Game to play on")
        self.obs, reward, terminated, truncated, self.info = self.env.step(action)
        self.done = bool(terminated or truncated)
        for key, value in (("obs", self.obs), ("action", action), ("reward", float(reward)), ("is_first", False),
                           ("is_last", self.done), ("is_terminal", bool(terminated))):
            self.records[key].append(value)
        self.total_reward += float(reward)
        return self.done

    @property
    def steps(self) -> int:
        """Environment steps played so far (the records hold one more: the reset observation)."""
        return len(self.records["obs"]) - 1

    @property
    def winner(self) -> int:
        """1: player one (ours) scored, -1: the opponent scored, 0: no goal (yet)."""
        return int(self.info.get("winner", 0))

    def cut(self) -> None:
        """End an unfinished game after its last step, as a time limit would (``is_last``, not terminal)."""
        if self.steps < 1:
            raise ValueError("a game cut before its first step holds no transition to keep")
        self.records["is_last"][-1] = True
        self.done = True

    def episode(self) -> dict[str, np.ndarray]:
        """The records as arrays, (L+1, ...), ready for ``ReplayBuffer.add_episode``."""
        return {
            "obs": np.asarray(self.records["obs"], np.float32),            # (L+1, obs_dim)
            "action": np.asarray(self.records["action"], np.float32),      # (L+1, action_dim)
            "reward": np.asarray(self.records["reward"], np.float32),      # (L+1,)
            "is_first": np.asarray(self.records["is_first"], bool),
            "is_last": np.asarray(self.records["is_last"], bool),
            "is_terminal": np.asarray(self.records["is_terminal"], bool),
        }


def play_game(env, seed: int, act: Callable[[np.ndarray], np.ndarray],
              after_step: Callable[[Game], None] | None = None) -> Game:
    """Play one game to its end: ``act(obs) -> action`` chooses every action; ``after_step(game)``, when given,
    is called once after the reset and once after every step (to render frames, for example)."""
    game = Game(env, seed)
    if after_step is not None:
        after_step(game)
    while not game.done:
        game.step(act(game.obs))
        if after_step is not None:
            after_step(game)
    return game


def agent_actions(agent, explore: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """A controller for one game played by ``agent`` (a ``Dreamer``) alone: it acts on each observation and
    remembers its recurrent state between steps.  Make a new one for every game (a new game, a new memory)."""
    state = None

    def act(obs: np.ndarray) -> np.ndarray:
        nonlocal state
        action, state = agent.policy(obs, state, explore=explore)
        return action

    return act


def random_actions(rng: np.random.Generator, action_dim: int = ACTION_DIM) -> Callable[[np.ndarray], np.ndarray]:
    """A controller that ignores the observation and presses uniformly random buttons in [-1, 1]."""
    return lambda obs: rng.uniform(-1.0, 1.0, size=action_dim).astype(np.float32)
