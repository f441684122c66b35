"""The replay buffer: real experience, replayed as short sequences (guide ch. 12).

DreamerV3 learns its world model from sequences of consecutive steps (batch 32 x 32), so the buffer stores
time steps in one long ring, in the order they happened, and samples windows of ``seq_len`` consecutive
records.  Each record t of an episode holds:

==============  =====================================================================
``obs``         the observation at t
``action``      the action that *led to* obs_t (zeros at t = 0)
``reward``      the reward received on arriving at obs_t (0 at t = 0)
``is_first``    True only at t = 0: the RSSM resets its memory there
``is_last``     True at the episode's final record (goal or time-out)
``is_terminal`` True at the final record only if the game really ended (a goal), not on a time-out
==============  =====================================================================

A window may run from one episode into the next: that is fine, because the next episode's first record says
``is_first`` and the RSSM starts afresh there.  What must never happen is a window whose records are not in
time order: windows never straddle the ring's write position (where the newest data meets the oldest), and
when new data overwrites the beginning of the oldest episode, the first surviving record of that episode is
marked ``is_first`` (its history is gone).

Rewards are smoothed (DreamSmooth, ch. 11) once per episode as it enters the buffer, by ``reward_smoother``;
samples return the smoothed reward as ``reward`` and the original as ``reward_raw``.

Memory: per record 18*4 (obs) + 4*4 (action) + 2*4 (two rewards) + 3 (flags) = 99 bytes, so the default
250,000 records take about 25 MB.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Callable

import numpy as np

EPISODE_KEYS = ("obs", "action", "reward", "is_first", "is_last", "is_terminal")
FLAG_KEYS = ("is_first", "is_last", "is_terminal")


class ReplayBuffer:
    def __init__(self, capacity: int, obs_dim: int, act_dim: int, seed: int = 0,
                 reward_smoother: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 time step, got {capacity}")
        self.capacity = int(capacity)
        self.obs_dim = int(obs_dim)
        self.act_dim = int(act_dim)
        self.reward_smoother = reward_smoother
        self.rng = np.random.default_rng(seed)
        self.obs = np.zeros((capacity, obs_dim), np.float32)            # (N, obs_dim)
        self.action = np.zeros((capacity, act_dim), np.float32)         # (N, act_dim)
        self.reward = np.zeros(capacity, np.float32)                    # (N,)
        self.reward_smooth = np.zeros(capacity, np.float32)             # (N,)
        self.is_first = np.zeros(capacity, bool)
        self.is_last = np.zeros(capacity, bool)
        self.is_terminal = np.zeros(capacity, bool)
        self.head = 0                 # next write position
        self.num_steps = 0            # stored records (<= capacity)
        self.total_steps_added = 0
        self.total_episodes_added = 0

    def __len__(self) -> int:
        return self.num_steps

    @property
    def num_episodes(self) -> int:
        """Episodes (whole or cut by overwriting) currently stored: the number of is_first records."""
        return int(self.is_first[: self.num_steps].sum())

    # --- adding -----------------------------------------------------------------------------------
    def _validate(self, episode: dict) -> dict[str, np.ndarray]:
        missing = [k for k in EPISODE_KEYS if k not in episode]
        if missing:
            raise ValueError(f"episode is missing {', '.join(missing)}; expected keys {', '.join(EPISODE_KEYS)}")
        ep = {k: np.asarray(episode[k]) for k in EPISODE_KEYS}
        length = len(ep["obs"])
        if ep["obs"].shape != (length, self.obs_dim):
            raise ValueError(f"episode['obs'] must be (L+1, {self.obs_dim}), got {ep['obs'].shape}")
        if ep["action"].shape != (length, self.act_dim):
            raise ValueError(f"episode['action'] must be ({length}, {self.act_dim}) to match obs, got {ep['action'].shape}")
        for key in ("reward", *FLAG_KEYS):
            if ep[key].shape != (length,):
                raise ValueError(f"episode['{key}'] must be ({length},) to match obs, got {ep[key].shape}")
        for key in ("obs", "action", "reward"):
            if not np.all(np.isfinite(ep[key])):
                raise ValueError(f"episode['{key}'] contains NaN or inf")
        if length < 1 or not bool(ep["is_first"][0]):
            raise ValueError("episode['is_first'][0] must be True (an episode starts with its reset observation)")
        if length > self.capacity:
            raise ValueError(f"episode of {length} records does not fit in a buffer of capacity {self.capacity}")
        return ep

    def add_episode(self, episode: dict) -> None:
        """Store one whole episode (a dict of arrays, see the module docstring)."""
        ep = self._validate(episode)
        length = len(ep["obs"])
        reward = ep["reward"].astype(np.float32)
        smooth = reward if self.reward_smoother is None else np.asarray(
            self.reward_smoother(reward, ep["is_last"].astype(bool)), np.float32)
        idx = (self.head + np.arange(length)) % self.capacity          # (L+1,) ring positions
        self.obs[idx] = ep["obs"]
        self.action[idx] = ep["action"]
        self.reward[idx] = reward
        self.reward_smooth[idx] = smooth
        for key in FLAG_KEYS:
            getattr(self, key)[idx] = ep[key].astype(bool)
        self.head = int((self.head + length) % self.capacity)
        self.num_steps = min(self.capacity, self.num_steps + length)
        self.total_steps_added += length
        self.total_episodes_added += 1
        if self.num_steps == self.capacity:
            self._mark_cut_episode()

    def _mark_cut_episode(self) -> None:
        """The oldest record sits at ``head``; if its episode's start was overwritten, it becomes a start."""
        oldest = self.head
        if not self.is_first[oldest]:
            self.is_first[oldest] = True
            self.action[oldest] = 0.0
            self.reward[oldest] = 0.0
            self.reward_smooth[oldest] = 0.0

    # --- sampling ---------------------------------------------------------------------------------
    def sample(self, batch_size: int, seq_len: int) -> dict[str, np.ndarray]:
        """``batch_size`` windows of ``seq_len`` consecutive records, as arrays (B, T, ...)."""
        if seq_len > self.num_steps:
            raise ValueError(f"cannot sample sequences of {seq_len} steps: the buffer holds only {self.num_steps}")
        if batch_size < 1 or seq_len < 1:
            raise ValueError(f"batch_size and seq_len must be >= 1, got {batch_size} and {seq_len}")
        # window starts, counted in time order from the oldest record
        oldest = self.head if self.num_steps == self.capacity else 0
        offsets = self.rng.integers(0, self.num_steps - seq_len + 1, size=batch_size)   # (B,)
        idx = (oldest + offsets[:, None] + np.arange(seq_len)[None, :]) % self.capacity  # (B, T)
        is_first = self.is_first[idx].copy()
        # A window's first record has no context inside the window, so the RSSM must start fresh there
        # (its memory of earlier steps is not available), exactly as at an episode start.
        is_first[:, 0] = True
        return {
            "obs": self.obs[idx], "action": self.action[idx], "reward": self.reward_smooth[idx],
            "reward_raw": self.reward[idx], "is_first": is_first, "is_last": self.is_last[idx],
            "is_terminal": self.is_terminal[idx],
        }

    # --- saving -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        n = self.num_steps
        return {
            "obs": self.obs[:n], "action": self.action[:n], "reward": self.reward[:n],
            "reward_smooth": self.reward_smooth[:n], "is_first": self.is_first[:n], "is_last": self.is_last[:n],
            "is_terminal": self.is_terminal[:n],
            "meta": np.array(json.dumps({
                "capacity": self.capacity, "obs_dim": self.obs_dim, "act_dim": self.act_dim, "head": self.head,
                "num_steps": n, "total_steps_added": self.total_steps_added,
                "total_episodes_added": self.total_episodes_added, "rng": self.rng.bit_generator.state})),
        }

    def load_state_dict(self, state: dict) -> None:
        meta = json.loads(str(state["meta"]))
        if (meta["capacity"], meta["obs_dim"], meta["act_dim"]) != (self.capacity, self.obs_dim, self.act_dim):
            raise ValueError(f"saved buffer has capacity/obs_dim/act_dim {meta['capacity']}/{meta['obs_dim']}/"
                             f"{meta['act_dim']}, this one {self.capacity}/{self.obs_dim}/{self.act_dim}")
        n = int(meta["num_steps"])
        for key in ("obs", "action", "reward", "reward_smooth", "is_first", "is_last", "is_terminal"):
            array = np.asarray(state[key])
            if len(array) != n:
                raise ValueError(f"saved buffer field {key!r} has {len(array)} records, expected {n}")
            getattr(self, key)[:n] = array
        self.head = int(meta["head"])
        self.num_steps = n
        self.total_steps_added = int(meta["total_steps_added"])
        self.total_episodes_added = int(meta["total_episodes_added"])
        self.rng.bit_generator.state = meta["rng"]

    def save(self, path: str) -> None:
        """Write an ``.npz`` atomically: a temporary file renamed over the old one."""
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            np.savez(f, **self.state_dict())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str, reward_smoother=None) -> "ReplayBuffer":
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no saved replay buffer")
        try:
            with np.load(path, allow_pickle=False) as data:
                state = {k: data[k] for k in data.files}
            meta = json.loads(str(state["meta"]))
            buffer = cls(meta["capacity"], meta["obs_dim"], meta["act_dim"], reward_smoother=reward_smoother)
            buffer.load_state_dict(state)
        except (zipfile.BadZipFile, OSError, KeyError, EOFError, json.JSONDecodeError, ValueError) as err:
            raise ValueError(f"{path}: corrupt replay buffer ({type(err).__name__}: {err})") from None
        return buffer
