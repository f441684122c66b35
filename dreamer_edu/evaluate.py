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

from .agent import Dreamer
from .checkpoint import find_checkpoint, read_checkpoint
from .config import Config
from .envs import make_env

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
               explore: bool = False, env=None, backend: str = "builtin") -> Outcome:
    """Play ``games`` games; ``agent=None`` plays uniformly random actions.  Seeds ``seed, seed+1, ...``."""
    if games < 1:
        raise ValueError(f"games must be >= 1, got {games}")
    env = env if env is not None else make_env(mode=mode, opponent=opponent, backend=backend)
    rng = np.random.default_rng(seed)
    wins = draws = losses = 0
    returns, lengths = [], []
    for game in range(games):
        obs, info = env.reset(seed=seed + game)
        state, total, steps, done = None, 0.0, 0, False
        while not done:
            if agent is None:
                action = rng.uniform(-1.0, 1.0, size=4).astype(np.float32)
            else:
                action, state = agent.policy(obs, state, explore=explore)
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            steps += 1
            done = terminated or truncated
        winner = info.get("winner", 0)
        wins += winner == 1
        losses += winner == -1
        draws += winner == 0
        returns.append(total)
        lengths.append(steps)
    return Outcome(wins, draws, losses, float(np.mean(returns)), float(np.mean(lengths)))


def load_agent(path: str | Path, device: str = "cpu") -> tuple[Dreamer, Config, dict]:
    """A trained agent from a run directory or checkpoint file (weights only; optimisers are skipped)."""
    file = find_checkpoint(path)
    data = read_checkpoint(file)
    config = Config.from_dict(data["config"])
    agent = Dreamer(config, device=device)
    agent.load_checkpoint_state(data["agent"], weights_only=True)
    agent.eval()
    return agent, config, data.get("counters", {})


def record_game(agent: Dreamer | None, path: str | Path, opponent="weak", mode: str = "NORMAL", seed: int = 0,
                fps: int = 25, backend: str = "builtin") -> dict:
    """Play one game with rendering and save it as a GIF.  Returns the final info dict."""
    from .envs import save_gif

    env = make_env(mode=mode, opponent=opponent, render_mode="rgb_array", backend=backend)
    obs, info = env.reset(seed=seed)
    frames = [env.render()]
    rng = np.random.default_rng(seed)
    state, done = None, False
    while not done:
        if agent is None:
            action = rng.uniform(-1.0, 1.0, size=4).astype(np.float32)
        else:
            action, state = agent.policy(obs, state, explore=False)
        obs, reward, terminated, truncated, info = env.step(action)
        frames.append(env.render())
        done = terminated or truncated
    save_gif(frames, path, fps=fps)
    env.close()
    return info

