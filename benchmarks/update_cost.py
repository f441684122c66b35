"""What one update costs, counted rather than timed: tensor operations (each one kernel launch on a GPU) and FLOPs.

On a GPU every tensor operation is a kernel launch, and launching one from Python through PyTorch's dispatcher
costs several microseconds of host time whatever the kernel's size.  When an update is thousands of small
operations whose arithmetic the GPU finishes faster than the host can launch them, the GPU waits on the host,
and replaying the update as a CUDA graph (``Config.cuda_graphs``) is what pays.  This script counts, on any
machine (a CPU is enough), for one ``Dreamer.train_step``:

* the tensor operations that reach PyTorch's kernels (forward, backward and optimiser steps), with and without
  the views and other metadata-only operations, which launch nothing;
* the floating-point operations of the matrix products (``torch.utils.flop_counter``);
* the operations of one policy step (a posterior step and the actor, for all ``train_envs`` games at once),
  and how many of them the env steps between two updates add (``1 / updates_per_env_step`` env steps, taken
  ``train_envs`` at a time).

Usage: ``python benchmarks/update_cost.py [--configs default quick] [--csv PATH]``
"""
from __future__ import annotations

import argparse
import collections

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from common import write_csv
from dreamer_edu.agent import Dreamer
from dreamer_edu.config import Config

# operations that only change how a tensor's memory is read (or make an empty tensor): no kernel runs
METADATA_ONLY = {"view", "_unsafe_view", "t", "transpose", "expand", "slice", "select", "unsqueeze", "squeeze",
                 "permute", "alias", "detach", "split", "split_with_sizes", "unbind", "as_strided", "reshape",
                 "_reshape_alias", "empty", "empty_like", "empty_strided", "lift_fresh", "squeeze_", "unsqueeze_"}


class CountOperations(TorchDispatchMode):
    """Counts every operation dispatched to PyTorch's kernels while it is active."""

    def __init__(self):
        super().__init__()
        self.counts: collections.Counter = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def random_batch(config: Config, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    B, T = config.batch_size, config.batch_length
    is_first = np.zeros((B, T), bool)
    is_first[:, 0] = True
    return {"obs": rng.normal(size=(B, T, 18)).astype(np.float32),
            "action": rng.uniform(-1, 1, size=(B, T, 4)).astype(np.float32),
            "reward": rng.normal(size=(B, T)).astype(np.float32),
            "reward_raw": rng.normal(size=(B, T)).astype(np.float32),
            "is_first": is_first, "is_last": np.zeros((B, T), bool), "is_terminal": np.zeros((B, T), bool)}


def update_cost(config: Config) -> dict:
    agent = Dreamer(config)
    batch = agent.batch_to_torch(random_batch(config))
    agent.train_step(batch)   # the first update creates the Adam states: count a later one
    with CountOperations() as ops:
        agent.train_step(batch)
    with FlopCounterMode(display=False) as flops:
        agent.train_step(batch)
    launching = sum(n for name, n in ops.counts.items() if name not in METADATA_ONLY)
    # acting: one policy step (a posterior step of the RSSM and the actor) for all the games played side by side
    obs = np.zeros((1, 18), np.float32)
    _, state = agent.policy(obs)
    with CountOperations() as acting:
        agent.policy(obs, state)
    acting_ops = sum(n for name, n in acting.counts.items() if name not in METADATA_ONLY)
    return {"ops_per_update": sum(ops.counts.values()), "kernel_ops_per_update": launching,
            "GFLOP_per_update": round(flops.get_total_flops() / 1e9, 2),
            "kFLOP_per_kernel_op": round(flops.get_total_flops() / launching / 1e3),
            "kernel_ops_per_policy_step": acting_ops,
            "acting_kernel_ops_per_update": round(acting_ops / config.updates_per_env_step / config.train_envs),
            "most_frequent": " ".join(f"{name}:{n}" for name, n in ops.counts.most_common(6))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["default", "quick"], choices=["default", "quick"])
    parser.add_argument("--csv", default="benchmarks/results/update_cost.csv")
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    for name in args.configs:
        config = Config() if name == "default" else Config.quick()
        row = {"config": name, "batch": f"{config.batch_size}x{config.batch_length}", "horizon": config.horizon}
        row.update(update_cost(config))
        rows.append(row)
    keys = list(rows[0])
    widths = [max(len(k), *(len(str(r[k])) for r in rows)) for k in keys]
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for r in rows:
        print("  ".join(str(r[k]).rjust(w) for k, w in zip(keys, widths)))
    print("kernel_ops = operations that run a kernel (views excluded); on a GPU each is one launch from the host")
    print("acting_kernel_ops_per_update = policy-step operations of the env steps taken between two updates")
    write_csv(rows, args.csv, keys)


if __name__ == "__main__":
    main()
