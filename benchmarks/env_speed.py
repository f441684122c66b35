"""Hockey environment speed: steps per second, median of several runs (prints a table).

Usage: ``python benchmarks/env_speed.py [--steps 20000] [--repeats 5]``.  Measures the built-in game and,
when the course's ``hockey`` package is installed, the official one, each random-vs-random (the raw game)
and random-vs-weak (with the BasicOpponent's controller in the loop).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from dreamer_edu.envs import BasicOpponent, HockeyEnv, OfficialHockeyEnv, official_available


def run(env, steps: int, opponent: BasicOpponent | None, seed: int = 0) -> float:
    """Steps per second of ``steps`` random actions for player one (and player two unless ``opponent``)."""
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, size=(steps, 8)).astype(np.float32)
    env.reset(seed=seed)
    start = time.perf_counter()
    for t in range(steps):
        a = actions[t]
        if opponent is not None:
            a = np.concatenate([a[:4], opponent.act(env.obs_agent_two())])
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.steps} steps x {args.repeats} runs (median)")
    backends = [("builtin", HockeyEnv)]
    if official_available():
        backends.append(("official", OfficialHockeyEnv))
    else:
        print("official package not installed: measuring the built-in game only")
    print(f"{'backend':10s} {'matchup':18s} {'steps/s':>10s} {'min':>10s} {'max':>10s}")
    for name, cls in backends:
        for matchup in ("random vs random", "random vs weak"):
            rates = []
            for r in range(args.repeats):
                env = cls(mode="NORMAL")
                bot = BasicOpponent(weak=True, rng=np.random.default_rng(r)) if matchup.endswith("weak") else None
                rates.append(run(env, args.steps, bot, seed=r))
            print(f"{name:10s} {matchup:18s} {statistics.median(rates):10.0f} {min(rates):10.0f} {max(rates):10.0f}")


if __name__ == "__main__":
    main()
