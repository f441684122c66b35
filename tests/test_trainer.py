import csv
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dreamer_edu.checkpoint import CheckpointError, read_checkpoint
from dreamer_edu.config import Config
from dreamer_edu.trainer import Trainer, TrainingDiverged
from dreamer_edu.replay import ReplayBuffer

REPO = Path(__file__).resolve().parents[1]


def tiny_config(**changes):
    base = dict(mode="TRAIN_SHOOTING", opponent="none", warmup_episodes=2, total_env_steps=400,
                eval_every_steps=300, eval_games=2, log_every_updates=5, deter_size=32, hidden_size=32,
                latent_length=4, latent_classes=4, batch_size=4, batch_length=8, horizon=5, replay_ratio=64.0,
                buffer_capacity=5_000)
    base.update(changes)
    return Config.quick(**base)


def test_a_short_run_writes_checkpoint_buffer_eval_and_tensorboard(tmp_path):
    trainer = Trainer(tiny_config(), tmp_path / "run", progress=False)
    trainer.train()
    run = tmp_path / "run"
    for name in ("checkpoint.pt", "replay.npz", "eval.csv", "config.json"):
        assert (run / name).exists(), name
    assert any((run / "tb").iterdir())
    rows = list(csv.DictReader((run / "eval.csv").open()))
    assert len(rows) >= 2 and all(0 <= float(r["win_rate"]) <= 1 for r in rows)
    data = read_checkpoint(run / "checkpoint.pt")
    assert data["counters"]["env_steps"] == trainer.env_steps >= 400
    # one update per 2 env steps after warmup: 400 steps -> well over 50 updates
    assert trainer.agent.updates >= 50
    assert math.isfinite(trainer.last_metrics["world/recon_loss"])


@pytest.mark.parametrize("train_envs", [1, 3])
def test_resumed_run_is_identical_to_an_uninterrupted_one(tmp_path, train_envs):
    straight = Trainer(tiny_config(total_env_steps=500, train_envs=train_envs), tmp_path / "a", progress=False)
    straight.train()
    first = Trainer(tiny_config(total_env_steps=250, train_envs=train_envs), tmp_path / "b", progress=False)
    first.train()
    resumed = Trainer(Config(), tmp_path / "b", resume=True, progress=False, total_env_steps=500)
    assert resumed.resumed_from == first.env_steps and resumed.buffer.total_episodes_added == first.episodes
    resumed.train()
    assert resumed.env_steps == straight.env_steps and resumed.agent.updates == straight.agent.updates
    for (name, p), q in zip(straight.agent.state_dict().items(), resumed.agent.state_dict().values()):
        assert torch.equal(p, q), name


def test_training_games_side_by_side_share_one_policy_call_per_step(tmp_path):
    trainer = Trainer(tiny_config(train_envs=3), tmp_path / "run", progress=False)
    policy, shapes = trainer.agent.policy, []

    def counting_policy(obs, state=None, **kwargs):
        shapes.append(obs.shape)
        return policy(obs, state, **kwargs)

    trainer.agent.policy = counting_policy
    warmup = trainer.play_round()                                   # the first rounds are random warm-up games
    assert len(warmup) == 3 and not shapes                         # random games never call the policy
    trainer.episodes = trainer.config.warmup_episodes              # (skip the rest of the warm-up)
    steps_before, buffer_before = trainer.env_steps, len(trainer.buffer)
    games = trainer.play_round()
    lengths = [game.steps for game in games]
    assert len(games) == 3 and all(game.done for game in games)
    assert trainer.env_steps - steps_before == sum(lengths)
    assert len(trainer.buffer) - buffer_before == sum(lengths) + 3  # each game also stores its reset
    assert trainer.buffer.is_first.sum() == 6                      # three more separate episodes
    assert shapes == [(3, 18)] * max(lengths)                      # one batched call per step of the longest game


def test_non_finite_loss_stops_training_naming_the_term(tmp_path, monkeypatch):
    trainer = Trainer(tiny_config(), tmp_path / "run", progress=False)

    def broken_step(batch):
        return {"world/kl_loss": torch.tensor(float("nan")), "world/recon_loss": torch.tensor(1.0)}

    monkeypatch.setattr(trainer.agent, "train_step", broken_step)
    with pytest.raises(TrainingDiverged, match="world/kl_loss") as err:
        trainer.train()
    assert "checkpoint.pt" in str(err.value) and "recon" not in str(err.value)


def test_resume_without_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint.pt"):
        Trainer(Config(), tmp_path / "nothing", resume=True)


def test_corrupt_checkpoint_names_the_file(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="checkpoint.pt: cannot read"):
        read_checkpoint(bad)
    torch.save({"something": 1}, bad)
    with pytest.raises(CheckpointError, match="not a dreamer_edu checkpoint"):
        read_checkpoint(bad)


def _counters(run_dir: Path) -> dict | None:
    try:
        return read_checkpoint(run_dir / "checkpoint.pt")["counters"]
    except CheckpointError:
        return None


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_continues_from_the_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "dreamer_edu", "train", "--quick", "--mode", "TRAIN_SHOOTING", "--opponent", "none",
           "--run-dir", str(run), "--steps", "1000000", "--no-progress", "--threads", "1", "--config-override",
           "checkpoint_minutes=0.002", "warmup_episodes=3", "eval_every_steps=1000000", "deter_size=32",
           "hidden_size=32", "batch_size=4", "batch_length=8", "horizon=5"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            counters = _counters(run)
            if counters and counters["episodes"] >= 8:
                break
            if proc.poll() is not None:
                pytest.fail(f"training exited early: {proc.stdout.read().decode()[-2000:]}")
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint after 120 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = _counters(run)
    assert saved is not None
    target = saved["env_steps"] + 300
    resume = subprocess.run([sys.executable, "-m", "dreamer_edu", "train", "--resume", "--run-dir", str(run),
                             "--steps", str(target), "--no-progress"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert resume.returncode == 0, resume.stderr[-2000:]
    assert f"at env step {saved['env_steps']}" in resume.stdout
    assert f"{saved['buffer_episodes']} games" in resume.stdout or f"({saved['episodes']} games" in resume.stdout
    final = _counters(run)
    assert final["env_steps"] >= target
    assert final["buffer_episodes"] > saved["buffer_episodes"]


def test_callbacks_see_every_log_interval_and_evaluation(tmp_path):
    logged, evaluated = [], []
    trainer = Trainer(tiny_config(), tmp_path / "run", progress=False,
                      on_log=lambda t, m: logged.append((t.env_steps, dict(m))),
                      on_eval=lambda t, row: evaluated.append(row))
    trainer.train()
    # history and the on_log callback see the same intervals, in order, with the guide's diagnostics
    assert len(logged) == len(trainer.history) >= 2
    assert [s for s, _ in logged] == [row["env_steps"] for row in trainer.history]
    assert [s for s, _ in logged] == sorted(s for s, _ in logged)
    assert all("behavior/entropy_mean" in m and "diagnostics/return_range_S" in m for _, m in logged)
    rows = list(csv.DictReader((tmp_path / "run" / "eval.csv").open()))
    assert [r["env_steps"] for r in rows] == [str(r["env_steps"]) for r in evaluated]


def test_one_evaluation_per_interval_even_after_a_warmup_that_spans_several(tmp_path):
    # 12 warm-up games of about 80 steps pass several 150-step eval boundaries at once
    trainer = Trainer(tiny_config(warmup_episodes=12, eval_every_steps=150, total_env_steps=1_400, replay_ratio=8.0),
                      tmp_path / "run", progress=False)
    trainer.train()
    steps = [int(r["env_steps"]) for r in csv.DictReader((tmp_path / "run" / "eval.csv").open())]
    assert steps[0] > 3 * 150                      # the warm-up really did pass several boundaries
    intervals = [s // 150 for s in steps[:-1]]     # the last row is the end-of-run evaluation
    assert len(intervals) >= 3, steps
    # one evaluation in each interval, none skipped and none repeated
    assert intervals == list(range(intervals[0], intervals[0] + len(intervals))), steps


def test_time_budget_stops_with_a_checkpoint_and_a_second_call_continues(tmp_path):
    config = tiny_config(total_env_steps=100_000, warmup_episodes=1)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    trainer.train(max_minutes=0.05)                      # 3 seconds, then the game in progress is finished
    first_steps = trainer.env_steps
    assert 0 < first_steps < 100_000                     # stopped by the clock, long before the step budget
    data = read_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert data["counters"]["env_steps"] == first_steps
    first_wall = data["counters"]["wall_seconds"]
    trainer.train(max_minutes=0.05)                      # continues: more steps, the clock keeps counting
    assert trainer.env_steps > first_steps
    assert read_checkpoint(tmp_path / "run" / "checkpoint.pt")["counters"]["wall_seconds"] > first_wall
    with pytest.raises(ValueError, match="max_minutes"):
        trainer.train(max_minutes=0)


def test_a_curriculum_switches_the_training_games_mode_and_resumes_in_its_stage(tmp_path, capsys):
    config = tiny_config(mode="NORMAL", curriculum="TRAIN_SHOOTING:200,NORMAL", total_env_steps=300,
                         eval_every_steps=10**6)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    assert trainer.train_mode == "TRAIN_SHOOTING"
    trainer.train()
    assert trainer.train_mode == "NORMAL" and trainer.env_steps >= 300
    out = capsys.readouterr().out
    switch = int(out.split("curriculum: training games in NORMAL from env step ")[1].split()[0])
    assert 200 <= switch < 200 + 81                                  # at the first game after 200 env steps
    episodes = ReplayBuffer.load(tmp_path / "run" / "replay.npz")
    assert episodes.total_episodes_added == trainer.episodes
    # evaluation stays in the curriculum's goal, the config's mode
    assert read_checkpoint(tmp_path / "run" / "checkpoint.pt")["config"]["curriculum"] == config.curriculum
    resumed = Trainer(Config(), tmp_path / "run", resume=True, progress=False, total_env_steps=400)
    assert resumed.config.mode_at(resumed.env_steps) == "NORMAL"
    resumed.train()
    assert resumed.train_mode == "NORMAL"


def test_wall_clock_total_carries_over_resumes_and_close_releases_the_writer(tmp_path):
    trainer = Trainer(tiny_config(total_env_steps=300), tmp_path / "run", progress=False)
    assert trainer.wall_seconds_before == 0.0
    trainer.train()
    first = trainer.wall_seconds_before
    assert first > 0 and trainer.writer is not None
    trainer.close()
    assert trainer.writer is None
    resumed = Trainer(Config(), tmp_path / "run", resume=True, progress=False, total_env_steps=400)
    saved = read_checkpoint(tmp_path / "run" / "checkpoint.pt")["counters"]["wall_seconds"]
    assert resumed.wall_seconds_before == saved and 0.9 * first < saved <= first   # saved just before the end
    resumed.train()
    assert resumed.wall_seconds_before > first
    resumed.close()


def _metrics(**changes):
    m = {"behavior/entropy_mean": 5.0, "diagnostics/return_range_at_floor": 0.0, "actor/saturation": 0.1,
         "actor/mean_std": 1.0}
    m.update(changes)
    return m


def test_diagnostics_warn_when_sigma_climbs_to_its_bound(tmp_path, capsys):
    """What the stalled hockey runs showed: the tanh-Normal's sigma rising from ~1.9 to 4.2 (bound 7.39)."""
    trainer = Trainer(tiny_config(), tmp_path / "run", progress=False)
    trainer._diagnose(_metrics(**{"actor/mean_std": 1.88}))
    trainer._diagnose(_metrics(**{"actor/mean_std": 3.0}))        # 1.6x, but under half the bound 7.39
    assert "WARNING" not in capsys.readouterr().out
    trainer._diagnose(_metrics(**{"actor/mean_std": 4.2}))
    out = capsys.readouterr().out
    assert "sigma has climbed from 1.88 to 4.20 (its upper bound is 7.39)" in out and "bounded_normal" in out
    trainer._diagnose(_metrics(**{"actor/mean_std": 4.5}))        # said once
    assert "WARNING" not in capsys.readouterr().out


def test_diagnostics_warn_after_a_streak_of_saturated_actions(tmp_path, capsys):
    trainer = Trainer(tiny_config(), tmp_path / "run", progress=False)
    for _ in range(19):
        trainer._diagnose(_metrics(**{"actor/saturation": 0.79}))
    trainer._diagnose(_metrics(**{"actor/saturation": 0.2}))       # the streak is broken
    for _ in range(19):
        trainer._diagnose(_metrics(**{"actor/saturation": 0.79}))
    assert "WARNING" not in capsys.readouterr().out
    trainer._diagnose(_metrics(**{"actor/saturation": 0.79}))
    assert "79% of the actor's imagined actions sit at +-1" in capsys.readouterr().out


def test_the_official_pieces_train_end_to_end(tmp_path):
    """Raw-space two-hot, the critic's replay loss, online bootstrap, bounded Normal, goals-only reward."""
    c = tiny_config(twohot_space="raw", replay_critic_scale=0.3, critic_bootstrap="online",
                    actor_dist="bounded_normal", reward_closeness_scale=0.0)
    trainer = Trainer(c, tmp_path / "run", progress=False)
    trainer.train()
    assert trainer.agent.updates >= 50 and math.isfinite(trainer.last_metrics["critic/replay_loss"])
    assert trainer.agent.critic.twohot.space == "raw" and trainer.agent.world_model.twohot.space == "raw"
    assert trainer.envs["none"][0].closeness_scale == 0.0 and trainer.eval_envs["none"][0].closeness_scale == 1.0


def test_a_mixture_of_opponents_draws_each_training_game_and_evaluates_against_each(tmp_path):
    c = tiny_config(mode="NORMAL", opponent="weak:0.5,none:0.5", train_envs=2, total_env_steps=600,
                    eval_every_steps=10_000)
    trainer = Trainer(c, tmp_path / "run", progress=False)
    drawn = []
    original = trainer._draw_opponents
    trainer._draw_opponents = lambda: drawn.append(original()) or drawn[-1]
    trainer.train()
    names = [name for round_ in drawn for name in round_]
    assert set(names) == {"weak", "none"} and len(names) == 2 * len(drawn) >= 4
    rows = list(csv.DictReader((tmp_path / "run" / "eval.csv").open()))
    assert [r["opponent"] for r in rows] == ["weak", "none"]                # one evaluation, both opponents
    assert trainer.last_eval["opponent"] == "weak" and set(trainer.last_evals) == {"weak", "none"}


def test_a_mixture_run_resumes_exactly(tmp_path):
    c = dict(mode="NORMAL", opponent="weak:0.5,strong:0.5", eval_every_steps=10_000)
    straight = Trainer(tiny_config(total_env_steps=700, **c), tmp_path / "a", progress=False)
    straight.train()
    first = Trainer(tiny_config(total_env_steps=300, **c), tmp_path / "b", progress=False)
    first.train()
    resumed = Trainer(Config(), tmp_path / "b", resume=True, progress=False, total_env_steps=700)
    resumed.train()
    assert resumed.env_steps == straight.env_steps and resumed.episodes == straight.episodes
    for (name, p), q in zip(straight.agent.state_dict().items(), resumed.agent.state_dict().values()):
        assert torch.equal(p, q), name
