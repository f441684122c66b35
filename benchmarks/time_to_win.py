"""DreamerV3 (dreamer_edu) vs SAC (stable-baselines3) on hockey: win rate against the same opponent over equal time.

Both learners train on ``make_env(mode, opponent)``; they take turns in chunks of ``--chunk-minutes`` of their own
compute until each has had ``--minutes``, and after every chunk both are evaluated on the same fixed games (the
trainer's evaluation seeds), greedy actions.  Interleaving means a busy machine slows both alike.

Time is **CPU time of this process** spent training (acting + learning, evaluation excluded) with ``--threads``
torch threads.  On an otherwise idle machine with one thread that equals wall-clock time; unlike wall-clock
time it stays fair when other programs share the machine.  On a GPU, use ``--clock wall``.

SAC uses stable-baselines3's defaults (the setting most course students start from): MLP 256x256, buffer 1M,
batch 256, one gradient step per env step, automatic entropy tuning.

stable-baselines3 is not a dependency of dreamer_edu: run this in a separate environment, e.g.
``python -m venv ~/venvs/peer && ~/venvs/peer/bin/pip install torch==2.13.0 stable-baselines3 box2d tqdm
tensorboard && ~/venvs/peer/bin/pip install --no-deps -e .``, then
``~/venvs/peer/bin/python benchmarks/time_to_win.py --minutes 30``.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import write_csv
from dreamer_edu.config import Config
from dreamer_edu.envs import make_env
from dreamer_edu.evaluate import Outcome, play_games
from dreamer_edu.trainer import EVAL_SEED, Trainer


class Clock:
    """Seconds of CPU time of this process (``cpu``) or of the wall clock (``wall``)."""

    def __init__(self, kind: str):
        self.now = time.process_time if kind == "cpu" else time.perf_counter


class DreamerLearner:
    name = "DreamerV3 (dreamer_edu)"

    def __init__(self, config: Config, folder: Path):
        self.trainer = Trainer(config, folder / "dreamer", progress=False)
        self.agent = self.trainer.agent

    @property
    def env_steps(self) -> int:
        return self.trainer.env_steps

    def train_for(self, seconds: float, clock: Clock) -> None:
        """Whole games (random during warmup) until ``seconds`` of the clock have passed."""
        t, end = self.trainer, clock.now() + seconds
        while clock.now() < end:
            t.play_round()           # one round of games (random during the warm-up), learning when due
        t.flush_metrics()    # the non-finite check runs here too


class SACPolicy:
    """Adapter: gives an SB3 model the agent interface that ``play_games`` uses (``obs_dim``,
    ``initial_policy_state``, ``policy(obs, state, explore, is_first)`` on a batch of games).  SAC has no memory,
    so its state is None and ``is_first`` changes nothing."""

    obs_dim = 18

    def __init__(self, model):
        self.model = model

    def initial_policy_state(self, num_envs: int = 1):
        return None

    def policy(self, obs, state=None, explore: bool = False, is_first=None):
        action, _ = self.model.predict(obs, deterministic=not explore)    # (N, 4) for (N, 18)
        return action.astype(np.float32), state


class SACLearner:
    name = "SAC (stable-baselines3)"

    def __init__(self, mode: str, opponent: str, seed: int):
        try:
            from stable_baselines3 import SAC
            from stable_baselines3.common.callbacks import BaseCallback
        except ImportError:
            raise SystemExit("error: stable-baselines3 is not installed; see the docstring of "
                             "benchmarks/time_to_win.py for a separate environment") from None
        self.env = make_env(mode=mode, opponent=opponent)
        self.model = SAC("MlpPolicy", self.env, seed=seed, device="cpu" if not torch.cuda.is_available() else "auto",
                         verbose=0)
        self.agent = SACPolicy(self.model)
        self.callback_base = BaseCallback
        self.first = True

    @property
    def env_steps(self) -> int:
        return int(self.model.num_timesteps)

    def train_for(self, seconds: float, clock: Clock) -> None:
        end = clock.now() + seconds

        class StopAtTime(self.callback_base):
            def _on_step(self) -> bool:
                return clock.now() < end

        self.model.learn(total_timesteps=10**9, callback=StopAtTime(), reset_num_timesteps=self.first,
                         progress_bar=False)
        self.first = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training time for each learner")
    parser.add_argument("--chunk-minutes", type=float, default=5.0, help="evaluate both after each chunk")
    parser.add_argument("--mode", default="NORMAL", choices=["NORMAL", "TRAIN_SHOOTING", "TRAIN_DEFENSE"])
    parser.add_argument("--opponent", default="weak", choices=["weak", "strong", "none"])
    parser.add_argument("--dreamer-config", default="quick", choices=["quick", "default"],
                        help="Config.quick() (CPU-sized) or Config() (the guide's sizes)")
    parser.add_argument("--eval-games", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", default="cpu", choices=["cpu", "wall"])
    parser.add_argument("--csv", default="benchmarks/results/time_to_win.csv")
    args = parser.parse_args()
    if args.minutes <= 0 or args.chunk_minutes <= 0 or args.eval_games < 1:
        parser.error("--minutes, --chunk-minutes and --eval-games must be positive")
    torch.set_num_threads(args.threads)
    clock = Clock(args.clock)
    base = Config.quick() if args.dreamer_config == "quick" else Config()
    config = base.replace(mode=args.mode, opponent=args.opponent, seed=args.seed, threads=args.threads,
                          device="auto", total_env_steps=10**9, eval_every_steps=10**9)
    random = play_games(None, args.eval_games, opponent=args.opponent, mode=args.mode, seed=EVAL_SEED)
    print(f"{args.mode} vs {args.opponent}: {args.minutes:g} min of {args.clock} time each, chunks of "
          f"{args.chunk_minutes:g} min, {args.threads} torch thread(s), eval on {args.eval_games} fixed games; "
          f"random policy wins {random.win_rate:.0%}", flush=True)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        learners = [DreamerLearner(config, Path(tmp)), SACLearner(args.mode, args.opponent, args.seed)]
        spent = {learner.name: 0.0 for learner in learners}
        while min(spent.values()) < 60 * args.minutes - 1e-6:
            for learner in learners:
                seconds = min(60 * args.chunk_minutes, 60 * args.minutes - spent[learner.name])
                start = clock.now()
                learner.train_for(seconds, clock)
                spent[learner.name] += clock.now() - start
                outcome: Outcome = play_games(learner.agent, args.eval_games, opponent=args.opponent,
                                              mode=args.mode, seed=EVAL_SEED, parallel=args.eval_games)
                row = {"learner": learner.name, "minutes": round(spent[learner.name] / 60, 2),
                       "env_steps": learner.env_steps, "win_rate": outcome.win_rate,
                       "draw_rate": outcome.draw_rate, "loss_rate": outcome.loss_rate}
                rows.append(row)
                print(f"  {learner.name:26s} {row['minutes']:6.1f} min {row['env_steps']:>8} env steps  "
                      f"{outcome.summary()}", flush=True)

    print(f"\n{'minutes':>8}  " + "  ".join(f"{n:>26}" for n in spent))
    for chunk in sorted({r["minutes"] for r in rows if r["learner"] == learners[0].name}):
        i = [r["minutes"] for r in rows if r["learner"] == learners[0].name].index(chunk)
        cells = []
        for learner in learners:
            mine = [r for r in rows if r["learner"] == learner.name]
            r = mine[min(i, len(mine) - 1)]
            cells.append(f"{r['win_rate']:>6.0%} win ({r['env_steps']:>7} steps)")
        print(f"{chunk:>8.1f}  " + "  ".join(f"{c:>26}" for c in cells))
    write_csv(rows, args.csv)


if __name__ == "__main__":
    main()
