"""Which replay ratio (and batch size) reaches a win rate in the least compute?  Prints a table and a CSV.

Guide ch. 12-13.  ``replay_ratio`` counts replayed time steps per environment step (as in official DreamerV3):
with batch B x T, one update replays B*T steps, so there are ``replay_ratio / (B*T)`` updates per env step.
More updates per env step learn more from each game but cost more compute per game; the best ratio is the one
that reaches the target win rate soonest in *time*, which only a run can tell.

For each variant (ratio, precision, training games, batch size) and seed this trains the quick config (or,
with ``--base default``, the guide's ``Config()``) on a task, evaluates every ``--eval-every`` env steps on the
fixed evaluation games, and stops when the greedy policy's win rate reaches ``--target`` (or at ``--max-steps``).
Cost is measured as **CPU seconds of this process with one torch thread**, evaluation games excluded: unlike
wall-clock time it does not change when other programs load the machine.  Wall-clock seconds are printed too.

``--batch-sizes 16 32`` varies the number of sequences per batch (B; T stays the config's).  At a fixed replay
ratio a batch twice as large means half as many updates, each replaying twice as many steps: on a CPU where a
small update costs mostly overhead, that can be cheaper for the same learning, and only a run can tell.

Two more dimensions, for changes that make the loop faster but also change what it computes or collects:
``--precisions fp32 bf16`` runs every cell without and with bf16 autocast (``Config.amp``), and
``--train-envs 1 8`` with one or several training games side by side (``Config.train_envs``).  Either only pays
if the agent still learns as much per env step, and this is the run that tells.

Usage: ``python benchmarks/replay_ratio_sweep.py [--ratios 16 32 64 128] [--seeds 0 1] [--mode TRAIN_SHOOTING]
[--opponent none] [--target 0.4] [--max-steps 15000] [--eval-every 1500] [--eval-games 30] [--base quick]
[--precisions fp32] [--train-envs 1] [--batch-sizes B]``
"""
from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import torch

from common import write_csv
from dreamer_edu.config import Config
from dreamer_edu.trainer import Trainer


class TargetReached(Exception):
    """Raised by the sweep's trainer when an evaluation reaches the target win rate."""


class TimedTrainer(Trainer):
    """A Trainer that records the CPU time of each evaluation and stops once the target is reached."""

    def __init__(self, *args, target: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.eval_cpu = 0.0
        self.cpu_start = time.process_time()
        self.rows: list[dict] = []

    def evaluate(self) -> dict:
        before = time.process_time()
        row = super().evaluate()
        self.eval_cpu += time.process_time() - before
        row = dict(row, train_cpu_seconds=round(time.process_time() - self.cpu_start - self.eval_cpu, 1))
        self.rows.append(row)
        if row["win_rate"] >= self.target:
            raise TargetReached
        return row


class Variant(NamedTuple):
    """One cell of the sweep: what changes between runs (the seed aside)."""

    replay_ratio: float
    precision: str      # "fp32" or "bf16" (Config.amp)
    train_envs: int     # training games side by side (Config.train_envs)
    batch_size: int     # sequences per batch (Config.batch_size)

    def label(self) -> str:
        return f"ratio {self.replay_ratio:g} {self.precision} envs {self.train_envs} batch {self.batch_size}"


def run_one(args, variant: Variant, seed: int, folder: Path) -> dict:
    base = Config.quick() if args.base == "quick" else Config()
    config = base.replace(mode=args.mode, opponent=args.opponent, seed=seed, replay_ratio=variant.replay_ratio,
                          total_env_steps=args.max_steps, eval_every_steps=args.eval_every,
                          eval_games=args.eval_games, threads=1, checkpoint_minutes=10_000.0,
                          amp=variant.precision == "bf16", train_envs=variant.train_envs,
                          batch_size=variant.batch_size)
    name = (f"ratio{variant.replay_ratio:g}-{variant.precision}-envs{variant.train_envs}-batch{variant.batch_size}"
            f"-seed{seed}")
    trainer = TimedTrainer(config, folder / name, progress=False, target=args.target)
    wall = time.perf_counter()
    reached = True
    try:
        trainer.train()
        reached = bool(trainer.rows) and trainer.rows[-1]["win_rate"] >= args.target
    except TargetReached:
        pass
    last = trainer.rows[-1]
    return {"base": args.base, **variant._asdict(), "seed": seed,
            "updates_per_env_step": round(config.updates_per_env_step, 4),
            "reached": reached, "env_steps": last["env_steps"], "updates": last["updates"],
            "train_cpu_seconds": last["train_cpu_seconds"], "wall_seconds": round(time.perf_counter() - wall, 1),
            "win_rate": last["win_rate"], "best_win_rate": max(r["win_rate"] for r in trainer.rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratios", type=float, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--mode", default="TRAIN_SHOOTING", choices=["NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE"])
    parser.add_argument("--opponent", default="none", choices=["none", "weak", "strong"])
    parser.add_argument("--target", type=float, default=0.4, help="win rate to reach (greedy policy)")
    parser.add_argument("--max-steps", type=int, default=15_000)
    parser.add_argument("--eval-every", type=int, default=1_500)
    parser.add_argument("--eval-games", type=int, default=30)
    parser.add_argument("--base", default="quick", choices=["quick", "default"],
                        help="Config.quick() or the guide's Config()")
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "bf16"],
                        help="bf16 = Config.amp (bf16 autocast of the networks)")
    parser.add_argument("--train-envs", type=int, nargs="+", default=[1],
                        help="training games side by side (Config.train_envs)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None,
                        help="sequences per batch (Config.batch_size); default: the base config's")
    parser.add_argument("--csv", default="benchmarks/results/replay_ratio_sweep.csv")
    args = parser.parse_args()
    if not 0.0 < args.target <= 1.0:
        parser.error(f"--target must be in (0, 1], got {args.target}")
    if min(args.train_envs) < 1:
        parser.error(f"--train-envs must be >= 1, got {args.train_envs}")
    if args.batch_sizes is not None and min(args.batch_sizes) < 1:
        parser.error(f"--batch-sizes must be >= 1, got {args.batch_sizes}")
    base = Config.quick() if args.base == "quick" else Config()
    batch_sizes = args.batch_sizes or [base.batch_size]
    torch.set_num_threads(1)
    print(f"{args.base} config, {args.mode} vs {args.opponent}, target win rate {args.target:.0%}, "
          f"eval every {args.eval_every} env steps on {args.eval_games} games, at most {args.max_steps} env steps, "
          f"1 torch thread; cost = CPU seconds of training (evaluation excluded)")
    variants = [Variant(r, p, n, b) for r in args.ratios for p in args.precisions for n in args.train_envs
                for b in batch_sizes]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in variants:
            for seed in args.seeds:
                row = run_one(args, variant, seed, Path(tmp))
                rows.append(row)
                print(f"  {variant.label()} seed {seed}: {'reached' if row['reached'] else 'missed '} "
                      f"at {row['env_steps']} env steps, {row['updates']} updates, "
                      f"{row['train_cpu_seconds']} CPU s ({row['wall_seconds']} s wall), "
                      f"win {row['win_rate']:.0%}", flush=True)

    print(f"\n{'ratio':>6} {'precision':>9} {'envs':>4} {'batch':>5} {'upd/env step':>12} {'reached':>8} "
          f"{'median env steps':>17} "
          f"{'median updates':>15} {'median CPU s':>13} {'mean best win':>14}")
    for variant in variants:
        mine = [r for r in rows
                if Variant(r["replay_ratio"], r["precision"], r["train_envs"], r["batch_size"]) == variant]
        hit = [r for r in mine if r["reached"]]

        def median(key):
            # a run that missed counts as "more than the budget": the median is only defined if half reached
            values = sorted([r[key] for r in hit] + [math.inf] * (len(mine) - len(hit)))
            m = statistics.median_low(values)
            return "-" if math.isinf(m) else f"{m:g}"
        print(f"{variant.replay_ratio:>6g} {variant.precision:>9} {variant.train_envs:>4} {variant.batch_size:>5} "
              f"{mine[0]['updates_per_env_step']:>12} {len(hit):>4}/{len(mine):<3} "
              f"{median('env_steps'):>17} {median('updates'):>15} {median('train_cpu_seconds'):>13} "
              f"{statistics.mean(r['best_win_rate'] for r in mine):>14.0%}")
    write_csv(rows, args.csv)


if __name__ == "__main__":
    main()
