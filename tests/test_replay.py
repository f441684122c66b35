"""Tests of the replay buffer (dreamer_edu/replay.py).

Test episodes carry their own bookkeeping in the observation: obs[..., 0] is a global step counter (the
order in which records were added) and obs[..., 1] the episode id.  A sampled window is then checkable by
eye: its counters must rise by exactly 1, and its episode id may change only where is_first is True.
"""
import os

import numpy as np
import pytest

from dreamer_edu.replay import ReplayBuffer, bytes_per_record

OBS_DIM, ACT_DIM = 3, 2


class Episodes:
    """Makes test episodes whose obs record (global step counter, episode id, t)."""

    def __init__(self):
        self.steps = 0
        self.episodes = 0

    def make(self, length, terminal=True, goal_reward=10.0):
        """``length`` env steps -> length + 1 records."""
        n = length + 1
        obs = np.zeros((n, OBS_DIM), np.float32)
        obs[:, 0] = self.steps + np.arange(n)
        obs[:, 1] = self.episodes
        obs[:, 2] = np.arange(n)
        self.steps += n
        self.episodes += 1
        action = np.tile(np.array([0.5, -0.5], np.float32), (n, 1))
        action[0] = 0.0
        reward = np.linspace(0.0, 1.0, n).astype(np.float32)
        reward[-1] = goal_reward
        first, last = np.zeros(n, bool), np.zeros(n, bool)
        first[0] = last[-1] = True
        return {"obs": obs, "action": action, "reward": reward, "is_first": first, "is_last": last,
                "is_terminal": last.copy() if terminal else np.zeros(n, bool)}


@pytest.fixture
def episodes():
    return Episodes()


def filled(capacity, lengths, episodes, seed=0, reward_smoother=None):
    buf = ReplayBuffer(capacity, OBS_DIM, ACT_DIM, seed=seed, reward_smoother=reward_smoother)
    for length in lengths:
        buf.add_episode(episodes.make(length))
    return buf


def stored_in_time_order(buf):
    """(num_steps, OBS_DIM) obs of the stored records, oldest first (a slow reference, not the sampler)."""
    idx = (buf.oldest + np.arange(buf.num_steps)) % buf.capacity
    return buf.obs[idx], buf.is_first[idx]


# ----------------------------------------------------------------------------------------------------------
# Storing and reading back
# ----------------------------------------------------------------------------------------------------------
def test_single_episode_reads_back_exactly(episodes):
    ep = episodes.make(9)
    buf = ReplayBuffer(100, OBS_DIM, ACT_DIM)
    buf.add_episode(ep)
    batch = buf.sample(16, 10)                   # the only window: the whole episode
    assert batch["obs"].shape == (16, 10, OBS_DIM) and batch["action"].shape == (16, 10, ACT_DIM)
    for key in ("obs", "action", "is_first", "is_last", "is_terminal"):
        assert np.array_equal(batch[key], np.broadcast_to(ep[key], batch[key].shape)), key
    assert np.array_equal(batch["reward_raw"], np.broadcast_to(ep["reward"], (16, 10)))
    assert np.array_equal(batch["reward"], batch["reward_raw"])     # no smoother: identical
    assert {k: v.dtype for k, v in batch.items()} == {
        "obs": np.float32, "action": np.float32, "reward": np.float32, "reward_raw": np.float32,
        "is_first": bool, "is_last": bool, "is_terminal": bool}


def test_truncated_episode_keeps_is_terminal_false(episodes):
    buf = ReplayBuffer(100, OBS_DIM, ACT_DIM)
    buf.add_episode(episodes.make(5, terminal=False))
    batch = buf.sample(2, 6)
    assert batch["is_last"][:, -1].all() and not batch["is_terminal"].any()


def test_sampled_batch_is_a_copy(episodes):
    buf = filled(50, [9], episodes)
    batch = buf.sample(4, 5)
    batch["obs"][:] = -1.0
    batch["is_first"][:] = False
    assert buf.obs[:10, 0].min() >= 0 and buf.is_first[0]


def test_first_record_of_every_window_is_marked(episodes):
    buf = filled(100, [30, 30], episodes)
    batch = buf.sample(200, 8)
    assert batch["is_first"][:, 0].all()
    inside = batch["obs"][:, 0, 2] != 0          # windows that start in the middle of an episode
    assert inside.any()
    assert not buf.is_first[1:31].any()          # ... only the sample is marked, not the stored data


# ----------------------------------------------------------------------------------------------------------
# The ring: wrap-around, cut episodes, windows in time order
# ----------------------------------------------------------------------------------------------------------
def test_partial_overwrite_marks_the_cut_episode(episodes):
    buf = filled(20, [9, 9], episodes)           # ring positions 0..9 episode 0, 10..19 episode 1: full
    assert buf.num_steps == 20 and buf.head == 0 and buf.num_episodes == 2
    buf.add_episode(episodes.make(4))            # 5 records over positions 0..4 (episode 0's t = 0..4)
    assert buf.head == 5 and buf.oldest == 5
    assert buf.obs[5, 1] == 0 and buf.obs[5, 2] == 5          # episode 0's t = 5 survives as the oldest
    assert buf.is_first[5] and np.all(buf.action[5] == 0)
    assert buf.reward[5] == 0 and buf.reward_smooth[5] == 0
    assert buf.num_episodes == 3
    # the single window of 20 records starts at the cut and runs in time order
    batch = buf.sample(8, 20)
    assert np.all(np.diff(batch["obs"][..., 0], axis=1) == 1)
    changes = np.diff(batch["obs"][..., 1], axis=1) != 0
    assert np.array_equal(changes, batch["is_first"][:, 1:])


def test_overwrite_that_ends_on_an_episode_boundary_marks_nothing_new(episodes):
    buf = filled(20, [9, 9], episodes)
    buf.add_episode(episodes.make(9))            # replaces episode 0 exactly
    assert buf.head == 10 and buf.is_first[10] and buf.obs[10, 1] == 1
    assert buf.num_episodes == 2
    assert np.array_equal(buf.action[11], [0.5, -0.5])        # untouched data stays as it was


def test_overwrite_of_several_episodes_counts_them(episodes):
    buf = filled(20, [3, 3, 3, 3, 3], episodes)  # five episodes of 4 records
    assert buf.num_episodes == 5
    buf.add_episode(episodes.make(9))            # 10 records: two whole episodes and half of a third go
    assert buf.num_episodes == 4                 # the cut one (id 2), two untouched ones, the new one
    obs, first = stored_in_time_order(buf)
    assert first.sum() == 4 and np.array_equal(np.unique(obs[:, 1]), [2, 3, 4, 5])
    assert first[0] and obs[0, 1] == 2 and obs[0, 2] == 2


def test_windows_are_consecutive_and_never_straddle_the_write_head(episodes):
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(50, OBS_DIM, ACT_DIM, seed=1)
    for _ in range(25):                           # about 200 records: the ring wraps about 4 times
        buf.add_episode(episodes.make(int(rng.integers(3, 13))))
    assert buf.num_steps == 50 and buf.total_steps_added > 3 * 50
    seq_len = 12
    batch = buf.sample(3000, seq_len)
    steps = batch["obs"][..., 0]                                         # (B, T) insertion order
    assert np.all(np.diff(steps, axis=1) == 1), "a window jumped in time (straddled the write head?)"
    oldest_step = buf.total_steps_added - buf.num_steps
    assert steps.min() >= oldest_step and steps.max() <= buf.total_steps_added - 1
    # uniform over every valid start: all num_steps - seq_len + 1 of them show up
    assert len(np.unique(steps[:, 0])) == buf.num_steps - seq_len + 1


def test_episode_changes_inside_a_window_only_at_is_first(episodes):
    rng = np.random.default_rng(1)
    buf = ReplayBuffer(64, OBS_DIM, ACT_DIM, seed=2)
    for _ in range(30):
        buf.add_episode(episodes.make(int(rng.integers(1, 10))))
    batch = buf.sample(2000, 16)
    ids, t = batch["obs"][..., 1], batch["obs"][..., 2]
    first = batch["is_first"][:, 1:]                                     # (B, T-1) positions k > 0
    same = ids[:, 1:] == ids[:, :-1]
    assert np.all(same[~first]), "a window continued into another episode without is_first"
    assert np.all(t[:, 1:][~first] == t[:, :-1][~first] + 1)
    assert not np.any(same[first]), "is_first inside a window but the episode did not change"
    assert first.any() and (~first).any()


def test_counters_follow_a_reference_model(episodes):
    rng = np.random.default_rng(3)
    buf = ReplayBuffer(40, OBS_DIM, ACT_DIM)
    all_ids = []                                  # episode id of every record ever added
    for i in range(40):
        length = int(rng.integers(1, 15))
        buf.add_episode(episodes.make(length))
        all_ids += [i] * (length + 1)
        survivors = all_ids[-40:]
        assert len(buf) == buf.num_steps == len(survivors)
        assert buf.num_episodes == len(set(survivors))
        assert buf.total_steps_added == len(all_ids) and buf.total_episodes_added == i + 1
        obs, first = stored_in_time_order(buf)
        assert np.array_equal(obs[:, 1], survivors) and first.sum() == buf.num_episodes


def test_episode_as_long_as_the_capacity_fits(episodes):
    buf = filled(10, [4, 9], episodes)
    assert buf.num_steps == 10 and buf.num_episodes == 1 and buf.is_first[buf.oldest]
    assert np.array_equal(buf.sample(3, 10)["obs"][0, :, 1], np.full(10, 1.0))


# ----------------------------------------------------------------------------------------------------------
# Reward smoothing
# ----------------------------------------------------------------------------------------------------------
def test_reward_smoother_is_applied_once_per_episode(episodes):
    calls = []

    def smoother(rewards, is_last):
        calls.append((rewards.copy(), is_last.copy()))
        rewards[:] = -99.0                         # a careless smoother must not damage the raw rewards
        return np.full(len(is_last), float(len(is_last)), np.float32)   # "smoothed" = episode length

    eps = [episodes.make(4), episodes.make(6)]
    buf = ReplayBuffer(100, OBS_DIM, ACT_DIM, reward_smoother=smoother)
    for ep in eps:
        buf.add_episode(ep)
    assert len(calls) == 2
    for (rewards, is_last), ep in zip(calls, eps):
        assert np.array_equal(rewards, ep["reward"]) and np.array_equal(is_last, ep["is_last"])
    batch = buf.sample(500, 3)
    lengths = np.where(batch["obs"][..., 1] == 0, 5.0, 7.0)             # records per episode id
    assert np.array_equal(batch["reward"], lengths)
    raw = np.concatenate([ep["reward"] for ep in eps])
    assert np.array_equal(batch["reward_raw"], raw[batch["obs"][..., 0].astype(int)])


def test_reward_smoother_with_a_wrong_result_is_refused(episodes):
    buf = ReplayBuffer(100, OBS_DIM, ACT_DIM, reward_smoother=lambda r, last: r[:-1])
    with pytest.raises(ValueError, match="reward_smoother"):
        buf.add_episode(episodes.make(4))
    assert buf.num_steps == 0
    buf = ReplayBuffer(100, OBS_DIM, ACT_DIM, reward_smoother=lambda r, last: r * np.nan)
    with pytest.raises(ValueError, match="NaN"):
        buf.add_episode(episodes.make(4))


# ----------------------------------------------------------------------------------------------------------
# Saving and loading
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lengths", [[7, 3], [7] * 12], ids=["partly-filled", "wrapped"])
def test_save_load_round_trip_continues_identically(tmp_path, episodes, lengths):
    buf = filled(64, lengths, episodes, seed=3)
    buf.sample(5, 4)                               # move the RNG away from its seed
    path = tmp_path / "replay.npz"
    buf.save(path)
    copy = ReplayBuffer.load(str(path))
    for name in ("capacity", "head", "num_steps", "num_episodes", "total_steps_added", "total_episodes_added"):
        assert getattr(copy, name) == getattr(buf, name), name
    for _ in range(3):
        a, b = buf.sample(8, 4), copy.sample(8, 4)
        for key in a:
            assert np.array_equal(a[key], b[key]), key
    ep = episodes.make(20)                         # the two go on identically after new data too
    buf.add_episode(ep)
    copy.add_episode(ep)
    a, b = buf.sample(8, 6), copy.sample(8, 6)
    assert all(np.array_equal(a[key], b[key]) for key in a)


def test_state_dict_round_trip_restores_rng_and_smoothed_rewards(episodes):
    buf = filled(30, [5, 5, 5, 5, 5, 5], episodes, reward_smoother=lambda r, last: r + 1.0)
    other = ReplayBuffer(30, OBS_DIM, ACT_DIM, seed=123)
    other.load_state_dict(buf.state_dict())
    a, b = buf.sample(10, 5), other.sample(10, 5)
    assert all(np.array_equal(a[key], b[key]) for key in a)
    assert not np.array_equal(a["reward"], a["reward_raw"])


def test_save_is_atomic(tmp_path, episodes, monkeypatch):
    path = tmp_path / "replay.npz"
    buf = filled(32, [5], episodes)
    buf.save(str(path))
    assert os.listdir(tmp_path) == ["replay.npz"]  # no .tmp left behind
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    buf.add_episode(episodes.make(5))
    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        buf.save(str(path))
    assert path.read_bytes() == before             # the old save survives a failed write
    assert os.listdir(tmp_path) == ["replay.npz"]
    monkeypatch.undo()
    buf.save(str(path))                            # and a good save replaces it
    assert ReplayBuffer.load(str(path)).total_episodes_added == 2


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        ReplayBuffer.load(str(tmp_path / "missing.npz"))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "npy", "missing-key", "bad-rng"])
def test_corrupt_file_error_names_the_file(tmp_path, episodes, damage):
    path = tmp_path / f"replay-{damage}.npz"
    buf = filled(32, [5, 5], episodes)
    buf.save(str(path))
    data = path.read_bytes()
    state = buf.state_dict()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a replay buffer at all" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "npy":
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    elif damage == "missing-key":
        del state["is_terminal"]
        with open(path, "wb") as f:
            np.savez(f, **state)
    elif damage == "bad-rng":
        state["rng_state"] = np.array("{not json")
        with open(path, "wb") as f:
            np.savez(f, **state)
    with pytest.raises(ValueError, match=f"replay-{damage}.npz") as info:
        ReplayBuffer.load(str(path))
    if damage == "missing-key":
        assert "is_terminal" in str(info.value)
    if damage == "bad-rng":
        assert "rng_state" in str(info.value)


def test_load_state_dict_checks_before_changing_anything(episodes):
    buf = filled(32, [5, 5], episodes)
    state = buf.state_dict()
    with pytest.raises(ValueError, match="capacity/obs_dim/act_dim"):
        ReplayBuffer(64, OBS_DIM, ACT_DIM).load_state_dict(state)
    target = filled(32, [9], Episodes())
    snapshot = target.obs.copy(), target.num_steps
    state["obs"] = state["obs"][:-1]               # one record short
    with pytest.raises(ValueError, match="'obs'"):
        target.load_state_dict(state)
    assert np.array_equal(target.obs, snapshot[0]) and target.num_steps == snapshot[1]


# ----------------------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------------------
def _set(key, index, value):
    def change(ep):
        ep[key] = np.array(ep[key], dtype=object if isinstance(value, str) else ep[key].dtype)
        ep[key][index] = value
    return change


@pytest.mark.parametrize("change, fragment", [
    (_set("obs", (2, 0), np.nan), "'obs'.*NaN"),
    (_set("action", (3, 1), np.inf), "'action'.*NaN or inf"),
    (_set("reward", 4, -np.inf), "'reward'.*NaN or inf"),
    (_set("obs", (1, 1), "abc"), "'obs'.*float32"),
    (lambda ep: ep.update(reward=ep["reward"][:-1]), r"'reward'.*shape \(6,\)"),
    (lambda ep: ep.update(action=ep["action"][:-1]), "'action'.*shape"),
    (lambda ep: ep.update(obs=ep["obs"][:, :2]), "'obs'.*shape"),
    (lambda ep: ep.update(is_last=ep["is_last"][1:]), "'is_last'.*shape"),
    (lambda ep: ep.pop("action"), "missing action"),
    (_set("is_first", 0, False), r"is_first'\]\[0\] must be True"),
    (_set("is_first", 3, True), "only at t = 0"),
    (_set("is_last", -1, False), "is_last"),
    (_set("is_last", 2, True), "is_last"),
    (_set("is_terminal", 2, True), "is_terminal"),
    (lambda ep: ep.update(is_first=ep["is_first"] * 0.5 + 0.5), "'is_first'.*0/1"),
    (_set("action", (0, 0), 1.0), "one step too early"),
    (_set("reward", 0, 1.0), "one step too early"),
])
def test_bad_episodes_are_refused(episodes, change, fragment):
    ep = episodes.make(5)
    change(ep)
    buf = ReplayBuffer(100, OBS_DIM, ACT_DIM)
    with pytest.raises(ValueError, match=fragment):
        buf.add_episode(ep)
    assert buf.num_steps == 0 and buf.total_episodes_added == 0


def test_flags_as_numbers_are_accepted(episodes):
    ep = episodes.make(5)
    ep = {**ep, **{key: ep[key].astype(np.int64) for key in ("is_first", "is_last", "is_terminal")}}
    buf = ReplayBuffer(100, OBS_DIM, ACT_DIM)
    buf.add_episode(ep)
    assert buf.is_first.dtype == bool and buf.is_first[0] and buf.is_last[5]


def test_too_long_episode_is_refused(episodes):
    buf = ReplayBuffer(5, OBS_DIM, ACT_DIM)
    with pytest.raises(ValueError, match="10 records.*capacity 5"):
        buf.add_episode(episodes.make(9))
    assert buf.num_steps == 0


def test_too_little_data_names_the_numbers(episodes):
    buf = ReplayBuffer(100, OBS_DIM, ACT_DIM)
    with pytest.raises(ValueError, match="10 records.*holds only 0"):
        buf.sample(2, 10)
    buf.add_episode(episodes.make(3))
    with pytest.raises(ValueError, match="10 records.*holds only 4"):
        buf.sample(2, 10)
    assert buf.sample(2, 4)["obs"].shape == (2, 4, OBS_DIM)


@pytest.mark.parametrize("args", [(0, 4), (4, 0), (-1, 4), (2.5, 4), (True, 4)])
def test_bad_sample_sizes(episodes, args):
    buf = filled(100, [9], episodes)
    with pytest.raises(ValueError, match="batch_size|seq_len"):
        buf.sample(*args)


@pytest.mark.parametrize("args", [(0, 3, 2), (10, 0, 2), (10, 3, -1), (10.0, 3, 2)])
def test_bad_constructor_arguments(args):
    with pytest.raises(ValueError, match="capacity|obs_dim|act_dim"):
        ReplayBuffer(*args)


# ----------------------------------------------------------------------------------------------------------
# Seeds and memory
# ----------------------------------------------------------------------------------------------------------
def test_seed_decides_the_samples(episodes):
    lengths = [20, 20, 20]
    a = filled(100, lengths, Episodes(), seed=7).sample(16, 5)["obs"]
    b = filled(100, lengths, Episodes(), seed=7).sample(16, 5)["obs"]
    c = filled(100, lengths, Episodes(), seed=8).sample(16, 5)["obs"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_memory_per_record():
    assert bytes_per_record(18, 4) == 99
    buf = ReplayBuffer(250_000, 18, 4)
    assert buf.nbytes == 24_750_000
    stored = sum(getattr(buf, key).nbytes for key in
                 ("obs", "action", "reward", "reward_smooth", "is_first", "is_last", "is_terminal"))
    assert stored == buf.nbytes
