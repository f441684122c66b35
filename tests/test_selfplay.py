"""The self-play pool (dreamer_edu/selfplay.py): snapshots, sampling, the opponent that plays them, the trainer
with opponent "self" (resumes exactly), and the errors for bad input."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from dreamer_edu.agent import Dreamer
from dreamer_edu.checkpoint import read_checkpoint
from dreamer_edu.config import Config
from dreamer_edu.envs import make_env
from dreamer_edu.games import Game
from dreamer_edu.selfplay import SelfPlayPool, SnapshotOpponent, policy_weights
from dreamer_edu.trainer import Trainer

from test_trainer import REPO, tiny_config


def small_agent(seed=0):
    torch.manual_seed(seed)
    return Dreamer(tiny_config())


def test_a_full_pool_drops_its_oldest_snapshot_and_snapshots_are_frozen_copies():
    agent, pool = small_agent(), SelfPlayPool(size=2)
    name, weight = next(iter(agent.actor.named_parameters()))
    for steps in (0, 100, 200):
        pool.add(agent, steps)
        with torch.no_grad():
            weight.add_(1.0)                              # the agent trains on; its snapshots must not move
    assert [s["env_steps"] for s in pool.snapshots] == [100, 200] and len(pool) == 2
    assert torch.equal(pool.snapshots[0]["weights"]["actor"][name] + 2.0, weight.detach())
    assert set(pool.snapshots[0]["weights"]) == {"world_model", "actor"}   # what acting needs, no critic


def test_uniform_and_winrate_sampling_hand_worked():
    agent = small_agent()
    pool = SelfPlayPool(size=3, sampling="uniform")
    for steps in (0, 1, 2):
        pool.add(agent, steps)
    np.testing.assert_allclose(pool.probabilities(), [1 / 3] * 3)
    pool.sampling = "winrate"
    for result in (-1, -1, -1, 1):        # snapshot 0 beat the agent 3 times in 4: (3+1)/(4+2) = 2/3
        pool.record(0, result)
    for result in (1, 1, 0, 1, 1, 1):     # snapshot 1 never won in 6: (0+1)/(6+2) = 1/8
        pool.record(1, result)            # snapshot 2 never played: 1/2
    weights = np.array([2 / 3, 1 / 8, 1 / 2])
    np.testing.assert_allclose(pool.probabilities(), weights / weights.sum())
    assert pool.agent_record() == (10, 6)                 # 1 + 5 wins of the agent in 10 games
    draws = [pool.draw(np.random.default_rng(seed)) for seed in range(3000)]
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 3000, weights / weights.sum(), atol=0.03)


def test_a_snapshot_plays_player_two_as_the_agent_would_play_player_one():
    agent = small_agent()
    player = SnapshotOpponent(tiny_config())
    player.load(0, policy_weights(agent))
    env = make_env(mode="NORMAL", opponent=player)
    game = Game(env, seed=3)
    state = None
    for _ in range(30):
        obs_two = env.obs_agent_two()
        torch.manual_seed(7)
        expected, state = agent.policy(obs_two, state, explore=False)
        torch.manual_seed(7)
        game.step(np.zeros(4, np.float32))            # player two acts inside the env's step
        assert np.array_equal(player.state.prev_action.cpu().numpy()[0], expected)
        if game.done:
            break
    env.reset(seed=4)                                 # a new game clears the snapshot's memory
    assert player.state is None


def test_building_a_snapshot_player_does_not_move_the_random_stream():
    torch.manual_seed(0)
    SnapshotOpponent(tiny_config())
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(3))


def test_training_against_the_pool_takes_snapshots_records_games_and_resumes_exactly(tmp_path):
    c = dict(mode="NORMAL", opponent="weak:0.5,self:0.5", eval_every_steps=10_000, selfplay_every_steps=200,
             selfplay_pool_size=2, selfplay_sampling="winrate")
    straight = Trainer(tiny_config(total_env_steps=900, **c), tmp_path / "a", progress=False)
    drawn, recorded = [], []
    draw_opponents, record = straight._draw_opponents, straight.pool.record
    straight._draw_opponents = lambda: drawn.append(draw_opponents()) or drawn[-1]
    straight.pool.record = lambda index, result: recorded.append(index) or record(index, result)
    straight.train()
    assert set(straight.envs) == {"weak", "self"} and set(straight.eval_envs) == {"weak"}   # no eval vs the pool
    # a snapshot before the first round, then one at the first round at least 200 env steps later, and so on;
    # the pool keeps the last two
    steps = [s["env_steps"] for s in straight.pool.snapshots]
    assert len(steps) == 2 and steps[1] - steps[0] >= 200 and steps[1] >= 400
    self_games = sum(names.count("self") for names in drawn)
    assert len(recorded) == self_games >= 1               # every game against the pool went into its record
    saved = read_checkpoint(tmp_path / "a" / "checkpoint.pt")
    assert [s["env_steps"] for s in saved["selfplay"]["pool"]["snapshots"]] == [
        s["env_steps"] for s in straight.pool.snapshots]

    first = Trainer(tiny_config(total_env_steps=350, **c), tmp_path / "b", progress=False)
    first.train()
    resumed = Trainer(Config(), tmp_path / "b", resume=True, progress=False, total_env_steps=900)
    assert [s["env_steps"] for s in resumed.pool.snapshots] == [s["env_steps"] for s in first.pool.snapshots]
    resumed.train()
    assert resumed.env_steps == straight.env_steps and resumed.episodes == straight.episodes
    for (name, p), q in zip(straight.agent.state_dict().items(), resumed.agent.state_dict().values()):
        assert torch.equal(p, q), name
    for mine, theirs in zip(straight.pool.snapshots, resumed.pool.snapshots):
        assert {k: mine[k] for k in ("env_steps", "games", "wins", "losses")} == {
            k: theirs[k] for k in ("env_steps", "games", "wins", "losses")}
        for part in ("world_model", "actor"):
            for key, value in mine["weights"][part].items():
                assert torch.equal(value, theirs["weights"][part][key]), (part, key)


def test_evaluation_opponents_leave_the_pool_out():
    assert Config(opponent="weak:0.4,strong:0.4,self:0.2").eval_opponents == ["weak", "strong"]
    assert Config(opponent="self").eval_opponents == ["weak", "strong"]     # the pool alone: both bots measure it
    assert Config(opponent="self").uses_selfplay and not Config(opponent="weak:0.5,strong:0.5").uses_selfplay


@pytest.mark.parametrize("changes, named", [
    (dict(opponent="weak:0.5,self:0.4"), "sum to 0.9"),
    (dict(opponent="weak:0.5,selff:0.5"), "'selff'"),
    (dict(opponent="self:0.5,self:0.5"), "'self' appears twice"),
    (dict(opponent="weak:0.5,self:0.5", selfplay_pool_size=0), "selfplay_pool_size = 0 leaves the self-play pool empty"),
    (dict(selfplay_pool_size=-2), "selfplay_pool_size must be a positive integer, got -2"),
    (dict(selfplay_every_steps=0), "selfplay_every_steps must be a positive integer, got 0"),
    (dict(selfplay_sampling="elo"), "selfplay_sampling = 'elo'"),
])
def test_bad_self_play_settings_are_refused_naming_the_value(changes, named):
    with pytest.raises(ValueError, match=named):
        Config(**changes).validate()


def test_an_empty_pool_cannot_be_built_or_drawn_from():
    with pytest.raises(ValueError, match="empty"):
        SelfPlayPool(size=0)
    with pytest.raises(ValueError, match="empty"):
        SelfPlayPool(size=2).draw(np.random.default_rng(0))
    with pytest.raises(ValueError, match="1, 0 or -1"):
        pool = SelfPlayPool(size=1)
        pool.add(small_agent(), 0)
        pool.record(0, 2)


def test_cli_flags_and_their_errors(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "dreamer_edu", "train", *args], capture_output=True,
                              text=True, cwd=tmp_path, env={"PYTHONPATH": str(REPO), "SDL_VIDEODRIVER": "dummy",
                                                            "PATH": "/usr/bin:/bin"}, timeout=300)

    bad = run("--quick", "--opponent", "weak:0.5,self:0.5", "--selfplay-pool", "0", "--run-dir", "r")
    assert bad.returncode == 2 and "selfplay_pool_size = 0 leaves the self-play pool empty" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    help_text = run("--help").stdout
    for flag in ("--selfplay-pool", "--selfplay-every", "--selfplay-sampling", "self:0.2"):
        assert flag in help_text
    ok = run("--quick", "--opponent", "weak:0.5,self:0.5", "--selfplay-every", "100", "--selfplay-pool", "3",
             "--selfplay-sampling", "winrate", "--steps", "400", "--no-progress", "--run-dir", "r",
             "--config-override", "warmup_episodes=2", "eval_games=2", "eval_every_steps=10000")
    assert ok.returncode == 0, ok.stderr[-2000:]
    saved = read_checkpoint(tmp_path / "r" / "checkpoint.pt")
    assert saved["config"]["selfplay_pool_size"] == 3 and saved["config"]["selfplay_sampling"] == "winrate"
    steps = [s["env_steps"] for s in saved["selfplay"]["pool"]["snapshots"]]
    assert len(steps) >= 2 and steps[0] == 0 and steps[1] >= 100          # at env step 0, then every 100+
    again = run("--resume", "--run-dir", "r", "--selfplay-pool", "4")
    assert again.returncode == 2 and "only --steps, --threads and --device" in again.stderr
