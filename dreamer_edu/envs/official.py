"""Adapter to the course's official ``hockey`` package, with the same fixes as the built-in game.

The official package is not on PyPI: ``pip install git+https://github.com/martius-lab/hockey-env.git``.
``OfficialHockeyEnv`` wraps its ``HockeyEnv`` so that it behaves like ``dreamer_edu.envs.HockeyEnv``:
float32 observations, time-outs reported as ``truncated``, ``reset(seed=..., options={"mode": ...})`` (the
official ``reset(mode=...)`` is broken, so the adapter sets ``env.mode`` first), ``render_mode`` given at
construction, and an error when a finished game is stepped.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .hockey import Mode, check_action, parse_mode

INSTALL_HINT = "pip install git+https://github.com/martius-lab/hockey-env.git"


def import_official():
    """The official module ``hockey.hockey_env``, or an ImportError that says how to install it."""
    try:
        import hockey.hockey_env as official
    except ImportError as err:
        raise ImportError(f"the official hockey package is not installed ({err}); install it with "
                          f"`{INSTALL_HINT}` or use backend='builtin'") from None
    return official


def official_available() -> bool:
    try:
        import_official()
    except ImportError:
        return False
    return True


class OfficialHockeyEnv(gym.Env):
    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 50}

    def __init__(self, mode="NORMAL", render_mode: str | None = None):
        official = import_official()
        self._official = official
        self.render_mode = render_mode
        self.env = official.HockeyEnv(keep_mode=True)
        self.mode = mode
        self.observation_space = spaces.Box(-np.inf, np.inf, (18,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (8,), np.float32)
        self.done = True

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value) -> None:
        self._mode = parse_mode(value)
        self.env.mode = self._official.Mode(self._mode.value) if hasattr(self._official, "Mode") else self._mode.value

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        options = dict(options or {})
        super().reset(seed=seed)
        if "mode" in options:
            self.mode = options["mode"]
        if seed is None:  # the official env reseeds from OS entropy when unseeded: keep our stream instead
            seed = int(self.np_random.integers(2**31))
        obs, info = self.env.reset(one_starting=options.get("one_starting"), seed=seed)
        self.done = False
        return np.asarray(obs, np.float32), info

    def step(self, action):
        if self.done:
            raise RuntimeError("this game has ended: call reset() before step()")
        a = check_action(action, 8)
        obs, reward, done, _, info = self.env.step(a)
        self.done = bool(done)
        timed_out = self.done and info.get("winner", 0) == 0
        return np.asarray(obs, np.float32), float(reward), self.done and not timed_out, timed_out, info

    def obs_agent_two(self) -> np.ndarray:
        return np.asarray(self.env.obs_agent_two(), np.float32)

    def get_info_agent_two(self) -> dict:
        return self.env.get_info_agent_two()

    def render(self):
        if self.render_mode is None:
            return None
        return self.env.render(mode=self.render_mode)

    def close(self):
        self.env.close()
