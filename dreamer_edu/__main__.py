"""Command line: ``python -m dreamer_edu train | evaluate | play | sweep | sweep-results`` (``--help`` on each)."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .config import BACKENDS, DEVICES, MODES, OPPONENTS, PRESETS, SELFPLAY_SAMPLINGS, TRAINING_OPPONENTS

THREADS_HELP = ("torch CPU threads (default: Config.threads = 1, which stays fast beside other busy programs; "
                "0 = torch's own choice, one per core)")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def _set_up_compute(args) -> "torch.device":
    """Threads and device for ``evaluate`` and ``play``: the thread policy of ``Config.threads`` unless
    ``--threads`` says otherwise, and a one-line error for a device this machine does not have."""
    from .agent import resolve_device, set_threads
    from .config import Config

    set_threads(Config().threads if args.threads is None else args.threads)
    return resolve_device(args.device)


def _preset(args) -> str:
    """The preset a ``train`` command asks for: ``--quick`` is ``--preset quick``; ``--preset auto`` is the guide's
    sizes where torch sees a CUDA GPU (or ``--device cuda``) and ``Config.cpu()`` elsewhere, and says so."""
    if args.quick and args.preset not in (None, "quick", "auto"):     # (make train passes --preset auto)
        raise ValueError(f"--quick and --preset {args.preset} ask for two different configurations; pass one")
    preset = "quick" if args.quick else (args.preset or "guide")
    if preset == "auto":
        from .agent import resolve_device

        gpu = resolve_device(args.device or "auto").type == "cuda"
        preset = "guide" if gpu else "cpu"
        print("preset auto: " + ("a CUDA GPU is here, so this trains the guide's sizes, Config()" if gpu else
                                 "no CUDA GPU here, so this trains Config.cpu(), the configuration that learned "
                                 "hockey fastest on a 2-core CPU (README, 'Training on a CPU'); --preset guide "
                                 "trains the guide's sizes anyway"), flush=True)
    return preset


def _train(args) -> int:
    from .config import Config, ConfigWarning
    from .trainer import SIGNAL_EXIT_CODES, Trainer, default_run_dir

    preset = _preset(args)
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(args.mode, args.opponent, args.seed, preset)
    selfplay_flags = {"selfplay_pool_size": args.selfplay_pool, "selfplay_every_steps": args.selfplay_every,
                      "selfplay_sampling": args.selfplay_sampling}
    if args.resume:
        if (args.config_override or args.use_dreamsmooth is not None or args.curriculum is not None
                or any(value is not None for value in selfplay_flags.values())):   # (a preset only names the folder)
            print("error: --resume continues with the run's saved config; only --steps, --threads and --device "
                  "may change it", file=sys.stderr)
            return 2
        trainer = Trainer(Config(), run_dir, resume=True, progress=not args.no_progress,
                          total_env_steps=args.steps, threads=args.threads, device=args.device)
    else:
        config = Config.preset(preset).replace(mode=args.mode, opponent=args.opponent, seed=args.seed, backend=args.backend)
        if args.use_dreamsmooth is not None:
            config = config.replace(use_dreamsmooth=args.use_dreamsmooth)
        if args.curriculum is not None:
            config = config.replace(curriculum=args.curriculum)
        config = config.replace(**{key: value for key, value in selfplay_flags.items() if value is not None})
        if args.device is not None:
            config = config.replace(device=args.device)
        if args.threads is not None:
            config = config.replace(threads=args.threads)
        config = config.with_overrides(args.config_override)
        if args.steps is not None:
            config = config.replace(total_env_steps=args.steps)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConfigWarning)
            config.validate()
        for w in caught:
            print(f"config warning: {w.message}", file=sys.stderr)
        if (run_dir / "checkpoint.pt").exists():
            print(f"error: {run_dir} already holds a checkpoint; pass --resume to continue it or choose "
                  "another --run-dir", file=sys.stderr)
            return 2
        trainer = Trainer(config, run_dir, progress=not args.no_progress)
    print(f"run directory: {run_dir}  (tensorboard --logdir {run_dir / 'tb'})", flush=True)
    try:
        trainer.train(max_minutes=args.minutes)
    except KeyboardInterrupt:
        kept = (f"{run_dir} keeps its last checkpoint; continue it with --resume"
                if (run_dir / "checkpoint.pt").exists() else "no checkpoint had been saved yet")
        print(f"quit without saving: {kept}", file=sys.stderr)
        return 130
    return SIGNAL_EXIT_CODES.get(trainer.stop_signal, 0)


def _evaluate(args) -> int:
    from .evaluate import load_agent, play_games

    device = _set_up_compute(args)
    agent, config, counters = load_agent(args.checkpoint, device=device)
    mode = args.mode or config.mode
    print(f"{args.checkpoint}: trained {counters.get('env_steps', '?')} env steps vs {config.opponent} "
          f"({config.mode}); evaluating vs {args.opponent} in {mode}")
    outcome = play_games(agent, args.games, opponent=args.opponent, mode=mode, seed=args.seed,
                         explore=args.explore, backend=args.backend)
    print(outcome.summary())
    return 0


def _play(args) -> int:
    from .evaluate import load_agent, play_games, record_game

    device = _set_up_compute(args)
    agent = None
    if args.checkpoint:
        agent, _, _ = load_agent(args.checkpoint, device=device)
    who = "the trained agent" if agent is not None else "a random policy"
    outcome = play_games(agent, args.episodes, opponent=args.opponent, mode=args.mode, seed=args.seed,
                         backend=args.backend)
    print(f"{who} vs {args.opponent} ({args.mode}): {outcome.summary()}")
    if args.gif:
        info = record_game(agent, args.gif, opponent=args.opponent, mode=args.mode, seed=args.seed,
                           backend=args.backend)
        result = {1: "win", 0: "draw", -1: "loss"}[int(info.get("winner", 0))]
        print(f"recorded one game ({result}) to {args.gif}")
    return 0


def _sweep(args) -> int:
    from .sweep import sweep_command

    return sweep_command(args)


def _sweep_results(args) -> int:
    from .sweep import results_command

    return results_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dreamer_edu",
                                     description="DreamerV3 for the course air-hockey game.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train an agent (guide ch. 12)",
                       description="Train DreamerV3 on hockey. Checkpoints and TensorBoard logs go to --run-dir.")
    t.add_argument("--opponent", default="weak", metavar="OPPONENT",
                   help=f"who player two is in training: {', '.join(TRAINING_OPPONENTS)} (snapshots of the agent "
                        "itself, from the self-play pool), or a mixture drawn per game, e.g. weak:0.5,strong:0.5 or "
                        "weak:0.4,strong:0.4,self:0.2 (evaluation then plays each of its bots)")
    t.add_argument("--mode", default="NORMAL", choices=MODES)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--curriculum", default=None, metavar="MODE:STEPS,...,MODE",
                   help="training modes in stages, e.g. TRAIN_SHOOTING:20000,TRAIN_DEFENSE:20000,NORMAL; "
                        "evaluation stays in --mode")
    t.add_argument("--selfplay-pool", type=int, default=None, metavar="N",
                   help="snapshots the self-play pool keeps (Config.selfplay_pool_size, default 10)")
    t.add_argument("--selfplay-every", type=int, default=None, metavar="STEPS",
                   help="env steps between snapshots of the agent (Config.selfplay_every_steps, default 10000)")
    t.add_argument("--selfplay-sampling", default=None, choices=SELFPLAY_SAMPLINGS,
                   help="how a self-play game picks its snapshot: uniform (default), or winrate (the snapshots "
                        "that beat the agent, more often)")
    t.add_argument("--use_dreamsmooth", "--use-dreamsmooth", dest="use_dreamsmooth", action="store_const",
                   const=True, default=None,
                   help="smooth the rewards with DreamSmooth (the guide's command; Config's default is on)")
    t.add_argument("--no-dreamsmooth", dest="use_dreamsmooth", action="store_const", const=False,
                   help="train on the raw rewards")
    t.add_argument("--device", default=None, choices=DEVICES,
                   help="default: auto (the GPU when torch sees one); on --resume, the run's own")
    t.add_argument("--steps", type=int, default=None, help="total environment steps (default: the config's)")
    t.add_argument("--minutes", type=_positive_float, default=None,
                   help="stop after this many minutes (with a checkpoint); continue later with --resume")
    t.add_argument("--run-dir", default=None,
                   help="default: runs/<mode>-<opponent>-seed<seed>, with -quick or -cpu added for those presets")
    t.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its checkpoint")
    t.add_argument("--config-override", nargs="*", default=[], metavar="KEY=VALUE",
                   help="change any Config field, e.g. lr_actor=5e-5 horizon=10")
    t.add_argument("--preset", default=None, choices=("auto",) + PRESETS,
                   help="guide (default): the guide's sizes, for a GPU; quick: the small Config.quick(); cpu: "
                        "Config.cpu(), what learns hockey fastest without a GPU; auto: guide on a CUDA GPU, cpu "
                        "elsewhere (what make train uses). With --resume it only picks the default --run-dir")
    t.add_argument("--quick", action="store_true", help="the same as --preset quick")
    t.add_argument("--threads", type=_non_negative_int, default=None, help=THREADS_HELP)
    t.add_argument("--no-progress", action="store_true", help="plain log lines instead of a progress bar")
    t.add_argument("--backend", default="builtin", choices=BACKENDS,
                   help="the built-in game, or the course's official hockey package when installed")
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="win/draw/loss rates of a trained agent")
    e.add_argument("--checkpoint", required=True, help="a run directory or a checkpoint.pt file")
    e.add_argument("--opponent", default="weak", choices=OPPONENTS)
    e.add_argument("--games", type=_positive_int, default=200)
    e.add_argument("--mode", default=None, choices=MODES, help="default: the mode the agent trained in")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default="cpu", choices=DEVICES)
    e.add_argument("--threads", type=_non_negative_int, default=None, help=THREADS_HELP)
    e.add_argument("--explore", action="store_true", help="sample actions instead of the policy's mode")
    e.add_argument("--backend", default="builtin", choices=BACKENDS,
                   help="the built-in game, or the course's official hockey package when installed")
    e.set_defaults(func=_evaluate)

    p = sub.add_parser("play", help="play games (random or a checkpoint) and optionally record a GIF")
    p.add_argument("--checkpoint", default=None, help="a run directory or checkpoint; default: random actions")
    p.add_argument("--opponent", default="weak", choices=OPPONENTS)
    p.add_argument("--mode", default="NORMAL", choices=MODES)
    p.add_argument("--episodes", type=_positive_int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gif", default=None, help="save one recorded game to this GIF file")
    p.add_argument("--device", default="cpu", choices=DEVICES)
    p.add_argument("--threads", type=_non_negative_int, default=None, help=THREADS_HELP)
    p.add_argument("--backend", default="builtin", choices=BACKENDS,
                   help="the built-in game, or the course's official hockey package when installed")
    p.set_defaults(func=_play)

    s = sub.add_parser("sweep", help="many training runs (variants x seeds) on Ray Tune",
                       description="Run every variant of a sweep file with every seed, each an ordinary training "
                                   "run in <sweep-dir>/<variant>-seed<seed>/, scheduled by Ray Tune on this machine "
                                   "or a Ray cluster (needs: pip install -e .[sweep]). The options below the sweep "
                                   "file change it (or, without a file, make one).")
    s.add_argument("file", nargs="?", help="a sweep file (YAML), e.g. sweeps/replay_ratio.yaml")
    s.add_argument("--sweep-dir", default=None, help="default: runs/sweeps/<file name> (runs/sweeps/grid without one)")
    s.add_argument("--resume", action="store_true",
                   help="continue a stopped or killed sweep: finished trials are kept, the others continue from "
                        "their checkpoints")
    s.add_argument("--grid", nargs="+", default=None, metavar="KEY=V1,V2",
                   help="variants: every combination of these Config values (replaces the file's variants)")
    s.add_argument("--seeds", type=_non_negative_int, nargs="+", default=None)
    s.add_argument("--env-steps", type=_positive_int, default=None, help="budget per trial: env steps")
    s.add_argument("--minutes", type=_positive_float, default=None, help="budget per trial: wall-clock minutes")
    s.add_argument("--quick", action="store_true", help="base the trials on the small Config.quick()")
    s.add_argument("--config-override", nargs="+", default=None, metavar="KEY=VALUE",
                   help="a Config change for every trial")
    s.add_argument("--opponents", nargs="+", default=None, choices=OPPONENTS, help="evaluation opponents")
    s.add_argument("--games", type=_positive_int, default=None, help="evaluation games per opponent")
    s.add_argument("--every", type=_positive_int, default=None, help="evaluate every this many env steps")
    s.add_argument("--address", default=None,
                   help="a running Ray cluster (e.g. auto, or HEAD_IP:6379); default: start Ray on this machine")
    s.add_argument("--num-cpus", type=_positive_int, default=None,
                   help="CPUs the local Ray may use (default: all of this machine's; not with --address)")
    s.add_argument("--cpus-per-trial", type=_positive_float, default=1.0, help="default: 1")
    s.add_argument("--gpus-per-trial", type=float, default=0.0,
                   help="default: 0 (trials then train on the CPU); e.g. 0.25 puts four trials on one GPU")
    s.add_argument("--max-concurrent", type=_non_negative_int, default=0,
                   help="trials at once at most (default 0: as many as the CPUs allow)")
    s.add_argument("--max-failures", type=_non_negative_int, default=1,
                   help="restarts of a failed trial (from its checkpoint; default 1)")
    s.set_defaults(func=_sweep)

    r = sub.add_parser("sweep-results", help="a sweep's win rates over seeds, as a table and learning curves",
                       description="Final, best and mean win rate per variant and opponent: the mean over seeds "
                                   "and a 95% t interval over seeds; learning curves with the same band.")
    r.add_argument("sweep_dir", help="the sweep's directory (holds sweep.yaml), or a folder of published results")
    r.add_argument("--csv", default=None,
                   help="where to write the table (default: SWEEP_DIR/results.csv); curves.csv goes beside it, and "
                        "in another folder sweep.yaml too, which makes that folder the sweep's published results")
    r.add_argument("--figure", default=None, help="default: SWEEP_DIR/learning_curves.png")
    r.set_defaults(func=_sweep_results)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError
    from .trainer import TrainingDiverged

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CheckpointError, ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
