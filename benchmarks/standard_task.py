"""The learner on a standard task: DreamerV3 on gymnasium's ``Pendulum-v1``.  Prints a learning-curve table.

Hockey is hard to read: a run that stalls there may have a bug in the learner or may only find hockey hard
(its reward, its opponents, its exploration).  Pendulum tells the two apart.  It is a small, dense-reward
swing-up task with a well-known scale: a random policy scores about -1,200 per 200-step episode, and a policy
that swings the pendulum up and holds it scores about -150 to -200 (the returns DreamerV3 and SAC report).

The loop below is the trainer's loop written out for a non-hockey env: act (random actions for the warm-up
games, then the agent's sampled actions), learn when due (``replay_ratio`` replayed steps per env step, as in
``Trainer``), store each finished game, and every ``--eval-every`` env steps play ``--eval-games`` greedy games.
Everything else is the package's: ``Dreamer`` (``obs_dim=3``, ``action_dim=1``), ``ReplayBuffer``, ``Game``.
The actions in [-1, 1] are rescaled to the pendulum's torque range [-2, 2].  The hockey-only parts are off: the
auxiliary heads read hockey observations, and DreamSmooth is for sparse rewards.

Usage: ``python benchmarks/standard_task.py [--steps 16000] [--seeds 0 1] [--config-override KEY=VALUE ...]
[--threads 1] [--csv PATH]``; ``tests/test_standard_task.py`` runs a shorter version and asserts the return.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import torch
from gymnasium.wrappers import RescaleAction

from common import print_markdown_table, write_csv
from dreamer_edu.agent import Dreamer, set_threads
from dreamer_edu.config import Config
from dreamer_edu.games import Game, agent_actions, play_game
from dreamer_edu.replay import ReplayBuffer

OBS_DIM, ACTION_DIM = 3, 1       # Pendulum-v1: (cos theta, sin theta, angular velocity); one torque
RANDOM_RETURN = -1200.0          # about what uniformly random torques score per episode
SOLVED_RETURN = -250.0           # a policy that swings up and holds scores -150 .. -200


def pendulum_config(**changes) -> Config:
    """``Config.quick()`` without the hockey-only parts (auxiliary heads, DreamSmooth)."""
    return Config.quick(use_aux_heads=False, use_dreamsmooth=False, warmup_episodes=5, **changes).validate()


def make_pendulum() -> gym.Env:
    bound = np.ones(ACTION_DIM, np.float32)
    return RescaleAction(gym.make("Pendulum-v1"), -bound, bound)


def greedy_return(agent: Dreamer, games: int, seed: int) -> float:
    """Mean return of ``games`` episodes with the actor's mode (no exploration)."""
    env = make_pendulum()
    with torch.random.fork_rng():          # evaluating must not shift training's random stream
        played = [play_game(env, seed + i, agent_actions(agent, explore=False)) for i in range(games)]
    return float(np.mean([game.total_reward for game in played]))


def train_pendulum(config: Config, env_steps: int, eval_every: int, eval_games: int = 5) -> Iterator[dict]:
    """Train from scratch for ``env_steps``; yields one row per evaluation (env steps, updates, return, time)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    env = make_pendulum()
    agent = Dreamer(config, OBS_DIM, ACTION_DIM)
    buffer = ReplayBuffer(config.buffer_capacity, OBS_DIM, ACTION_DIM, seed=config.seed)
    steps, credit, games, next_eval = 0, 0.0, 0, eval_every
    start = time.perf_counter()
    while steps < env_steps:
        warmup = games < config.warmup_episodes
        game = Game(env, seed=int(rng.integers(2**31)), action_dim=ACTION_DIM)
        act = agent_actions(agent, explore=True)
        while not game.done:
            game.step(rng.uniform(-1.0, 1.0, ACTION_DIM).astype(np.float32) if warmup else act(game.obs))  # act
            steps += 1
            if not warmup:                                                                 # learn when due
                credit += config.updates_per_env_step
                while credit >= 1.0:
                    credit -= 1.0
                    agent.train_step(buffer.sample(config.batch_size, config.batch_length))
        buffer.add_episode(game.episode())                                                # store
        games += 1
        if steps >= next_eval:                                                            # evaluate
            next_eval += eval_every
            yield {"env_steps": steps, "updates": agent.updates,
                   "greedy_return": round(greedy_return(agent, eval_games, seed=10_000), 1),
                   "minutes": round((time.perf_counter() - start) / 60, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16_000, help="env steps per run (80 episodes of 200)")
    parser.add_argument("--eval-every", type=int, default=2_000)
    parser.add_argument("--eval-games", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--config-override", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--csv", default="benchmarks/results/standard_task.csv")
    args = parser.parse_args()
    set_threads(args.threads)
    rows = []
    for seed in args.seeds:
        config = pendulum_config(seed=seed).with_overrides(args.config_override).validate()
        for row in train_pendulum(config, args.steps, args.eval_every, args.eval_games):
            rows.append({"seed": seed, **row})
            print(rows[-1], flush=True)
    print(f"\nPendulum-v1, Config.quick() without aux heads and DreamSmooth, overrides: "
          f"{' '.join(args.config_override) or 'none'}; {torch.get_num_threads()} torch thread(s); random policy "
          f"about {RANDOM_RETURN:.0f}, swung up and held -150 .. -200")
    print_markdown_table(rows, {"seed": "seed", "env_steps": "env steps", "updates": "updates",
                                "greedy_return": f"greedy return ({args.eval_games} episodes)",
                                "minutes": "minutes"})
    write_csv(rows, args.csv)


if __name__ == "__main__":
    main()
