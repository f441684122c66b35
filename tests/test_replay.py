import numpy as np
import pytest

from dreamer_edu.replay import ReplayBuffer

COUNTER = [0]


def episode(length, episode_id, terminal=True, reward_at_end=10.0):
    """length env steps -> length+1 records; obs[:, 0] = global step counter, obs[:, 1] = episode id."""
    n = length + 1
    obs = np.zeros((n, 3), np.float32)
    obs[:, 0] = COUNTER[0] + np.arange(n)
    COUNTER[0] += n
    obs[:, 1] = episode_id
    reward = np.zeros(n, np.float32)
    reward[-1] = reward_at_end
    flags = np.zeros(n, bool)
    first, last = flags.copy(), flags.copy()
    first[0] = last[-1] = True
    action = np.ones((n, 2), np.float32)
    action[0] = 0
    return {"obs": obs, "action": action, "reward": reward, "is_first": first, "is_last": last,
            "is_terminal": last.copy() if terminal else flags.copy()}


def test_single_episode_reads_back_exactly():
    buf = ReplayBuffer(100, 3, 2)
    ep = episode(9, 0)
    buf.add_episode(ep)
    batch = buf.sample(4, 10)
    for key in ("obs", "action", "is_first", "is_last", "is_terminal"):
        assert np.array_equal(batch[key][0], ep[key]), key
    assert np.array_equal(batch["reward_raw"][0], ep["reward"])
    assert len(buf) == 10 and buf.num_episodes == 1 and buf.total_episodes_added == 1


def test_windows_are_consecutive_and_never_straddle_the_write_head():
    buf = ReplayBuffer(50, 3, 2, seed=1)
    for i in range(12):  # 12 * 8 records: wraps the ring almost twice
        buf.add_episode(episode(7, i))
    batch = buf.sample(500, 12)
    steps = batch["obs"][..., 0]
    assert np.all(np.diff(steps, axis=1) == 1), "a window jumped in time"
    ids = batch["obs"][..., 1]
    changes = np.diff(ids, axis=1) != 0
    assert np.array_equal(changes, batch["is_first"][:, 1:]), "episode changed without is_first"
    assert batch["is_first"][:, 0].all()


def test_overwritten_episode_start_is_marked():
    buf = ReplayBuffer(20, 3, 2)
    buf.add_episode(episode(9, 0))   # records 0..9
    buf.add_episode(episode(9, 1))   # records 10..19: full
    buf.add_episode(episode(4, 2))   # overwrites 0..4 of episode 0: its record 5 is now the oldest
    assert buf.is_first[5] and np.all(buf.action[5] == 0) and buf.reward[5] == 0
    assert buf.num_episodes == 3


def test_reward_smoother_is_applied_per_episode():
    calls = []

    def smoother(r, last):
        calls.append(len(r))
        return r * 0.5

    buf = ReplayBuffer(100, 3, 2, reward_smoother=smoother)
    buf.add_episode(episode(4, 0))
    buf.add_episode(episode(6, 1))
    assert calls == [5, 7]
    batch = buf.sample(1, 5)
    assert np.allclose(batch["reward"], 0.5 * batch["reward_raw"])


def test_save_load_round_trip_continues_the_same_samples(tmp_path):
    buf = ReplayBuffer(64, 3, 2, seed=3)
    for i in range(10):
        buf.add_episode(episode(7, i))
    path = str(tmp_path / "replay.npz")
    buf.save(path)
    assert not (tmp_path / "replay.npz.tmp").exists()
    copy = ReplayBuffer.load(path)
    a, b = buf.sample(8, 6), copy.sample(8, 6)
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert (copy.head, copy.num_steps, copy.total_episodes_added) == (buf.head, buf.num_steps, 10)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        ReplayBuffer.load(str(tmp_path / "missing.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="bad.npz"):
        ReplayBuffer.load(str(bad))


@pytest.mark.parametrize("change, fragment", [
    (lambda e: e["obs"].__setitem__((2, 0), np.nan), "obs"),
    (lambda e: e.__setitem__("reward", e["reward"][:-1]), "reward"),
    (lambda e: e["is_first"].__setitem__(0, False), "is_first"),
    (lambda e: e.pop("action"), "action"),
])
def test_bad_episodes_are_refused(change, fragment):
    ep = episode(5, 0)
    change(ep)
    with pytest.raises(ValueError, match=fragment):
        ReplayBuffer(100, 3, 2).add_episode(ep)


def test_too_long_episode_and_too_little_data():
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(5, 3, 2).add_episode(episode(9, 0))
    buf = ReplayBuffer(100, 3, 2)
    buf.add_episode(episode(3, 0))
    with pytest.raises(ValueError, match="holds only 4"):
        buf.sample(2, 10)
