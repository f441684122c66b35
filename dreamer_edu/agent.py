"""Dreamer: the world model and the actor-critic under one roof (guide ch. 2 and 12).

``train_step(batch)`` is one gradient update of everything (``update`` reads top to bottom):

1. world model on a batch of real sequences (B, T)          -> posterior states (B, T, ...), its optimiser step
2. imagination from all B*T posterior states (detached)     -> imagined rollouts of H steps (ch. 5)
3. behaviour losses of those rollouts                       -> actor and critic losses (ch. 6-10)
4. optimiser steps (gradient norms clipped at ``grad_clip``) and the slow-critic EMA.

It returns its metrics as tensors on the device: nothing in it waits for the GPU (no ``.item()``), so the
caller decides when to read them (once per logging interval).

Everything that only makes it faster (bf16 autocast, fused kernels, replaying the recorded update, page-locked
copies) lives in ``speed.py`` and is applied by ``speed.prepare`` when the agent is built, as the config asks:
the update itself stays the plain algorithm.

``policy(obs, state)`` acts in the real game: it runs one posterior step of the RSSM on the new observation
and samples (or, with ``explore=False``, takes the mode of) the actor's action.  It is batched: ``obs`` is
(N, 18) for N games played side by side.
"""
from __future__ import annotations

import contextlib
import copy
import math
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from . import speed
from .actor_critic import Actor, Critic, behaviour_losses, update_slow_critic
from .config import DEVICES, Config
from .imagination import imagine
from .returns import Moments
from .rssm import RSSMState
from .world_model import WorldModel

BATCH_KEYS = ("obs", "action", "reward", "reward_raw", "is_first", "is_last", "is_terminal")


class PolicyState(NamedTuple):
    """What the agent remembers between real steps: the RSSM state and the action it last took."""

    latent: RSSMState
    prev_action: torch.Tensor  # (N, A)


class DeviceError(ValueError):
    """A device was asked for that this machine cannot give (the message says why, in one line)."""


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """"auto" picks CUDA when available; "cuda" without a GPU is an error rather than a silent CPU run."""
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in DEVICES and not name.startswith("cuda:"):
        raise DeviceError(f"unknown device {name!r}; valid: {', '.join(DEVICES)}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        raise DeviceError(f"device {name!r} was requested but torch sees no CUDA GPU (torch {torch.__version__}, "
                          f"{build}); use --device cpu or auto")
    index = name.partition(":")[2]
    if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
        raise DeviceError(f"device {name!r} was requested but torch sees {torch.cuda.device_count()} CUDA GPU(s)")
    return torch.device(name)


def set_threads(threads: int) -> int:
    """Give torch ``threads`` CPU threads (``Config.threads``; 0 leaves torch's own setting, by default one per
    core).  Returns the count now in use."""
    if not isinstance(threads, int) or threads < 0:
        raise ValueError(f"threads must be an integer >= 0 (0 = torch's default), got {threads!r}")
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def clip_and_step(optimizer: torch.optim.Optimizer, module: nn.Module, grad_clip: float) -> torch.Tensor:
    """Clip ``module``'s gradient norm at ``grad_clip``, take the optimiser step; returns the norm before clipping."""
    norm = torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
    optimizer.step()
    return norm


def world_model_step(world_model, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor],
                     grad_clip: float, precision=contextlib.nullcontext):
    """Step 1 of an update, also usable alone (``experiments.train_world_model``): the world-model loss on real
    sequences (B, T), backward, clipped optimiser step.  Returns the posterior states (B, T) and the metrics."""
    with precision():
        loss, states, metrics = world_model.loss(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    metrics["world/grad_norm"] = clip_and_step(optimizer, world_model, grad_clip)
    return states, metrics


def batch_to_torch(batch: dict, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Numpy arrays (a replayed batch, an episode) -> tensors on ``device``: numbers as float32, flags stay bool.
    To a GPU the copy goes through page-locked memory, so it does not wait for the GPU (``speed.to_device``)."""
    out = {}
    for key, value in batch.items():
        value = speed.to_device(torch.as_tensor(value), torch.device(device))
        out[key] = value if value.dtype == torch.bool else value.float()
    return out


class Dreamer(nn.Module):
    def __init__(self, config: Config, obs_dim: int = 18, action_dim: int = 4, device: str | torch.device = "cpu"):
        super().__init__()
        self.config = config
        self.obs_dim = obs_dim
        self.action_dim = action_dim
        self.world_model = WorldModel(config, obs_dim, action_dim)
        self.actor = Actor(config, action_dim)
        self.critic = Critic(config)
        self.slow_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.moments = Moments(config.return_norm_decay, config.return_norm_low, config.return_norm_high,
                               config.return_norm_floor)
        self.device = torch.device(device)
        self.to(self.device)
        self.world_opt = torch.optim.Adam(self.world_model.parameters(), lr=config.lr_world, eps=config.adam_eps)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.lr_actor, eps=config.adam_eps)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=config.lr_critic, eps=config.adam_eps)
        self.updates = 0
        # Two slots for speed.py (guide ch. 12), which fills them as the config asks: the context the update's
        # forward passes run in (bf16 autocast with Config.amp), and the function train_step runs the update
        # with, called as run_update(agent, batch) (by default Dreamer.update itself).
        self.precision = contextlib.nullcontext
        self.run_update = Dreamer.update
        speed.prepare(self)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The three Adam optimisers, by their names in a checkpoint."""
        return {"world_opt": self.world_opt, "actor_opt": self.actor_opt, "critic_opt": self.critic_opt}

    # --- training ---------------------------------------------------------------------------
    def batch_to_torch(self, batch: dict) -> dict[str, torch.Tensor]:
        """Numpy batch from the replay buffer -> tensors on the device, with shape checks."""
        missing = [k for k in BATCH_KEYS if k not in batch]
        if missing:
            raise ValueError(f"batch is missing {', '.join(missing)}; expected keys {', '.join(BATCH_KEYS)}")
        obs = batch["obs"]
        if obs.ndim != 3 or obs.shape[-1] != self.obs_dim:
            raise ValueError(f"batch['obs'] must be (B, T, {self.obs_dim}), got {tuple(obs.shape)}")
        if batch["action"].shape != (*obs.shape[:2], self.action_dim):
            raise ValueError(f"batch['action'] must be (B, T, {self.action_dim}), got {tuple(batch['action'].shape)}")
        return batch_to_torch({key: batch[key] for key in BATCH_KEYS}, self.device)


    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """One update of world model, critic, actor and slow critic.  Returns metrics (device tensors)."""
        if not isinstance(next(iter(batch.values())), torch.Tensor):
            batch = self.batch_to_torch(batch)
        self.train()
        metrics = self.run_update(self, batch)   # Dreamer.update, or speed.py's faster way of running it
        self.updates += 1
        return metrics

    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The device work of one update: every step of it runs on the GPU without waiting for the host."""
        c = self.config
        # 1. world model: its loss on the real sequences, then its optimiser step
        states, metrics = world_model_step(self.world_model, self.world_opt, batch, c.grad_clip, self.precision)

        # 2. imagination from every posterior state, and 3. the behaviour losses of the imagined rollouts
        start = states.detach().flatten_batch()                         # (B*T, ...)
        start_continue = 1.0 - batch["is_terminal"].flatten().float()  # (B*T,)
        with self.precision():
            traj = imagine(self.world_model.rssm, self.actor, start, c.horizon)   # (B*T, H+1, ...)
            real = None if c.replay_critic_scale == 0 else {
                "features": states.features().detach(), "reward": batch["reward"], "is_last": batch["is_last"],
                "is_terminal": batch["is_terminal"]}                      # (B, T, ...): the replayed games
            actor_loss, critic_loss, behaviour = behaviour_losses(
                self.world_model, self.actor, self.critic, self.slow_critic, self.moments, traj,
                start_continue, c, real)

        # 4. the actor's and the critic's optimiser steps, then the slow critic's EMA
        self.actor_opt.zero_grad(set_to_none=True)
        self.critic_opt.zero_grad(set_to_none=True)
        (actor_loss + critic_loss).backward()   # disjoint parameters: each loss reaches only its own net
        behaviour["actor/grad_norm"] = clip_and_step(self.actor_opt, self.actor, c.grad_clip)
        behaviour["critic/grad_norm"] = clip_and_step(self.critic_opt, self.critic, c.grad_clip)
        update_slow_critic(self.slow_critic, self.critic, c.slow_critic_decay)
        metrics.update(behaviour)
        return metrics

    # --- acting -----------------------------------------------------------------------------
    def initial_policy_state(self, num_envs: int = 1) -> PolicyState:
        latent = self.world_model.initial_state(num_envs, self.device)
        return PolicyState(latent, torch.zeros(num_envs, self.action_dim, device=self.device))

    @torch.no_grad()
    def policy(self, obs, state: PolicyState | None = None, explore: bool = True,
               is_first=None) -> tuple[np.ndarray, PolicyState]:
        """Act on observations (N, 18) (or one (18,)).  ``state=None`` starts new episodes.

        ``is_first`` (N,) bool marks games that just restarted (their memory is reset); by default it is True
        everywhere when ``state`` is None and False otherwise.  Returns actions (N, 4) in [-1, 1] as numpy.
        """
        single = np.ndim(obs) == 1
        obs_np = np.asarray(obs, dtype=np.float32)
        if not np.isfinite(obs_np).all():       # checked on the host: no device sync for the check
            raise ValueError("obs contains NaN or inf")
        obs_t = torch.as_tensor(obs_np, device=self.device)
        if single:
            obs_t = obs_t[None]
        if obs_t.ndim != 2 or obs_t.shape[-1] != self.obs_dim:
            raise ValueError(f"obs must be ({self.obs_dim},) or (N, {self.obs_dim}), got {tuple(obs_t.shape)}")
        num = obs_t.shape[0]
        if state is None:
            state = self.initial_policy_state(num)
            first = torch.ones(num, dtype=torch.bool, device=self.device)
        elif is_first is None:
            first = torch.zeros(num, dtype=torch.bool, device=self.device)
        else:
            first = torch.as_tensor(np.asarray(is_first), dtype=torch.bool, device=self.device).reshape(num)
        self.eval()
        embed = self.world_model.embed(obs_t)
        latent = self.world_model.rssm.observe_step(state.latent, state.prev_action, embed, first)
        dist = self.actor(latent.features())
        action = dist.sample()[0] if explore else dist.mode()
        action = action.clamp(-1.0, 1.0)
        out = action.cpu().numpy()
        return (out[0] if single else out), PolicyState(latent, action)

    # --- checkpoints --------------------------------------------------------------------------
    def checkpoint_state(self) -> dict:
        """Everything needed to continue training exactly: weights, optimisers, Moments, update count."""
        optimizers = {name: optimizer.state_dict() for name, optimizer in self.optimizers().items()}
        return {"model": self.state_dict(), **optimizers, "updates": self.updates}

    def load_checkpoint_state(self, state: dict, weights_only: bool = False) -> None:
        self.load_state_dict(state["model"])
        if not weights_only:
            for name, optimizer in self.optimizers().items():
                optimizer.load_state_dict(state[name])
            self.updates = int(state["updates"])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def all_finite(metrics: dict[str, torch.Tensor]) -> tuple[bool, list[str]]:
    """Read the metrics once (one host sync) and name the ones that are NaN or inf."""
    names = list(metrics)
    values = torch.stack([metrics[n].detach().float().reshape(()) for n in names]).cpu().tolist()
    bad = [n for n, v in zip(names, values) if not math.isfinite(v)]
    return not bad, bad
