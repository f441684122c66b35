"""How many torch threads should a run use?  Speed alone and beside a busy neighbour, printed as a table.

For each config (``quick`` and the guide's ``default``), each torch thread count and each neighbour, this times

* updates/s: ``Dreamer.train_step`` on replayed batches of random games;
* acting env steps/s: the agent's policy plus the hockey game, one game;
* the whole loop's env steps/s that follow from both at the config's replay ratio
  (``1 / (1 / acting + updates_per_env_step / updates)``).

The neighbours are ``idle`` (nothing else started by this script) and ``busy``: one other process that keeps one
core fully busy (a pure Python loop), as a browser tab, a notebook or a second training run does on a student's
laptop.  Every cell runs in a fresh process with the thread count set before any torch work.

Usage: ``python benchmarks/thread_policy.py [--threads 1 2] [--configs quick default] [--seconds 20]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import print_markdown_table, write_csv

HERE = Path(__file__).resolve().parent
BUSY_LOOP = "while True: pass"


def measure_cell(config_name: str, threads: int, seconds: float) -> dict:
    """Run in this (fresh) process: set the threads first, then time updates and acting."""
    import torch

    torch.set_num_threads(threads)
    from dreamer_edu.agent import Dreamer
    from dreamer_edu.config import Config
    from train_speed import acting_speed, fill_buffer

    config = Config.quick() if config_name == "quick" else Config()
    torch.manual_seed(0)
    buffer = fill_buffer(config, games=12)
    agent = Dreamer(config, 18, 4, device=torch.device("cpu"))
    for _ in range(2):                                   # warm-up: allocator and first-call costs
        agent.train_step(buffer.sample(config.batch_size, config.batch_length))
    updates, start = 0, time.perf_counter()
    while updates < 3 or time.perf_counter() - start < seconds:
        agent.train_step(buffer.sample(config.batch_size, config.batch_length))
        updates += 1
    updates_per_s = updates / (time.perf_counter() - start)
    act_steps = 200 if config_name == "default" else 400
    acting_per_s = acting_speed(agent, act_steps)
    loop = 1.0 / (1.0 / acting_per_s + config.updates_per_env_step / updates_per_s)
    return {"updates_per_s": round(updates_per_s, 3), "acting_steps_per_s": round(acting_per_s, 1),
            "loop_env_steps_per_s": round(loop, 2), "timed_updates": updates}


def run_cell(config_name: str, threads: int, neighbour: str, seconds: float) -> dict:
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if neighbour == "busy" else None
    try:
        if busy is not None:
            time.sleep(1.0)                              # let the neighbour take its core
        out = subprocess.run([sys.executable, __file__, "--cell", config_name, str(threads), str(seconds)],
                             capture_output=True, text=True, check=True, cwd=HERE).stdout
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    result = json.loads(out.strip().splitlines()[-1])
    return {"config": config_name, "threads": threads, "neighbour": neighbour, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--configs", nargs="+", default=["quick", "default"], choices=["quick", "default"])
    parser.add_argument("--neighbours", nargs="+", default=["idle", "busy"], choices=["idle", "busy"])
    parser.add_argument("--seconds", type=float, default=20.0, help="time spent on updates per cell (at least 3)")
    parser.add_argument("--csv", default=str(HERE / "results" / "thread_policy.csv"))
    parser.add_argument("--cell", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        name, threads, seconds = args.cell
        print(json.dumps(measure_cell(name, int(threads), float(seconds))))
        return
    if any(t < 1 for t in args.threads) or args.seconds <= 0:
        parser.error("--threads must be >= 1 and --seconds > 0")
    print(f"{os.cpu_count()} CPUs; each cell in a fresh process; busy = one other process spinning on one core")
    rows = []
    for name in args.configs:
        for neighbour in args.neighbours:
            for threads in args.threads:
                row = run_cell(name, threads, neighbour, args.seconds)
                print(row, flush=True)
                rows.append(row)
    print_markdown_table(rows, {"config": "config", "neighbour": "neighbour", "threads": "torch threads",
                                "updates_per_s": "updates/s", "acting_steps_per_s": "acting env steps/s",
                                "loop_env_steps_per_s": "loop env steps/s"})
    write_csv(rows, args.csv)


if __name__ == "__main__":
    main()
