import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(REPO), SDL_VIDEODRIVER="dummy")
    return subprocess.run([sys.executable, "-m", "dreamer_edu", *args], cwd=cwd or REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", ["train", "evaluate", "play"])
def test_help_for_every_command(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0 and "usage" in result.stdout


def test_evaluate_missing_checkpoint_is_one_clear_line(tmp_path):
    result = run_cli("evaluate", "--checkpoint", str(tmp_path / "nope"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and "no such checkpoint" in lines[0]


def test_evaluate_corrupt_checkpoint_names_the_file(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"\x00garbage")
    result = run_cli("evaluate", "--checkpoint", str(tmp_path))
    assert result.returncode == 2 and "checkpoint.pt" in result.stderr and "Traceback" not in result.stderr


def test_bad_config_override_is_refused(tmp_path):
    result = run_cli("train", "--quick", "--run-dir", str(tmp_path / "r"), "--config-override", "discount=2")
    assert result.returncode == 2 and "discount" in result.stderr and "Traceback" not in result.stderr


def test_guide_pitfall_override_prints_a_warning(tmp_path):
    result = run_cli("train", "--quick", "--run-dir", str(tmp_path / "r"), "--steps", "1", "--no-progress",
                     "--config-override", "lr_actor=1e-2", "warmup_episodes=1")
    assert result.returncode == 0, result.stderr[-1500:]
    assert "config warning" in result.stderr and "lr_actor" in result.stderr


def test_play_random_policy_writes_a_gif(tmp_path):
    gif = tmp_path / "demo.gif"
    result = run_cli("play", "--opponent", "weak", "--episodes", "2", "--mode", "TRAIN_SHOOTING", "--gif", str(gif))
    assert result.returncode == 0, result.stderr[-1500:]
    assert "win" in result.stdout and gif.exists() and gif.stat().st_size > 1000


def test_train_evaluate_play_end_to_end(tmp_path):
    run = tmp_path / "run"
    overrides = ["warmup_episodes=2", "eval_every_steps=10000", "eval_games=2", "deter_size=32", "hidden_size=32",
                 "batch_size=4", "batch_length=8", "horizon=5"]
    result = run_cli("train", "--quick", "--mode", "TRAIN_SHOOTING", "--opponent", "none", "--steps", "300",
                     "--run-dir", str(run), "--no-progress", "--config-override", *overrides)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "updates per env step" in result.stdout and (run / "checkpoint.pt").exists()
    again = run_cli("train", "--quick", "--run-dir", str(run), "--steps", "300")
    assert again.returncode == 2 and "--resume" in again.stderr
    ev = run_cli("evaluate", "--checkpoint", str(run), "--opponent", "strong", "--games", "3", "--mode", "NORMAL")
    assert ev.returncode == 0, ev.stderr[-2000:]
    assert "3 games" in ev.stdout and "Wilson" in ev.stdout
    gif = tmp_path / "game.gif"
    play = run_cli("play", "--checkpoint", str(run / "checkpoint.pt"), "--episodes", "1", "--mode", "TRAIN_SHOOTING",
                   "--opponent", "none", "--gif", str(gif))
    assert play.returncode == 0, play.stderr[-2000:]
    assert gif.exists()


def test_official_backend_without_the_package_is_a_clear_error():
    from dreamer_edu.envs import official_available

    if official_available():
        pytest.skip("the official hockey package is installed here")
    result = run_cli("play", "--backend", "official", "--episodes", "1")
    assert result.returncode == 2 and "pip install git+https://github.com/martius-lab/hockey-env.git" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("minutes", ["0", "-1", "soon", "inf"])
def test_bad_minutes_is_refused(tmp_path, minutes):
    result = run_cli("train", "--quick", "--run-dir", str(tmp_path / "r"), "--minutes", minutes)
    assert result.returncode == 2 and "--minutes" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["train", "evaluate", "play"])
def test_a_device_this_machine_lacks_is_one_line(tmp_path, command):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    args = {"train": ["--quick", "--run-dir", str(tmp_path / "r"), "--steps", "10"],
            "evaluate": ["--checkpoint", str(tmp_path / "r")], "play": ["--episodes", "1"]}[command]
    result = run_cli(command, *args, "--device", "cuda")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "'cuda'" in lines[0] and "no CUDA GPU" in lines[0] and "--device cpu" in lines[0]


@pytest.mark.parametrize("command, args", [("evaluate", ["--checkpoint", "x", "--games", "0"]),
                                           ("play", ["--episodes", "0"]), ("play", ["--threads", "-1"]),
                                           ("train", ["--threads", "two"])])
def test_bad_counts_are_refused_by_the_parser(command, args):
    result = run_cli(command, *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: argument" in result.stderr


def test_resume_accepts_threads_and_device_but_not_config_changes(tmp_path):
    result = run_cli("train", "--resume", "--run-dir", str(tmp_path / "r"), "--config-override", "horizon=5")
    assert result.returncode == 2 and "--threads" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("train", "--resume", "--run-dir", str(tmp_path / "r"), "--threads", "1", "--device", "cpu")
    assert missing.returncode == 2 and "no such checkpoint" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize("flag, expected", [("--use_dreamsmooth", True), ("--no-dreamsmooth", False)])
def test_dreamsmooth_flags_set_the_config(tmp_path, flag, expected):
    import json

    run = tmp_path / "r"
    result = run_cli("train", "--quick", "--mode", "TRAIN_SHOOTING", "--opponent", "none", "--run-dir", str(run),
                     "--steps", "1", "--no-progress", flag, "--config-override", "warmup_episodes=1")
    assert result.returncode == 0, result.stderr[-1500:]
    assert json.loads((run / "config.json").read_text())["use_dreamsmooth"] is expected
    again = run_cli("train", "--resume", "--run-dir", str(run), flag)
    assert again.returncode == 2 and "saved config" in again.stderr


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_a_run_dir_that_is_a_file_is_one_line(tmp_path, resume):
    file = tmp_path / "not-a-folder"
    file.write_text("x")
    result = run_cli("train", "--quick", "--run-dir", str(file), *resume)
    assert result.returncode == 2 and "is a file, not a run directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_curriculum_is_one_line(tmp_path):
    result = run_cli("train", "--quick", "--run-dir", str(tmp_path / "r"), "--curriculum", "SHOOTING:100,NORMAL")
    assert result.returncode == 2 and "unknown mode 'SHOOTING'" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_opponent_mixture_is_one_line(tmp_path):
    result = run_cli("train", "--quick", "--run-dir", str(tmp_path / "r"), "--steps", "10",
                     "--opponent", "weak:0.5,strong:0.6")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "weak:0.5,strong:0.6" in lines[0] and "sum to 1.1, not 1" in lines[0]


# --- presets: what make train trains -------------------------------------------------------------------------
def test_presets_are_the_configs_they_name():
    from dreamer_edu.config import PRESETS, Config

    assert PRESETS == ("guide", "quick", "cpu")
    assert Config.preset("guide") == Config() and Config.preset("quick") == Config.quick()
    cpu = Config.preset("cpu")
    assert cpu == Config.cpu() and cpu.deter_size == Config.quick().deter_size     # the small sizes ...
    assert (cpu.actor_dist, cpu.critic_bootstrap, cpu.replay_ratio) == ("bounded_normal", "online", 256.0)
    with pytest.raises(ValueError, match="unknown preset 'gpu'; presets are guide, quick, cpu"):
        Config.preset("gpu")


def test_preset_auto_picks_the_cpu_preset_without_a_gpu_and_the_guides_with_one(monkeypatch, capsys):
    from dreamer_edu import __main__ as cli
    from dreamer_edu import agent
    from dreamer_edu.trainer import default_run_dir

    parse = cli.build_parser().parse_args
    monkeypatch.setattr(agent, "resolve_device", lambda name="auto": __import__("torch").device("cpu"))
    assert cli._preset(parse(["train", "--preset", "auto"])) == "cpu"
    assert "no CUDA GPU here, so this trains Config.cpu()" in capsys.readouterr().out
    monkeypatch.setattr(agent, "resolve_device", lambda name="auto": __import__("torch").device("cuda"))
    assert cli._preset(parse(["train", "--preset", "auto"])) == "guide"
    assert "a CUDA GPU is here" in capsys.readouterr().out
    assert cli._preset(parse(["train", "--preset", "auto", "--quick"])) == "quick"    # make train ARGS=--quick
    assert cli._preset(parse(["train"])) == "guide" and cli._preset(parse(["train", "--quick"])) == "quick"
    with pytest.raises(ValueError, match="--quick and --preset cpu"):
        cli._preset(parse(["train", "--preset", "cpu", "--quick"]))
    assert default_run_dir("NORMAL", "weak", 42, "cpu") == Path("runs") / "normal-weak-seed42-cpu"
    assert default_run_dir("NORMAL", "weak", 42) == Path("runs") / "normal-weak-seed42"


def test_make_train_on_this_cpu_says_which_preset_it_trains(tmp_path):
    """The Makefile's train line, run here (no GPU in CI): it announces the CPU preset and trains Config.cpu()."""
    import json
    import re

    line = next(line for line in (REPO / "Makefile").read_text().splitlines() if "-m dreamer_edu train" in line)
    args = re.search(r"-m dreamer_edu (train .*?)\s*\$\(ARGS\)", line).group(1).split()
    assert "--preset" in args and args[args.index("--preset") + 1] == "auto"
    result = run_cli(*args, "--device", "cpu", "--steps", "300", "--no-progress", "--config-override",
                     "warmup_episodes=1", "eval_games=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("preset auto: no CUDA GPU here, so this trains Config.cpu()")
    saved = json.loads((tmp_path / "runs" / "normal-weak-seed42-cpu" / "config.json").read_text())
    assert (saved["actor_dist"], saved["critic_bootstrap"], saved["replay_ratio"]) == ("bounded_normal", "online", 256.0)
