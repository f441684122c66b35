"""Hockey environment speed: env steps per second, the median of several runs, printed as a table.

Usage: ``python benchmarks/env_speed.py [--steps 20000] [--repeats 5]``

Two workloads, each including the resets between games:

* random vs random: the two-player ``HockeyEnv`` stepped with random 8-number actions (the bare game);
* random vs weak: ``make_env(opponent="weak")``, random 4-number actions against the weak ``BasicOpponent``
  (the game, the opponent's controller and the single-agent wrapper: what the trainer steps).

The built-in game is always measured; the course's official package too when it is installed.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from dreamer_edu.envs import HockeyEnv, OfficialHockeyEnv, make_env, official_available


def steps_per_second(env, actions: np.ndarray, seed: int) -> float:
    """Step ``env`` through ``actions`` (one row per step), resetting after every game; return steps/s."""
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return len(actions) / (time.perf_counter() - start)


def measure(backend: str, workload: str, steps: int, repeats: int) -> list[float]:
    """Steps/s of ``repeats`` fresh runs of one workload on one backend."""
    rates = []
    for run in range(repeats):
        if workload == "random vs random":
            env = OfficialHockeyEnv() if backend == "official" else HockeyEnv()
            width = 8
        else:
            env = make_env(opponent="weak", backend=backend)
            width = 4
        actions = np.random.default_rng(run).uniform(-1, 1, size=(steps, width)).astype(np.float32)
        rates.append(steps_per_second(env, actions, seed=run))
        env.close()
    return rates


def cpu_model() -> str:
    """The CPU's model name (Linux), else whatever ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine() -> str:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    threads = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"python {platform.python_version()}, numpy {np.__version__}, {cpu_model()}\n"
            f"{cpus} CPUs ({usable} usable by this process; the env runs on one thread), "
            f"load average {load}{', ' + threads if threads else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Hockey environment steps per second")
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per workload (the median is reported)")
    args = parser.parse_args()

    print(describe_machine())
    print(f"{args.steps} steps per run, median of {args.repeats} runs")
    backends = ["builtin"]
    if official_available():
        backends.append("official")
    else:
        print("official package not installed: built-in game only")
    print(f"\n{'backend':10s} {'workload':18s} {'median steps/s':>15s} {'min':>8s} {'max':>8s}")
    for backend in backends:
        for workload in ("random vs random", "random vs weak"):
            rates = measure(backend, workload, args.steps, args.repeats)
            print(f"{backend:10s} {workload:18s} {statistics.median(rates):15,.0f} {min(rates):8,.0f} "
                  f"{max(rates):8,.0f}")


if __name__ == "__main__":
    main()
