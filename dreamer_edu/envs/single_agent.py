"""Hockey as a single-agent gymnasium environment: you play left, an opponent plays right."""
from __future__ import annotations

from typing import Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .hockey import HockeyEnv, check_action
from .opponents import BasicOpponent

OPPONENTS = ("weak", "strong", "none")


class HockeyVsOpponent(gym.Env):
    """Player one's 4-dim action in, player one's 18-dim observation out; player two is ``opponent``.

    ``opponent`` is "weak" / "strong" (``BasicOpponent``), "none" (a motionless racket: zero actions, as the
    training modes need), or any callable ``f(obs_of_player_two) -> 4 actions`` (for example another agent,
    for self-play).  All randomness, the opponent's included, comes from the env's seeded generator.
    """

    metadata = HockeyEnv.metadata

    def __init__(self, mode="NORMAL", opponent: str | Callable = "weak", render_mode: str | None = None,
                 game: gym.Env | None = None):
        self.game = game if game is not None else HockeyEnv(mode=mode, render_mode=render_mode)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-np.inf, np.inf, (18,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.opponent_name = opponent if isinstance(opponent, str) else getattr(opponent, "__name__", "callable")
        if isinstance(opponent, str):
            if opponent not in OPPONENTS:
                raise ValueError(f"unknown opponent {opponent!r}; valid: {', '.join(OPPONENTS)} or a callable")
            self.opponent = None if opponent == "none" else BasicOpponent(weak=opponent == "weak",
                                                                          rng=self.game.np_random)
        elif callable(opponent):
            self.opponent = opponent
        else:
            raise ValueError(f"opponent must be one of {', '.join(OPPONENTS)} or a callable, got {opponent!r}")

    @property
    def mode(self):
        return self.game.mode

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.game.reset(seed=seed, options=options)
        self._np_random = self.game.np_random  # one generator for the game and the opponent
        if isinstance(self.opponent, BasicOpponent):
            self.opponent.reset(rng=self.game.np_random)
        elif hasattr(self.opponent, "reset"):
            self.opponent.reset()
        return obs, info

    def _opponent_action(self) -> np.ndarray:
        if self.opponent is None:
            return np.zeros(4, np.float32)
        return check_action(self.opponent(self.game.obs_agent_two()), 4)

    def step(self, action):
        a1 = check_action(action, 4)
        return self.game.step(np.concatenate([a1, self._opponent_action()]))

    def render(self):
        return self.game.render()

    def close(self):
        self.game.close()
