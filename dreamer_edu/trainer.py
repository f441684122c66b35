"""The training loop (guide ch. 12), with the diagnostics of ch. 14.

Read it top to bottom in ``Trainer.train``: while the run is not over, it plays a round of games
(``play_round``: one game in each of the ``train_envs`` training envs, side by side), then evaluates and
checkpoints when they are due.  Inside a round, every real environment step is

1. **act**: the agent acts (one posterior RSSM step and an actor sample; uniformly random actions during the
   ``warmup_episodes`` first games) and the step is recorded (``games.Game``);
2. **learn when due**: the replay ratio earns "update credit", ``replay_ratio / (batch_size * batch_length)``
   updates per env step (see ``config.py``); each whole credit is one ``Dreamer.train_step`` on a fresh batch;
3. **store**: a finished game goes into the replay buffer (its rewards DreamSmooth-ed there).

After each round: every ``eval_every_steps``, games against the opponent with the actor's mode (``eval.csv``,
TensorBoard); when ``checkpoint_minutes`` have passed, a checkpoint.  Before a round, when due: the next
curriculum stage (``Config.curriculum``) and a new snapshot in the self-play pool (opponent ``"self"``,
``selfplay.py``).

Metrics stay on the device and are read once per ``log_every_updates`` updates; that read also checks that
every loss is finite, and stops the run naming the bad term if not (the last checkpoint on disk was written
before, from finite values).  Checkpoints are only written between games, so a resumed run starts a fresh game
with exactly the buffer, weights, optimisers, counters and random states that were saved.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import random
import re
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .agent import Dreamer, all_finite, resolve_device, set_threads
from .checkpoint import (CHECKPOINT_NAME, FORMAT_VERSION, REPLAY_NAME, CheckpointError, finish_interrupted_save,
                         read_checkpoint, save_run_files)
from .config import SELF_PLAY, Config, ConfigWarning
from .dreamsmooth import smooth_rewards
from .envs import make_env
from .evaluate import play_games
from .games import ACTION_DIM, OBS_DIM, Game
from .replay import ReplayBuffer
from .selfplay import SelfPlayPool, SnapshotOpponent

EVAL_SEED = 1_000_000        # evaluation games use their own seeds, the same at every evaluation
ENTROPY_CHECK_STEPS = 200_000  # guide ch. 14: entropy that has not fallen after this many env steps
SATURATION_WARN = 0.5          # share of imagined actions at +-1 above which the policy is mostly bang-bang
SATURATION_STREAK = 20         # ... for this many log intervals in a row
STD_CLIMB_FACTOR = 1.5         # sigma this many times its first logged value, and past half its upper bound
COST_REPORT_SECONDS = 60.0     # the speed (and the time the run will take) is reported after this much training
SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}   # 128 + the signal's number, the shell's convention
CPU_HINT_SECONDS = 12 * 3600   # a CPU run expected to take longer than this gets a hint to use --quick


class TrainingDiverged(RuntimeError):
    """A loss became NaN or inf."""


class Trainer:
    def __init__(self, config: Config, run_dir: str | Path, resume: bool = False, progress: bool = True,
                 total_env_steps: int | None = None, on_log=None, on_eval=None, threads: int | None = None,
                 device: str | None = None):
        """``on_log(trainer, metrics)`` is called after each logging interval with the averaged metrics, and
        ``on_eval(trainer, row)`` after each evaluation: hooks for live plots (notebook 08).

        ``threads`` and ``device``, when given, replace the config's (also a resumed run's saved config): they
        change where and how fast the run computes, not what it learns."""
        self.run_dir = Path(run_dir)
        self.progress = progress
        self.on_log, self.on_eval = on_log, on_eval
        self.history: list[dict[str, float]] = []   # one row per logging interval: env_steps, updates, metrics
        checkpoint = None
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise ValueError(f"{self.run_dir} is a file, not a run directory; choose another --run-dir")
        if resume:
            finish_interrupted_save(self.run_dir)
            checkpoint = read_checkpoint(self.run_dir / CHECKPOINT_NAME)
            config = Config.from_dict(checkpoint["config"])
        if total_env_steps is not None:
            config = config.replace(total_env_steps=int(total_env_steps))
        if threads is not None:
            config = config.replace(threads=int(threads))
        if device is not None:
            config = config.replace(device=device)
        if resume and config.cuda_graphs and resolve_device(config.device).type != "cuda":
            # CUDA graphs only change how fast an update runs, not what it computes
            warnings.warn(f"this run was trained with cuda_graphs=true, which needs a CUDA GPU, but its device "
                          f"here is {resolve_device(config.device)}; it continues with cuda_graphs=false, and "
                          "its checkpoints from now on say so", ConfigWarning, stacklevel=2)
            config = config.replace(cuda_graphs=False)
        self.config = config.validate()
        c = self.config
        set_threads(c.threads)
        self.device = resolve_device(c.device)
        random.seed(c.seed)
        np.random.seed(c.seed)
        torch.manual_seed(c.seed)
        self.rng = np.random.default_rng(c.seed)  # random warmup actions and per-game seeds

        # training games run side by side (train_envs of them), one batched policy call per step for all
        self.train_mode = c.mode_at(0)             # the curriculum's mode (``Config.curriculum``), else ``mode``
        # (one set per opponent of the mixture, ``Config.opponent``: each game draws its opponent)
        self.envs = self._training_envs()
        # evaluation games run side by side, one batched policy call per step for all of them
        self.eval_envs = {name: [make_env(mode=c.mode, opponent=name, backend=c.backend)
                                 for _ in range(min(c.eval_parallel, c.eval_games))]
                          for name in c.eval_opponents}
        self.agent = Dreamer(c, OBS_DIM, ACTION_DIM, device=self.device)
        # the self-play pool (opponent "self"): frozen snapshots of the agent, the first one taken before
        # the first round
        self.pool = SelfPlayPool(c.selfplay_pool_size, c.selfplay_sampling) if c.uses_selfplay else None
        self.next_snapshot = 0
        self.buffer = ReplayBuffer(c.buffer_capacity, OBS_DIM, ACTION_DIM, seed=c.seed,
                                   reward_smoother=self._reward_smoother())
        self.env_steps = 0
        self.episodes = 0
        self.update_credit = 0.0
        self.next_eval = c.eval_every_steps
        self.last_eval: dict | None = None         # the headline (first) opponent's last evaluation row
        self.last_evals: dict[str, dict] = {}      # ... and every opponent's, by name
        self.recent_outcomes: list[int] = []
        self.warned: set[str] = set()
        self.first_entropy: float | None = None
        self.floor_streak = 0
        self.saturation_streak = 0
        self.first_std: float | None = None
        self.resumed_from: int | None = None
        self.wall_seconds_before = 0.0             # wall-clock seconds of earlier train() calls (and resumed runs)
        self.stop_signal: str | None = None       # "SIGINT" or "SIGTERM" once one asked the run to stop
        self.deadline: float | None = None        # when train(max_minutes=...) must stop (perf_counter time)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if checkpoint is not None:
            self._restore(checkpoint)
            self._follow_curriculum()          # a resumed run continues in its curriculum stage
        else:
            (self.run_dir / "config.json").write_text(json.dumps(c.to_dict(), indent=2))
        self.writer = None
        self.last_metrics: dict[str, float] = {}
        self._pending: dict[str, torch.Tensor] = {}
        self._pending_count = 0

    # --- helpers --------------------------------------------------------------------------------
    def _reward_smoother(self):
        c = self.config
        if not c.use_dreamsmooth:
            return None
        return lambda rewards, is_last: smooth_rewards(rewards, is_last, method=c.dreamsmooth_method,
                                                       alpha=c.dreamsmooth_alpha)

    def _tensorboard(self):
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(self.run_dir / "tb"))
        return self.writer

    def close(self) -> None:
        """Close the TensorBoard writer (a later evaluation or log opens it again)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def log(self, message: str) -> None:
        tqdm.write(message) if self.progress else print(message, flush=True)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.log(f"WARNING: {message}")

    # --- one round of games: act, learn when due, store ----------------------------------------------
    def play_round(self) -> list[Game]:
        """One game in each training env, side by side, each played to its end; the body of ``train``'s loop.

        Every step of the round:

        1. **act**: the agent acts in all games with one batched call (during the warm-up games: uniformly random
           actions), and each game that is still running takes its step;
        2. **learn when due**: each env step earns ``updates_per_env_step`` of update credit, and every whole
           credit is one ``Dreamer.train_step`` on a fresh replayed batch (no learning during the warm-up);
        3. **store**: a game that has just ended goes into the replay buffer (its rewards DreamSmooth-ed there).

        A game that has ended waits for the others, so checkpoints always fall between games.  When a signal
        asks the run to stop (``stop_signal``), the games in progress end after the step in progress: each is
        stored cut short, as a time limit would end it, so the checkpoint that follows keeps every step played.
        """
        c = self.config
        warmup = self.episodes < c.warmup_episodes
        self._follow_curriculum()
        self._snapshot_if_due()
        games, snapshots = [], []          # snapshots[i]: the pool index player two plays in game i, or None
        for i, name in enumerate(self._draw_opponents()):
            env = self.envs[name][i]
            snapshots.append(self._load_snapshot(env.opponent) if name == SELF_PLAY else None)
            games.append(Game(env, seed=int(self.rng.integers(2**31))))
        state = None
        while not all(game.done for game in games):
            if self.stop_signal is not None:
                for game in games:
                    if not game.done and game.steps > 0:
                        game.cut()
                        self.buffer.add_episode(game.episode())
                break
            if not warmup:
                obs = np.stack([game.obs for game in games])                             # (N, 18)
                actions, state = self.agent.policy(obs, state, explore=True)            # (N, 4)
            for i, game in enumerate(games):
                if game.done:                                  # this game has ended; the others play on
                    continue
                game.step(self.rng.uniform(-1.0, 1.0, size=ACTION_DIM).astype(np.float32) if warmup
                          else actions[i])                                               # 1. act
                self.env_steps += 1
                if not warmup:
                    self.learn_if_due()                                                  # 2. learn when due
                if game.done:
                    self._store(game, snapshots[i])                                      # 3. store
        return games

    def _training_envs(self) -> dict[str, list]:
        """``train_envs`` games side by side for each opponent of the mixture, in the current training mode
        (against ``"self"``: a ``SnapshotOpponent`` each, loaded with a snapshot from the pool before each game)."""
        c = self.config
        return {name: [make_env(mode=self.train_mode, backend=c.backend, closeness_scale=c.reward_closeness_scale,
                                opponent=SnapshotOpponent(c, self.device) if name == SELF_PLAY else name)
                       for _ in range(c.train_envs)]
                for name, _ in c.opponent_mixture()}

    def _draw_opponents(self) -> list[str]:
        """The opponent of each training game of the round: drawn from the mixture (one opponent: no draw)."""
        mixture = self.config.opponent_mixture()
        if len(mixture) == 1:
            return [mixture[0][0]] * self.config.train_envs
        names, probabilities = zip(*mixture)
        return [names[i] for i in self.rng.choice(len(names), size=self.config.train_envs, p=probabilities)]

    def _follow_curriculum(self) -> None:
        """Training games in the mode of the curriculum's current stage (``Config.curriculum``)."""
        c = self.config
        if c.mode_at(self.env_steps) != self.train_mode:
            self.train_mode = c.mode_at(self.env_steps)
            self.envs = self._training_envs()
            self.log(f"curriculum: training games in {self.train_mode} from env step {self.env_steps}")

    def _snapshot_if_due(self) -> None:
        """Every ``selfplay_every_steps`` env steps, a frozen copy of the agent joins the self-play pool."""
        if self.pool is not None and self.env_steps >= self.next_snapshot:
            self.pool.add(self.agent, self.env_steps)
            self.next_snapshot = self.env_steps + self.config.selfplay_every_steps

    def _load_snapshot(self, player: SnapshotOpponent) -> int:
        """Draw the snapshot that plays the next game against the agent and load it into ``player``."""
        index = self.pool.draw(self.rng)
        player.load(index, self.pool.snapshots[index]["weights"])
        return index

    def _store(self, game: Game, snapshot: int | None = None) -> None:
        self.buffer.add_episode(game.episode())
        self.episodes += 1
        self.recent_outcomes = (self.recent_outcomes + [game.winner])[-50:]
        if snapshot is not None:
            self.pool.record(snapshot, game.winner)     # the snapshot's record against the agent

    def learn_if_due(self) -> None:
        """One env step's share of learning: add ``updates_per_env_step`` credit, run the updates now due."""
        c = self.config
        self.update_credit += c.updates_per_env_step
        while self.update_credit >= 1.0:
            self.update_credit -= 1.0
            batch = self.buffer.sample(c.batch_size, c.batch_length)
            metrics = self.agent.train_step(batch)
            for name, value in metrics.items():
                self._pending[name] = self._pending.get(name, 0.0) + value.detach().float()
            self._pending_count += 1
            if self._pending_count >= c.log_every_updates:
                self.flush_metrics()

    def flush_metrics(self) -> dict[str, float]:
        """Read the accumulated metrics (one host sync), check them, write TensorBoard, run the diagnostics."""
        if not self._pending_count:
            return {}
        ok, bad = all_finite(self._pending)
        if not ok:
            raise TrainingDiverged(
                f"non-finite loss at update {self.agent.updates}: {', '.join(bad)}; training stopped. "
                f"The last good checkpoint is {self.run_dir / CHECKPOINT_NAME}")
        names = list(self._pending)
        values = torch.stack([self._pending[n].reshape(()) for n in names]).cpu().tolist()
        means = {n: v / self._pending_count for n, v in zip(names, values)}
        self._pending, self._pending_count = {}, 0
        writer = self._tensorboard()
        for name, value in means.items():
            writer.add_scalar(name, value, self.env_steps)
        writer.add_scalar("train/updates", self.agent.updates, self.env_steps)
        self._diagnose(means)
        self.last_metrics = means
        self.history.append({"env_steps": self.env_steps, "updates": self.agent.updates, **means})
        if self.on_log is not None:
            self.on_log(self, means)
        return means

    def _diagnose(self, m: dict[str, float]) -> None:
        """The guide's warning signs (ch. 8 and 14), each printed once."""
        c = self.config
        if m["behavior/entropy_mean"] < 0:
            self._warn_once("entropy", f"policy entropy is negative ({m['behavior/entropy_mean']:.2f}): the entropy "
                            "bonus now pushes towards a deterministic policy; check log_std_min (guide ch. 6, 14)")
        self.floor_streak = self.floor_streak + 1 if m["diagnostics/return_range_at_floor"] >= 1.0 else 0
        if self.floor_streak >= 100:
            self._warn_once("floor", f"return range S has been at its floor ({c.return_norm_floor}) for "
                            f"{self.floor_streak} log intervals: no reward signal reaches the critic; check "
                            "world/reward_loss, DreamSmooth and the rewards (guide ch. 9, 14)")
        self.saturation_streak = self.saturation_streak + 1 if m["actor/saturation"] > SATURATION_WARN else 0
        if self.saturation_streak >= SATURATION_STREAK:
            self._warn_once("saturation", f"{m['actor/saturation']:.0%} of the actor's imagined actions sit at +-1 "
                            f"(over {SATURATION_WARN:.0%} for {self.saturation_streak} log intervals): the policy is "
                            "mostly bang-bang, and in the real game its actions are clipped; see actor/mean_std "
                            "(guide ch. 6, 14)")
        upper_std = (math.exp(c.log_std_max) if c.actor_dist == "tanh_normal" else c.max_std)
        if self.first_std is None:
            self.first_std = m["actor/mean_std"]
        elif (m["actor/mean_std"] > STD_CLIMB_FACTOR * self.first_std and m["actor/mean_std"] > 0.5 * upper_std):
            self._warn_once("std_climb", f"the actor's sigma has climbed from {self.first_std:.2f} to "
                            f"{m['actor/mean_std']:.2f} (its upper bound is {upper_std:.2f}): the policy is growing "
                            "more random as it trains.  With actor_dist=tanh_normal the entropy bonus rewards the "
                            "Normal before the tanh, whose entropy keeps rising while the squashed action only "
                            "saturates; try actor_dist=bounded_normal or a smaller entropy_scale (guide ch. 6, 14)")
        if self.first_entropy is None:
            self.first_entropy = m["behavior/entropy_mean"]
        elif (self.env_steps >= ENTROPY_CHECK_STEPS
              and m["behavior/entropy_mean"] >= self.first_entropy - 0.05 * abs(self.first_entropy)):
            self._warn_once("entropy_flat", f"entropy has not fallen after {self.env_steps} env steps "
                            f"({m['behavior/entropy_mean']:.2f} vs {self.first_entropy:.2f} at the start): the world "
                            "model may not be learning; check world/recon_loss and world/kl_loss (guide ch. 14)")

    # --- evaluation -----------------------------------------------------------------------------
    def evaluate(self) -> dict:
        """Greedy games against every opponent of ``Config.opponent`` (one row each in ``eval.csv``; all of them in
        ``last_evals``).  Returns the first opponent's row, the run's headline result (``last_eval``)."""
        c = self.config
        rows = {}
        for name, envs in self.eval_envs.items():
            # evaluation must not shift the training run's random stream (a resumed run stays identical)
            devices = [self.device.index or 0] if self.device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):
                outcome = play_games(self.agent, c.eval_games, seed=EVAL_SEED, envs=envs)
            rows[name] = {"env_steps": self.env_steps, "updates": self.agent.updates, "episodes": self.episodes,
                          "wall_seconds": round(self.wall_seconds(), 1), "opponent": name, "mode": c.mode,
                          "games": outcome.games, "win_rate": outcome.win_rate, "draw_rate": outcome.draw_rate,
                          "loss_rate": outcome.loss_rate, "mean_return": outcome.mean_return}
            vs = f" vs {name}" if len(self.eval_envs) > 1 else ""
            self.log(f"eval at {self.env_steps} env steps ({self.agent.updates} updates){vs}: {outcome.summary()}")
        path = self.run_dir / "eval.csv"
        new = not path.exists()
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(next(iter(rows.values()))))
            if new:
                writer.writeheader()
            writer.writerows(rows.values())
        tb = self._tensorboard()
        row = next(iter(rows.values()))
        for key in ("win_rate", "draw_rate", "loss_rate", "mean_return"):
            tb.add_scalar(f"eval/{key}", row[key], self.env_steps)
            if len(rows) > 1:
                for name, each in rows.items():
                    tb.add_scalar(f"eval_{name}/{key}", each[key], self.env_steps)
        if self.pool is not None:
            games, wins = self.pool.agent_record()
            tb.add_scalar("selfplay/pool_size", len(self.pool), self.env_steps)
            if games:
                tb.add_scalar("selfplay/agent_win_rate", wins / games, self.env_steps)
            self.log(f"self-play pool: {self.pool.summary()}; the agent won {wins} of its {games} training games "
                     "against them")
        self.last_eval, self.last_evals = row, rows
        if self.on_eval is not None:
            self.on_eval(self, row)
        return row

    def wall_seconds(self) -> float:
        """Wall-clock seconds of training so far, earlier calls and resumed runs included."""
        return self.wall_before + time.perf_counter() - self.start_time

    # --- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Write ``replay.npz`` and ``checkpoint.pt`` as a pair: both are written in full under temporary names
        first and only then renamed over the old ones, so a run killed at any moment keeps a matching pair."""
        self.flush_metrics()  # never save parameters whose losses were not checked
        state = {
            "format": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "agent": self.agent.checkpoint_state(),
            "counters": {"env_steps": self.env_steps, "episodes": self.episodes,
                         "update_credit": self.update_credit, "next_eval": self.next_eval,
                         "wall_seconds": self.wall_seconds(), "buffer_episodes": self.buffer.total_episodes_added},
            "rng": {"torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                    "python": json.dumps(random.getstate()),
                    "numpy_global": json.dumps(_np_global_state()),
                    "trainer": json.dumps(self.rng.bit_generator.state)},
            "warned": sorted(self.warned),
        }
        if self.pool is not None:
            state["selfplay"] = {"pool": self.pool.state_dict(), "next_snapshot": self.next_snapshot}
        path = save_run_files(self.run_dir, state, self.buffer)
        self.last_checkpoint_time = time.perf_counter()
        return path

    def _restore(self, data: dict) -> None:
        replay_path = self.run_dir / REPLAY_NAME
        try:
            self.buffer = ReplayBuffer.load(str(replay_path), reward_smoother=self._reward_smoother())
        except (FileNotFoundError, ValueError) as err:
            raise CheckpointError(f"{replay_path}: cannot restore the replay buffer ({err})") from None
        counters = data["counters"]
        if self.buffer.total_episodes_added != counters["buffer_episodes"]:
            raise CheckpointError(f"{replay_path}: holds {self.buffer.total_episodes_added} episodes but "
                                  f"{CHECKPOINT_NAME} expects {counters['buffer_episodes']} (files from different saves)")
        self.agent.load_checkpoint_state(data["agent"])
        self.env_steps = int(counters["env_steps"])
        self.episodes = int(counters["episodes"])
        self.update_credit = float(counters["update_credit"])
        self.next_eval = int(counters["next_eval"])
        self.wall_seconds_before = float(counters["wall_seconds"])
        rng = data["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        random.setstate(_to_tuple(json.loads(rng["python"])))
        _set_np_global_state(json.loads(rng["numpy_global"]))
        self.rng.bit_generator.state = json.loads(rng["trainer"])
        self.warned = set(data.get("warned", []))
        if self.pool is not None:
            if "selfplay" not in data:
                raise CheckpointError(f"{self.run_dir / CHECKPOINT_NAME}: its config plays the self-play pool "
                                      "but it holds no pool")
            self.pool.load_state_dict(data["selfplay"]["pool"])
            self.next_snapshot = int(data["selfplay"]["next_snapshot"])
        self.resumed_from = self.env_steps

    # --- stopping on a signal -------------------------------------------------------------------
    @contextlib.contextmanager
    def _stop_on_signals(self):
        """While training, Ctrl-C (SIGINT) and SIGTERM ask the run to stop cleanly: the update in progress
        finishes, the games in progress go into the buffer cut short, and ``train`` saves and returns.  A second
        signal quits at once (KeyboardInterrupt), keeping the last checkpoint on disk.  Signals can only be
        caught in the main thread; elsewhere they keep their usual effect."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_stop(signum, frame):
            if self.stop_signal is not None:
                raise KeyboardInterrupt
            self.stop_signal = signal.Signals(signum).name
            self.log(f"{self.stop_signal} received: finishing the update in progress, then saving "
                     "(send it again to quit at once without saving)")

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # --- the cost of a run ------------------------------------------------------------------------
    def _report_cost(self, steps: int, updates: int, seconds: float) -> None:
        """After the first minute of training: the measured speed and what the rest of the run will take."""
        c = self.config
        steps_per_s, updates_per_s = steps / seconds, updates / seconds
        to_eval = max(0, self.next_eval - self.env_steps) / steps_per_s
        to_end = max(0, c.total_env_steps - self.env_steps) / steps_per_s
        end = f"the end (env step {c.total_env_steps:,}) in {format_duration(to_end)}"
        if self.deadline is not None and self.deadline - time.perf_counter() < to_end:   # the time budget first
            left = max(0.0, self.deadline - time.perf_counter())
            end = (f"the end of the time budget in {format_duration(left)} "
                   f"(near env step {self.env_steps + int(left * steps_per_s):,})")
        self.log(f"speed over the first {seconds / 60:.1f} min of training on {self.device} ({_threads_text()}): "
                 f"{updates_per_s:.2f} updates/s, {steps_per_s:.1f} env steps/s; at this pace the next evaluation "
                 f"(env step {self.next_eval:,}) comes in {format_duration(to_eval)} and {end}")
        quick = Config.quick()
        larger_than_quick = c.deter_size > quick.deter_size or c.hidden_size > quick.hidden_size
        if self.device.type == "cpu" and larger_than_quick and to_end > CPU_HINT_SECONDS:
            self.log("hint: these sizes are meant for a GPU. On a CPU, train the CPU preset instead "
                     "(`--preset cpu`, which `make train` picks by itself without a GPU); Ctrl-C saves this run, "
                     "and --resume continues it")

    # --- the loop ---------------------------------------------------------------------------------
    def train(self, max_minutes: float | None = None) -> dict | None:
        """Run until ``total_env_steps`` (or, if given, until ``max_minutes`` of this call have passed: a game in
        progress is finished first).  Ends with an evaluation and a checkpoint; returns the last evaluation row.
        Calling ``train`` again, or ``--resume``, continues where it stopped.

        Ctrl-C or SIGTERM stop it early: the step in progress and its update finish, the games in progress are
        stored cut short, the checkpoint is written (no evaluation) and ``stop_signal`` names the signal."""
        c = self.config
        if max_minutes is not None and not max_minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {max_minutes}")
        self.start_time = time.perf_counter()
        self.stop_signal = None
        deadline = None if max_minutes is None else self.start_time + 60.0 * max_minutes
        self.deadline = deadline                  # (the cost report says when a time budget ends the run)

        def running() -> bool:
            return (self.stop_signal is None and self.env_steps < c.total_env_steps
                    and (deadline is None or time.perf_counter() < deadline))

        self.wall_before = self.wall_seconds_before     # this call's clock starts from the earlier calls' total
        self.last_checkpoint_time = time.perf_counter()
        self.log(f"dreamer_edu: {self.agent.num_parameters() / 1e6:.2f}M parameters on {self.device}"
                 f"{f' ({_threads_text()})' if self.device.type == 'cpu' else ''}; "
                 f"replay ratio {c.replay_ratio:g} replayed steps per env step = "
                 f"{c.updates_per_env_step:.4f} updates per env step "
                 f"(one update every {1 / c.updates_per_env_step:.1f} env steps, batch {c.batch_size}x{c.batch_length})")
        if self.resumed_from is not None:
            self.log(f"resumed from {self.run_dir / CHECKPOINT_NAME} at env step {self.env_steps} "
                     f"({self.episodes} games, {self.agent.updates} updates, buffer {len(self.buffer)} steps)")
        if self.device.type == "cpu":
            self.log("on the CPU: the measured speed and the time this run will take follow after its first "
                     "minute of training")

        with self._stop_on_signals():
            bar = measure_from = None
            warmup_bar = (tqdm(total=c.warmup_episodes, initial=self.episodes, unit="game", desc="warmup",
                               disable=not self.progress, dynamic_ncols=True)
                          if self.episodes < c.warmup_episodes else None)
            while running():
                warmup = self.episodes < c.warmup_episodes
                if not warmup and bar is None:
                    # training begins: its own bar, so that its rate and time left are not the warm-up's
                    if warmup_bar is not None:
                        warmup_bar.close()
                    bar = tqdm(total=c.total_env_steps, initial=min(self.env_steps, c.total_env_steps),
                               unit="step", desc="train", disable=not self.progress, dynamic_ncols=True)
                    measure_from = (time.perf_counter(), self.env_steps, self.agent.updates)
                steps_before, games_before = self.env_steps, self.episodes
                self.play_round()                                  # act, learn when due, store
                if warmup:
                    warmup_bar.update(self.episodes - games_before)
                    continue
                bar.update(self.env_steps - steps_before)
                if measure_from is not None and time.perf_counter() - measure_from[0] >= COST_REPORT_SECONDS:
                    self._report_cost(self.env_steps - measure_from[1], self.agent.updates - measure_from[2],
                                      time.perf_counter() - measure_from[0])
                    measure_from = None
                if self.stop_signal is not None:
                    break
                if self.env_steps >= self.next_eval:               # evaluate
                    # the next multiple of eval_every_steps after now: a long warm-up or a round of several games
                    # can pass more than one, and that must give one evaluation, not one per game until caught up
                    self.next_eval = (self.env_steps // c.eval_every_steps + 1) * c.eval_every_steps
                    self.evaluate()
                recent = np.asarray(self.recent_outcomes)
                postfix = f"train win {np.mean(recent == 1):.0%} (last {len(recent)})"
                if self.last_eval is not None:
                    postfix += f" | eval win {self.last_eval['win_rate']:.0%}"
                bar.set_postfix_str(postfix + f" | {self.agent.updates} upd")
                if time.perf_counter() - self.last_checkpoint_time >= 60 * c.checkpoint_minutes:
                    self.save_checkpoint()                         # checkpoint
            for open_bar in (warmup_bar, bar):
                if open_bar is not None:
                    open_bar.close()
            if self.stop_signal is not None:
                path = self.save_checkpoint()
                self.log(f"stopped by {self.stop_signal} at env step {self.env_steps} ({self.agent.updates} updates): "
                         f"saved {path} and {self.run_dir / REPLAY_NAME}; continue with --resume")
                self.wall_seconds_before = self.wall_seconds()
                return self.last_eval
        if self.env_steps < c.total_env_steps:
            self.log(f"time budget of {max_minutes:g} min reached at env step {self.env_steps}; "
                     "continue with --resume")
        if self.last_eval is None or self.last_eval["env_steps"] != self.env_steps:
            self.evaluate()
        path = self.save_checkpoint()
        self.log(f"saved {path} after {self.env_steps} env steps, {self.agent.updates} updates, "
                 f"{self.wall_seconds() / 60:.1f} min")
        if self.writer is not None:
            self.writer.flush()
        self.wall_seconds_before = self.wall_seconds()   # a later call to train() continues the clock
        return self.last_eval


def _threads_text() -> str:
    n = torch.get_num_threads()
    return f"{n} torch thread{'s' if n > 1 else ''}"


def default_run_dir(mode: str, opponent: str, seed: int, preset: str = "guide") -> Path:
    """Where ``python -m dreamer_edu train`` (and ``make train``) puts a run unless ``--run-dir`` says otherwise:
    ``runs/<mode>-<opponent>-seed<seed>``, with ``-quick`` or ``-cpu`` added for those presets, relative to the
    folder it starts in."""
    opponent = re.sub(r"[^A-Za-z0-9.]+", "-", opponent)     # a mixture "weak:0.5,strong:0.5" -> weak-0.5-strong-0.5
    return Path("runs") / f"{mode.lower()}-{opponent}-seed{seed}{'' if preset == 'guide' else '-' + preset}"


def format_duration(seconds: float) -> str:
    """A rough, readable duration: "40 s", "12 min", "3.5 h", "2.1 days"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _np_global_state() -> list:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _set_np_global_state(state: list) -> None:
    name, keys, pos, has_gauss, cached = state
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


def _to_tuple(x):
    return tuple(_to_tuple(v) for v in x) if isinstance(x, list) else x
