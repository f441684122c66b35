"""Evaluation: win/draw/loss rates against an opponent, with 95% intervals; recording games (guide ch. 12).

A game is a win when the agent scores, a loss when the opponent scores and a draw when the clock runs out.
Rates come with a Wilson score interval, which stays inside [0, 1] and behaves at 0% and 100%, unlike the
normal approximation.  ``load_agent`` restores a trained agent from a run directory or a checkpoint file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .agent import Dreamer, resolve_device
from .checkpoint import find_checkpoint, read_checkpoint
from .config import Config
from .envs import make_env
from .games import Game, agent_actions, play_game, random_actions

WILSON_Z = 1.959964  # two-sided 95%


def wilson_interval(successes: int, trials: int, z: float = WILSON_Z) -> tuple[float, float]:
    """95% Wilson score interval of a binomial rate."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Outcome:
    wins: int
    draws: int
    losses: int
    mean_return: float
    mean_length: float

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def win_rate(self) -> float:
        return self.wins / self.games

    @property
    def draw_rate(self) -> float:
        return self.draws / self.games

    @property
    def loss_rate(self) -> float:
        return self.losses / self.games

    def summary(self) -> str:
        parts = []
        for name, count in (("win", self.wins), ("draw", self.draws), ("loss", self.losses)):
            lo, hi = wilson_interval(count, self.games)
            parts.append(f"{name} {count / self.games:6.1%} [{lo:.1%}, {hi:.1%}]")
        return (f"{self.games} games: " + "  ".join(parts) +
                f"  (95% Wilson intervals; mean return {self.mean_return:.2f}, mean length {self.mean_length:.0f})")


def play_games(agent: Dreamer | None, games: int, opponent="weak", mode: str = "NORMAL", seed: int = 0,
               explore: bool = False, env=None, backend: str = "builtin", parallel: int = 1,
               envs: list | None = None) -> Outcome:
    """Play ``games`` games; ``agent=None`` plays uniformly random actions.  Game ``i`` is played on seed
    ``seed + i``.

    With an agent, ``parallel`` games run side by side, each on its own env made from ``mode``, ``opponent``
    and ``backend`` (or one per env of ``envs``, which then sets the number of slots): every step the agent acts
    for all of them in one batched call, and a finished game's slot starts the next game.  The games and their
    seeds are the same as when they are played one after the other; only the agent's own random draws (its
    sampled latents) come in another order, and a batched network rounds differently, so single games can
    differ as between two runs; a policy that computes each game's action from its observation alone gives
    exactly the same outcome.  Side by side is faster (``benchmarks/eval_speed.py``).  A given ``env`` plays
    the games one after the other, and so does the random policy (on ``env``, ``envs[0]`` or a new env).

    An agent needs ``obs_dim``, ``initial_policy_state(num_envs)`` and ``policy(obs, state, explore=...,
    is_first=...)`` acting on a batch (N, obs_dim), as ``Dreamer`` has.
    """
    if games < 1:
        raise ValueError(f"games must be >= 1, got {games}")
    if parallel < 1:
        raise ValueError(f"parallel must be >= 1, got {parallel}")
    if env is not None and (parallel > 1 or envs is not None):
        raise ValueError("env plays one game at a time: to play side by side on your own envs, pass envs=[...]")
    if envs is not None and not envs:
        raise ValueError("envs must hold at least one environment")
    if envs is None:
        envs = [env] if env is not None else [make_env(mode=mode, opponent=opponent, backend=backend)
                                              for _ in range(1 if agent is None else min(parallel, games))]
    if agent is None:
        return _play_random(games, seed, envs[0])
    return _play_batched(agent, games, seed, explore, envs[:games])


def _play_random(games: int, seed: int, env) -> Outcome:
    """Uniformly random actions, one game after the other (the actions come from one seeded stream)."""
    act = random_actions(np.random.default_rng(seed))
    played = [play_game(env, seed + game, act) for game in range(games)]
    return _outcome(played)


def _play_batched(agent: Dreamer, games: int, seed: int, explore: bool, envs: list) -> Outcome:
    """Games on ``len(envs)`` slots at once; a slot whose game ends starts the next unplayed game."""
    slots: list[Game | None] = [None] * len(envs)    # the game each slot plays, None once nothing is left
    is_first = np.ones(len(envs), bool)               # (S,): the slot's game has just started
    played: list[Game] = []
    next_game = 0

    def start_next(slot: int) -> None:
        nonlocal next_game
        if next_game < games:
            slots[slot], is_first[slot] = Game(envs[slot], seed=seed + next_game), True
            next_game += 1
        else:
            slots[slot] = None

    for slot in range(len(envs)):
        start_next(slot)
    obs = np.stack([game.obs for game in slots])      # (S, obs_dim): each slot's latest observation
    state = agent.initial_policy_state(len(envs))
    while any(game is not None for game in slots):
        actions, state = agent.policy(obs, state, explore=explore, is_first=is_first)   # (S, 4)
        is_first[:] = False
        for slot, game in enumerate(slots):
            if game is None:
                continue
            if game.step(actions[slot]):
                played.append(game)
                start_next(slot)
            if slots[slot] is not None:
                obs[slot] = slots[slot].obs
    played.sort(key=lambda game: game.seed)           # game order, whichever slot finished first
    return _outcome(played)


def _outcome(played: list[Game]) -> Outcome:
    winners = [game.winner for game in played]
    wins, losses = winners.count(1), winners.count(-1)
    return Outcome(wins, len(winners) - wins - losses, losses, float(np.mean([g.total_reward for g in played])),
                   float(np.mean([game.steps for game in played])))


def load_agent(path: str | Path, device: str = "cpu") -> tuple[Dreamer, Config, dict]:
    """A trained agent from a run directory or checkpoint file (weights only; optimisers are skipped)."""
    device = resolve_device(device)          # a clear one-line error for a device this machine does not have
    file = find_checkpoint(path)
    data = read_checkpoint(file)
    config = Config.from_dict(data["config"])
    # a CUDA-graph recording only speeds up training updates: a CPU can play with the weights of such a run
    agent = Dreamer(config.replace(cuda_graphs=False), device=device)
    agent.load_checkpoint_state(data["agent"], weights_only=True)
    agent.eval()
    return agent, config, data.get("counters", {})


def record_game(agent: Dreamer | None, path: str | Path, opponent="weak", mode: str = "NORMAL", seed: int = 0,
                fps: int = 25, backend: str = "builtin") -> dict:
    """Play one game with rendering and save it as a GIF.  Returns the final info dict."""
    from .envs import save_gif

    env = make_env(mode=mode, opponent=opponent, render_mode="rgb_array", backend=backend)
    act = random_actions(np.random.default_rng(seed)) if agent is None else agent_actions(agent, explore=False)
    frames = []
    game = play_game(env, seed, act, after_step=lambda g: frames.append(env.render()))
    info = game.info
    save_gif(frames, path, fps=fps)
    env.close()
    return info

