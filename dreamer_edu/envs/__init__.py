"""The course's air-hockey game: the built-in clean-room ``HockeyEnv``, its opponents, ``make_env``."""
from __future__ import annotations

from typing import Callable

from .hockey import HockeyEnv, Mode, parse_mode
from .official import INSTALL_HINT, OfficialHockeyEnv, official_available
from .opponents import BasicOpponent
from .rendering import record_episode, save_gif
from .single_agent import OPPONENTS, HockeyVsOpponent

BACKENDS = ("builtin", "official", "auto")


def make_env(mode="NORMAL", opponent: str | Callable = "weak", backend: str = "builtin",
             render_mode: str | None = None) -> HockeyVsOpponent:
    """A single-agent hockey env (18-dim observation, 4-dim action) against ``opponent``.

    ``backend``: "builtin" (this package's game), "official" (the course package ``hockey``, which must be
    installed), or "auto" (official when installed, else builtin).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    parse_mode(mode)
    if backend == "auto":
        backend = "official" if official_available() else "builtin"
    game = OfficialHockeyEnv(mode=mode, render_mode=render_mode) if backend == "official" else None
    return HockeyVsOpponent(mode=mode, opponent=opponent, render_mode=render_mode, game=game)


__all__ = ["HockeyEnv", "Mode", "BasicOpponent", "HockeyVsOpponent", "OfficialHockeyEnv", "make_env",
           "OPPONENTS", "BACKENDS", "INSTALL_HINT", "save_gif", "record_episode"]
