"""The replay buffer: real experience, replayed as short sequences (guide ch. 12, "The Complete Training Loop").

In the training loop of ch. 12 the agent plays whole games and drops each finished game into a buffer; every
gradient update then draws ``buffer.sample(batch_size=32, seq_len=32)``.  The world model learns from
*sequences* (its RSSM carries a memory from one step to the next), so this buffer keeps time steps in one long
ring, in the order they happened, and hands out windows of ``seq_len`` consecutive records.

One record per time step t = 0..L of an episode of L environment steps (so L + 1 records):

==============  ==================  =========================================================================
key             shape, dtype        meaning
==============  ==================  =========================================================================
``obs``         (L+1, obs_dim) f32  the observation at t
``action``      (L+1, act_dim) f32  the action that *led to* obs_t (zeros at t = 0: nothing led to the reset)
``reward``      (L+1,) f32          the reward received on arriving at obs_t (0 at t = 0)
``is_first``    (L+1,) bool         True only at t = 0: the RSSM forgets its memory there
``is_last``     (L+1,) bool         True only at t = L: the episode ended (a goal or a time-out)
``is_terminal`` (L+1,) bool         True at t = L only if the game really ended (a goal); False on a time-out
==============  ==================  =========================================================================

Why "the action that led to obs_t" and not "the action taken at obs_t"?  Because the RSSM step that produces
the state at t consumes (state_{t-1}, action_{t-1 -> t}, obs_t); storing them in one record keeps every
model input for step t in row t.  The checks in ``add_episode`` refuse a non-zero action or reward at t = 0,
which is exactly what the classic off-by-one mistake (storing the action taken *at* obs_t) would produce.

Three rules keep the sampled sequences honest:

1. **A window may run from one episode into the next.**  The next episode's first record says ``is_first``
   and the RSSM starts afresh there (DreamerV3 does the same; it wastes no data at episode ends).
2. **A window never straddles the write head**, the ring position where the newest record sits next to the
   oldest one.  Those two records are not neighbours in time, and nothing would tell the model so.
3. **An episode cut by overwriting gets a new start.**  When new data overwrites the beginning of the oldest
   episode, its first surviving record is marked ``is_first`` (with a zero action and reward), because the
   history that led to it is gone.

Rewards are smoothed (DreamSmooth, guide ch. 11) once per episode as the episode enters the buffer, by the
optional ``reward_smoother(rewards, is_last)``.  The guide's pseudocode smooths inside every training step;
doing it once here gives the same targets (smoothing never mixes episodes) without repeating the work on
every batch.  ``sample`` returns the smoothed reward as ``reward`` (the reward head's target) and the original
one as ``reward_raw`` (for diagnostics that need the real goals).

Memory: every record costs 4 * obs_dim + 4 * act_dim + 2 * 4 (raw and smoothed reward) + 3 (flags) bytes.
For the hockey game (obs_dim 18, act_dim 4) that is 72 + 16 + 8 + 3 = 99 bytes, so the default capacity of
250,000 records takes about 25 MB, allocated up front so that a long run cannot run out of memory late.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Callable

import numpy as np

EPISODE_KEYS = ("obs", "action", "reward", "is_first", "is_last", "is_terminal")
FLAG_KEYS = ("is_first", "is_last", "is_terminal")
STORED_KEYS = ("obs", "action", "reward", "reward_smooth", "is_first", "is_last", "is_terminal")
COUNTER_KEYS = ("capacity", "obs_dim", "act_dim", "head", "num_steps", "total_steps_added",
                "total_episodes_added")
FORMAT_VERSION = 1

RewardSmoother = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _positive_int(name: str, value) -> int:
    """``value`` as an int >= 1, or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def bytes_per_record(obs_dim: int, act_dim: int) -> int:
    """Storage cost of one time step: float32 obs and action, two float32 rewards, three bool flags."""
    return 4 * obs_dim + 4 * act_dim + 2 * 4 + 3


# ----------------------------------------------------------------------------------------------------------
# Checking one incoming episode
# ----------------------------------------------------------------------------------------------------------
def _as_float_array(episode: dict, key: str) -> np.ndarray:
    """``episode[key]`` as a finite float32 array, or a ValueError naming the key."""
    try:
        array = np.asarray(episode[key], dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f"episode[{key!r}] cannot be converted to float32 ({err})") from None
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0].tolist()
        raise ValueError(f"episode[{key!r}] contains NaN or inf (first at index {bad})")
    return array


def _as_flag_array(episode: dict, key: str) -> np.ndarray:
    """``episode[key]`` as a bool array; numbers are accepted only if they are all 0 or 1."""
    array = np.asarray(episode[key])
    if array.dtype == bool:
        return array
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"episode[{key!r}] must be booleans, got dtype {array.dtype}")
    if not np.all((array == 0) | (array == 1)):
        raise ValueError(f"episode[{key!r}] must hold only 0/1 or False/True")
    return array.astype(bool)


def _check_shapes(ep: dict[str, np.ndarray], obs_dim: int, act_dim: int) -> int:
    """All arrays must describe the same L+1 records; returns L+1."""
    if ep["obs"].ndim != 2 or ep["obs"].shape[1] != obs_dim:
        raise ValueError(f"episode['obs'] must have shape (L+1, {obs_dim}), got {ep['obs'].shape}")
    length = ep["obs"].shape[0]
    if length < 1:
        raise ValueError("episode has no records (it needs at least the reset observation)")
    if ep["action"].shape != (length, act_dim):
        raise ValueError(f"episode['action'] must have shape ({length}, {act_dim}) to match obs, "
                         f"got {ep['action'].shape}")
    for key in ("reward", *FLAG_KEYS):
        if ep[key].shape != (length,):
            raise ValueError(f"episode[{key!r}] must have shape ({length},) to match obs, got {ep[key].shape}")
    return length


def _check_convention(ep: dict[str, np.ndarray]) -> None:
    """The record convention of the module docstring: flags only where they belong, nothing led to t = 0."""
    if not ep["is_first"][0]:
        raise ValueError("episode['is_first'][0] must be True (an episode starts with its reset observation)")
    if ep["is_first"][1:].any():
        raise ValueError(f"episode['is_first'] must be True only at t = 0, also True at "
                         f"t = {1 + int(np.argmax(ep['is_first'][1:]))} (add one episode at a time)")
    if not ep["is_last"][-1] or ep["is_last"][:-1].any():
        raise ValueError("episode['is_last'] must be True at the final record only (add finished episodes)")
    if ep["is_terminal"][:-1].any():
        raise ValueError("episode['is_terminal'] can be True only at the final record")
    if np.any(ep["action"][0] != 0) or ep["reward"][0] != 0:
        raise ValueError("episode['action'][0] and episode['reward'][0] must be 0: no action led to the reset "
                         "observation (is the action stored one step too early?)")


def validate_episode(episode: dict, obs_dim: int, act_dim: int) -> dict[str, np.ndarray]:
    """Check an episode dict and return it as arrays of the stored dtypes; ValueError on anything wrong."""
    if not isinstance(episode, dict):
        raise ValueError(f"an episode must be a dict of arrays, got {type(episode).__name__}")
    missing = [key for key in EPISODE_KEYS if key not in episode]
    if missing:
        raise ValueError(f"episode is missing {', '.join(missing)}; expected keys {', '.join(EPISODE_KEYS)}")
    ep = {key: _as_float_array(episode, key) for key in ("obs", "action", "reward")}
    ep.update({key: _as_flag_array(episode, key) for key in FLAG_KEYS})
    _check_shapes(ep, obs_dim, act_dim)
    _check_convention(ep)
    return ep


# ----------------------------------------------------------------------------------------------------------
# The buffer
# ----------------------------------------------------------------------------------------------------------
class ReplayBuffer:
    """A ring of ``capacity`` time steps, filled with whole episodes, sampled as (B, T) windows.

    ``head`` is the next write position.  Until the ring is full the oldest record is at 0; afterwards it
    is at ``head`` (the record about to be overwritten next).
    """

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, seed: int = 0,
                 reward_smoother: RewardSmoother | None = None):
        self.capacity = _positive_int("capacity", capacity)
        self.obs_dim = _positive_int("obs_dim", obs_dim)
        self.act_dim = _positive_int("act_dim", act_dim)
        if reward_smoother is not None and not callable(reward_smoother):
            raise ValueError(f"reward_smoother must be callable or None, got {type(reward_smoother).__name__}")
        self.reward_smoother = reward_smoother
        self.rng = np.random.default_rng(seed)
        n = self.capacity
        self.obs = np.zeros((n, self.obs_dim), np.float32)       # (N, obs_dim)
        self.action = np.zeros((n, self.act_dim), np.float32)    # (N, act_dim)
        self.reward = np.zeros(n, np.float32)                    # (N,) as received
        self.reward_smooth = np.zeros(n, np.float32)             # (N,) after reward_smoother
        self.is_first = np.zeros(n, bool)                        # (N,)
        self.is_last = np.zeros(n, bool)                         # (N,)
        self.is_terminal = np.zeros(n, bool)                     # (N,)
        self.head = 0                   # next write position
        self.num_steps = 0              # records stored (<= capacity)
        self.num_episodes = 0           # episodes stored, whole or cut by overwriting
        self.total_steps_added = 0      # records ever added
        self.total_episodes_added = 0   # episodes ever added

    def __len__(self) -> int:
        return self.num_steps

    def __repr__(self) -> str:
        return (f"ReplayBuffer({self.num_steps}/{self.capacity} records, {self.num_episodes} episodes, "
                f"{self.nbytes / 1e6:.1f} MB)")

    @property
    def nbytes(self) -> int:
        """Bytes of preallocated storage (``capacity * bytes_per_record``)."""
        return self.capacity * bytes_per_record(self.obs_dim, self.act_dim)

    @property
    def oldest(self) -> int:
        """Ring position of the oldest stored record."""
        return self.head if self.num_steps == self.capacity else 0

    # --- adding -----------------------------------------------------------------------------------------
    def add_episode(self, episode: dict) -> None:
        """Store one finished episode (a dict of arrays, see the module docstring), overwriting the oldest data."""
        ep = validate_episode(episode, self.obs_dim, self.act_dim)
        length = len(ep["obs"])                                           # L+1 records
        if length > self.capacity:
            raise ValueError(f"episode of {length} records does not fit in a buffer of capacity {self.capacity}")
        smooth = self._smooth(ep["reward"], ep["is_last"])                # (L+1,)
        self.num_episodes -= self._starts_to_overwrite(length)
        idx = (self.head + np.arange(length)) % self.capacity             # (L+1,) ring positions
        for key in EPISODE_KEYS:
            getattr(self, key)[idx] = ep[key]
        self.reward_smooth[idx] = smooth
        self.head = (self.head + length) % self.capacity
        self.num_steps = min(self.capacity, self.num_steps + length)
        self.num_episodes += 1 + self._mark_cut_episode()
        self.total_steps_added += length
        self.total_episodes_added += 1

    def _smooth(self, reward: np.ndarray, is_last: np.ndarray) -> np.ndarray:
        """(L+1,) smoothed rewards of one episode (the raw ones without a smoother)."""
        if self.reward_smoother is None:
            return reward.copy()
        smooth = np.asarray(self.reward_smoother(reward.copy(), is_last.copy()), dtype=np.float32)
        if smooth.shape != reward.shape or not np.all(np.isfinite(smooth)):
            raise ValueError(f"reward_smoother must return {reward.shape[0]} finite rewards, got shape "
                             f"{smooth.shape}{'' if np.all(np.isfinite(smooth)) else ' with NaN/inf'}")
        return smooth

    def _starts_to_overwrite(self, length: int) -> int:
        """How many stored episode starts the next ``length`` records will overwrite."""
        overflow = self.num_steps + length - self.capacity   # stored records that will be lost
        if overflow <= 0:
            return 0
        lost = (self.oldest + np.arange(overflow)) % self.capacity          # (overflow,) ring positions
        return int(self.is_first[lost].sum())

    def _mark_cut_episode(self) -> int:
        """Make the oldest record an episode start if its real start was overwritten; 1 if it did so."""
        if self.num_steps < self.capacity or self.is_first[self.oldest]:
            return 0
        oldest = self.oldest
        self.is_first[oldest] = True
        self.action[oldest] = 0.0        # the action that led here came from a state that is gone
        self.reward[oldest] = 0.0
        self.reward_smooth[oldest] = 0.0
        return 1

    # --- sampling ---------------------------------------------------------------------------------------
    def sample(self, batch_size: int, seq_len: int) -> dict[str, np.ndarray]:
        """``batch_size`` windows of ``seq_len`` consecutive records, as numpy arrays (B, T, ...).

        Keys: obs (B, T, obs_dim), action (B, T, act_dim), reward (B, T) smoothed, reward_raw (B, T),
        is_first / is_last / is_terminal (B, T) bool.
        """
        batch_size = _positive_int("batch_size", batch_size)
        seq_len = _positive_int("seq_len", seq_len)
        if seq_len > self.num_steps:
            raise ValueError(f"cannot sample sequences of {seq_len} records: the buffer holds only "
                             f"{self.num_steps} (add more episodes first)")
        # Count positions in time order from the oldest record: a window starting at offset o covers
        # o .. o + seq_len - 1, which must stay below num_steps, so it never runs past the newest record
        # into the oldest one (that would cross the write head).
        offsets = self.rng.integers(0, self.num_steps - seq_len + 1, size=batch_size)      # (B,)
        steps = offsets[:, None] + np.arange(seq_len)[None, :]                              # (B, T)
        idx = (self.oldest + steps) % self.capacity                                         # (B, T)
        is_first = self.is_first[idx]                                                       # (B, T) copy
        # The window's first record has no context inside the window: the RSSM cannot know the state it
        # came from, so it must start from its initial state there, exactly as at an episode start.  Marking
        # it is_first says so explicitly (the RSSM then also ignores the action that led to it, whose source
        # state is not in the window) instead of relying on every consumer to remember this special case.
        is_first[:, 0] = True
        return {
            "obs": self.obs[idx],                   # (B, T, obs_dim)
            "action": self.action[idx],             # (B, T, act_dim)
            "reward": self.reward_smooth[idx],      # (B, T)
            "reward_raw": self.reward[idx],         # (B, T)
            "is_first": is_first,                   # (B, T)
            "is_last": self.is_last[idx],           # (B, T)
            "is_terminal": self.is_terminal[idx],   # (B, T)
        }

    # --- state ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to continue exactly: filled part of the ring, counters, RNG state (all numpy).

        Counters are 0-d int64 arrays and the RNG state a JSON string in a 0-d array, so the dict can go
        straight into ``np.savez`` and back out with ``allow_pickle=False``.
        """
        n = self.num_steps
        state = {key: getattr(self, key)[:n].copy() for key in STORED_KEYS}
        state.update({key: np.array(getattr(self, key), np.int64) for key in COUNTER_KEYS})
        state["format_version"] = np.array(FORMAT_VERSION, np.int64)
        state["rng_state"] = np.array(json.dumps(self.rng.bit_generator.state))
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``; checks everything first, so a bad state leaves the buffer unchanged."""
        counters, rng_state = _read_counters(state), _read_rng_state(state)
        shape = (counters["capacity"], counters["obs_dim"], counters["act_dim"])
        if shape != (self.capacity, self.obs_dim, self.act_dim):
            raise ValueError(f"saved buffer has capacity/obs_dim/act_dim {shape[0]}/{shape[1]}/{shape[2]}, "
                             f"this one {self.capacity}/{self.obs_dim}/{self.act_dim}")
        arrays = _read_arrays(state, counters["num_steps"], self.obs_dim, self.act_dim)
        n = counters["num_steps"]
        if n and not arrays["is_first"][counters["head"] if n == self.capacity else 0]:
            raise ValueError("saved buffer's oldest record is not marked is_first")
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = rng_state
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"saved buffer has an unusable rng_state ({err})") from None
        for key in STORED_KEYS:
            getattr(self, key)[:n] = arrays[key]
        for key in ("head", "num_steps", "total_steps_added", "total_episodes_added"):
            setattr(self, key, counters[key])
        self.num_episodes = int(arrays["is_first"].sum())
        self.rng = rng

    def save(self, path: str | os.PathLike) -> None:
        """Write ``path`` (``.npz``) atomically: a complete temporary file is renamed over the old one.

        A crash while writing leaves the previous file untouched (and no half-written file under ``path``).
        """
        path = os.fspath(path)
        tmp = path + ".tmp"
        try:
            with open(tmp, "wb") as f:              # a file object: np.savez adds no ".npz" to the name
                np.savez(f, **self.state_dict())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike, reward_smoother: RewardSmoother | None = None) -> "ReplayBuffer":
        """A buffer saved by ``save``; FileNotFoundError if missing, ValueError naming ``path`` if unreadable.

        ``reward_smoother`` is used for episodes added from now on (stored rewards are already smoothed).
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no saved replay buffer there")
        try:
            state = _read_npz(path)
            counters = _read_counters(state)
            buffer = cls(counters["capacity"], counters["obs_dim"], counters["act_dim"],
                         reward_smoother=reward_smoother)
            buffer.load_state_dict(state)
        except (zipfile.BadZipFile, EOFError, OSError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: not a readable replay buffer file ({type(err).__name__}: {err})") from None
        return buffer


# ----------------------------------------------------------------------------------------------------------
# Reading a saved state back, with a clear message for each thing that can be wrong
# ----------------------------------------------------------------------------------------------------------
def _read_npz(path: str) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, read fully now (so damage shows up here, not later)."""
    data = np.load(path, allow_pickle=False)
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError("expected an .npz archive, found a single .npy array")
    with data:
        return {key: data[key] for key in data.files}


def _require(state: dict, keys) -> None:
    missing = [key for key in keys if key not in state]
    if missing:
        raise ValueError(f"saved buffer is missing {', '.join(missing)}")


def _read_counters(state: dict) -> dict[str, int]:
    """Integer counters of a state dict, checked for consistency with each other."""
    _require(state, (*COUNTER_KEYS, "format_version"))
    values = {}
    for key in (*COUNTER_KEYS, "format_version"):
        value = np.asarray(state[key])
        if value.shape != () or not np.issubdtype(value.dtype, np.integer):
            raise ValueError(f"saved buffer field {key!r} must be a single integer, got {value.dtype} {value.shape}")
        values[key] = int(value)
    if values.pop("format_version") != FORMAT_VERSION:
        raise ValueError(f"saved buffer has format version {int(state['format_version'])}, "
                         f"this code reads version {FORMAT_VERSION}")
    for key in ("capacity", "obs_dim", "act_dim"):
        _positive_int(f"saved {key}", values[key])
    cap, n, head = values["capacity"], values["num_steps"], values["head"]
    if not 0 <= n <= cap:
        raise ValueError(f"saved num_steps {n} is outside 0..capacity ({cap})")
    if not 0 <= head < cap or (n < cap and head != n):
        raise ValueError(f"saved head {head} does not fit num_steps {n} and capacity {cap}")
    if values["total_steps_added"] < n or values["total_episodes_added"] < (1 if n else 0):
        raise ValueError("saved totals are smaller than the stored data")
    return values


def _read_rng_state(state: dict) -> dict:
    _require(state, ("rng_state",))
    try:
        return json.loads(str(np.asarray(state["rng_state"])))
    except json.JSONDecodeError as err:
        raise ValueError(f"saved rng_state is not valid JSON ({err})") from None


def _read_arrays(state: dict, n: int, obs_dim: int, act_dim: int) -> dict[str, np.ndarray]:
    """The stored record arrays, each checked for length ``n``, shape, dtype and finite values."""
    _require(state, STORED_KEYS)
    expected = {"obs": ((n, obs_dim), np.float32), "action": ((n, act_dim), np.float32),
                "reward": ((n,), np.float32), "reward_smooth": ((n,), np.float32),
                "is_first": ((n,), np.bool_), "is_last": ((n,), np.bool_), "is_terminal": ((n,), np.bool_)}
    arrays = {}
    for key, (shape, dtype) in expected.items():
        array = np.asarray(state[key])
        if array.shape != shape or array.dtype != dtype:
            raise ValueError(f"saved buffer field {key!r} is {array.dtype} {array.shape}, "
                             f"expected {np.dtype(dtype)} {shape}")
        if dtype == np.float32 and not np.all(np.isfinite(array)):
            raise ValueError(f"saved buffer field {key!r} contains NaN or inf")
        arrays[key] = array
    return arrays
