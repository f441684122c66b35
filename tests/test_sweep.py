"""Sweeps on Ray Tune (dreamer_edu/sweep.py): sweep files, the results table, and a real tiny sweep that is
killed and resumed."""
import csv
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from dreamer_edu.__main__ import main
from dreamer_edu.sweep import EVAL_CSV, SWEEP_FILE, Sweep, SweepError, t_interval, t_quantile_975

REPO = Path(__file__).resolve().parents[1]

# a very small Config: a trial of ~500 env steps takes seconds on one CPU thread
TINY = """\
quick: true
config: {mode: TRAIN_SHOOTING, opponent: none, deter_size: 16, hidden_size: 16, latent_length: 4,
         latent_classes: 4, batch_size: 4, batch_length: 8, horizon: 5, warmup_episodes: 2, replay_ratio: 16,
         buffer_capacity: 5000, log_every_updates: 5}
variants:
  base: {}
  online: {critic_bootstrap: online}
seeds: [0, 1]
budget: {env_steps: 320}
evaluation: {opponents: [none, weak], games: 3, every: 160}
"""


def write(tmp_path, text, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- sweep files --------------------------------------------------------------------------------------------
def test_example_sweep_files_are_valid():
    from dreamer_edu.sweep import load_sweep

    for name in ("replay_ratio", "ablation", "ablation_weak"):
        sweep = load_sweep(REPO / "sweeps" / f"{name}.yaml")
        assert len(sweep.seeds) >= 2 and len(sweep.variants) >= 4
    ablation = load_sweep(REPO / "sweeps" / "ablation.yaml")
    assert ablation.trial_config("smooth_uniform", 2).dreamsmooth_method == "uniform"
    assert ablation.trial_config("baseline", 2).seed == 2 and ablation.seeds == [0, 1, 2]
    trials = ablation.trials()          # seed-major: a sweep stopped early still has every variant's seed 0
    assert trials[:len(ablation.variants)] == [(v, 0) for v in ablation.variants] and len(trials) == 3 * len(
        ablation.variants)
    assert ablation.trial_config("twohot_raw", 0).twohot_space == "raw"
    assert ablation.trial_config("replay_critic", 0).replay_critic_scale == 0.3


@pytest.mark.parametrize("change, named", [
    (("deter_size: 16", "deter_sise: 16"), "deter_sise"),                      # unknown Config field
    (("base: {}\n  online: {critic_bootstrap: online}", ""), "variants"),        # empty grid
    (("env_steps: 320", "env_steps: -5"), "-5"),                               # bad budget
    (("opponents: [none, weak]", "opponents: [none, medium]"), "medium"),      # unknown opponent
    (("critic_bootstrap: online", "critic_bootstrap: sideways"), "sideways"),  # a value Config refuses
    (("seeds: [0, 1]", "seeds: [0, 0]"), "seeds"),
    (("online:", "base:"), "base"),                                            # one name twice
])
def test_bad_sweep_file_is_one_line_naming_the_value(tmp_path, capsys, change, named):
    pytest.importorskip("ray")
    path = write(tmp_path, TINY.replace(*change))
    assert main(["sweep", str(path), "--sweep-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and named in err[0], err
    assert not (tmp_path / "out").exists()


def test_missing_sweep_file_through_the_real_command(tmp_path):
    pytest.importorskip("ray")
    env = dict(os.environ, PYTHONPATH=str(REPO), SDL_VIDEODRIVER="dummy")
    result = subprocess.run([sys.executable, "-m", "dreamer_edu", "sweep", str(tmp_path / "nope.yaml")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: sweep file '{tmp_path / 'nope.yaml'}' not found"]


def test_without_ray_the_command_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)        # what `import ray` meets when Ray is not installed
    assert main(["sweep", str(write(tmp_path, TINY))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -e .[sweep]" in err[0]


def test_grid_on_the_command_line(tmp_path):
    from dreamer_edu.sweep import _grid_variants

    yaml = pytest.importorskip("yaml")
    variants = _grid_variants(["replay_ratio=32,64", "use_aux_heads=true,false"], yaml)
    assert list(variants) == ["replay_ratio=32+use_aux_heads=true", "replay_ratio=32+use_aux_heads=false",
                              "replay_ratio=64+use_aux_heads=true", "replay_ratio=64+use_aux_heads=false"]
    sweep = Sweep.from_dict({"quick": True, "variants": variants, "seeds": [3]})
    assert sweep.trial_config("replay_ratio=64+use_aux_heads=false", 3).use_aux_heads is False


def test_a_minutes_budget_is_not_cut_short_by_the_configs_step_limit():
    """Config.quick() stops at 20,000 env steps; a sweep that budgets minutes must run for its minutes."""
    from dreamer_edu.sweep import MINUTES_ONLY_ENV_STEPS

    minutes = Sweep.from_dict({"quick": True, "variants": {"a": {}}, "seeds": [0], "budget": {"minutes": 60}})
    assert minutes.trial_config("a", 0).total_env_steps == MINUTES_ONLY_ENV_STEPS
    steps = Sweep.from_dict({"quick": True, "variants": {"a": {}}, "seeds": [0], "budget": {"env_steps": 700}})
    assert steps.trial_config("a", 0).total_env_steps == 700


# --- the results table --------------------------------------------------------------------------------------
def test_t_interval_matches_the_t_table():
    assert t_quantile_975(1) == 12.706 and abs(t_quantile_975(30) - 2.042) < 0.003
    assert abs(t_quantile_975(11) - 2.201) < 0.003 and abs(t_quantile_975(100) - 1.984) < 0.003
    mean, low, high = t_interval([0.2, 0.4, 0.6])
    assert mean == pytest.approx(0.4) and high - mean == pytest.approx(4.303 * 0.2 / 3 ** 0.5)


def test_results_table_and_figure_from_written_csvs(tmp_path, capsys):
    yaml = pytest.importorskip("yaml")
    sweep = Sweep.from_dict(yaml.safe_load(TINY.replace("env_steps: 320", "env_steps: 480")))
    (tmp_path / SWEEP_FILE).write_text(yaml.safe_dump(sweep.to_dict()))
    finals = {("base", 0): 0.2, ("base", 1): 0.4, ("online", 0): 0.6, ("online", 1): 1.0}
    for (variant, seed), final in finals.items():
        run = tmp_path / f"{variant}-seed{seed}"
        run.mkdir()
        with (run / EVAL_CSV).open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["env_steps", "opponent", "games", "win_rate", "draw_rate", "loss_rate", "mean_return"])
            for steps, win in ((170 + seed, 0.8), (330, 0.0), (490 + seed, final)):
                for opponent in ("none", "weak"):
                    writer.writerow([steps, opponent, 5, win, 1 - win, 0.0, 0.0])
    figure = tmp_path / "figs" / "curves.png"
    assert main(["sweep-results", str(tmp_path), "--figure", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "mean over seeds" in out and "95% t interval over seeds" in out
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [(r["variant"], r["opponent"], r["seeds"]) for r in rows] == [
        ("base", "none", "2"), ("base", "weak", "2"), ("online", "none", "2"), ("online", "weak", "2")]
    base, online = rows[0], rows[2]
    assert float(base["final_win"]) == pytest.approx(0.3) and int(base["env_steps"]) in (490, 491)
    mean, low, high = t_interval([0.2, 0.4])                      # 0.3 +- 12.706 * 0.1: clipped to [0, 1]
    assert (float(base["final_win_low"]), float(base["final_win_high"])) == (max(0.0, low), min(1.0, high))
    assert float(online["final_win"]) == pytest.approx(0.8)
    assert float(online["best_win"]) == pytest.approx(0.9)       # best of seed 0 is 0.8, of seed 1 is 1.0
    # the mean over each trial's evaluations: base (0.8+0+0.2)/3 and (0.8+0+0.4)/3, online (0.8+0+0.6)/3, 0.6
    assert float(base["mean_win"]) == pytest.approx((1.0 / 3 + 0.4) / 2)
    assert float(online["mean_win"]) == pytest.approx((1.4 / 3 + 0.6) / 2)
    mean, low, high = t_interval([1.4 / 3, 0.6])
    assert (float(online["mean_win_low"]), float(online["mean_win_high"])) == pytest.approx((max(0, low), min(1, high)))
    assert "mean win (all evals)" in out
    assert figure.exists() and figure.stat().st_size > 10_000
    # the learning-curve CSV: every point of every seed, with Wilson intervals over its 5 games
    from dreamer_edu.evaluate import wilson_interval
    points = list(csv.DictReader((tmp_path / "curves.csv").open()))
    assert len(points) == 4 * 3 * 2
    first = points[0]
    assert (first["variant"], first["seed"], first["opponent"], first["env_steps"]) == ("base", "0", "none", "170")
    assert (float(first["win_low"]), float(first["win_high"])) == pytest.approx(wilson_interval(4, 5))
    assert (float(first["draw_low"]), float(first["draw_high"])) == pytest.approx(wilson_interval(1, 5))

    # published: --csv in another folder copies sweep.yaml there; that folder alone gives the same table
    published = tmp_path / "published"
    assert main(["sweep-results", str(tmp_path), "--csv", str(published / "results.csv"), "--figure",
                 str(tmp_path / "figs" / "again.png")]) == 0
    assert (published / SWEEP_FILE).exists() and (published / "curves.csv").exists()
    capsys.readouterr()
    assert main(["sweep-results", str(published), "--figure", str(tmp_path / "figs" / "third.png")]) == 0
    again = list(csv.DictReader((published / "results.csv").open()))
    assert again == rows and "online" in capsys.readouterr().out


def test_welch_interval_hand_worked():
    from dreamer_edu.sweep import welch_interval

    # equal sizes and spreads: squared standard errors 0.04 / 3 each, Welch's dof = 4 exactly, t = 2.776
    diff, low, high = welch_interval([0.0, 0.2, 0.4], [0.1, 0.3, 0.5])
    half = 2.776 * (2 * 0.04 / 3) ** 0.5
    assert diff == pytest.approx(-0.1) and (low, high) == pytest.approx((-0.1 - half, -0.1 + half), abs=1e-9)
    assert welch_interval([0.5, 0.5], [0.2, 0.2]) == pytest.approx((0.3, 0.3, 0.3))   # no spread, no width
    with pytest.raises(ValueError, match=">= 2 values on each side"):
        welch_interval([0.5], [0.1, 0.2])


def _three_variant_results():
    import pandas as pd

    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load(TINY)
    spec["variants"] = {"baseline": {}, "same": {}, "better": {}}
    spec["seeds"] = [0, 1, 2]
    sweep = Sweep.from_dict(spec)
    finals = {"baseline": [0.2, 0.3, 0.25], "same": [0.3, 0.1, 0.35], "better": [0.8, 0.9, 0.85]}
    rows = [{"variant": v, "seed": seed, "opponent": "none", "env_steps": steps, "win_rate": win}
            for v, wins in finals.items() for seed, final in enumerate(wins)
            for steps, win in ((160, 0.0), (320, final))]
    return sweep, pd.DataFrame(rows)


def test_compare_to_baseline_on_a_made_up_sweep():
    from dreamer_edu.sweep import compare_to_baseline, seed_values, welch_interval

    sweep, df = _three_variant_results()
    assert list(seed_values(df, "better", "none", "final")) == [0.8, 0.9, 0.85]
    assert list(seed_values(df, "better", "none", "mean")) == pytest.approx([0.4, 0.45, 0.425])
    table = compare_to_baseline(sweep, df, statistic="final", opponent="none").set_index("variant")
    assert list(table.index) == ["same", "better"]
    assert table.loc["better", "difference"] == pytest.approx(0.6) and table.loc["better", "excludes_zero"]
    assert not table.loc["same", "excludes_zero"]
    assert (table.loc["same", "low"], table.loc["same", "high"]) == pytest.approx(
        welch_interval([0.3, 0.1, 0.35], [0.2, 0.3, 0.25])[1:])
    # seeds for a +-5-point interval: 2 * (1.96 * sd / 0.05)^2 with the two sides' pooled sd
    import statistics
    sd = ((statistics.variance([0.3, 0.1, 0.35]) + statistics.variance([0.2, 0.3, 0.25])) / 2) ** 0.5
    assert table.loc["same", "seeds_for_5_points"] == math.ceil(2 * (1.959964 * sd / 0.05) ** 2)
    with pytest.raises(ValueError, match="no variant named 'base'"):
        compare_to_baseline(sweep, df, baseline="base")
    with pytest.raises(ValueError, match="statistic 'median'"):
        compare_to_baseline(sweep, df, statistic="median")


def test_the_panels_against_the_baseline_are_drawn(tmp_path):
    from dreamer_edu.sweep import plot_against_baseline

    sweep, df = _three_variant_results()
    df = df.assign(step=df.env_steps)
    path = plot_against_baseline(sweep, df, tmp_path / "figs" / "panels.png")
    assert path.exists() and path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="no variant named 'base'"):
        plot_against_baseline(sweep, df, tmp_path / "x.png", baseline="base")


def test_the_ablation_explorer_redraws_with_each_statistic():
    pytest.importorskip("ipywidgets")
    from dreamer_edu.viz.widgets import ablation_explorer, set_controls

    sweep, df = _three_variant_results()
    explorer = ablation_explorer(sweep, df)
    assert explorer.result["variant"] == ["same", "better"]
    assert explorer.result["mean"][1] == pytest.approx(0.425)
    final = set_controls(explorer, statistic="final")
    assert final["difference"][1] == pytest.approx(0.6) and final["excludes_zero"] == [False, True]


def test_the_published_ablation_loads_and_an_unknown_name_is_refused():
    pytest.importorskip("yaml")
    from dreamer_edu.sweep import load_published

    sweep, df = load_published("ablation_drill")
    assert set(df.variant) == set(sweep.variants) and df.groupby("variant").seed.nunique().min() >= 3
    with pytest.raises(SweepError, match="no published sweep results named 'nope'.*ablation_drill"):
        load_published("nope")


# --- a real sweep, killed and resumed -----------------------------------------------------------------------
def _kill_processes_marked(marker: str) -> None:
    """SIGKILL every process this test started (they carry ``marker`` in their environment): the Ray processes
    that outlive a killed driver."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def _rows(run_dir: Path) -> list[dict]:
    path = run_dir / EVAL_CSV
    return list(csv.DictReader(path.open())) if path.exists() else []


def _last_env_steps(run_dir: Path) -> int:
    """The env steps of a trial's last evaluation so far (-1 before the first, or while a row is half written)."""
    try:
        return int(_rows(run_dir)[-1]["env_steps"])
    except (OSError, csv.Error, IndexError, KeyError, TypeError, ValueError):
        return -1


@pytest.mark.slow
def test_tiny_sweep_killed_and_resumed_keeps_finished_trials_and_checkpoints(tmp_path):
    """2 variants x 2 seeds, one trial at a time on a local Ray with 1 CPU.  The sweep's process is killed
    (SIGKILL) once one trial has finished and the next has a checkpoint; ``--resume`` then finishes the sweep
    (two trials at a time, on 2 CPUs):
    the finished trial is not run again, the interrupted one continues from its checkpoint, and the results
    table has one row per variant and opponent."""
    pytest.importorskip("ray")
    sweep_file, out = write(tmp_path, TINY), tmp_path / "sweep"
    marker = f"DREAMER_EDU_SWEEP_TEST={uuid.uuid4().hex}"
    env = dict(os.environ, PYTHONPATH=str(REPO), SDL_VIDEODRIVER="dummy", MPLBACKEND="Agg",
               DREAMER_EDU_SWEEP_TEST=marker.split("=")[1])
    command = [sys.executable, "-m", "dreamer_edu", "sweep", str(sweep_file), "--sweep-dir", str(out)]
    try:
        with (tmp_path / "first.log").open("w") as log:
            driver = subprocess.Popen(command + ["--num-cpus", "1"], stdout=log, stderr=subprocess.STDOUT,
                                      env=env, cwd=tmp_path)
            finished = partial = None
            deadline = time.monotonic() + 600        # a safety net only: a busy machine may be slow
            while driver.poll() is None and time.monotonic() < deadline:
                runs = sorted(out.glob("*-seed*"))
                done = [r for r in runs if _last_env_steps(r) >= 320]
                started = [r for r in runs if r not in done and (r / "checkpoint.pt").exists()]
                if done and started:
                    finished, partial = done[0], started[0]
                    kept = {p.name: p.read_bytes() for p in finished.iterdir() if p.is_file()}
                    partial_steps = [int(r["env_steps"]) for r in _rows(partial)]
                    driver.kill()                       # SIGKILL: no chance to save anything
                    break
                time.sleep(0.05)
            if driver.poll() is None and finished is None:
                driver.kill()                           # out of time: stop it, and say so below
            driver.wait(timeout=60)
        assert finished is not None, (tmp_path / "first.log").read_text()[-3000:]
        # seed-major order: every variant's first seed runs before any variant's second seed
        assert (finished.name, partial.name) == ("base-seed0", "online-seed0")
        _kill_processes_marked(marker)

        result = subprocess.run(command[:4] + ["--resume", "--sweep-dir", str(out), "--num-cpus", "2"], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        # the finished trial was not trained again: its files are as they were
        assert {p.name: p.read_bytes() for p in finished.iterdir() if p.is_file() and p.name in kept} == kept
        # the interrupted one continued from its checkpoint, keeping the evaluations before it
        assert f"trial {partial.name}: resuming" in result.stdout + result.stderr
        steps = [int(r["env_steps"]) for r in _rows(partial)]
        assert steps[:len(partial_steps)] == partial_steps[:len(steps)] and steps[-1] >= 320
        for run in (out / f"{v}-seed{s}" for v in ("base", "online") for s in (0, 1)):
            assert _last_env_steps(run) >= 320 and (run / "checkpoint.pt").exists()
            evals = [int(r["env_steps"]) for r in csv.DictReader((run / "eval.csv").open())]
            assert evals == sorted(set(evals))      # no evaluation twice
            assert {r["opponent"] for r in _rows(run)} == {"none", "weak"}
        table = list(csv.DictReader((out / "results.csv").open()))
        assert [(r["variant"], r["opponent"], r["seeds"]) for r in table] == [
            ("base", "none", "2"), ("base", "weak", "2"), ("online", "none", "2"), ("online", "weak", "2")]
        assert (out / "learning_curves.png").exists()
    finally:
        _kill_processes_marked(marker)


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_unfinished_and_resume_finishes_it(tmp_path):
    """Ctrl-C (SIGINT) to a running sweep: the trial saves and is *not* counted as finished (exit code 130);
    ``--resume`` continues it from its checkpoint to the end of its budget."""
    pytest.importorskip("ray")
    text = TINY.replace("seeds: [0, 1]", "seeds: [0]").replace("  online: {critic_bootstrap: online}\n", "")
    sweep_file, out = write(tmp_path, text.replace("env_steps: 320", "env_steps: 6000")), tmp_path / "sweep"
    marker = uuid.uuid4().hex
    env = dict(os.environ, PYTHONPATH=str(REPO), SDL_VIDEODRIVER="dummy", MPLBACKEND="Agg",
               DREAMER_EDU_SWEEP_TEST=marker)
    command = [sys.executable, "-m", "dreamer_edu", "sweep", str(sweep_file), "--sweep-dir", str(out),
               "--num-cpus", "1"]
    run = out / "base-seed0"
    try:
        with (tmp_path / "first.log").open("w") as log:
            driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
            deadline = time.monotonic() + 600        # a safety net only: a busy machine may be slow
            while driver.poll() is None and _last_env_steps(run) < 160 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert driver.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            driver.send_signal(signal.SIGINT)
            code = driver.wait(timeout=120)
        first = (tmp_path / "first.log").read_text()
        assert code == 130, first[-3000:]
        assert "0 of 1 trials finished, 0 failed" in first and "continue it with" in first
        assert not (run / "finished.json").exists() and (run / "checkpoint.pt").exists()
        _kill_processes_marked(f"DREAMER_EDU_SWEEP_TEST={marker}")

        result = subprocess.run(command[:4] + ["--resume", "--sweep-dir", str(out), "--num-cpus", "1"], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=900)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert "trial base-seed0: resuming" in output and "1 of 1 trials finished, 0 failed" in output
        assert (run / "finished.json").exists() and _last_env_steps(run) >= 6000
    finally:
        _kill_processes_marked(f"DREAMER_EDU_SWEEP_TEST={marker}")


def test_a_mixture_opponent_is_evaluated_against_each_of_its_bots_by_default():
    sweep = Sweep.from_dict({"quick": True, "config": {"opponent": "weak:0.5,strong:0.5"}, "variants": {"a": {}},
                             "seeds": [0]})
    assert sweep.opponents == ["weak", "strong"]
    with pytest.raises(SweepError, match="sum to 0.9, not 1"):
        Sweep.from_dict({"quick": True, "config": {"opponent": "weak:0.5,strong:0.4"}, "variants": {"a": {}},
                         "seeds": [0]})
