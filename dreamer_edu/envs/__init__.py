"""The course's air-hockey game: the built-in ``HockeyEnv``, its ``BasicOpponent``, and ``make_env``.

``make_env`` gives the single-agent env the trainer uses: you play left against an opponent, on either the
built-in clean-room game or the course's official package (when installed).
"""
from __future__ import annotations

from typing import Callable

from .hockey import HockeyEnv, Mode, mirror_observation, parse_mode
from .official import INSTALL_HINT, OfficialHockeyEnv, official_available
from .opponents import BasicOpponent
from .recording import record_episode, save_gif
from .wrappers import OPPONENTS, HockeyVsOpponent

BACKENDS = ("builtin", "official", "auto")


def make_env(mode="NORMAL", opponent: str | Callable = "weak", backend: str = "builtin",
             render_mode: str | None = None, closeness_scale: float = 1.0) -> HockeyVsOpponent:
    """A single-agent hockey env (18-number observation, 4-number action) against ``opponent``.

    ``mode``: "NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE" (or a ``Mode``, or 0/1/2).
    ``opponent``: "weak", "strong", "none" (player two stands still) or a callable ``f(obs_two) -> action``.
    ``backend``: "builtin" (this package's game), "official" (the course's ``hockey`` package, which must be
    installed: ``pip install git+https://github.com/martius-lab/hockey-env.git``), or "auto" (official when
    installed, else builtin).
    ``render_mode``: None, "rgb_array" or "human".
    ``closeness_scale``: weight of the course's closeness-to-puck penalty in the reward (1: the course's reward,
    0: goals only); the info dict always reports the unweighted term.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    parse_mode(mode)   # a wrong mode fails here, before anything is built
    if backend == "auto":
        backend = "official" if official_available() else "builtin"
    if backend == "official":
        game = OfficialHockeyEnv(mode=mode, render_mode=render_mode)
    else:
        game = HockeyEnv(mode=mode, render_mode=render_mode)
    return HockeyVsOpponent(opponent=opponent, game=game, closeness_scale=closeness_scale)


__all__ = ["HockeyEnv", "Mode", "BasicOpponent", "HockeyVsOpponent", "OfficialHockeyEnv", "make_env",
           "OPPONENTS", "BACKENDS", "INSTALL_HINT", "official_available", "mirror_observation", "save_gif",
           "record_episode"]
