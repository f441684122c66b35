"""What one update costs, counted rather than timed (a companion to the training loop, guide ch. 12): tensor operations (each one kernel launch on a GPU) and FLOPs.

On a GPU every tensor operation is a kernel launch, and launching one from Python through PyTorch's dispatcher
costs several microseconds of host time whatever the kernel's size.  When an update is thousands of small
operations whose arithmetic the GPU finishes faster than the host can launch them, the GPU waits on the host,
and replaying the update as a CUDA graph (``Config.cuda_graphs``) is what pays.  This script counts, on any
machine (a CPU is enough), for one ``Dreamer.train_step``:

* the tensor operations that reach PyTorch's kernels (forward, backward and optimiser steps), with and without
  the views and other metadata-only operations, which launch nothing;
* the floating-point operations of the matrix products (``torch.utils.flop_counter``);
* the operations of one policy step (a posterior step and the actor, for N games played side by side at
  once), and how many of them the env steps between two updates add (``1 / updates_per_env_step`` env steps,
  taken N at a time).

The optimisers are switched to their ``foreach`` form, the one Adam uses on a GPU.  Counted on a CPU, a few
operations still differ from a GPU's (the GRU cell is one fused kernel there; a ``_foreach_`` operation launches
a kernel per group of tensors): the counts give the order of magnitude, not an exact launch count.

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

# operations that launch no kernel: they only change how a tensor's memory is read, make an empty tensor, read
# a number back to the host, or mark a profiler range
NO_KERNEL = {"view", "_unsafe_view", "t", "transpose", "expand", "slice", "select", "unsqueeze", "squeeze",
             "permute", "alias", "detach", "split", "split_with_sizes", "unbind", "as_strided", "reshape",
             "_reshape_alias", "empty", "empty_like", "empty_strided", "lift_fresh", "squeeze_", "unsqueeze_",
             "_local_scalar_dense", "_record_function_enter_new", "_record_function_exit"}


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


def kernel_ops(counts: collections.Counter) -> int:
    return sum(n for name, n in counts.items() if name not in NO_KERNEL)


def update_cost(config: Config, games_side_by_side: tuple[int, ...]) -> dict:
    agent = Dreamer(config)
    for optimizer in (agent.world_opt, agent.actor_opt, agent.critic_opt):
        for group in optimizer.param_groups:
            group["foreach"] = True   # what Adam does on a GPU (on a CPU it steps one tensor at a time)
    batch = agent.batch_to_torch(random_batch(config))
    agent.train_step(batch)   # the first update creates the Adam states: count a later one
    with CountOperations() as ops:
        agent.train_step(batch)
    with FlopCounterMode(display=False) as flops:
        agent.train_step(batch)
    launching = kernel_ops(ops.counts)
    row = {"ops_per_update": sum(ops.counts.values()), "kernel_ops_per_update": launching,
           "GFLOP_per_update": round(flops.get_total_flops() / 1e9, 2),
           "MFLOP_per_kernel_op": round(flops.get_total_flops() / launching / 1e6, 2)}
    # acting: one policy step (a posterior step of the RSSM and the actor) acts for all the games played side by
    # side; between two updates the trainer takes 1 / updates_per_env_step env steps, N games at a time
    for games in games_side_by_side:
        obs = np.zeros((games, 18), np.float32)
        _, state = agent.policy(obs)
        with CountOperations() as acting:
            agent.policy(obs, state)
        policy_steps = 1 / config.updates_per_env_step / games
        row[f"kernel_ops_per_policy_step_{games}_games"] = kernel_ops(acting.counts)
        row[f"acting_kernel_ops_per_update_{games}_games"] = round(kernel_ops(acting.counts) * policy_steps)
        row[f"host_waits_per_update_{games}_games"] = round(policy_steps, 2)
    row["most_frequent"] = " ".join(f"{name}:{n}" for name, n in ops.counts.most_common(6))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["default", "quick"], choices=["default", "quick"])
    parser.add_argument("--games", type=int, nargs="+", default=[1, 16],
                        help="games played side by side (Config.train_envs) for the acting columns")
    parser.add_argument("--csv", default="benchmarks/results/update_cost.csv")
    args = parser.parse_args()
    torch.set_num_threads(1)     # counts do not depend on it; one thread keeps a shared machine responsive
    if min(args.games) < 1:
        parser.error(f"--games must be >= 1, got {min(args.games)}")
    torch.manual_seed(0)
    rows = []
    for name in args.configs:
        config = Config() if name == "default" else Config.quick()
        row = {"config": name, "batch": f"{config.batch_size}x{config.batch_length}", "horizon": config.horizon}
        row.update(update_cost(config, tuple(args.games)))
        rows.append(row)
    keys = list(rows[0])
    widths = [max(len(k), *(len(str(r[k])) for r in rows)) for k in keys]
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for r in rows:
        print("  ".join(str(r[k]).rjust(w) for k, w in zip(keys, widths)))
    print("kernel_ops = operations that run a kernel (views excluded); on a GPU each is one launch from the host")
    print("acting_kernel_ops_per_update_N_games = policy-step operations of the env steps taken between two "
          "updates, N games side by side; each policy step also waits once for the GPU (host_waits)")
    write_csv(rows, args.csv, keys)


if __name__ == "__main__":
    main()
