"""Small experiments the chapter notebooks run: collect hockey games, train a world model on its own.

Guide chapters 3-4 (the world model) and 11 (DreamSmooth).  The full trainer (``trainer.py``) interleaves
acting and learning; the notebooks on the world model want the two apart, so that a student can first look
at the data, then watch the model learn it.  Everything here reuses the package's real pieces
(``HockeyEnv``, ``BasicOpponent``, ``ReplayBuffer``, ``WorldModel``): nothing is re-implemented.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from .agent import batch_to_torch, world_model_step
from .config import Config
from .dreamsmooth import smooth_rewards
from .envs import BasicOpponent, make_env
from .games import ACTION_DIM, OBS_DIM, play_game, random_actions
from .replay import ReplayBuffer
from .world_model import WorldModel

PLAYERS = ("random", "weak", "strong")


def _player(name: str, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """Player one's controller: uniform random actions or the course's BasicOpponent (weak or strong)."""
    if name == "random":
        return random_actions(rng)
    if name in ("weak", "strong"):
        bot = BasicOpponent(weak=name == "weak", rng=rng)
        return lambda obs: np.asarray(bot.act(obs), np.float32)
    raise ValueError(f"player must be one of {', '.join(PLAYERS)}, got {name!r}")


def collect_episodes(games: int, player: str = "weak", opponent: str = "weak", mode: str = "NORMAL",
                     seed: int = 0, progress: bool = False) -> list[dict[str, np.ndarray]]:
    """Play ``games`` games of ``player`` (as player one) against ``opponent`` and return them as episodes.

    Each episode is a dict in the replay buffer's convention (``games.Game``): ``obs`` (T+1, 18) with the reset
    observation first, ``action`` (T+1, 4) with a zero action first, ``reward`` (T+1,), and the flags
    ``is_first``, ``is_last``, ``is_terminal``; plus the game's ``winner``.  Game ``g`` is reset with seed
    ``seed + g``, so the data is reproducible.
    """
    if games < 1:
        raise ValueError(f"games must be >= 1, got {games}")
    act = _player(player, np.random.default_rng(seed))
    env = make_env(mode=mode, opponent=opponent)
    episodes = []
    for game in tqdm(range(games), desc=f"{player} vs {opponent}", disable=not progress):
        played = play_game(env, seed + game, act)
        episodes.append({**played.episode(), "winner": played.winner})
    env.close()
    return episodes


def fill_buffer(episodes: list[dict], config: Config | None = None, smooth: bool | None = None,
                seed: int = 0) -> ReplayBuffer:
    """A replay buffer holding ``episodes``; rewards are smoothed with the config's DreamSmooth if ``smooth``.

    ``smooth=None`` follows ``config.use_dreamsmooth``.  The raw rewards stay available as ``reward_raw``.
    """
    c = config or Config()
    smooth = c.use_dreamsmooth if smooth is None else smooth
    smoother = None
    if smooth:
        def smoother(rewards, is_last):
            return smooth_rewards(rewards, is_last, method=c.dreamsmooth_method, alpha=c.dreamsmooth_alpha)
    total = sum(len(ep["reward"]) for ep in episodes)
    buffer = ReplayBuffer(max(total, 1), OBS_DIM, ACTION_DIM, seed=seed, reward_smoother=smoother)
    for ep in episodes:
        buffer.add_episode({k: v for k, v in ep.items() if k != "winner"})
    return buffer


def train_world_model(config: Config, buffer: ReplayBuffer, updates: int, seed: int = 0,
                      device: str | torch.device = "cpu", progress: bool = True,
                      model: WorldModel | None = None) -> tuple[WorldModel, list[dict[str, float]]]:
    """Train a ``WorldModel`` alone (no actor, no critic) for ``updates`` Adam steps on replayed sequences.

    Each update is ``agent.world_model_step``, the first step of ``Dreamer.update``, with the config's batch size
    and length, world-model learning rate, Adam epsilon and gradient clip.  Returns the model (in eval mode) and one metrics dict per update
    (the world-model loss terms as floats, read once at the end so the loop has no host syncs).
    """
    if updates < 1:
        raise ValueError(f"updates must be >= 1, got {updates}")
    c = config.validate()
    device = torch.device(device)
    torch.manual_seed(seed)
    model = (model or WorldModel(c, OBS_DIM, ACTION_DIM)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr_world, eps=c.adam_eps)
    model.train()
    history = []
    for _ in tqdm(range(updates), desc="world model", disable=not progress):
        batch = batch_to_torch(buffer.sample(c.batch_size, c.batch_length), device)
        _, metrics = world_model_step(model, optimizer, batch, c.grad_clip)
        history.append(metrics)
    names = list(history[0])
    values = torch.stack([torch.stack([m[n].float() for n in names]) for m in history]).cpu().numpy()
    if not np.isfinite(values).all():
        bad = [n for n, ok in zip(names, np.isfinite(values).all(0)) if not ok]
        raise FloatingPointError(f"world-model training produced non-finite losses: {', '.join(bad)}")
    model.eval()
    return model, [dict(zip(names, map(float, row))) for row in values]


def episode_batch(episode: dict[str, np.ndarray], device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """One whole episode as a batch of one sequence, (1, T+1, ...), in the replay buffer's keys."""
    arrays = {k: np.asarray(v)[None] for k, v in episode.items() if k != "winner"}
    arrays.setdefault("reward_raw", arrays["reward"])
    return batch_to_torch(arrays, device)
