"""Evaluation speed: games played one after the other vs side by side, printed as a table (and a CSV).

Usage: ``python benchmarks/eval_speed.py [--games 50] [--parallel 1 5 10 25 50] [--configs default quick]
[--device auto] [--threads 1] [--repeats 3]``

An evaluation (guide ch. 12) plays ``eval_games`` full games with the greedy policy.  One after the other, every
env step costs one call of the agent's policy (encoder, one RSSM posterior step, actor) on a batch of one,
plus a copy of the action to the host.  ``evaluate.play_games(..., parallel=P)`` plays P games side by side and
acts for all of them in one batched call, so a whole evaluation needs about ``games x mean length / P`` policy
calls instead of ``games x mean length``.  The games and seeds are the same; the environments still step one
at a time on the CPU.

The agent is untrained (fresh weights, a fixed torch seed): evaluation speed depends on the network sizes, not
on what the weights know.  Each cell is the median of ``--repeats`` runs; ``speed-up`` is relative to P = 1.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from common import print_markdown_table, write_csv
from dreamer_edu.agent import Dreamer, resolve_device
from dreamer_edu.config import Config
from dreamer_edu.evaluate import play_games


def games_per_second(agent: Dreamer, games: int, parallel: int, mode: str, opponent: str) -> tuple[float, float]:
    """(games/s, env steps/s) of one evaluation of ``games`` games with ``parallel`` slots."""
    torch.manual_seed(0)
    start = time.perf_counter()
    outcome = play_games(agent, games, opponent=opponent, mode=mode, seed=1_000_000, parallel=parallel)
    seconds = time.perf_counter() - start
    return games / seconds, games * outcome.mean_length / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description="Evaluation games per second, one after the other vs side by side")
    parser.add_argument("--games", type=int, default=50)
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 5, 10, 25, 50])
    parser.add_argument("--configs", nargs="+", default=["default", "quick"], choices=["default", "quick"])
    parser.add_argument("--mode", default="NORMAL", choices=["NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE"])
    parser.add_argument("--opponent", default="weak", choices=["weak", "strong", "none"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--csv", default="benchmarks/results/eval_speed.csv")
    args = parser.parse_args()
    if args.games < 1 or args.repeats < 1 or min(args.parallel) < 1:
        parser.error("--games, --repeats and every --parallel value must be >= 1")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"{args.games} games of {args.mode} vs {args.opponent}, greedy policy of an untrained agent, "
          f"device {device}, "
          f"{torch.get_num_threads()} torch thread(s), median of {args.repeats} runs")

    rows = []
    for name in args.configs:
        config = Config() if name == "default" else Config.quick()
        torch.manual_seed(0)
        agent = Dreamer(config, device=device)
        games_per_second(agent, min(args.games, 5), 1, args.mode, args.opponent)          # warm-up
        base = None
        for parallel in args.parallel:
            runs = [games_per_second(agent, args.games, parallel, args.mode, args.opponent)
                    for _ in range(args.repeats)]
            games_s = statistics.median(r[0] for r in runs)
            steps_s = statistics.median(r[1] for r in runs)
            base = base if base is not None else games_s
            rows.append({"config": name, "device": str(device), "parallel": parallel, "games": args.games,
                         "games_per_s": round(games_s, 3), "env_steps_per_s": round(steps_s, 1),
                         "seconds_per_eval": round(args.games / games_s, 2), "speedup": round(games_s / base, 2)})
            row = rows[-1]
            print(f"  {name:8s} P={parallel:3d}: {row['games_per_s']:8.2f} games/s  "
                  f"{row['env_steps_per_s']:9.1f} env steps/s  {row['seconds_per_eval']:7.2f} s per evaluation  "
                  f"x{row['speedup']:.2f}", flush=True)

    print_markdown_table(rows, {"config": "config", "parallel": "P (games side by side)", "games_per_s": "games/s",
                                "env_steps_per_s": "env steps/s", "seconds_per_eval": "s per evaluation",
                                "speedup": "speed-up"})
    write_csv(rows, args.csv)


if __name__ == "__main__":
    main()
