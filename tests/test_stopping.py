"""Stopping a run: Ctrl-C (SIGINT) and SIGTERM save everything played so far; an interrupted save is completed.

The signal tests start a real ``python -m dreamer_edu train`` and send it the signal, once during the random
warm-up games and once while it trains.  "Nothing lost" is checked by counting: every env step the run took is a
stored transition in the saved replay buffer, and the resumed run starts at the step where it stopped.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from dreamer_edu.checkpoint import (CHECKPOINT_NAME, NEXT_SUFFIX, REPLAY_NAME, finish_interrupted_save,
                                    read_checkpoint, save_run_files)
from dreamer_edu.replay import ReplayBuffer
from dreamer_edu.trainer import SIGNAL_EXIT_CODES, Trainer, format_duration

REPO = Path(__file__).resolve().parents[1]
TINY = ["deter_size=32", "hidden_size=32", "batch_size=4", "batch_length=8", "horizon=5", "log_every_updates=5",
        "eval_every_steps=1000000", "checkpoint_minutes=1000"]


def _start(run: Path, *overrides: str) -> tuple[subprocess.Popen, list[str]]:
    cmd = [sys.executable, "-m", "dreamer_edu", "train", "--quick", "--mode", "TRAIN_SHOOTING", "--opponent", "none",
           "--run-dir", str(run), "--steps", "1000000", "--no-progress", "--config-override", *TINY, *overrides]
    env = dict(os.environ, PYTHONPATH=str(REPO), SDL_VIDEODRIVER="dummy", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, cwd=run.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()   # read as it comes
    return proc, lines


def _wait_for(condition, proc, lines, what: str, seconds: float = 120.0) -> None:
    deadline = time.time() + seconds
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"training exited before {what}: {''.join(lines)[-2000:]}")
        if time.time() > deadline:
            proc.kill()
            pytest.fail(f"no {what} after {seconds:.0f} s: {''.join(lines)[-2000:]}")
        time.sleep(0.1)


def _stored_transitions(run: Path) -> int:
    buffer = ReplayBuffer.load(run / REPLAY_NAME)
    return buffer.total_steps_added - buffer.total_episodes_added      # each game: L transitions in L+1 records


@pytest.mark.parametrize("sig, phase", [(signal.SIGINT, "training"), (signal.SIGTERM, "warmup")])
def test_a_signal_saves_every_step_played_and_resume_continues_there(tmp_path, sig, phase):
    run = tmp_path / "run"
    # the warm-up phase never ends in the SIGTERM case (10,000 random games), so the signal lands inside it
    proc, lines = _start(run, "warmup_episodes=3" if phase == "training" else "warmup_episodes=10000")
    if phase == "training":
        # TensorBoard's folder appears at the first logging interval: 5 updates have been made
        _wait_for(lambda: (run / "tb").exists(), proc, lines, "training updates")
        time.sleep(1.0)
    else:
        _wait_for(lambda: any("on the CPU" in line for line in lines), proc, lines, "start of the warm-up")
        time.sleep(2.0)
    assert not (run / CHECKPOINT_NAME).exists()          # no periodic save before the signal
    proc.send_signal(sig)
    code = proc.wait(timeout=120)
    time.sleep(0.2)
    out = "".join(lines)
    name = signal.Signals(sig).name
    assert code == SIGNAL_EXIT_CODES[name], out[-2000:]
    assert "Traceback" not in out
    stopped = re.search(rf"stopped by {name} at env step (\d+)", out)
    assert stopped, out[-2000:]
    steps = int(stopped.group(1))
    assert steps > 0

    saved = read_checkpoint(run / CHECKPOINT_NAME)["counters"]
    assert saved["env_steps"] == steps
    assert _stored_transitions(run) == steps              # the games in progress were stored, cut short
    assert not list(run.glob("*" + NEXT_SUFFIX))          # no half-finished save left behind
    if phase == "training":
        assert read_checkpoint(run / CHECKPOINT_NAME)["agent"]["updates"] >= 5

    env = dict(os.environ, PYTHONPATH=str(REPO), SDL_VIDEODRIVER="dummy")
    resumed = subprocess.run([sys.executable, "-m", "dreamer_edu", "train", "--resume", "--run-dir", str(run),
                              "--steps", str(steps + 200), "--no-progress"] +
                             (["--threads", "1"] if phase == "training" else []),
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    if phase == "warmup":      # 10,000 warm-up games would take far too long: it is enough that it starts there
        assert resumed.returncode == 0 or "Traceback" not in resumed.stderr
    assert f"at env step {steps} " in resumed.stdout, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    if phase == "training":
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert read_checkpoint(run / CHECKPOINT_NAME)["counters"]["env_steps"] >= steps + 200


def test_a_stop_request_in_process_saves_and_train_can_go_on(tmp_path):
    """The same path without a subprocess: the flag a signal sets, set from the logging hook."""
    from test_trainer import tiny_config

    def stop_after_first_log(trainer, metrics):
        trainer.stop_signal = "SIGINT"

    trainer = Trainer(tiny_config(total_env_steps=5_000), tmp_path / "run", progress=False, on_log=stop_after_first_log)
    trainer.train()
    assert trainer.stop_signal == "SIGINT" and trainer.env_steps < 5_000
    counters = read_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["counters"]
    assert counters["env_steps"] == trainer.env_steps == _stored_transitions(tmp_path / "run")
    assert not (tmp_path / "run" / "eval.csv").exists()          # a stop does not wait for an evaluation
    resumed = Trainer(tiny_config(), tmp_path / "run", resume=True, progress=False, total_env_steps=trainer.env_steps + 100)
    assert resumed.env_steps == trainer.env_steps and resumed.agent.updates == trainer.agent.updates
    resumed.train()
    assert resumed.stop_signal is None and resumed.env_steps >= trainer.env_steps + 100


class _Buffer:
    """Stands in for a replay buffer: ``save`` writes a marker (or fails, to simulate a kill mid-save)."""

    def __init__(self, marker: bytes, fail: bool = False):
        self.marker, self.fail = marker, fail

    def save(self, path: str) -> None:
        Path(path).write_bytes(self.marker)
        if self.fail:
            raise KeyboardInterrupt


def test_save_run_files_writes_a_matching_pair(tmp_path):
    save_run_files(tmp_path, {"n": torch.tensor(1)}, _Buffer(b"one"))
    assert (tmp_path / REPLAY_NAME).read_bytes() == b"one"
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["n"].item() == 1
    assert not list(tmp_path.glob("*" + NEXT_SUFFIX))


def test_a_kill_between_the_two_renames_is_completed_on_the_next_read(tmp_path):
    save_run_files(tmp_path, {"n": torch.tensor(1)}, _Buffer(b"one"))
    # what a kill right after the replay buffer's rename leaves: the new buffer, the new checkpoint not yet renamed
    (tmp_path / REPLAY_NAME).write_bytes(b"two")
    torch.save({"n": torch.tensor(2)}, tmp_path / (CHECKPOINT_NAME + NEXT_SUFFIX))
    finish_interrupted_save(tmp_path)
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["n"].item() == 2
    assert not list(tmp_path.glob("*" + NEXT_SUFFIX))


def test_a_kill_before_the_renames_keeps_the_old_pair(tmp_path):
    save_run_files(tmp_path, {"n": torch.tensor(1)}, _Buffer(b"one"))
    with pytest.raises(KeyboardInterrupt):
        save_run_files(tmp_path, {"n": torch.tensor(2)}, _Buffer(b"two", fail=True))
    assert (tmp_path / (REPLAY_NAME + NEXT_SUFFIX)).exists()
    (tmp_path / (CHECKPOINT_NAME + NEXT_SUFFIX)).write_bytes(b"half a checkpoint")   # killed while writing it
    finish_interrupted_save(tmp_path)
    assert (tmp_path / REPLAY_NAME).read_bytes() == b"one"
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["n"].item() == 1
    assert not list(tmp_path.glob("*" + NEXT_SUFFIX))


@pytest.mark.parametrize("seconds, text", [(40, "40 s"), (600, "10 min"), (5400, "1.5 h"), (3 * 86400, "3.0 days")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_the_cost_report_names_speed_time_left_and_the_cpu_hint(tmp_path, capsys):
    from test_trainer import tiny_config

    trainer = Trainer(tiny_config(total_env_steps=10_000_000, deter_size=128), tmp_path / "run", progress=False)
    trainer.next_eval = 500
    trainer._report_cost(steps=600, updates=30, seconds=60.0)       # 10 env steps/s, 0.5 updates/s
    out = capsys.readouterr().out
    assert "0.50 updates/s" in out and "10.0 env steps/s" in out
    assert "comes in 50 s" in out                                   # 500 steps at 10 per second
    assert "11.6 days" in out and "--preset cpu" in out             # 10 million steps at 10 per second
    trainer.config = trainer.config.replace(total_env_steps=2_000)
    trainer._report_cost(steps=600, updates=30, seconds=60.0)
    assert "--preset cpu" not in capsys.readouterr().out            # a short run needs no hint
    trainer.config = trainer.config.replace(total_env_steps=10_000_000)
    trainer.deadline = time.perf_counter() + 1800                    # train(max_minutes=30): the budget ends it
    trainer._report_cost(steps=600, updates=30, seconds=60.0)
    out = capsys.readouterr().out
    assert "the end of the time budget in 30 min (near env step 1" in out and "days" not in out
    quick = Trainer(tiny_config(total_env_steps=10_000_000), tmp_path / "quick", progress=False)
    quick._report_cost(steps=600, updates=30, seconds=60.0)
    out = capsys.readouterr().out
    assert "days" in out and "--preset cpu" not in out              # already the small sizes: no hint
