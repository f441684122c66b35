"""Is variant B's update faster than variant A's?  Paired timing in one process; prints a table and a CSV.

A shared machine drifts (other programs, CPU clocks): two runs of ``train_speed.py`` minutes apart can differ
by 10-20%, more than most optimisations gain.  This script builds one agent per variant (same seed, so the
same initial weights as long as the overrides leave the networks' shapes alone), then times updates that
*alternate* between them (A B B A A B ...) on the same fixed batch (unless an override changes its shape), so
that drift hits both alike.  It reports each variant's median time per update and the median and quartiles of
the per-pair ratios A/B (above 1: B is faster).

Variants are ``Config`` overrides, written as on the command line (``--config-override``), e.g.::

    python benchmarks/paired_speed.py --b amp=true                      # fp32 against bf16 autocast
    python benchmarks/paired_speed.py --a amp=true --b amp=true compile=true --pairs 8
    python benchmarks/paired_speed.py --base quick --b batch_size=32    # a bigger batch

Time is the process's CPU time on a CPU (summed over torch's threads when ``--threads`` > 1; it does not count
the time spent waiting for a core, but it still varies with the load, which is what the pairing is for) and
wall time with CUDA synchronisation on a GPU.  Compilation (``compile=true``) happens in the warm-up updates, not timed.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from common import print_markdown_table, write_csv
from dreamer_edu.agent import Dreamer, resolve_device
from dreamer_edu.config import Config
from dreamer_edu.speed import GRAPH_WARMUP_UPDATES
from train_speed import fill_buffer, sync


def timer(device: torch.device):
    """CPU seconds of this process on a CPU; wall seconds after a CUDA synchronisation on a GPU."""
    if device.type == "cuda":
        def now():
            sync(device)
            return time.perf_counter()
        return now
    return time.process_time


def paired_times(agents: dict[str, Dreamer], batches: dict[str, dict], pairs: int, warmup: int,
                 device) -> dict[str, list[float]]:
    """Milliseconds per update of each agent after ``warmup`` untimed ones; the order alternates within pairs
    (A B, B A, A B, ...), so that neither variant always runs right after the other."""
    for name, agent in agents.items():      # untimed: compilation (compile=true) or the CUDA-graph recording
        for _ in range(max(warmup, GRAPH_WARMUP_UPDATES + 1) if agent.config.cuda_graphs else warmup):
            agent.train_step(batches[name])
    now = timer(device)
    times = {name: [] for name in agents}
    names = list(agents)
    for pair in range(pairs):
        for name in (names if pair % 2 == 0 else names[::-1]):
            start = now()
            agents[name].train_step(batches[name])
            times[name].append((now() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="default", choices=["default", "quick"], help="Config() or Config.quick()")
    parser.add_argument("--a", nargs="*", default=[], metavar="KEY=VALUE", help="overrides of variant A (default none)")
    parser.add_argument("--b", nargs="*", default=[], metavar="KEY=VALUE", help="overrides of variant B")
    parser.add_argument("--pairs", type=int, default=10, help="timed updates of each variant")
    parser.add_argument("--warmup", type=int, default=3, help="untimed updates of each variant first")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--csv", default="benchmarks/results/paired_speed.csv")
    args = parser.parse_args()
    if args.pairs < 1 or args.warmup < 0 or args.threads < 0:
        parser.error("--pairs must be >= 1, --warmup >= 0 and --threads >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    base = Config() if args.base == "default" else Config.quick()
    try:
        variants = {"A": base.with_overrides(args.a), "B": base.with_overrides(args.b)}
    except ValueError as error:
        parser.error(str(error))
    if variants["A"] == variants["B"]:
        parser.error("variants A and B are the same config; give B (or A) KEY=VALUE overrides that change it")

    agents = {}
    for name, config in variants.items():
        torch.manual_seed(0)
        try:
            agents[name] = Dreamer(config, device=device)
        except ValueError as error:   # e.g. cuda_graphs=true without a GPU
            parser.error(f"variant {name}: {error}")
    buffer = fill_buffer(base, games=30)
    # both variants update on the same batch, unless an override changes the batch's shape
    batches = {}
    for name, c in variants.items():
        shape = (c.batch_size, c.batch_length)
        same = [other for other in batches if (variants[other].batch_size, variants[other].batch_length) == shape]
        batches[name] = batches[same[0]] if same else agents[name].batch_to_torch(buffer.sample(*shape))
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} torch threads; {args.base} config; "
          f"{args.pairs} pairs after {args.warmup} warm-up updates each; "
          + ("wall ms (CUDA synchronised)" if device.type == "cuda" else
             "CPU ms of this process" + (f", summed over {torch.get_num_threads()} threads"
                                         if torch.get_num_threads() > 1 else "")))
    times = paired_times(agents, batches, args.pairs, args.warmup, device)

    a, b = np.array(times["A"]), np.array(times["B"])
    ratios = a / b
    rows = [{"variant": name, "overrides": " ".join(getattr(args, name.lower())) or "(none)",
             "median_ms": round(statistics.median(times[name]), 1),
             "min_ms": round(min(times[name]), 1), "max_ms": round(max(times[name]), 1)}
            for name in ("A", "B")]
    print_markdown_table(rows, {"variant": "variant", "overrides": "overrides", "median_ms": "median ms/update",
                                "min_ms": "min", "max_ms": "max"})
    print(f"\npaired A/B ratio: median {np.median(ratios):.3f}, quartiles {np.quantile(ratios, 0.25):.3f}-"
          f"{np.quantile(ratios, 0.75):.3f} over {len(ratios)} pairs (above 1: B is faster)")
    summary = {"pairs": len(ratios), "paired_ratio_median": round(float(np.median(ratios)), 3),
               "paired_ratio_q1": round(float(np.quantile(ratios, 0.25)), 3),
               "paired_ratio_q3": round(float(np.quantile(ratios, 0.75)), 3)}
    write_csv([dict(r, **summary) for r in rows], args.csv)


if __name__ == "__main__":
    main()
