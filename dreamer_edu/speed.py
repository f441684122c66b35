"""Speed: what makes training faster without changing what it learns (guide ch. 12).

``agent.py`` is the algorithm: ``Dreamer.update`` is one plain, eager update that reads top to bottom.  Everything
here only makes it run faster, and it is applied once, from outside the update, by ``prepare(agent)`` (the last
line of ``Dreamer.__init__``), as the config asks.  The agent offers two slots for it and copies its batches with
``to_device``; nothing else in ``agent.py`` knows about the techniques:

* ``agent.precision``: a function returning the context every forward pass of the update runs in (by default no
  context at all);
* ``agent.run_update``: the function ``train_step`` runs the update with, ``run_update(agent, batch)`` (by default
  ``Dreamer.update`` itself).

Which technique a device allows is decided in one place, ``check_device_settings``; ``prepare`` calls it first.

Why slots filled once rather than a wrapper around the agent: an agent is built in many places (training,
evaluation, notebooks, benchmarks), and each gets the same settings with no extra step, while the update stays
a few plain lines that say nothing about speed (as nanoGPT sets up autocast and compile once, outside its model).

The techniques, for a reader:

**Page-locked host-to-GPU copies** (``to_device``, every batch).  A copy from ordinary host memory to the GPU makes
the host wait until it is done.  From page-locked ("pinned") memory the GPU copies on its own, so the host goes
on queueing the update's kernels while the batch travels.

**bf16 autocast** (``Config.amp``, ``precision``).  Matrix products in bfloat16 run several times faster on GPUs
with bf16 hardware (compute capability 8, Ampere, or newer) and halve the memory they read.  Only the layers run
in bf16: every head casts its output back to fp32, so the losses, weights, gradients and optimiser states stay
fp32.  On an older GPU bf16 is emulated and slower, so ``check_device_settings`` warns there.

**torch.compile** (``Config.compile``, ``compile_networks``).  Each MLP block and the GRU cell is compiled into
fewer, fused kernels; parameter names do not change, so checkpoints stay interchangeable.  The first updates pay
a one-off compile time per input shape.

**CUDA graphs** (``Config.cuda_graphs``, ``GraphedUpdate``).  At the guide's sizes one update launches thousands of
small kernels, and on a fast GPU launching them from Python takes longer than running them.  A CUDA graph
records the whole update once (world model, imagination, both backward passes, the three Adam steps, the slow
critic) and then replays it with one launch.  A replay reads and writes the same memory every time, which asks
two things of the update: everything it changes is changed in place (``tests/test_cuda_graphs.py`` checks that),
and Adam keeps its step counter on the GPU (``capturable=True``), where a replay can advance it.  Both CUDA graphs
and ``torch.compile`` cut the same launch cost and are not supported together.
"""
from __future__ import annotations

import contextlib
import functools
import warnings

import torch
from torch import nn

from .config import ConfigWarning
from .networks import MLP

# ordinary updates before the update is recorded as a CUDA graph: they create the optimiser states, the cuBLAS
# workspaces and the allocator's blocks, none of which may be created during the recording
GRAPH_WARMUP_UPDATES = 3
AUTOCAST_DEVICE_TYPES = ("cpu", "cuda")
BF16_MIN_CAPABILITY = 8   # bf16 arithmetic in hardware starts with compute capability 8 (Ampere)


def check_device_settings(config, device: torch.device) -> None:
    """Refuse (``ValueError``, one line naming the setting and the reason) or warn (``ConfigWarning``) about the
    speed settings of ``config`` that ``device`` cannot have.  The one place that decides this."""
    device = torch.device(device)
    if config.cuda_graphs and config.compile:
        raise ValueError("Config.cuda_graphs and Config.compile are two ways to cut the kernel-launch cost; "
                         "they are not supported together: set one of them to false")
    if config.cuda_graphs and device.type != "cuda":
        raise ValueError(f"Config.cuda_graphs=True needs a CUDA GPU to record the update on; the device here is "
                         f"{device}. Set cuda_graphs=false.")
    if config.amp and device.type not in AUTOCAST_DEVICE_TYPES:
        raise ValueError(f"Config.amp=True runs the networks under bf16 autocast, which torch offers on "
                         f"{' and '.join(AUTOCAST_DEVICE_TYPES)} only; the device here is {device}. Set amp=false.")
    if config.amp and device.type == "cuda" and torch.cuda.get_device_capability(device)[0] < BF16_MIN_CAPABILITY:
        warnings.warn(f"amp=True on {torch.cuda.get_device_name(device)}, which has no bf16 hardware: bf16 is "
                      "emulated there and likely slower than fp32; consider amp=false", ConfigWarning, stacklevel=2)


def prepare(agent) -> None:
    """Apply ``agent.config``'s speed settings to a newly built agent (before its first update)."""
    config = agent.config
    check_device_settings(config, agent.device)
    if config.compile:
        compile_networks(agent)
    for optimizer in agent.optimizers().values():
        keep_capturable(optimizer, config.cuda_graphs)
    agent.precision = precision(config, agent.device)
    if config.cuda_graphs:
        agent.run_update = GraphedUpdate(agent.optimizers().values())


# --- page-locked copies ---------------------------------------------------------------------------
def to_device(value: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``value`` on ``device``; a host tensor bound for a GPU goes through page-locked memory, asynchronously."""
    if device.type == "cuda" and value.device.type == "cpu":
        return value.pin_memory().to(device, non_blocking=True)
    return value.to(device)


# --- bf16 autocast ----------------------------------------------------------------------------------
def precision(config, device: torch.device):
    """The context factory for the update's forward passes: bf16 autocast with ``config.amp``, else none.

    Without amp it is no autocast context at all (not one with ``enabled=False``): that one would also switch
    off an autocast the caller opened, and it refuses device types without autocast, such as "meta", the
    shape-only device an update can be checked on.  Inside a CUDA graph recording autocast must not cache its
    bf16 weight copies (``cache_enabled=False``): a cached copy would be made once, at recording time, and then
    go stale.  ``nn.GRUCell`` multiplies in bf16 and hands back its memory h in fp32.
    """
    if not config.amp:
        return contextlib.nullcontext
    return functools.partial(torch.autocast, device.type, dtype=torch.bfloat16,
                             cache_enabled=not config.cuda_graphs)


# --- torch.compile ----------------------------------------------------------------------------------
def compile_networks(agent: nn.Module) -> None:
    """``torch.compile`` every MLP block and the GRU cell of ``agent`` in place (parameter names do not change)."""
    blocks = [m for m in agent.modules() if isinstance(m, (MLP, nn.GRUCell))]
    # all MLP blocks share one forward function: allow one compiled version per block and input shape
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 4 * len(blocks))
    for module in blocks:
        module.compile()


# --- CUDA graphs ------------------------------------------------------------------------------------
def keep_capturable(optimizer: torch.optim.Optimizer, capturable: bool) -> None:
    """Set Adam's ``capturable`` flag (its step counter on the device, where a recorded update can advance it),
    and keep it whatever checkpoint the optimiser loads: ``load_state_dict`` would otherwise take the flag of
    the run that saved it (and a CUDA-graph run could not record its update after loading an ordinary run's
    checkpoint, nor an ordinary run drop the flag)."""
    optimizer.defaults["capturable"] = capturable
    for group in optimizer.param_groups:
        group["capturable"] = capturable

    def with_this_flag(optimizer, state: dict) -> dict:
        groups = [{**group, "capturable": capturable} for group in state["param_groups"]]
        return {**state, "param_groups": groups}

    optimizer.register_load_state_dict_pre_hook(with_this_flag)


class GraphedUpdate:
    """``agent.update`` recorded once as a CUDA graph and then replayed (``Config.cuda_graphs``).

    A replay reads its inputs from the same memory every time, so each new batch is copied into the recorded
    batch first, and everything the update changes (weights, Adam moments and step counts, the Moments EMAs,
    the slow critic) is changed in place.  The random draws (latent samples, actions) are new at every replay:
    the recording reads the generator's state at launch.

    The first ``GRAPH_WARMUP_UPDATES`` calls are ordinary updates on a side stream, as the recording needs; the
    next one records the update and replays it.  Loading optimiser states (a checkpoint) replaces the tensors the
    recording uses, so the recording is then forgotten and made again.
    """

    def __init__(self, optimizers):
        self.forget()
        for optimizer in optimizers:   # their states are part of the recording
            optimizer.register_load_state_dict_post_hook(lambda optimizer: self.forget())

    def forget(self) -> None:
        """Drop the recording (after the optimiser states were replaced, e.g. by a checkpoint)."""
        self.graph = None
        self.stream = None
        self.batch: dict[str, torch.Tensor] = {}
        self.metric_names: list[str] = []
        self.metric_values = torch.empty(0)   # (M,): the recorded metrics, stacked
        self.warmups = 0

    def __call__(self, agent, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        device = agent.device
        if self.stream is None:
            self.stream = torch.cuda.Stream(device)   # warm-ups and the recording run on it
        if self.graph is None and self.warmups < GRAPH_WARMUP_UPDATES:
            self.warmups += 1
            self.stream.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(self.stream), warnings.catch_warnings():
                # Adam(capturable=True) warns when it steps outside a recording: here that is the point
                warnings.filterwarnings("ignore", message=".*capturable=True.*", category=UserWarning)
                metrics = agent.update(batch)
            torch.cuda.synchronize(device)   # three times per run: the warm-up's tensors are safe to reuse
            return metrics
        if self.graph is None:
            self._record(agent, batch)
        for key, recorded in self.batch.items():
            if batch[key].shape != recorded.shape:
                raise ValueError(f"with cuda_graphs the update was recorded for batch['{key}'] of shape "
                                 f"{tuple(recorded.shape)}; got {tuple(batch[key].shape)}")
            recorded.copy_(batch[key])
        self.graph.replay()
        # the recorded outputs are overwritten by the next replay: hand out a copy (one launch for all metrics)
        values = self.metric_values.clone().unbind()
        return dict(zip(self.metric_names, values))

    def _record(self, agent, batch: dict[str, torch.Tensor]) -> None:
        self.batch = {key: value.clone() for key, value in batch.items()}    # the graph's inputs
        for optimizer in agent.optimizers().values():
            optimizer.zero_grad(set_to_none=True)   # the gradients are allocated inside the recording
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=self.stream):
                metrics = agent.update(self.batch)
                self.metric_names = list(metrics)
                self.metric_values = torch.stack([v.float().reshape(()) for v in metrics.values()])
        except RuntimeError as err:
            self.forget()
            raise RuntimeError(f"recording the update as a CUDA graph failed ({err}); train with "
                               "cuda_graphs=false") from err
        self.graph = graph
