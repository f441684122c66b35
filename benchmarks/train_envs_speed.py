"""Training games side by side: env steps/s of the real training loop for several ``train_envs``.

Usage: ``python benchmarks/train_envs_speed.py [--train-envs 1 4 16] [--configs quick default] [--seconds 60]
[--device auto] [--threads 1] [--amp] [--cuda-graphs]``

The trainer (guide ch. 12) alternates acting and learning: every env step adds ``updates_per_env_step`` of
learning credit and runs the updates that are due.  Acting costs one policy call (encoder, one RSSM posterior
step, actor, a copy of the action to the host) per step.  With ``train_envs = N`` the trainer plays N games side
by side and acts for all of them in one batched call, so acting costs about 1/N as many calls per env step; the
updates per env step stay the same.  How much the whole loop gains depends on acting's share of it: small on a
CPU, where an update is slow, and large on a GPU, where an update is fast and every policy call waits for the
host.

For each config and N this builds a fresh ``Trainer`` (NORMAL vs weak by default), plays the warmup games with
random actions, then runs the loop for ``--seconds`` (whole rounds of N games) and reports env steps/s and
updates/s.  ``speed-up`` is relative to N = 1.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from common import print_markdown_table, write_csv
from dreamer_edu.config import Config
from dreamer_edu.trainer import Trainer


def loop_speed(config: Config, seconds: float, folder: Path) -> tuple[float, float]:
    """(env steps/s, updates/s) of the training loop after the warmup games."""
    trainer = Trainer(config, folder, progress=False)
    while trainer.episodes < config.warmup_episodes:
        trainer.play_round()                       # random warm-up games
    steps, updates, start = trainer.env_steps, trainer.agent.updates, time.perf_counter()
    while time.perf_counter() - start < seconds:
        trainer.play_round()                       # act, learn when due, store
    elapsed = time.perf_counter() - start
    return (trainer.env_steps - steps) / elapsed, (trainer.agent.updates - updates) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description="Training-loop env steps/s with games side by side")
    parser.add_argument("--train-envs", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--configs", nargs="+", default=["quick", "default"], choices=["quick", "default"])
    parser.add_argument("--mode", default="NORMAL", choices=["NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE"])
    parser.add_argument("--opponent", default="weak", choices=["weak", "strong", "none"])
    parser.add_argument("--seconds", type=float, default=60.0, help="timed training per cell")
    parser.add_argument("--warmup-games", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (Config.amp) in every cell")
    parser.add_argument("--cuda-graphs", action="store_true",
                        help="updates replayed as a CUDA graph (Config.cuda_graphs, GPU only) in every cell")
    parser.add_argument("--csv", default="benchmarks/results/train_envs_speed.csv")
    args = parser.parse_args()
    if min(args.train_envs) < 1 or args.warmup_games < 1 or not args.seconds > 0:
        parser.error("--train-envs and --warmup-games must be >= 1 and --seconds > 0")
    if args.cuda_graphs and not torch.cuda.is_available():
        parser.error("--cuda-graphs needs a CUDA GPU; torch sees none")
    print(f"{args.mode} vs {args.opponent}, {args.warmup_games} warmup games, then {args.seconds:g} s of training "
          f"per cell, device {args.device}, {args.threads} torch thread(s), amp {args.amp}, "
          f"cuda_graphs {args.cuda_graphs}")
    rows = []
    for name in args.configs:
        base = Config() if name == "default" else Config.quick()
        speeds = {}
        for n in args.train_envs:
            config = base.replace(mode=args.mode, opponent=args.opponent, train_envs=n, device=args.device,
                                  threads=args.threads, warmup_episodes=args.warmup_games, seed=0,
                                  amp=args.amp, cuda_graphs=args.cuda_graphs)
            torch.manual_seed(0)
            with tempfile.TemporaryDirectory() as tmp:
                steps_s, updates_s = loop_speed(config, args.seconds, Path(tmp))
            speeds[n] = steps_s
            rows.append({"config": name, "train_envs": n, "env_steps_per_s": round(steps_s, 1),
                         "updates_per_s": round(updates_s, 3),
                         "speedup": round(steps_s / speeds[args.train_envs[0]], 2)})
            print(f"  {name:8s} train_envs={n:3d}: {steps_s:8.1f} env steps/s  {updates_s:7.3f} updates/s  "
                  f"x{rows[-1]['speedup']:.2f}", flush=True)
    print_markdown_table(rows, {"config": "config", "train_envs": "train_envs", "env_steps_per_s": "env steps/s",
                                "updates_per_s": "updates/s", "speedup": "speed-up"})
    write_csv(rows, args.csv)


if __name__ == "__main__":
    main()
