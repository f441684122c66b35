"""``HockeyVsOpponent``: hockey as a single-agent gymnasium env: you play left, an opponent plays right.

The agent sends its 4 action numbers and gets its 18-number observation back, like any gymnasium env; the
wrapper asks the opponent for player two's action (from player two's own view, ``obs_agent_two()``) and steps
the two-player game with both.
"""
from __future__ import annotations

from typing import Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..config import OPPONENTS
from .hockey import HockeyEnv, check_action
from .opponents import BasicOpponent



class HockeyVsOpponent(gym.Env):
    """Player one's 4-number action in, player one's 18-number observation out; player two is ``opponent``.

    ``opponent``: "weak" or "strong" (``BasicOpponent``), "none" (player two stands still: zero actions, the
    usual choice for the training modes), or a callable ``f(obs_of_player_two) -> 4 numbers`` (another agent,
    for self-play; if it has a ``reset()`` method, that is called at every reset).  The BasicOpponent's random
    phase comes from the game's own ``np_random``, so ``reset(seed=s)`` fixes the whole game.

    ``game``: the two-player env to wrap (default: a new built-in ``HockeyEnv``; ``make_env`` passes the
    official adapter here).  ``reset``, ``render`` and the info dict (``info["winner"]``) are the game's.
    """

    metadata = HockeyEnv.metadata

    def __init__(self, mode="NORMAL", opponent: str | Callable = "weak", render_mode: str | None = None,
                 game: gym.Env | None = None, closeness_scale: float = 1.0):
        if not (isinstance(closeness_scale, (int, float)) and np.isfinite(closeness_scale) and closeness_scale >= 0):
            raise ValueError(f"closeness_scale must be a finite number >= 0, got {closeness_scale!r}")
        self.closeness_scale = float(closeness_scale)
        self.game = game if game is not None else HockeyEnv(mode=mode, render_mode=render_mode)
        if self.game.action_space.shape != (8,):
            raise ValueError("HockeyVsOpponent needs a keep-mode game (8 joint action numbers)")
        self.render_mode = self.game.render_mode
        self.observation_space = spaces.Box(-np.inf, np.inf, (18,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.opponent = make_opponent(opponent, self.game.np_random)
        self.opponent_name = opponent if isinstance(opponent, str) else getattr(opponent, "__name__", "callable")

    @property
    def mode(self):
        return self.game.mode

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset the game (``options``: ``"mode"``, ``"one_starting"``) and the opponent."""
        obs, info = self.game.reset(seed=seed, options=options)
        self._np_random = self.game.np_random   # one generator for the game and its opponent
        if isinstance(self.opponent, BasicOpponent):
            self.opponent.reset(rng=self.game.np_random)   # a seeded reset makes a new generator: follow it
        elif hasattr(self.opponent, "reset"):
            self.opponent.reset()
        return obs, info

    def step(self, action):
        a1 = check_action(action, 4)
        a2 = self.opponent_action()
        obs, reward, terminated, truncated, info = self.game.step(np.concatenate([a1, a2]))
        if self.closeness_scale != 1.0:   # the course's reward is goals (+-10) plus the closeness penalty
            reward = float(reward) + (self.closeness_scale - 1.0) * info["reward_closeness_to_puck"]
        return obs, reward, terminated, truncated, info

    def opponent_action(self) -> np.ndarray:
        """Player two's action for the current state, from its own view."""
        if self.opponent is None:
            return np.zeros(4, np.float32)
        action = self.opponent(self.game.obs_agent_two())
        try:
            return check_action(action, 4)
        except ValueError as err:
            raise ValueError(f"the opponent's action is invalid: {err}") from None

    def obs_agent_two(self) -> np.ndarray:
        return self.game.obs_agent_two()

    def get_info_agent_two(self) -> dict:
        return self.game.get_info_agent_two()

    def render(self):
        return self.game.render()

    def close(self):
        self.game.close()


def make_opponent(opponent, rng: np.random.Generator):
    """"weak"/"strong" -> a ``BasicOpponent`` on ``rng``; "none" -> None (zero actions); a callable stays."""
    if isinstance(opponent, str):
        if opponent not in OPPONENTS:
            raise ValueError(f"unknown opponent {opponent!r}; valid: {', '.join(OPPONENTS)} or a callable")
        if opponent == "none":
            return None
        return BasicOpponent(weak=opponent == "weak", rng=rng)
    if callable(opponent):
        return opponent
    raise ValueError(f"opponent must be one of {', '.join(OPPONENTS)} or a callable, got {opponent!r}")
