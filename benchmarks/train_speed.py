"""How fast does dreamer_edu train?  Prints a table (and writes it to a CSV).

* updates/s: ``Dreamer.train_step`` on replay batches, at the default config and at ``Config.quick()``;
* a breakdown of one update: world-model loss, imagination, actor+critic losses, backward+optimiser steps;
* with ``--amp``, ``--compile`` and ``--cuda-graphs``, the same rows again with bf16 autocast (``Config.amp``),
  with ``torch.compile`` (``Config.compile``) and with the update replayed as a CUDA graph (``Config.cuda_graphs``,
  GPU only; with ``--amp`` also bf16 + CUDA graphs), measured in the same run;
* env steps/s while acting: the agent's recurrent policy (one posterior step + actor) plus the hockey env;
* peak host memory (RSS) and, on a GPU, ``torch.cuda.max_memory_allocated``.

Usage: ``python benchmarks/train_speed.py [--device auto] [--updates 5] [--threads N] [--amp] [--compile]
[--cuda-graphs] [--configs default quick] [--csv PATH]``
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np
import torch

from common import write_csv
from dreamer_edu.actor_critic import behaviour_losses
from dreamer_edu.agent import Dreamer, resolve_device
from dreamer_edu.config import Config
from dreamer_edu.envs import make_env
from dreamer_edu.imagination import imagine
from dreamer_edu.replay import ReplayBuffer
from dreamer_edu.games import agent_actions, play_game, random_actions
from dreamer_edu.speed import GRAPH_WARMUP_UPDATES


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def fill_buffer(config: Config, games: int, seed: int = 0) -> ReplayBuffer:
    """Random games against the weak opponent: realistic batches for the update benchmark."""
    env = make_env(opponent="weak")
    act = random_actions(np.random.default_rng(seed))
    buffer = ReplayBuffer(max(config.buffer_capacity // 10, 20_000), 18, 4, seed=seed)
    for g in range(games):
        buffer.add_episode(play_game(env, g, act).episode())
    return buffer


def time_updates(agent: Dreamer, buffer: ReplayBuffer, updates: int, device) -> float:
    c = agent.config
    # warm-up: allocator, kernels, with compile every input shape's compilation, with CUDA graphs the recording
    for _ in range(GRAPH_WARMUP_UPDATES + 2 if c.cuda_graphs else 3):
        agent.train_step(buffer.sample(c.batch_size, c.batch_length))
    sync(device)
    start = time.perf_counter()
    for _ in range(updates):
        agent.train_step(buffer.sample(c.batch_size, c.batch_length))
    sync(device)
    return updates / (time.perf_counter() - start)


def breakdown(agent: Dreamer, buffer: ReplayBuffer, device, repeats: int = 3) -> dict[str, float]:
    """Milliseconds per phase of one update (forward passes timed separately, then the whole step)."""
    c = agent.config
    batch = agent.batch_to_torch(buffer.sample(c.batch_size, c.batch_length))
    times = {"world model loss (fwd)": [], "imagination alone (15 steps)": [],
             "imagination + behaviour losses (fwd)": [], "full train_step (fwd + bwd + steps)": []}
    for _ in range(repeats):
        sync(device); t0 = time.perf_counter()
        with agent.precision():   # the same precision as train_step
            _, states, _ = agent.world_model.loss(batch)
            sync(device); t1 = time.perf_counter()
            start = states.detach().flatten_batch()
            imagine(agent.world_model.rssm, agent.actor, start, c.horizon)
            sync(device); t2 = time.perf_counter()
            traj = imagine(agent.world_model.rssm, agent.actor, start, c.horizon)
            behaviour_losses(agent.world_model, agent.actor, agent.critic, agent.slow_critic, agent.moments,
                             traj, torch.ones(start.deter.shape[0], device=device), c)
            sync(device); t3 = time.perf_counter()
        agent.train_step(batch)
        sync(device); t4 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            times[key].append(dt * 1000)
    return {k: float(np.median(v)) for k, v in times.items()}


def acting_speed(agent: Dreamer, games: int) -> float:
    """Env steps/s of whole games against the weak bot, the agent sampling its actions as in training."""
    env = make_env(opponent="weak")
    play_game(env, 0, agent_actions(agent, explore=True))     # warm-up (and compilation of the batch-of-one shapes)
    start = time.perf_counter()
    steps = sum(play_game(env, seed, agent_actions(agent, explore=True)).steps for seed in range(1, games + 1))
    return steps / (time.perf_counter() - start)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--updates", type=int, default=5, help="timed updates at the default config")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1, the thread policy of Config.threads; 0 = torch's default)")
    parser.add_argument("--act-games", type=int, default=3, help="timed games of acting (each up to 250 steps)")
    parser.add_argument("--compile", action="store_true",
                        help="also time each config with torch.compile (Config.compile; the compile time is excluded)")
    parser.add_argument("--amp", action="store_true",
                        help="also time each config with bf16 autocast (Config.amp)")
    parser.add_argument("--cuda-graphs", action="store_true",
                        help="also time each config with the update replayed as a CUDA graph (Config.cuda_graphs; "
                             "GPU only)")
    parser.add_argument("--configs", nargs="+", default=["default", "quick"], choices=["default", "quick"])
    parser.add_argument("--csv", default="benchmarks/results/train_speed.csv")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    if args.cuda_graphs and device.type != "cuda":
        parser.error(f"--cuda-graphs needs a CUDA GPU; the device is {device}")
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else f" ({platform.processor() or platform.machine()})")
          + f", {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs")

    buffer = fill_buffer(Config(), games=30)
    rows = []
    settings = []
    for name in args.configs:
        base, updates = (Config(), args.updates) if name == "default" else (Config.quick(), args.updates * 10)
        settings.append((name, base, updates))
        if args.amp:
            settings.append((name + "+bf16", base.replace(amp=True), updates))
        if args.compile:
            settings.append((name + "+compile", base.replace(compile=True), updates))
        if args.cuda_graphs:
            settings.append((name + "+graphs", base.replace(cuda_graphs=True), updates))
            if args.amp:
                settings.append((name + "+bf16+graphs", base.replace(amp=True, cuda_graphs=True), updates))
    phases = {}
    for name, config, updates in settings:
        torch.manual_seed(0)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        agent = Dreamer(config, device=device)
        ups = time_updates(agent, buffer, updates, device)
        sps = acting_speed(agent, args.act_games)
        row = {"config": name, "params_M": round(agent.num_parameters() / 1e6, 2),
               "batch": f"{config.batch_size}x{config.batch_length}", "updates_per_s": round(ups, 3),
               "replayed_steps_per_s": round(ups * config.batch_size * config.batch_length),
               "acting_env_steps_per_s": round(sps), "updates_per_env_step": config.updates_per_env_step,
               "train_env_steps_per_s": round(1 / (1 / sps + config.updates_per_env_step / ups), 1),
               "peak_rss_MB": round(peak_rss_mb()),
               "cuda_peak_MB": round(torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else ""}
        rows.append(row)
        if name.startswith("default"):
            phases[name] = breakdown(agent, buffer, device)

    keys = list(rows[0])
    widths = [max(len(k), *(len(str(r[k])) for r in rows)) for k in keys]
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for r in rows:
        print("  ".join(str(r[k]).rjust(w) for k, w in zip(keys, widths)))
    if phases:
        names = list(phases)
        print("\none update at the default sizes (median ms; the forward rows run eagerly in every column, also "
              "in +graphs ones, whose full train_step is the replay):")
        print(f"  {'':38s} " + " ".join(f"{n:>15s}" for n in names))
        for key in phases[names[0]]:
            print(f"  {key:38s} " + " ".join(f"{phases[n][key]:15.1f}" for n in names))
    print("train_env_steps_per_s = env steps/s of the whole loop (acting + the updates the replay ratio asks for)")
    write_csv(rows, args.csv, keys)


if __name__ == "__main__":
    main()
