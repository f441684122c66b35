"""An adapter to the course's official ``hockey`` package, applying the same fixes as the built-in game.

The official package is not on PyPI; install it with
``pip install git+https://github.com/martius-lab/hockey-env.git``.  It is imported only when an
``OfficialHockeyEnv`` is made, so ``dreamer_edu`` works without it.

``OfficialHockeyEnv`` makes the official ``HockeyEnv`` behave like ``dreamer_edu.envs.HockeyEnv``:

* float32 observations (the official ones are float64);
* a time-out is reported as ``truncated=True, terminated=False`` (the official one says terminated);
* ``reset(seed=..., options={"mode": ..., "one_starting": ...})``: the mode is set with ``env.mode = ...``
  before the official reset (its ``reset(mode=...)`` crashes), the seed is passed by keyword (its first
  positional argument is ``one_starting``), an unseeded reset draws the official env's seed from this
  adapter's generator (the official one would reseed from OS entropy), and a seeded reset picks the server by
  the seed's parity, as the built-in game does;
* ``render_mode`` is given at construction; ``render()`` calls the official ``render(mode=...)``;
* stepping a finished game raises ``RuntimeError``; NaN/inf or a wrongly shaped action raises ``ValueError``.

The opponent is not the official ``BasicOpponent``: ``HockeyVsOpponent`` uses ours, on this adapter's
seeded generator (the official one uses numpy's global random state).
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .hockey import FPS, Mode, check_action, parse_mode

INSTALL_HINT = "pip install git+https://github.com/martius-lab/hockey-env.git"


def import_official():
    """The official module ``hockey.hockey_env``, or an ImportError that says how to install it."""
    try:
        import hockey.hockey_env as official
    except ImportError as err:
        raise ImportError(f"the official hockey package is not installed ({err}); install it with "
                          f"`{INSTALL_HINT}`, or use backend='builtin'") from None
    return official


def official_available() -> bool:
    """True if ``import hockey.hockey_env`` works."""
    try:
        import_official()
    except ImportError:
        return False
    return True


class OfficialHockeyEnv(gym.Env):
    """The official two-player ``HockeyEnv`` (keep mode on) with the built-in env's interface and fixes.

    Attributes the adapter does not define (``player1``, ``puck``, ``winner``, ...) are read from the
    official env, which is ``self.env``.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": FPS}

    def __init__(self, mode="NORMAL", render_mode: str | None = None):
        if render_mode not in (None, "human", "rgb_array"):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid: None, 'human', 'rgb_array'")
        self._official = import_official()
        self.env = self._official.HockeyEnv(keep_mode=True)
        self.render_mode = render_mode
        self.mode = mode
        self.observation_space = spaces.Box(-np.inf, np.inf, (18,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (8,), np.float32)
        self.done = True

    def __getattr__(self, name):
        if name in ("env", "_official"):   # not set yet (during construction): no recursion
            raise AttributeError(name)
        return getattr(self.env, name)

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value) -> None:
        self._mode = parse_mode(value)
        official_mode = getattr(self._official, "Mode", None)
        self.env.mode = official_mode[self._mode.name] if official_mode is not None else self._mode.value

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        options = dict(options or {})
        unknown = sorted(set(options) - {"mode", "one_starting"})
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; valid: 'mode', 'one_starting'")
        super().reset(seed=seed)
        if "mode" in options:
            self.mode = options["mode"]
        one_starting = options.get("one_starting")
        if one_starting is None and seed is not None:
            one_starting = seed % 2 == 1
        if seed is None:   # continue our own random stream instead of fresh OS entropy
            seed = int(self.np_random.integers(2**31))
        obs, info = self.env.reset(one_starting=one_starting, seed=seed)
        self.done = False
        if self.render_mode == "human":
            self.render()
        return np.asarray(obs, dtype=np.float32), info

    def step(self, action):
        if self.done:
            raise RuntimeError("the game is over (or has not started): call reset() before step()")
        obs, reward, done, _, info = self.env.step(check_action(action, 8))
        self.done = bool(done)
        timed_out = self.done and info.get("winner", 0) == 0
        if self.render_mode == "human":
            self.render()
        return np.asarray(obs, dtype=np.float32), float(reward), self.done and not timed_out, timed_out, info

    def obs_agent_two(self) -> np.ndarray:
        return np.asarray(self.env.obs_agent_two(), dtype=np.float32)

    def get_info_agent_two(self) -> dict:
        return self.env.get_info_agent_two()

    def get_reward_agent_two(self, info_two: dict) -> float:
        return float(self.env.get_reward_agent_two(info_two))

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() needs OfficialHockeyEnv(render_mode='rgb_array' or 'human')")
            return None
        frame = self.env.render(mode=self.render_mode)
        return np.asarray(frame, dtype=np.uint8) if self.render_mode == "rgb_array" else None

    def close(self):
        self.env.close()
