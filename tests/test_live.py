"""LiveDiagnostics (dreamer_edu/viz/live.py) driven by a tiny real Trainer."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_trainer import tiny_config  # noqa: E402

from dreamer_edu.trainer import Trainer  # noqa: E402
from dreamer_edu.viz import live as live_module  # noqa: E402
from dreamer_edu.viz.live import PANEL_TITLES, LiveDiagnostics, require_gpu  # noqa: E402
from dreamer_edu.viz.plots import read_eval_csv  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two random warmup games, then one game of learning (0.5 updates per env step), one evaluation."""
    torch.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("live") / "run"
    live = LiveDiagnostics(floor=123.0, refresh_seconds=0.0)   # the trainer's config overrides the floor
    config = tiny_config(total_env_steps=200, eval_every_steps=100, replay_ratio=16.0, log_every_updates=5)
    trainer = Trainer(config, run_dir, progress=False, on_log=live.on_log, on_eval=live.on_eval)
    trainer.train()
    return trainer, live, run_dir


def test_recorded_series_equal_trainer_history_and_eval_csv(run):
    trainer, live, run_dir = run
    assert not live.live and live.redraws == 0            # under pytest: record only, never display
    assert len(trainer.history) >= 4 and live.rows == trainer.history
    csv_rows = read_eval_csv(run_dir)
    assert len(live.evals) == len(csv_rows) >= 1
    for mine, theirs in zip(live.evals, csv_rows):
        for key in ("env_steps", "win_rate", "draw_rate", "loss_rate"):
            assert float(mine[key]) == pytest.approx(theirs[key])
    steps, entropy = live.series("behavior/entropy_mean")
    assert steps.tolist() == [r["env_steps"] for r in trainer.history]
    assert entropy.tolist() == [r["behavior/entropy_mean"] for r in trainer.history]
    assert live.floor == trainer.config.return_norm_floor == 1.0
    assert live.updates_per_env_step == pytest.approx(16.0 / (4 * 8))
    low, high = live.entropy_bounds                            # 4 dims of 1.419 + log sigma, log sigma in [-0.5, 2]
    assert low == pytest.approx(4 * (0.5 * math.log(2 * math.pi * math.e) - 0.5)) == pytest.approx(3.675, abs=1e-3)
    assert high == pytest.approx(4 * (0.5 * math.log(2 * math.pi * math.e) + 2.0))
    _, ent_min = live.series("behavior/entropy_min")
    _, ent_max = live.series("behavior/entropy_max")
    assert (ent_min >= low - 1e-3).all() and (ent_max <= high + 1e-3).all()


def test_updates_follow_the_logging_interval_and_replay_ratio(run):
    trainer, live, _ = run
    _, updates = live.series("updates")
    # every interval but the last (flushed early by the final checkpoint) holds exactly log_every_updates updates
    assert (np.diff(updates)[:-1] == trainer.config.log_every_updates).all()
    # env steps of the two random warmup games, read from the buffer (each game's records = reset + its steps)
    firsts = np.flatnonzero(trainer.buffer.is_first[:trainer.buffer.num_steps])
    warmup_steps = firsts[2] - 2
    assert 2 <= warmup_steps <= 2 * 80
    expected = (trainer.env_steps - warmup_steps) * trainer.config.updates_per_env_step
    assert abs(trainer.agent.updates - expected) <= 1 and updates[-1] == trainer.agent.updates


def test_summary_matches_an_independent_computation(run):
    trainer, live, _ = run
    summary = live.summary()
    at_floor = [r["diagnostics/return_range_at_floor"] for r in trainer.history]
    assert summary["share_at_floor"] == pytest.approx(sum(at_floor) / len(at_floor))
    assert 0.0 <= summary["share_at_floor"] <= 1.0
    assert summary["return_range_S"] == trainer.history[-1]["diagnostics/return_range_S"] >= 1.0   # S >= floor
    assert summary["all_finite"] and summary["win_rate"] == trainer.last_eval["win_rate"]
    broken = LiveDiagnostics.from_run(trainer.history)
    broken.add_metrics(999, 999, {**trainer.history[-1], "world/kl_loss": math.nan})
    assert not broken.all_finite()


def test_figure_has_the_six_panels_and_saves(run, tmp_path):
    import matplotlib.pyplot as plt

    trainer, live, _ = run
    fig = live.figure()
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 6
    assert titles[0] == "policy entropy" and titles[1].startswith("return range S (at its floor in")
    assert titles[2:] == list(PANEL_TITLES[2:])
    mean_line = [line for line in fig.axes[0].get_lines() if line.get_label() == "mean"][0]
    assert np.allclose(mean_line.get_ydata(), [r["behavior/entropy_mean"] for r in trainer.history])
    win_line = fig.axes[4].get_lines()[0]
    assert np.allclose(win_line.get_ydata(), [100 * r["win_rate"] for r in live.evals])
    plt.close(fig)
    path = live.save(tmp_path / "sub" / "diag.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


def test_from_run_rebuilds_the_record(run):
    trainer, live, run_dir = run
    again = LiveDiagnostics.from_run(trainer.history, run_dir)
    assert again.rows == live.rows
    assert [r["win_rate"] for r in again.evals] == pytest.approx([r["win_rate"] for r in live.evals])


def test_one_display_handle_is_created_then_updated(run, monkeypatch):
    import IPython.display

    trainer, _, _ = run
    calls = {"display": 0, "update": 0}

    class Handle:
        def update(self, fig):
            calls["update"] += 1

    def fake_display(fig, display_id=False):
        assert display_id is True
        calls["display"] += 1
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    live = LiveDiagnostics(refresh_seconds=3600.0, live=True)
    for row in trainer.history[:3]:
        live.on_log(trainer, {k: v for k, v in row.items() if k not in ("env_steps", "updates")})
    assert calls == {"display": 1, "update": 0}              # throttled: drawn once, not three times
    live.on_eval(trainer, trainer.last_eval)                 # evaluations always redraw, into the same handle
    assert calls == {"display": 1, "update": 1} and live.redraws == 2


def test_bad_input_raises_clear_errors(run):
    trainer, _, _ = run
    live = LiveDiagnostics()
    with pytest.raises(ValueError, match="nothing recorded"):
        live.figure()
    with pytest.raises(ValueError, match="nothing recorded"):
        live.summary()
    good = {k: v for k, v in trainer.history[0].items() if k not in ("env_steps", "updates")}
    with pytest.raises(ValueError, match="behavior/entropy_min"):
        live.add_metrics(1, 1, {k: v for k, v in good.items() if k != "behavior/entropy_min"})
    with pytest.raises(ValueError, match="must be a number"):
        live.add_metrics(1, 1, {**good, "world/kl_loss": "big"})
    with pytest.raises(ValueError, match="dict"):
        live.add_metrics(1, 1, [1.0, 2.0])
    with pytest.raises(ValueError, match="win_rate must lie in"):
        live.add_eval({"env_steps": 10, "win_rate": 1.5, "draw_rate": 0.0, "loss_rate": 0.0})
    with pytest.raises(ValueError, match="missing 'loss_rate'"):
        live.add_eval({"env_steps": 10, "win_rate": 0.5, "draw_rate": 0.0})
    live.add_metrics(1, 1, good)
    with pytest.raises(ValueError, match="no recorded series 'world/nope'"):
        live.series("world/nope")
    with pytest.raises(ValueError, match="floor"):
        LiveDiagnostics(floor=0.0)
    with pytest.raises(ValueError, match="refresh_seconds"):
        LiveDiagnostics(refresh_seconds=-1.0)
    assert live.rows == [{"env_steps": 1, "updates": 1, **good}]   # the refused rows were not recorded


def test_require_gpu_refuses_without_a_gpu():
    assert require_gpu(False, cuda_available=False) is False
    assert require_gpu(True, cuda_available=True) is True
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        require_gpu(True, cuda_available=False)
    assert live_module.in_notebook() is False
