"""Dreamer: the world model and the actor-critic under one roof (guide ch. 2 and 12).

``train_step(batch)`` is one gradient update of everything:

1. world model on a batch of real sequences (B, T)          -> posterior states (B, T, ...)
2. imagination from all B*T posterior states (detached)     -> imagined rollouts of H steps (ch. 5)
   and the behaviour losses of those rollouts               -> actor and critic losses
3. optimiser steps (gradient norms clipped at ``grad_clip``) and the slow-critic EMA.

It returns its metrics as tensors on the device: nothing in it waits for the GPU (no ``.item()``), so the
caller decides when to read them (once per logging interval).

With ``Config.cuda_graphs`` the update is recorded once as a CUDA graph and then replayed: one launch per update
instead of thousands of small kernel launches from Python (see ``Dreamer._graphed_update``).

``policy(obs, state)`` acts in the real game: it runs one posterior step of the RSSM on the new observation
and samples (or, with ``explore=False``, takes the mode of) the actor's action.  It is batched: ``obs`` is
(N, 18) for N games played side by side.
"""
from __future__ import annotations

import contextlib
import copy
import math
import warnings
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .actor_critic import Actor, Critic, behaviour_losses, update_slow_critic
from .config import DEVICES, Config, ConfigWarning
from .imagination import imagine
from .networks import MLP
from .returns import Moments
from .rssm import RSSMState
from .world_model import WorldModel

BATCH_KEYS = ("obs", "action", "reward", "reward_raw", "is_first", "is_last", "is_terminal")
# ordinary updates before the update is recorded as a CUDA graph: they create the optimiser states, the cuBLAS
# workspaces and the allocator's blocks, none of which may be created during the recording
GRAPH_WARMUP_UPDATES = 3


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
        if config.amp and self.device.type == "cuda" and torch.cuda.get_device_capability(self.device)[0] < 8:
            # bf16 arithmetic in hardware starts with compute capability 8 (Ampere); older GPUs emulate it
            warnings.warn(f"amp=True on {torch.cuda.get_device_name(self.device)}, which has no bf16 hardware: "
                          "bf16 is emulated there and likely slower than fp32; consider amp=False",
                          ConfigWarning, stacklevel=2)
        if config.cuda_graphs and config.compile:
            raise ValueError("Config.cuda_graphs and Config.compile are not supported together: set one to false")
        if config.cuda_graphs and self.device.type != "cuda":
            raise ValueError(f"Config.cuda_graphs=True records the update as a CUDA graph, which needs a CUDA "
                             f"device; this agent is on {self.device}. Set cuda_graphs=false.")
        self.to(self.device)
        if config.compile:
            self.compile_networks()
        # capturable: Adam keeps its step counter on the GPU, so that a recorded update can advance it
        adam = dict(eps=config.adam_eps, capturable=config.cuda_graphs)
        self.world_opt = torch.optim.Adam(self.world_model.parameters(), lr=config.lr_world, **adam)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.lr_actor, **adam)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=config.lr_critic, **adam)
        self.updates = 0
        self._reset_graph()

    def compile_networks(self) -> None:
        """``torch.compile`` every MLP block and the GRU cell in place (parameter names do not change, so
        checkpoints stay interchangeable).  The first updates pay a one-off compile time per input shape."""
        blocks = [m for m in self.modules() if isinstance(m, (MLP, nn.GRUCell))]
        # all MLP blocks share one forward function: allow one compiled version per block and input shape
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 4 * len(blocks))
        for module in blocks:
            module.compile()

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
        out = {}
        for key in BATCH_KEYS:
            value = torch.as_tensor(batch[key])
            if self.device.type == "cuda" and value.device.type == "cpu":
                # from page-locked memory the copy is asynchronous: the host goes on queueing the update's
                # kernels instead of waiting for the GPU to finish the previous update first
                value = value.pin_memory().to(self.device, non_blocking=True)
            else:
                value = value.to(self.device)
            out[key] = value if value.dtype == torch.bool else value.float()
        return out

    def _autocast(self):
        """bf16 autocast of the networks' matrix products when ``config.amp`` is on (CPU or CUDA).

        Only the layers run in bf16: every head casts its output to fp32 (``.float()``), so the two-hot
        logits, the latent probabilities, the KL, the returns and all losses are fp32, and so are the
        weights, gradients and optimiser states.  ``nn.GRUCell`` multiplies in bf16 and hands back its
        memory h in fp32.  Inside a CUDA graph recording autocast must not cache its bf16 weight copies
        (``cache_enabled=False``): a cached copy would be made once, at recording time, and then go stale.
        """
        if not self.config.amp:
            # no autocast context at all (not one with enabled=False): that one would also switch off an
            # autocast the caller opened, and it refuses device types without autocast such as "meta", the
            # shape-only device the tests run a whole update on
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=not self.config.cuda_graphs)

    def _clip_and_step(self, optimizer: torch.optim.Optimizer, module: nn.Module) -> torch.Tensor:
        norm = torch.nn.utils.clip_grad_norm_(module.parameters(), self.config.grad_clip)
        optimizer.step()
        return norm

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """One update of world model, critic, actor and slow critic.  Returns metrics (device tensors)."""
        if not isinstance(next(iter(batch.values())), torch.Tensor):
            batch = self.batch_to_torch(batch)
        self.train()
        metrics = self._graphed_update(batch) if self.config.cuda_graphs else self._update(batch)
        self.updates += 1
        return metrics

    def _update(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The device work of one update: every step of it runs on the GPU without waiting for the host."""
        c = self.config
        with self._autocast():
            world_loss, states, metrics = self.world_model.loss(batch)
        self.world_opt.zero_grad(set_to_none=True)
        world_loss.backward()
        metrics["world/grad_norm"] = self._clip_and_step(self.world_opt, self.world_model)

        start = states.detach().flatten_batch()                         # (B*T, ...)
        start_continue = 1.0 - batch["is_terminal"].flatten().float()  # (B*T,)
        with self._autocast():
            traj = imagine(self.world_model.rssm, self.actor, start, c.horizon)   # (B*T, H+1, ...)
            actor_loss, critic_loss, behaviour = behaviour_losses(
                self.world_model, self.actor, self.critic, self.slow_critic, self.moments, traj,
                start_continue, c)
        self.actor_opt.zero_grad(set_to_none=True)
        self.critic_opt.zero_grad(set_to_none=True)
        (actor_loss + critic_loss).backward()   # disjoint parameters: each loss reaches only its own net
        behaviour["actor/grad_norm"] = self._clip_and_step(self.actor_opt, self.actor)
        behaviour["critic/grad_norm"] = self._clip_and_step(self.critic_opt, self.critic)
        update_slow_critic(self.slow_critic, self.critic, c.slow_critic_decay)
        metrics.update(behaviour)
        return metrics

    # --- CUDA graphs ----------------------------------------------------------------------------
    def _reset_graph(self) -> None:
        """Forget the recorded update (after the optimiser states were replaced, e.g. by a checkpoint)."""
        self._graph = None
        self._graph_stream = None
        self._graph_batch: dict[str, torch.Tensor] = {}
        self._graph_metric_names: list[str] = []
        self._graph_metric_values = torch.empty(0)   # (M,): the recorded metrics, stacked
        self._graph_warmups = 0

    def _graphed_update(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One update through a CUDA graph (``Config.cuda_graphs``; a speed-up of the training loop, guide ch. 12).

        At the guide's sizes one update launches thousands of small kernels, and on a fast GPU launching them
        from Python takes longer than running them.  A CUDA graph records the whole update once (world model,
        imagination, both backward passes, the three Adam steps, the slow critic) and replays it with one
        launch.  A replay reads its inputs from the same memory every time, so each new batch is copied into
        the recorded batch first, and everything the update changes (weights, Adam moments and step counts,
        the Moments EMAs, the slow critic) is changed in place.  The random draws (latent samples, actions)
        are new at every replay: the recording reads the generator's state at launch.

        The first ``GRAPH_WARMUP_UPDATES`` calls are ordinary updates on a side stream, as the recording
        needs; the next one records the update and replays it.
        """
        if self._graph_stream is None:
            self._graph_stream = torch.cuda.Stream(self.device)   # warm-ups and the recording run on it
        if self._graph is None and self._graph_warmups < GRAPH_WARMUP_UPDATES:
            self._graph_warmups += 1
            self._graph_stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(self._graph_stream), warnings.catch_warnings():
                # Adam(capturable=True) warns when it steps outside a recording: here that is the point
                warnings.filterwarnings("ignore", message=".*capturable=True.*", category=UserWarning)
                metrics = self._update(batch)
            torch.cuda.synchronize(self.device)   # three times per run: the warm-up's tensors are safe to reuse
            return metrics
        if self._graph is None:
            self._record_update(batch)
        for key, recorded in self._graph_batch.items():
            if batch[key].shape != recorded.shape:
                raise ValueError(f"with cuda_graphs the update was recorded for batch['{key}'] of shape "
                                 f"{tuple(recorded.shape)}; got {tuple(batch[key].shape)}")
            recorded.copy_(batch[key])
        self._graph.replay()
        # the recorded outputs are overwritten by the next replay: hand out a copy (one launch for all metrics)
        values = self._graph_metric_values.clone().unbind()
        return dict(zip(self._graph_metric_names, values))

    def _record_update(self, batch: dict[str, torch.Tensor]) -> None:
        self._graph_batch = {key: value.clone() for key, value in batch.items()}    # the graph's inputs
        for optimizer in (self.world_opt, self.actor_opt, self.critic_opt):
            optimizer.zero_grad(set_to_none=True)   # the gradients are allocated inside the recording
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=self._graph_stream):
                metrics = self._update(self._graph_batch)
                self._graph_metric_names = list(metrics)
                self._graph_metric_values = torch.stack([v.float().reshape(()) for v in metrics.values()])
        except RuntimeError as err:
            self._reset_graph()
            raise RuntimeError(f"recording the update as a CUDA graph failed ({err}); train with "
                               "cuda_graphs=false") from err
        self._graph = graph

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
        return {
            "model": self.state_dict(),
            "world_opt": self.world_opt.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "updates": self.updates,
        }

    def load_checkpoint_state(self, state: dict, weights_only: bool = False) -> None:
        self.load_state_dict(state["model"])
        if not weights_only:
            for optimizer, name in ((self.world_opt, "world_opt"), (self.actor_opt, "actor_opt"),
                                    (self.critic_opt, "critic_opt")):
                optimizer.load_state_dict(self._adam_state_for_this_agent(state[name]))
            self.updates = int(state["updates"])
        self._reset_graph()   # new optimiser state tensors: a recorded update would still use the old ones

    def _adam_state_for_this_agent(self, optimizer_state: dict) -> dict:
        """An optimiser state dict whose ``capturable`` flag is this agent's: Adam's ``load_state_dict`` would
        otherwise take the flag of the run that saved it (and a CUDA-graph run could not record its update
        after loading an ordinary run's checkpoint, nor an ordinary run drop the flag)."""
        groups = [{**group, "capturable": self.config.cuda_graphs} for group in optimizer_state["param_groups"]]
        return {**optimizer_state, "param_groups": groups}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def all_finite(metrics: dict[str, torch.Tensor]) -> tuple[bool, list[str]]:
    """Read the metrics once (one host sync) and name the ones that are NaN or inf."""
    names = list(metrics)
    values = torch.stack([metrics[n].detach().float().reshape(()) for n in names]).cpu().tolist()
    bad = [n for n, v in zip(names, values) if not math.isfinite(v)]
    return not bad, bad
