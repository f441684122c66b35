"""Our DreamerV3 update speed next to sheeprl's, in one process, at the same sizes.  Prints a table, writes a CSV.

What is compared: one training update, ``Dreamer.train_step`` (world model, imagination, actor, critic, slow
critic) against sheeprl's DreamerV3 ``train(...)`` plus its target-critic EMA (which sheeprl's main loop runs
before every ``train`` call).  Both get the same sizes, built from our ``Config``:

* default (``Config()``): recurrent state 256, 16 x 16 categorical latents, MLP width 256 with 2 layers,
  batch 32 x 32, imagination horizon 15;
* quick (``Config.quick()``): recurrent state 64, 8 x 8 latents, width 64 with 1 layer, batch 16 x 16, horizon 10;

with an 18-float vector observation (no CNN) and a 4-dim continuous action, on the CPU, in fp32 by default, with
``torch.compile`` off in both (our ``Config.compile=False``, sheeprl's ``algo.compile.enabled=False``).
``--precision bf16`` turns on bf16 autocast in both: our ``Config.amp`` and sheeprl's Lightning Fabric
``bf16-mixed`` (which runs every module set up by Fabric under ``torch.autocast``).
Both train on the same real hockey games (``dreamer_edu.experiments.collect_episodes``), each implementation
in its own batch layout: ours (B, T, ...) from our replay buffer, sheeprl's (T, B, ...) windows of the same
concatenated episodes, as its sequential buffer gives them.

Two sheeprl rows per size: its default for continuous actions (the actor learns by backpropagating the
lambda-returns through the imagined dynamics, ``algo.actor.objective_mix=null``) and
``objective_mix=1`` (REINFORCE, imagination without gradients, which is what our actor does).

Timing: warm-up updates are not timed; then ``--repeats`` rounds, each timing ``--updates`` updates of ours,
then of sheeprl (and its REINFORCE variant), interleaved so that a change in the machine's load hits all of them;
the table gives medians over rounds.  Same number of torch threads for all (``--threads``, default 1).

sheeprl is not a dependency of this project: make a separate virtual environment for this script, e.g.

    python -m venv ~/venvs/peer
    ~/venvs/peer/bin/pip install torch==2.13.0 sheeprl
    ~/venvs/peer/bin/pip install -e . --no-deps       # this package, into the same venv
    ~/venvs/peer/bin/python benchmarks/peer_sheeprl.py --repeats 5 --updates 10

(``pip install -e . --no-deps`` skips our pinned requirements; install any that are missing, e.g. ``tqdm``.)

Usage: ``python benchmarks/peer_sheeprl.py [--threads 1] [--repeats 5] [--updates 10] [--quick-updates 40]
[--warmup 2] [--games 20] [--configs default quick] [--precision fp32|bf16] [--no-reinforce] [--csv PATH]``
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import warnings

try:
    import sheeprl  # first, so that a missing sheeprl is what the message names
    import gymnasium as gym
    import hydra
    from hydra import compose, initialize_config_module
    from lightning.fabric import Fabric
    from omegaconf import OmegaConf
    from sheeprl.algos.dreamer_v3 import dreamer_v3 as sheeprl_dv3
    from sheeprl.algos.dreamer_v3.agent import build_agent
    from sheeprl.algos.dreamer_v3.utils import Moments as SheeprlMoments
    from sheeprl.utils.utils import dotdict
except ImportError as err:
    sys.exit(f"peer_sheeprl.py: sheeprl is not importable ({err}); run this script with a venv that has "
             "torch and sheeprl (see the docstring: pip install torch==2.13.0 sheeprl && pip install -e . --no-deps)")

import numpy as np
import torch

from common import write_csv
from dreamer_edu.agent import Dreamer
from dreamer_edu.config import Config
from dreamer_edu.agent import batch_to_torch
from dreamer_edu.experiments import collect_episodes, fill_buffer

OBS_DIM, ACTION_DIM = 18, 4
POOL = 8  # distinct batches per implementation, reused in turn
NOAUX = "dreamer_edu use_aux_heads=False"


# --- sheeprl ------------------------------------------------------------------------------------------
FABRIC_PRECISION = {"fp32": "32-true", "bf16": "bf16-mixed"}


def sheeprl_overrides(c: Config, reinforce: bool) -> list[str]:
    """Hydra overrides that give sheeprl's DreamerV3 our sizes (vector observation only, no CNN, CPU) and our
    precision (fp32, or bf16 autocast: Lightning Fabric's "bf16-mixed" when ``c.amp``)."""
    overrides = [
        "exp=dreamer_v3", "env=dummy",
        "algo.cnn_keys.encoder=[]", "algo.cnn_keys.decoder=[]",
        "algo.mlp_keys.encoder=[state]", "algo.mlp_keys.decoder=[state]",
        f"algo.world_model.recurrent_model.recurrent_state_size={c.deter_size}",
        f"algo.world_model.stochastic_size={c.latent_length}",
        f"algo.world_model.discrete_size={c.latent_classes}",
        f"algo.dense_units={c.hidden_size}",          # every MLP, and the GRU's input layer
        f"algo.mlp_layers={c.mlp_layers}",
        f"algo.world_model.transition_model.hidden_size={c.hidden_size}",
        f"algo.world_model.representation_model.hidden_size={c.hidden_size}",
        # our initial state is all zeros; sheeprl's default learns it (256 parameters)
        "algo.world_model.learnable_initial_recurrent_state=False",
        f"algo.per_rank_batch_size={c.batch_size}",
        f"algo.per_rank_sequence_length={c.batch_length}",
        f"algo.horizon={c.horizon}",
        "algo.compile.enabled=False",
        "fabric.accelerator=cpu", "fabric.devices=1", f"fabric.precision={fabric_precision(c)}",
    ]
    if reinforce:
        overrides.append("algo.actor.objective_mix=1")
    return overrides


def fabric_precision(c: Config) -> str:
    return FABRIC_PRECISION["bf16" if c.amp else "fp32"]


class SheeprlUpdate:
    """sheeprl's DreamerV3 agent, optimisers and Moments, as its ``main`` builds them; ``step(batch)`` is one update."""

    def __init__(self, config: Config, reinforce: bool):
        with initialize_config_module(config_module="sheeprl.configs", version_base="1.3"):
            cfg = compose(config_name="config", overrides=sheeprl_overrides(config, reinforce))
        self.cfg = cfg = dotdict(OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False))
        self.fabric = Fabric(accelerator="cpu", devices=1, precision=fabric_precision(config))
        obs_space = gym.spaces.Dict({"state": gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)})
        self.actions_dim = (ACTION_DIM,)
        self.world_model, self.actor, self.critic, self.target_critic, _player = build_agent(
            self.fabric, self.actions_dim, True, cfg, obs_space)
        a = cfg.algo
        opts = [hydra.utils.instantiate(a.world_model.optimizer, params=self.world_model.parameters(), _convert_="all"),
                hydra.utils.instantiate(a.actor.optimizer, params=self.actor.parameters(), _convert_="all"),
                hydra.utils.instantiate(a.critic.optimizer, params=self.critic.parameters(), _convert_="all")]
        self.world_opt, self.actor_opt, self.critic_opt = self.fabric.setup_optimizers(*opts)
        m = a.actor.moments
        self.moments = SheeprlMoments(m.decay, m.max, m.percentile.low, m.percentile.high)
        self.updates = 0

    def step(self, batch: dict[str, torch.Tensor]) -> None:
        c = self.cfg.algo.critic
        if self.updates % c.per_rank_target_network_update_freq == 0:   # as in sheeprl's main loop
            tau = 1 if self.updates == 0 else c.tau
            for cp, tcp in zip(self.critic.module.parameters(), self.target_critic.parameters()):
                tcp.data.copy_(tau * cp.data + (1 - tau) * tcp.data)
        sheeprl_dv3.train(self.fabric, self.world_model, self.actor, self.critic, self.target_critic,
                          self.world_opt, self.actor_opt, self.critic_opt, batch, None, self.cfg, True,
                          self.actions_dim, self.moments)
        self.updates += 1

    def parameter_counts(self) -> tuple[int, int, int]:
        return tuple(sum(p.numel() for g in opt.param_groups for p in g["params"])
                     for opt in (self.world_opt, self.actor_opt, self.critic_opt))


def sheeprl_stream(episodes: list[dict]) -> dict[str, np.ndarray]:
    """The episodes one after another in sheeprl's buffer convention: row t holds obs_t, the action taken at
    obs_t (zero on an episode's last row), the reward received on arriving at obs_t, and the flags."""
    parts = {k: [] for k in ("state", "actions", "rewards", "terminated", "truncated", "is_first")}
    for ep in episodes:
        n = len(ep["obs"])
        parts["state"].append(ep["obs"])
        parts["actions"].append(np.concatenate([ep["action"][1:], np.zeros((1, ACTION_DIM), np.float32)]))
        parts["rewards"].append(ep["reward"][:, None])
        parts["terminated"].append(ep["is_terminal"][:, None])
        parts["truncated"].append((ep["is_last"] & ~ep["is_terminal"])[:, None])
        parts["is_first"].append((np.arange(n) == 0)[:, None])
    return {k: np.concatenate(v).astype(np.float32) for k, v in parts.items()}


def sheeprl_batch(stream: dict[str, np.ndarray], rng: np.random.Generator, batch: int, length: int):
    """``batch`` random windows of ``length`` rows, (T, B, ...) float tensors, as sheeprl's sampler yields them."""
    total = len(stream["state"])
    starts = rng.integers(0, total - length + 1, size=batch)
    idx = starts[None, :] + np.arange(length)[:, None]                        # (T, B)
    return {k: torch.from_numpy(v[idx]) for k, v in stream.items()}


# --- ours ---------------------------------------------------------------------------------------------
class OursUpdate:
    def __init__(self, config: Config):
        self.agent = Dreamer(config.replace(compile=False), obs_dim=OBS_DIM, action_dim=ACTION_DIM, device="cpu")

    def step(self, batch: dict[str, torch.Tensor]) -> None:
        self.agent.train_step(batch)

    def parameter_counts(self) -> tuple[int, int, int]:
        a = self.agent
        return tuple(sum(p.numel() for g in opt.param_groups for p in g["params"])
                     for opt in (a.world_opt, a.actor_opt, a.critic_opt))


# --- timing -------------------------------------------------------------------------------------------
def time_round(impl, batches: list, updates: int, start: int) -> float:
    """Seconds per update over ``updates`` consecutive updates."""
    t0 = time.perf_counter()
    for i in range(updates):
        impl.step(batches[(start + i) % len(batches)])
    return (time.perf_counter() - t0) / updates


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # kilobytes on Linux


def sizes_label(c: Config) -> str:
    return (f"deter {c.deter_size}, {c.latent_length}x{c.latent_classes} latents, {c.hidden_size}x{c.mlp_layers} "
            f"MLP, batch {c.batch_size}x{c.batch_length}, H {c.horizon}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both implementations")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds; the table gives medians")
    parser.add_argument("--updates", type=int, default=10, help="timed updates per round at the default sizes")
    parser.add_argument("--quick-updates", type=int, default=40, help="timed updates per round at the quick sizes")
    parser.add_argument("--warmup", type=int, default=2, help="untimed updates of each implementation first")
    parser.add_argument("--games", type=int, default=20, help="hockey games (weak vs weak) to train on")
    parser.add_argument("--configs", nargs="+", default=["default", "quick"], choices=["default", "quick"])
    parser.add_argument("--no-noaux", action="store_true",
                        help="skip our row without the auxiliary heads (use_aux_heads=False)")
    parser.add_argument("--no-reinforce", action="store_true",
                        help="skip the sheeprl row with the REINFORCE actor (objective_mix=1)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                        help="bf16: bf16 autocast in both (our Config.amp, sheeprl's fabric.precision=bf16-mixed)")
    parser.add_argument("--csv", default="benchmarks/results/peer_sheeprl.csv")
    args = parser.parse_args()
    if min(args.threads, args.repeats, args.updates, args.quick_updates, args.games) < 1 or args.warmup < 0:
        parser.error("--threads, --repeats, --updates, --quick-updates and --games must be >= 1, --warmup >= 0")

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", module="lightning")
    load = os.getloadavg()
    print(f"torch {torch.__version__}, sheeprl {sheeprl.__version__}, CPU ({platform.processor() or platform.machine()}),"
          f" {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()} for both implementations, "
          f"precision {args.precision} in both")
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}: the machine is shared and other jobs "
          "run on it, so rounds are interleaved and medians reported; compare ratios, not absolute rates")

    t0 = time.perf_counter()
    episodes = collect_episodes(args.games, player="weak", opponent="weak", seed=0)
    steps = sum(len(ep["obs"]) for ep in episodes)
    print(f"data: {args.games} hockey games, weak vs weak ({steps} steps, {time.perf_counter() - t0:.1f} s)")
    stream = sheeprl_stream(episodes)

    rows, rss_ours_only = [], None
    for name in args.configs:
        config = (Config() if name == "default" else Config.quick()).replace(amp=args.precision == "bf16")
        updates = args.updates if name == "default" else args.quick_updates
        rng = np.random.default_rng(0)
        buffer = fill_buffer(episodes, config, seed=0)   # DreamSmooth-ed rewards, as our trainer replays them
        ours_batches = [batch_to_torch(buffer.sample(config.batch_size, config.batch_length)) for _ in range(POOL)]
        theirs_batches = [sheeprl_batch(stream, rng, config.batch_size, config.batch_length) for _ in range(POOL)]

        impls = []
        torch.manual_seed(0)
        impls.append(("dreamer_edu", OursUpdate(config), ours_batches))
        if not args.no_noaux:
            torch.manual_seed(0)
            impls.append((NOAUX, OursUpdate(config.replace(use_aux_heads=False)), ours_batches))
        impls.append(("sheeprl", None, theirs_batches))
        if not args.no_reinforce:
            impls.append(("sheeprl objective_mix=1", None, theirs_batches))
        # warm up ours before sheeprl's models exist, so that the first peak RSS is ours alone
        for _, impl, batches in impls:
            for i in range(args.warmup if impl is not None else 0):
                impl.step(batches[i % POOL])
        if rss_ours_only is None:
            rss_ours_only = peak_rss_mb()
        for k in range(len(impls)):
            if impls[k][1] is not None:
                continue
            torch.manual_seed(0)
            label, _, batches = impls[k]
            impl = SheeprlUpdate(config, reinforce=label.endswith("=1"))
            impls[k] = (label, impl, batches)
            for i in range(args.warmup):
                impl.step(batches[i % POOL])

        per_round = {label: [] for label, _, _ in impls}
        print(f"\n{name}: {sizes_label(config)}; {args.repeats} rounds x {updates} updates each, "
              f"after {args.warmup} warm-up updates")
        for r in range(args.repeats):
            line = []
            for label, impl, batches in impls:
                sec = time_round(impl, batches, updates, start=args.warmup + r * updates)
                per_round[label].append(sec)
                line.append(f"{label} {sec * 1000:.0f} ms")
            print(f"  round {r + 1}: " + ", ".join(line), flush=True)

        ours_ms = statistics.median(per_round["dreamer_edu"]) * 1000
        noaux_ms = statistics.median(per_round[NOAUX]) * 1000 if NOAUX in per_round else None
        for label, impl, _ in impls:
            ms = statistics.median(per_round[label]) * 1000
            world, actor, critic = impl.parameter_counts()
            theirs = label.startswith("sheeprl")
            paired = "" if not theirs else round(statistics.median(
                t / o for o, t in zip(per_round["dreamer_edu"], per_round[label])), 2)
            rows.append({
                "config": name, "implementation": label, "sizes": sizes_label(config),
                "params": world + actor + critic, "world_model_params": world, "actor_params": actor,
                "critic_params": critic,
                "updates_per_s": round(1000 / ms, 3),
                "replayed_steps_per_s": round(1000 / ms * config.batch_size * config.batch_length),
                "ms_per_update": round(ms, 1),
                "ours_over_theirs": round(ms / ours_ms, 2) if theirs else "",
                "ours_over_theirs_paired": paired,
                "ours_noaux_over_theirs": round(ms / noaux_ms, 2) if theirs and noaux_ms else "",
                "precision": args.precision, "threads": torch.get_num_threads(), "rounds": args.repeats, "updates_per_round": updates,
            })

    rss_all = peak_rss_mb()
    show = ["config", "implementation", "params", "world_model_params", "actor_params", "critic_params",
            "updates_per_s", "replayed_steps_per_s", "ms_per_update", "ours_over_theirs", "ours_over_theirs_paired",
            "ours_noaux_over_theirs"]
    widths = [max(len(k), *(len(str(r[k])) for r in rows)) for k in show]
    print()
    print("  ".join(k.rjust(w) for k, w in zip(show, widths)))
    for r in rows:
        print("  ".join(str(r[k]).rjust(w) for k, w in zip(show, widths)))
    for name in args.configs:
        print(f"{name}: {next(r['sizes'] for r in rows if r['config'] == name)}")
    print("ours_over_theirs = our updates/s (Config() defaults) / theirs, ratio of the medians; _paired = median "
          "over rounds of the per-round ratio; ours_noaux_over_theirs: ours with use_aux_heads=False (the same "
          "parameter count as sheeprl's).  > 1: ours is faster.")
    print(f"peak RSS of this process: {rss_ours_only:.0f} MB after our warm-up (before sheeprl's models existed), "
          f"{rss_all:.0f} MB at the end (both implementations, all sizes)")
    load = os.getloadavg()
    print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    for r in rows:
        r["peak_rss_MB_process"] = round(rss_all)
    write_csv(rows, args.csv)


if __name__ == "__main__":
    main()
