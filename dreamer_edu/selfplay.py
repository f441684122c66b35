"""Self-play: frozen snapshots of the agent as player two (guide ch. 15, opponents).

Bots alone teach an agent to beat bots.  The self-play pool adds opponents that grow with the agent: every
``Config.selfplay_every_steps`` env steps the trainer freezes a copy of the agent's policy (its world model,
which turns observations into the latent state, and its actor) and puts it in the pool; the oldest snapshot
leaves once the pool holds ``Config.selfplay_pool_size``.  The first snapshot is the untrained agent.

A training game whose opponent is ``"self"`` (``--opponent weak:0.4,strong:0.4,self:0.2``) draws one snapshot:

- ``selfplay_sampling="uniform"``: every snapshot alike;
- ``selfplay_sampling="winrate"``: in proportion to how often that snapshot has beaten the agent,
  ``(wins + 1) / (games + 2)`` (a snapshot not yet played counts as 1/2), so the agent meets more often the
  past versions of itself it still loses to.

The snapshot plays greedily (the actor's mode), from player two's own view of the table, exactly as the
agent plays player one.  The pool (weights and each snapshot's record) is part of the checkpoint, so
``--resume`` continues with the same opponents.
"""
from __future__ import annotations

import numpy as np
import torch

from .agent import Dreamer, PolicyState
from .config import Config

SELF = "self"      # the opponent name that plays the pool


def policy_weights(agent: Dreamer) -> dict[str, dict[str, torch.Tensor]]:
    """What a snapshot keeps: the world model's and the actor's parameters, copied to the CPU."""
    return {part: {key: value.detach().to("cpu", copy=True) for key, value in module.state_dict().items()}
            for part, module in (("world_model", agent.world_model), ("actor", agent.actor))}


class SelfPlayPool:
    """Up to ``size`` frozen snapshots of the agent, each with its record against the agent."""

    def __init__(self, size: int, sampling: str = "uniform"):
        if size < 1:
            raise ValueError(f"a self-play pool of size {size} would be empty; it needs room for >= 1 snapshot")
        self.size = size
        self.sampling = sampling
        self.snapshots: list[dict] = []    # each: env_steps, weights, games, wins and losses (the snapshot's)

    def __len__(self) -> int:
        return len(self.snapshots)

    def add(self, agent: Dreamer, env_steps: int) -> None:
        """Freeze the agent as it is now; the oldest snapshot leaves a full pool."""
        self.snapshots.append({"env_steps": int(env_steps), "weights": policy_weights(agent), "games": 0, "wins": 0,
                               "losses": 0})
        del self.snapshots[:-self.size]

    def probabilities(self) -> np.ndarray:
        """The chance that a self-play game draws each snapshot.  (K,)"""
        if not self.snapshots:
            raise ValueError("the self-play pool is empty: no snapshot of the agent to play against yet")
        if self.sampling == "uniform":
            weights = np.ones(len(self.snapshots))
        else:                                     # "winrate": the snapshots that beat the agent, more often
            weights = np.array([(s["wins"] + 1) / (s["games"] + 2) for s in self.snapshots])
        return weights / weights.sum()

    def draw(self, rng: np.random.Generator) -> int:
        """The index of the snapshot that plays the next self-play game."""
        return int(rng.choice(len(self.snapshots), p=self.probabilities()))

    def record(self, index: int, agent_result: int) -> None:
        """One finished game against snapshot ``index``: ``agent_result`` is the agent's (1 win, 0 draw, -1 loss)."""
        if agent_result not in (1, 0, -1):
            raise ValueError(f"a game's result is 1, 0 or -1 (the agent's win, draw, loss), got {agent_result!r}")
        self.snapshots[index]["games"] += 1
        self.snapshots[index]["wins"] += int(agent_result == -1)
        self.snapshots[index]["losses"] += int(agent_result == 1)

    def agent_record(self) -> tuple[int, int]:
        """(games, the agent's wins) over every game against the snapshots in the pool now."""
        return sum(s["games"] for s in self.snapshots), sum(s["losses"] for s in self.snapshots)

    def summary(self) -> str:
        steps = [s["env_steps"] for s in self.snapshots]
        return f"{len(steps)} snapshot{'s' if len(steps) != 1 else ''} (from env steps {min(steps):,}-{max(steps):,})"

    def state_dict(self) -> dict:
        return {"size": self.size, "sampling": self.sampling, "snapshots": self.snapshots}

    def load_state_dict(self, state: dict) -> None:
        self.size, self.sampling = int(state["size"]), str(state["sampling"])
        self.snapshots = list(state["snapshots"])


class SnapshotOpponent:
    """Player two played by one snapshot of the pool: a callable ``f(obs_two) -> action`` for ``make_env``.

    ``load`` puts a snapshot's weights in; ``reset`` (called by the env at each new game) clears its memory."""

    def __init__(self, config: Config, device: str | torch.device = "cpu"):
        with torch.random.fork_rng(devices=[]):   # building it must not move the training run's random stream
            # (acting needs no compiled networks or CUDA graphs: those speed up the update)
            self.player = Dreamer(config.replace(compile=False, cuda_graphs=False), device=device)
        self.player.requires_grad_(False)
        self.state: PolicyState | None = None
        self.snapshot: int | None = None           # the pool index of the snapshot playing now
        self.__name__ = SELF

    def load(self, index: int, weights: dict[str, dict[str, torch.Tensor]]) -> None:
        self.player.world_model.load_state_dict(weights["world_model"])
        self.player.actor.load_state_dict(weights["actor"])
        self.snapshot = index
        self.state = None

    def reset(self) -> None:
        self.state = None

    def __call__(self, obs_two: np.ndarray) -> np.ndarray:
        action, self.state = self.player.policy(obs_two, self.state, explore=False)   # (4,)
        return action
